# Pester 5 test for Windows CI: the constant PowerShell scripts the plans send (Python constants: the host lock,
# the shadow ledger, the shadow inventory, the copy's fs scripts) run on a real Windows PowerShell 5.1 exactly as a
# plan runs them: powershell.exe -EncodedCommand <the compacted text>, the data as JSON on stdin, under the
# scripts' own Set-StrictMode -Version 2.0 and $ErrorActionPreference = 'Stop'.  The data each test sends has the
# keys the Python callers send (tests/unit/test_powershell_syntax.py checks the callers against the scripts).
#
# The scripts are exported first with tests/tools/export_scripts.py (BeforeAll runs it when python is on PATH;
# otherwise run `python tests/tools/export_scripts.py <dir>` and set QUIESCE_SCRIPTS_DIR=<dir>).
# The ledger scripts hard-code HKLM:\SOFTWARE\quiesce.domino\Shadows: these tests replace that literal in their
# copy of each script with a throw-away key under HKCU:\Software\quiesce.domino.tests\<guid>, so the host's ledger
# is never read or written.  The lock tests reset their lock folder's ACL (owner Administrators) and the CIM
# queries of Win32_ShadowCopy need an elevated session: those tests are skipped when not elevated.  Creating a
# real shadow copy is opt-in (QUIESCE_PESTER_VSS=1; Windows Server only).
# Run: Invoke-Pester -Path tests/windows
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

BeforeDiscovery {
    $principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
    $script:NotElevated = -not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
    $script:NoVss = ($env:QUIESCE_PESTER_VSS -ne '1') -or $script:NotElevated
}

BeforeAll {
    $repo = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $script:PowerShell = "$env:SystemRoot\System32\WindowsPowerShell\v1.0\powershell.exe"
    $script:LedgerLiteral = 'HKLM:\SOFTWARE\quiesce.domino\Shadows'
    $dir = $env:QUIESCE_SCRIPTS_DIR
    if (-not $dir) {
        $dir = Join-Path ([IO.Path]::GetTempPath()) ('quiesce-scripts-' + [guid]::NewGuid().ToString('N'))
        # not the Microsoft Store alias (WindowsApps), which opens the Store instead of running python
        $python = @(Get-Command -Name 'python', 'python3', 'py' -CommandType Application -ErrorAction SilentlyContinue |
            Where-Object { $_.Path -notlike '*\WindowsApps\*' }) | Select-Object -First 1
        if ($null -eq $python) { throw 'python is not on PATH: run tests/tools/export_scripts.py <dir> and set QUIESCE_SCRIPTS_DIR' }
        & $python.Path (Join-Path $repo 'tests\tools\export_scripts.py') $dir | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "export_scripts.py failed ($LASTEXITCODE)" }
    }
    $script:Scripts = @{}
    # Windows PowerShell's ConvertFrom-Json emits a JSON array as one object: assign it, then enumerate
    $names = Get-Content -Raw -LiteralPath (Join-Path $dir 'index.json') | ConvertFrom-Json
    foreach ($name in $names) {
        $script:Scripts[$name] = [IO.File]::ReadAllText((Join-Path $dir ($name + '.ps1')))
    }
    # the throw-away ledger key of this run (HKCU: nothing of the host's own ledger is touched)
    $script:TestRoot = 'HKCU:\Software\quiesce.domino.tests\' + [guid]::NewGuid().ToString('N')
    $script:Ledger = $script:TestRoot + '\Shadows'
    $script:Pending = $script:Ledger + '\Pending'

    # The text a plan sends: each line trimmed, blank lines left out (windows_cli.powershell_argv).
    function Get-SentText([string]$Name, [switch]$TestLedger) {
        $text = $script:Scripts[$Name]
        if ($null -eq $text) { throw "no exported script $Name" }
        if ($TestLedger) {
            if (-not $text.Contains($script:LedgerLiteral)) { throw "$Name does not name the ledger key" }
            $text = $text.Replace($script:LedgerLiteral, $script:Ledger)
        }
        return (@($text -split "`n" | ForEach-Object { $_.Trim() } | Where-Object { $_ -ne '' }) -join "`n")
    }

    function Invoke-HostScript {
        param([string]$Name, [object]$Data = $null, [string]$Stdin = '', [switch]$TestLedger)
        $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes((Get-SentText -Name $Name -TestLedger:$TestLedger)))
        if ($null -ne $Data) { $Stdin = ConvertTo-Json -InputObject $Data -Depth 10 -Compress }
        $psi = New-Object System.Diagnostics.ProcessStartInfo
        $psi.FileName = $script:PowerShell
        $psi.Arguments = '-NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ' + $encoded
        $psi.UseShellExecute = $false
        $psi.RedirectStandardInput = $true
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $p = [Diagnostics.Process]::Start($psi)
        $errors = $p.StandardError.ReadToEndAsync()
        $p.StandardInput.Write($Stdin)
        $p.StandardInput.Close()
        $out = $p.StandardOutput.ReadToEnd()
        $p.WaitForExit()
        $doc = $null
        $last = @($out -split "`r?`n" | Where-Object { $_.Trim() -match '^[\[{]' }) | Select-Object -Last 1
        if ($null -ne $last) { $doc = $last | ConvertFrom-Json }
        return [pscustomobject]@{ rc = $p.ExitCode; stdout = $out; stderr = $errors.Result; json = $doc }
    }

    function New-File([string]$Path, [string]$Text) {
        [void](New-Item -ItemType Directory -Force -Path (Split-Path -Parent $Path))
        [IO.File]::WriteAllText($Path, $Text)
    }

    function Get-FreeLetter {
        $used = @([IO.DriveInfo]::GetDrives() | ForEach-Object { $_.Name.Substring(0, 1).ToUpperInvariant() })
        foreach ($l in 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y') { if ($used -notcontains $l) { return $l + ':' } }
        throw 'no free drive letter'
    }
}

AfterAll {
    if (Test-Path -LiteralPath $script:TestRoot) { Remove-Item -LiteralPath $script:TestRoot -Recurse -Force }
}

Describe 'exported scripts' {
    It 'every exported script runs under strict mode 2.0 and stops on errors' {
        foreach ($name in $script:Scripts.Keys) {
            $script:Scripts[$name] | Should -Match ([regex]::Escape('Set-StrictMode -Version 2.0')) -Because $name
            $script:Scripts[$name] | Should -Match ([regex]::Escape("`$ErrorActionPreference = 'Stop'")) -Because $name
        }
    }

    It 'the ledger tests use their own key, never the host''s' {
        foreach ($name in 'own-shadows', 'exposure-owner', 'pending-shadows', 'shadow-inventory') {
            $sent = Get-SentText -Name $name -TestLedger
            $sent | Should -Not -Match ([regex]::Escape($script:LedgerLiteral))
            $sent | Should -Match ([regex]::Escape($script:Ledger))
        }
    }
}

Describe 'host lock (hostlock.LOCK_SCRIPT)' -Skip:$script:NotElevated {
    BeforeAll {
        # the keys hostlock.lock_step sends
        function Lock([string]$Action, [string]$Owner, [int]$Stale = 3600, [int]$Hold = 0, [switch]$Temporary) {
            Invoke-HostScript -Name 'lock' -Data @{ root = $script:LockRoot; name = 'domino'; owner = $Owner; stale_seconds = $Stale
                action = $Action; hold_seconds = $Hold; temporary = [bool]$Temporary }
        }
    }
    BeforeEach {
        $script:LockRoot = Join-Path $TestDrive ('locks-' + [guid]::NewGuid().ToString('N'))
    }

    It 'one owner holds the lock; another is refused with exit 75 and told who holds it' {
        $a = Lock 'acquire' 'run-a'
        $a.rc | Should -Be 0 -Because $a.stderr
        $a.json.acquired | Should -BeTrue
        $a.json.taken_over | Should -BeFalse
        (Get-Content -Raw -LiteralPath (Join-Path $script:LockRoot 'domino\owner.json') | ConvertFrom-Json).owner | Should -Be 'run-a'
        $b = Lock 'acquire' 'run-b'
        $b.rc | Should -Be 75 -Because $b.stderr
        $b.json.acquired | Should -BeFalse
        $b.json.owner | Should -Be 'run-a'
    }

    It 'only the owner releases it' {
        (Lock 'acquire' 'run-a').rc | Should -Be 0
        $other = Lock 'release' 'run-b'
        $other.rc | Should -Be 0 -Because $other.stderr
        $other.json.released | Should -BeFalse
        Test-Path -LiteralPath (Join-Path $script:LockRoot 'domino') | Should -BeTrue
        $mine = Lock 'release' 'run-a'
        $mine.json.released | Should -BeTrue
        Test-Path -LiteralPath (Join-Path $script:LockRoot 'domino') | Should -BeFalse
    }

    It 'a temporary lock leaves an owner''s kept lock as it is and is given back only by the executor that took it' {
        # every Invoke-HostScript is a new powershell.exe with this test process as its parent: "the same executor"
        (Lock 'acquire' 'run-a').rc | Should -Be 0
        $kept = Get-Content -Raw -LiteralPath (Join-Path $script:LockRoot 'domino\owner.json')
        $again = Lock 'acquire' 'run-a' -Hold 600 -Temporary
        $again.rc | Should -Be 0 -Because $again.stderr
        $again.json.renewed | Should -BeTrue
        Get-Content -Raw -LiteralPath (Join-Path $script:LockRoot 'domino\owner.json') | Should -Be $kept
        (Lock 'release' 'run-a' -Temporary).json.released | Should -BeFalse
        (Lock 'release' 'run-a').json.released | Should -BeTrue
        $own = Lock 'acquire' 'run-b' -Hold 600 -Temporary
        $own.json.renewed | Should -BeFalse
        (Get-Content -Raw -LiteralPath (Join-Path $script:LockRoot 'domino\owner.json') | ConvertFrom-Json).temporary | Should -BeTrue
        (Lock 'release' 'run-b' -Temporary).json.released | Should -BeTrue
    }

    It 'a lock older than stale_seconds is taken over and reported' {
        New-File (Join-Path $script:LockRoot 'domino\owner.json') '{"owner":"dead-run","since_ms":1000}'
        $r = Lock 'acquire' 'run-a' 60
        $r.rc | Should -Be 0 -Because $r.stderr
        $r.json.taken_over | Should -BeTrue
        $r.json.previous_owner | Should -Be 'dead-run'
        @(Get-ChildItem -LiteralPath $script:LockRoot -Directory -Filter 'domino.stale-*').Count | Should -Be 0
    }

    It 'a hold counts while the process that took the lock runs; the owner renews it; a dead holder goes stale' {
        $since = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() - 600000
        $me = ([DateTimeOffset](Get-Process -Id $PID).StartTime).ToUnixTimeMilliseconds()
        $file = Join-Path $script:LockRoot 'domino\owner.json'
        New-File $file ('{"owner":"copying-run","since_ms":' + $since + ',"hold_seconds":7200,"holder_pid":' + $PID + ',"holder_started_ms":' + $me + '}')
        $r = Lock 'acquire' 'run-b' 300
        $r.rc | Should -Be 75 -Because $r.stderr
        $r.json.owner | Should -Be 'copying-run'
        $renew = Lock 'acquire' 'copying-run' 300 9000
        $renew.rc | Should -Be 0 -Because $renew.stderr
        $held = Get-Content -Raw -LiteralPath $file | ConvertFrom-Json
        $held.hold_seconds | Should -Be 9000
        $held.since_ms | Should -BeGreaterThan $since
        $held.holder_pid | Should -Be $PID  # the lock script's parent: here this test's process, in a plan the executor
        # the same ID with another start time is another process: the holder has ended, stale_seconds counts
        New-File $file ('{"owner":"copying-run","since_ms":' + $since + ',"hold_seconds":7200,"holder_pid":' + $PID + ',"holder_started_ms":' + ($me - 5000) + '}')
        $taken = Lock 'acquire' 'run-b' 300
        $taken.rc | Should -Be 0 -Because $taken.stderr
        $taken.json.taken_over | Should -BeTrue
    }

    It 'a lock folder other users may write is reset to SYSTEM and Administrators (acl_fixed)' {
        [void](New-Item -ItemType Directory -Path $script:LockRoot)
        $acl = Get-Acl -LiteralPath $script:LockRoot
        $users = New-Object Security.Principal.SecurityIdentifier('S-1-5-32-545')
        $acl.AddAccessRule((New-Object Security.AccessControl.FileSystemAccessRule($users, 'Modify', 'ContainerInherit,ObjectInherit', 'None', 'Allow')))
        Set-Acl -LiteralPath $script:LockRoot -AclObject $acl
        $r = Lock 'acquire' 'run-a'
        $r.rc | Should -Be 0 -Because $r.stderr
        $r.json.acl_fixed | Should -BeTrue
        $rules = @((Get-Acl -LiteralPath $script:LockRoot).GetAccessRules($true, $true, [Security.Principal.SecurityIdentifier]) |
            ForEach-Object { $_.IdentityReference.Value } | Sort-Object -Unique)
        $rules | Should -Be @('S-1-5-18', 'S-1-5-32-544')
        (Lock 'release' 'run-a').json.acl_fixed | Should -BeFalse
    }
}

Describe 'shadow ledger (shadow_ledger RECORD, PENDING, EXPOSURE_OWNER; windows_cli.SHADOW_INVENTORY_SCRIPT)' -Skip:$script:NotElevated {
    BeforeEach {
        if (Test-Path -LiteralPath $script:Ledger) { Remove-Item -LiteralPath $script:Ledger -Recurse -Force }
    }

    It 'the record step drops entries of shadow copies that are gone, keeps other values, clears its exposures'' notes' {
        $gone = '{00000000-0000-0000-0000-00000000abcd}'
        [void](New-Item -Path $script:Pending -Force)
        [void](New-ItemProperty -LiteralPath $script:Ledger -Name $gone -Value '{00000000-0000-0000-0000-000000000001}' -PropertyType String)
        [void](New-ItemProperty -LiteralPath $script:Ledger -Name 'not-a-shadow' -Value 'x' -PropertyType String)
        [void](New-ItemProperty -LiteralPath $script:Pending -Name 'S:' -Value '1;2' -PropertyType String)
        [void](New-ItemProperty -LiteralPath $script:Pending -Name 'T:' -Value '1;2' -PropertyType String)
        $transcript = "-> expose %VSS_SHADOW_1% S:`r`nThe shadow copy was successfully exposed as S:\.`r`n"
        $r = Invoke-HostScript -Name 'own-shadows' -Stdin $transcript -TestLedger
        $r.rc | Should -Be 0 -Because $r.stderr
        @($r.json.recorded).Count | Should -Be 0
        @($r.json.dropped) | Should -Be @($gone)
        $names = @((Get-Item -LiteralPath $script:Ledger).GetValueNames())
        $names | Should -Contain 'not-a-shadow'
        $names | Should -Not -Contain $gone
        @((Get-Item -LiteralPath $script:Pending).GetValueNames()) | Should -Be @('T:')
    }

    It 'the pending step notes each target with its window and adopts nothing without a shadow copy there' {
        $free = Get-FreeLetter
        $before = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
        $r = Invoke-HostScript -Name 'pending-shadows' -Data @{ targets = @(($free + '\'), 'c:\quiesce-test-mount'); seconds = 60 } -TestLedger
        $r.rc | Should -Be 0 -Because $r.stderr
        @($r.json.adopted).Count | Should -Be 0
        $note = Get-Item -LiteralPath $script:Pending
        @($note.GetValueNames() | Sort-Object) | Should -Be @(@($free, 'C:\QUIESCE-TEST-MOUNT') | Sort-Object)
        $window = ([string]$note.GetValue($free)).Split(';')
        [int64]$window[0] | Should -BeGreaterOrEqual ($before - 1000)
        ([int64]$window[1] - [int64]$window[0]) | Should -Be 60000
    }

    It 'the exposure-owner guard passes where nothing is exposed' {
        $r = Invoke-HostScript -Name 'exposure-owner' -Data @{ at = (Get-FreeLetter) } -TestLedger
        $r.rc | Should -Be 0 -Because $r.stderr
        @($r.json.foreign).Count | Should -Be 0
    }

    It 'the shadow inventory lists shadows, volumes, drive letters and the ledger''s names' {
        [void](New-Item -Path $script:Ledger -Force)
        [void](New-ItemProperty -LiteralPath $script:Ledger -Name '{00000000-0000-0000-0000-0000000000ef}' -Value 'x' -PropertyType String)
        $r = Invoke-HostScript -Name 'shadow-inventory' -TestLedger
        $r.rc | Should -Be 0 -Because $r.stderr
        @($r.json.owned) | Should -Be @('{00000000-0000-0000-0000-0000000000ef}')
        @($r.json.drives) | Should -Contain ($env:SystemDrive.ToUpperInvariant())
        @($r.json.volumes | Where-Object { $_.DriveLetter -eq $env:SystemDrive }).Count | Should -Be 1
        $r.json.PSObject.Properties.Name | Should -Contain 'shadows'
    }

    It 'a real shadow copy named by the transcript is recorded, and the guard calls it ours (QUIESCE_PESTER_VSS=1)' -Skip:$script:NoVss {
        $made = Invoke-CimMethod -ClassName Win32_ShadowCopy -MethodName Create -Arguments @{ Volume = $env:SystemDrive + '\'; Context = 'ClientAccessible' }
        $made.ReturnValue | Should -Be 0
        try {
            $shadow = Get-CimInstance -ClassName Win32_ShadowCopy -Filter ("ID='" + $made.ShadowID + "'")
            $transcript = "* Shadow copy ID = $($shadow.ID)`r`n"
            $r = Invoke-HostScript -Name 'own-shadows' -Stdin $transcript -TestLedger
            $r.rc | Should -Be 0 -Because $r.stderr
            @($r.json.recorded) | Should -Be @(([string]$shadow.ID).ToLowerInvariant())
            $inventory = Invoke-HostScript -Name 'shadow-inventory' -TestLedger
            @($inventory.json.shadows | Where-Object { $_.ID -eq $shadow.ID }).Count | Should -Be 1
        }
        finally { Get-CimInstance -ClassName Win32_ShadowCopy -Filter ("ID='" + $made.ShadowID + "'") | Remove-CimInstance }
    }
}

Describe 'fs scripts (robocopy.FS_SCRIPTS) with the data their callers send' {
    BeforeEach {
        $script:Root = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $script:Data = Join-Path $script:Root 'data'
        New-File (Join-Path $script:Data 'names.nsf') ('n' * 100)
        New-File (Join-Path $script:Data 'mail\user.nsf') ('m' * 50)
        New-File (Join-Path $script:Root 'program\notes.ini') ('i' * 7)
    }

    It 'fit counts the sources and exits 112 when the destination is too small' {
        $data = @{ sources = @(@{ path = $script:Data; files = $null }, @{ path = (Join-Path $script:Root 'program'); files = @('notes.ini') })
            base = (Join-Path $script:Root 'dest\host'); margin = 1.1 }
        $r = Invoke-HostScript -Name 'fs-fit' -Data $data
        $r.rc | Should -Be 0 -Because $r.stderr
        $r.json.source_bytes | Should -Be 157
        $r.json.source_files | Should -Be 3
        $r.json.free_bytes | Should -BeGreaterThan 0
        $data.margin = 1e15
        (Invoke-HostScript -Name 'fs-fit' -Data $data).rc | Should -Be 112
    }

    It 'manifest and compare: an identical copy passes, a changed one fails with its difference' {
        $copy = Join-Path $script:Root 'copy'
        [void](New-Item -ItemType Directory -Path $copy)
        Copy-Item -LiteralPath $script:Data -Destination (Join-Path $copy 'data') -Recurse
        foreach ($f in Get-ChildItem -LiteralPath $script:Data -Recurse -File) {
            [IO.File]::SetLastWriteTimeUtc((Join-Path $copy ('data' + $f.FullName.Substring($script:Data.Length))), $f.LastWriteTimeUtc) }
        $unit = @{ root = $script:Data; prefix = 'data\'; files = $null; exclude_dirs = @(); exclude_files = @() }
        $srcTsv = Join-Path $script:Root 'src.tsv'; $copyTsv = Join-Path $script:Root 'copy.tsv'
        $m = Invoke-HostScript -Name 'fs-manifest' -Data @{ units = @($unit); sha256 = $true; out_tsv = $srcTsv; out_json = $null; print_rows = $false }
        $m.rc | Should -Be 0 -Because $m.stderr
        $m.json.files | Should -Be 2
        $m.json.bytes | Should -Be 150
        $copyUnit = @{ root = $copy; prefix = ''; files = $null; exclude_dirs = @(); exclude_files = @() }
        $copyManifest = @{ units = @($copyUnit); sha256 = $true; out_tsv = $copyTsv; out_json = (Join-Path $script:Root 'copy.json'); print_rows = $false }
        (Invoke-HostScript -Name 'fs-manifest' -Data $copyManifest).rc | Should -Be 0
        $compare = @{ sources = @($srcTsv); under = @('data\'); extras_allowed_under = @(); required = $null; copy = $copyTsv }
        $same = Invoke-HostScript -Name 'fs-compare' -Data $compare
        $same.rc | Should -Be 0 -Because $same.stderr
        $same.json.difference_count | Should -Be 0
        $changed = Join-Path $copy 'data\names.nsf'
        $time = (Get-Item -LiteralPath $changed).LastWriteTimeUtc
        [IO.File]::WriteAllText($changed, ('x' * 100)); [IO.File]::SetLastWriteTimeUtc($changed, $time)
        (Invoke-HostScript -Name 'fs-manifest' -Data $copyManifest).rc | Should -Be 0
        $differs = Invoke-HostScript -Name 'fs-compare' -Data $compare
        $differs.rc | Should -Be 1
        @($differs.json.differences) | Should -Be @('SHA-256 differs: data\names.nsf')
    }

    It 'compare with the deltas the hook kept: one missing from the copy is a difference; a record without deltas is none' {
        $tsv = Join-Path $script:Root 'one.tsv'
        [IO.File]::WriteAllLines($tsv, [string[]]@("data\names.nsf`t100`t2026-01-01T00:00:00Z`t"))
        $kept = Join-Path $script:Root 'kept\collected.json'
        New-File $kept '{"started_ms":1,"ended_ms":2,"backup_start":"x","deltas":[{"path":"names.nsf.DELTA","size":1}]}'
        $compare = @{ sources = @($tsv); under = @('data\'); extras_allowed_under = @(); required = @{ file = $kept; prefix = 'data\' }; copy = $tsv }
        $r = Invoke-HostScript -Name 'fs-compare' -Data $compare
        $r.rc | Should -Be 1 -Because $r.stderr
        @($r.json.differences) | Should -Be @('a delta file the hook kept is not in the copy: names.nsf.DELTA')
        New-File $kept '{"started_ms":1}'
        $none = Invoke-HostScript -Name 'fs-compare' -Data $compare
        $none.rc | Should -Be 0 -Because $none.stderr
    }

    It 'manifest with fail_on_links exits 3 naming a junction; without it the junction is skipped and counted' {
        $target = Join-Path $script:Root 'elsewhere'
        New-File (Join-Path $target 'big.nsf') 'mail on another volume'
        [void](New-Item -ItemType Junction -Path (Join-Path $script:Data 'mail2') -Value $target)
        $unit = @{ root = $script:Data; prefix = 'data\'; files = $null; exclude_dirs = @(); exclude_files = @() }
        $data = @{ units = @($unit); sha256 = $false; out_tsv = (Join-Path $script:Root 'l.tsv'); out_json = $null; print_rows = $false; fail_on_links = $true }
        $r = Invoke-HostScript -Name 'fs-manifest' -Data $data
        $r.rc | Should -Be 3
        $r.stderr | Should -Match 'data\\mail2'
        $data.fail_on_links = $false
        $ok = Invoke-HostScript -Name 'fs-manifest' -Data $data
        $ok.rc | Should -Be 0 -Because $ok.stderr
        $ok.json.links_count | Should -Be 1
        $ok.json.files | Should -Be 2
    }

    It 'in_copy passes for names in the copy (any case) and exits 1 naming the ones it does not hold' {
        $ok = Invoke-HostScript -Name 'fs-in_copy' -Data @{ places = @(@{ path = (Join-Path $script:Data 'NAMES.NSF') }, @{ path = (Join-Path $script:Data 'mail') }) }
        $ok.rc | Should -Be 0 -Because $ok.stderr
        $gone = Invoke-HostScript -Name 'fs-in_copy' -Data @{ places = @(@{ path = (Join-Path $script:Data 'names.nsf') }, @{ path = (Join-Path $script:Data 'nothere.nsf') }) }
        $gone.rc | Should -Be 1
        @($gone.json.missing) | Should -Be @((Join-Path $script:Data 'nothere.nsf'))
    }

    It 'manifest lists in the order compare merges; compare refuses a listing out of order' {
        $tree = Join-Path $script:Root 'order'
        foreach ($rel in 'a-b.nsf', 'a\z.nsf', 'B.nsf', 'a\Y\x.nsf', 'c.nsf') { New-File (Join-Path $tree $rel) 'x' }
        $tsv = Join-Path $script:Root 'order.tsv'
        $unit = @{ root = $tree; prefix = 'data\'; files = $null; exclude_dirs = @(); exclude_files = @() }
        $m = Invoke-HostScript -Name 'fs-manifest' -Data @{ units = @($unit); sha256 = $false; out_tsv = $tsv; out_json = $null; print_rows = $false }
        $m.rc | Should -Be 0 -Because $m.stderr
        @([IO.File]::ReadAllLines($tsv) | ForEach-Object { $_.Split("`t")[0] }) | Should -Be @('data\a\Y\x.nsf', 'data\a\z.nsf', 'data\a-b.nsf', 'data\B.nsf', 'data\c.nsf')
        $unordered = Join-Path $script:Root 'unordered.tsv'
        [IO.File]::WriteAllLines($unordered, [string[]]@("data\c.nsf`t1`tx`t", "data\a.nsf`t1`tx`t"))
        $r = Invoke-HostScript -Name 'fs-compare' -Data @{ sources = @($unordered); under = @('data\'); extras_allowed_under = @(); required = $null; copy = $tsv }
        $r.rc | Should -Not -Be 0
        $r.stderr | Should -Match 'not in listing order'
    }

    It 'retention as prune_plan sends it (no protect key) and as copy_plan sends it (protect)' {
        $base = Join-Path $script:Root 'dest\host'
        foreach ($n in '20200101T000000Z', '20210101T000000Z', '20220101T000000Z') { [void](New-Item -ItemType Directory -Force -Path (Join-Path $base $n)) }
        $prune = Invoke-HostScript -Name 'fs-retention' -Data @{ base = $base; keep = 2; max_age_seconds = 0 }
        $prune.rc | Should -Be 0 -Because $prune.stderr
        @($prune.json.removed) | Should -Be @('20200101T000000Z')
        $kept = Invoke-HostScript -Name 'fs-retention' -Data @{ base = $base; keep = 1; max_age_seconds = 0; protect = '20210101T000000Z' }
        $kept.rc | Should -Be 0 -Because $kept.stderr
        @($kept.json.removed).Count | Should -Be 0
        @(Get-ChildItem -LiteralPath $base -Directory | ForEach-Object { $_.Name }) | Should -Be @('20210101T000000Z', '20220101T000000Z')
    }

    It 'top_up copies finished NLO files and skips one another process still writes' {
        $live = Join-Path $script:Root 'daos'; $target = Join-Path $script:Root 'copy\daos'
        New-File (Join-Path $live '0001\a.nlo') 'aaaa'
        New-File (Join-Path $live '0001\b.nlo') 'bbbb'
        New-File (Join-Path $live 'not-an-object.txt') 'x'
        $writer = [IO.File]::Open((Join-Path $live '0001\b.nlo'), 'Open', 'ReadWrite', 'ReadWrite')
        try { $r = Invoke-HostScript -Name 'fs-top_up' -Data @{ source = $live; target = $target; extension = '.nlo' } }
        finally { $writer.Close() }
        $r.rc | Should -Be 0 -Because $r.stderr
        $r.json.copied | Should -Be 1
        @($r.json.in_use) | Should -Be @('0001\b.nlo')
        Test-Path -LiteralPath (Join-Path $target '0001\a.nlo') | Should -BeTrue
        Test-Path -LiteralPath (Join-Path $target '0001\b.nlo') | Should -BeFalse
    }

    It 'no_deltas finds a .DELTA in a folder or beside a database' {
        $places = @(@{ path = (Join-Path $script:Data 'names.nsf.DELTA'); recurse = $false }, @{ path = (Join-Path $script:Data 'mail'); recurse = $true })
        (Invoke-HostScript -Name 'fs-no_deltas' -Data @{ places = $places }).rc | Should -Be 0
        New-File (Join-Path $script:Data 'mail\user.nsf.DELTA') 'd'
        $r = Invoke-HostScript -Name 'fs-no_deltas' -Data @{ places = $places }
        $r.rc | Should -Be 1
        @($r.json.deltas | ForEach-Object { Split-Path -Leaf $_ }) | Should -Be @('user.nsf.DELTA')
    }

    It 'letters_free refuses a letter in use' {
        $free = Get-FreeLetter
        (Invoke-HostScript -Name 'fs-letters_free' -Data @{ letters = @($free) }).rc | Should -Be 0
        $r = Invoke-HostScript -Name 'fs-letters_free' -Data @{ letters = @($free, $env:SystemDrive) }
        $r.rc | Should -Be 1
        @($r.json.taken) | Should -Be @($env:SystemDrive)
    }

    It 'write_text, mark, finalize, read_layout, progress, remove: a versioned copy from .partial to final' {
        $base = Join-Path $script:Root 'dest\host'
        $work = Join-Path $base '20260101T000000Z.partial'; $final = Join-Path $base '20260101T000000Z'
        (Invoke-HostScript -Name 'fs-write_text' -Data @{ path = (Join-Path $work 'quiesce_domino.json'); text = '{"a":1}' }).rc | Should -Be 0
        New-File (Join-Path $work 'data\names.nsf') ('n' * 10)
        $progress = Invoke-HostScript -Name 'fs-progress' -Data @{ base = $base }
        $progress.rc | Should -Be 0 -Because $progress.stderr
        @($progress.json.copies).Count | Should -Be 1
        $progress.json.copies[0].files | Should -Be 2
        $marker = Join-Path $base 'current.INCOMPLETE'
        (Invoke-HostScript -Name 'fs-mark' -Data @{ path = $marker }).rc | Should -Be 0
        $listing = Join-Path $base 'x.tsv'; New-File $listing ''
        $f = Invoke-HostScript -Name 'fs-finalize' -Data @{ from = $work; to = $final; marker = $marker; remove = @($listing) }
        $f.rc | Should -Be 0 -Because $f.stderr
        Test-Path -LiteralPath $final | Should -BeTrue
        Test-Path -LiteralPath $marker | Should -BeFalse
        Test-Path -LiteralPath $listing | Should -BeFalse
        $layout = Invoke-HostScript -Name 'fs-read_layout' -Data @{ copy = $final }
        $layout.rc | Should -Be 0 -Because $layout.stderr
        $layout.json.layout | Should -Be '{"a":1}'
        $layout.json.data_folder | Should -BeTrue
        (Invoke-HostScript -Name 'fs-read_layout' -Data @{ copy = $work }).rc | Should -Be 2
        (Invoke-HostScript -Name 'fs-remove' -Data @{ paths = @($final, (Join-Path $base 'never-there')) }).rc | Should -Be 0
        Test-Path -LiteralPath $final | Should -BeFalse
    }

    It 'set_aside and undo_aside put the log back' {
        $log = Join-Path $script:Root 'logdir'; New-File (Join-Path $log 'S0000001.TXN') 'old'
        $aside = $log + '.before-restore-x'; $failed = $log + '.failed-restore-x'
        $s = Invoke-HostScript -Name 'fs-set_aside' -Data @{ path = $log; to = $aside }
        $s.rc | Should -Be 0 -Because $s.stderr
        $s.json.moved | Should -BeTrue
        New-File (Join-Path $log 'half.TXN') 'half'
        $u = Invoke-HostScript -Name 'fs-undo_aside' -Data @{ path = $log; aside = $aside; failed = $failed }
        $u.rc | Should -Be 0 -Because $u.stderr
        $u.json.undone | Should -BeTrue
        Test-Path -LiteralPath (Join-Path $log 'S0000001.TXN') | Should -BeTrue
        Test-Path -LiteralPath (Join-Path $failed 'half.TXN') | Should -BeTrue
        (Invoke-HostScript -Name 'fs-undo_aside' -Data @{ path = $log; aside = $aside; failed = $failed }).json.undone | Should -BeFalse
    }

    It 'taken_in_backup_mode, prune_siblings, remove_stale_deltas, plain_folder run with their callers'' keys' {
        $hold = Join-Path $script:Data 'quiesce_domino\hold'
        (Invoke-HostScript -Name 'fs-taken_in_backup_mode' -Data @{ root = $script:Data }).rc | Should -Be 0
        New-File (Join-Path $hold 'held.json') '{}'
        (Invoke-HostScript -Name 'fs-taken_in_backup_mode' -Data @{ root = $script:Data }).rc | Should -Be 1
        $parent = Join-Path $script:Root 'deltas'
        foreach ($n in 'a', 'b', 'keep') { [void](New-Item -ItemType Directory -Force -Path (Join-Path $parent $n)) }
        $p = Invoke-HostScript -Name 'fs-prune_siblings' -Data @{ parent = $parent; keep = 'keep' }
        $p.rc | Should -Be 0 -Because $p.stderr
        @($p.json.removed | Sort-Object) | Should -Be @('a', 'b')
        $target = Join-Path $script:Root 'live'
        New-File (Join-Path $target 'names.nsf.DELTA') 'stale'
        New-File (Join-Path $target 'mail\user.nsf.DELTA') 'stale'
        New-File (Join-Path $script:Data 'mail\user.nsf.DELTA') 'fresh'
        $d = Invoke-HostScript -Name 'fs-remove_stale_deltas' -Data @{ copy = $script:Data; target = $target }
        $d.rc | Should -Be 0 -Because $d.stderr
        @($d.json.removed) | Should -Be @((Join-Path $target 'names.nsf.DELTA'))
        $folder = Join-Path $script:Root 'shown'
        [void](New-Item -ItemType Directory -Path $folder)
        (Get-Item -LiteralPath $folder).Attributes = 'Directory, Hidden, System'
        (Invoke-HostScript -Name 'fs-plain_folder' -Data @{ path = $folder }).rc | Should -Be 0
        ((Get-Item -LiteralPath $folder -Force).Attributes -band ([IO.FileAttributes]::Hidden -bor [IO.FileAttributes]::System)) | Should -Be 0
    }
}

Describe 'restic verification on the host (restic.RESTIC_SCRIPTS restic_compare)' {
    BeforeEach {
        $script:Root = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $script:Data = Join-Path $script:Root 'data'
        New-File (Join-Path $script:Data 'names.nsf') ('n' * 100)
        New-File (Join-Path $script:Data 'mail\user.nsf') ('m' * 50)
        $script:Tsv = Join-Path $script:Root 'manifest.tsv'
        $unit = @{ root = $script:Data; prefix = 'data\'; files = $null; exclude_dirs = @(); exclude_files = @() }
        $m = Invoke-HostScript -Name 'fs-manifest' -Data @{ units = @($unit); sha256 = $false; out_tsv = $script:Tsv; out_json = $null; print_rows = $false }
        $m.rc | Should -Be 0 -Because $m.stderr
        # A stand-in for restic: Windows PowerShell reading the password from standard input as UTF-8 bytes (as
        # restic reads it) and printing restic 0.14's ls --json lines for the files (nine fraction digits, an offset)
        function script:New-FakeRestic([string[]]$Lines, [string]$Password) {
            $body = @('$in = [Console]::OpenStandardInput(); $buf = New-Object byte[] 4096; $n = $in.Read($buf, 0, 4096)'
                '$pw = [Text.Encoding]::UTF8.GetString($buf, 0, $n).TrimEnd([char]10, [char]13)'
                ('if ($pw -ne ''{0}'') {{ [Console]::Error.WriteLine(''Fatal: wrong password or no key found''); exit 1 }}' -f $Password))
            $body += @($Lines | ForEach-Object { "'" + $_.Replace("'", "''") + "'" })
            $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes(($body -join "`n")))
            return @($script:PowerShell, '-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)
        }
        function script:Get-Node([string]$Rel, [int64]$Size) {
            $f = Get-Item -LiteralPath (Join-Path $script:Data $Rel)
            $mtime = $f.LastWriteTimeUtc.ToLocalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'.123456789'zzz", [Globalization.CultureInfo]::InvariantCulture)
            return ('{{"name":"{0}","type":"file","path":"/X/data/{1}","size":{2},"mtime":"{3}","struct_type":"node"}}' -f $f.Name, $Rel.Replace('\', '/'), $Size, $mtime)
        }
        $script:Snapshot = '{"time":"2026-11-23T10:00:00.123456789+01:00","id":"5597edf03b3031986b258d27e38797143e88e2c7b06de6bd463a1f0069709543","struct_type":"snapshot"}'
    }

    It 'a snapshot with every file of the listing passes; the password reaches restic as UTF-8 on standard input' {
        $lines = @($script:Snapshot, '{"name":"data","type":"dir","path":"/X/data","struct_type":"node"}', (Get-Node 'mail\user.nsf' 50), (Get-Node 'names.nsf' 100))
        $data = @{ manifest = $script:Tsv; limit = 20; argv = (New-FakeRestic $lines 'pässwörd "x" \'); password = 'pässwörd "x" \'
            units = @(@{ prefix = 'data\'; root = '/X/data' }) }
        $r = Invoke-HostScript -Name 'restic-compare' -Data $data
        $r.rc | Should -Be 0 -Because $r.stderr
        $r.json.difference_count | Should -Be 0
        $r.json.files | Should -Be 2
        $r.json.snapshot_id | Should -BeLike '5597edf0*'
    }

    It 'a missing file, a size that differs and an extra file are named; exit 1' {
        $lines = @($script:Snapshot, (Get-Node 'names.nsf' 99), '{"name":"x.nsf","type":"file","path":"/X/data/x.nsf","size":1,"mtime":"2026-11-23T10:00:00Z","struct_type":"node"}')
        $data = @{ manifest = $script:Tsv; limit = 20; argv = (New-FakeRestic $lines 'pw'); password = 'pw'; units = @(@{ prefix = 'data\'; root = '/X/data' }) }
        $r = Invoke-HostScript -Name 'restic-compare' -Data $data
        $r.rc | Should -Be 1
        $r.json.difference_count | Should -Be 3
        @($r.json.differences) | Should -Contain 'size differs: data\names.nsf (100 != 99)'
        @($r.json.differences) | Should -Contain 'extra in the snapshot: /X/data/x.nsf'
        @($r.json.differences) | Should -Contain 'missing in the snapshot: data\mail\user.nsf'
    }

    It 'restic failing (a wrong password) is exit 3 with restic''s error on standard error' {
        $data = @{ manifest = $script:Tsv; limit = 20; argv = (New-FakeRestic @($script:Snapshot) 'right'); password = 'wrong'
            units = @(@{ prefix = 'data\'; root = '/X/data' }) }
        $r = Invoke-HostScript -Name 'restic-compare' -Data $data
        $r.rc | Should -Be 3
        $r.stderr | Should -Match 'wrong password or no key found'
    }
}
