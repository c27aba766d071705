# Pester 5 test for Windows CI: files/quiesce_domino_backup.ps1 and quiesce_domino_restore.ps1 as Domino
# Backup runs them (positional arguments appended), against a scratch data directory.
# Run: Invoke-Pester -Path tests/windows
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

BeforeAll {
    $repo = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $script:Backup = Join-Path $repo 'files\quiesce_domino_backup.ps1'
    $script:Restore = Join-Path $repo 'files\quiesce_domino_restore.ps1'
    $script:PowerShell = "$env:SystemRoot\System32\WindowsPowerShell\v1.0\powershell.exe"
    # Windows PowerShell 5.1 drops empty strings when it passes an array to a native program, and Domino
    # Backup appends empty arguments: start the process with a literal command line instead.
    function Start-Integration([string]$Script, [string[]]$Arguments) {
        $quoted = @($Arguments | ForEach-Object { if ($_ -eq '' -or $_ -match '[\s"]') { '"' + ($_ -replace '"', '\"') + '"' } else { $_ } })
        $psi = New-Object System.Diagnostics.ProcessStartInfo
        $psi.FileName = $script:PowerShell
        $psi.Arguments = ('-NoProfile -ExecutionPolicy Bypass -File "{0}" {1}' -f $Script, ($quoted -join ' '))
        $psi.UseShellExecute = $false
        $psi.RedirectStandardOutput = $true
        return [System.Diagnostics.Process]::Start($psi)
    }
    function Invoke-Integration([string]$Script, [string[]]$Arguments) {
        $process = Start-Integration $Script $Arguments
        $out = $process.StandardOutput.ReadToEnd()
        $process.WaitForExit()
        return @{ rc = $process.ExitCode; out = $out }
    }
    function Get-DominoArgs([string]$First, [string]$FileName, [string]$Start, [string]$Last) {
        return @($First, $FileName, '', 'SRV01', '', 'FULL', $Start, 'C:\target', $Last)
    }
}

Describe 'quiesce_domino_backup.ps1' {
    BeforeEach {
        $script:Data = Join-Path $TestDrive ('data' + [guid]::NewGuid().ToString('N'))
        [void](New-Item -ItemType Directory -Path (Join-Path $script:Data 'mail'))
        Set-Content -LiteralPath (Join-Path $script:Data 'mail\a.nsf') -Value 'db'
        Set-Content -LiteralPath (Join-Path $script:Data 'b.nsf') -Value 'db'
        # quiesce.domino's reset step asks for the snapshot before it runs load backup -s
        $script:Hold = Join-Path $script:Data 'quiesce_domino\hold'
        [void](New-Item -ItemType Directory -Force -Path $script:Hold)
        Set-Content -LiteralPath (Join-Path $script:Hold 'request') -Value 'request'
    }

    It 'writes the tag, holds until released and records held and done' {
        $hold = Join-Path $script:Data 'quiesce_domino\hold'
        $process = Start-Integration $script:Backup (@('-Phase', 'start', '-DataDir', $script:Data, '-TimeoutSeconds', '30') +
            (Get-DominoArgs '' '' '20261123141921' '7'))
        $deadline = (Get-Date).AddSeconds(20)
        while (-not (Test-Path (Join-Path $hold 'held.json')) -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 50 }
        Test-Path (Join-Path $script:Data 'dominobackup_20261123141921.tag') | Should -BeTrue
        Test-Path (Join-Path $hold 'done.json') | Should -BeFalse
        & "$env:SystemRoot\System32\fsutil.exe" file createnew (Join-Path $hold 'release') 0 | Out-Null
        $out = $process.StandardOutput.ReadToEnd()
        $process.WaitForExit()
        $process.ExitCode | Should -Be 0
        $out | Should -Match 'QUIESCE_SNAPSHOT_OK'
        (Get-Content -Raw (Join-Path $hold 'done.json') | ConvertFrom-Json).released | Should -BeTrue
    }

    It 'refuses a backup that quiesce.domino did not request' {
        Remove-Item -LiteralPath (Join-Path $script:Hold 'request')
        $r = Invoke-Integration $script:Backup (@('-Phase', 'start', '-DataDir', $script:Data) + (Get-DominoArgs '' '' '20261123141921' '7'))
        $r.rc | Should -Be 1
        $r.out | Should -Match 'no snapshot was requested'
        Test-Path (Join-Path $script:Hold 'held.json') | Should -BeFalse
    }

    It 'does not record a backup complete when a delta could not be kept' {
        $r = Invoke-Integration $script:Backup (@('-Phase', 'delta', '-DataDir', $script:Data) +
            (Get-DominoArgs (Join-Path $script:Data 'missing.nsf.DELTA') 'missing.nsf' '20261123141921' '7'))
        $r.rc | Should -Be 1
        $r = Invoke-Integration $script:Backup (@('-Phase', 'post', '-DataDir', $script:Data) + (Get-DominoArgs '' '' '20261123141921' '7'))
        $r.rc | Should -Be 1
        $r.out | Should -Match 'could not be kept'
        Test-Path (Join-Path $script:Data 'quiesce_domino\deltas\20261123141921\collected.json') | Should -BeFalse
    }

    It 'reports an error when nobody releases it' {
        $r = Invoke-Integration $script:Backup (@('-Phase', 'start', '-DataDir', $script:Data, '-TimeoutSeconds', '5') + (Get-DominoArgs '' '' '20261123141921' '7'))
        $r.rc | Should -Be 1
        $r.out | Should -Match 'QUIESCE_SNAPSHOT_ERROR'
    }

    It 'keeps each delta Domino hands to the Backup DB command and lists them after the backup' {
        Set-Content -LiteralPath (Join-Path $script:Data 'mail\a.nsf.DELTA') -Value 'delta'
        $r = Invoke-Integration $script:Backup (@('-Phase', 'delta', '-DataDir', $script:Data) +
            (Get-DominoArgs (Join-Path $script:Data 'mail\a.nsf.DELTA') 'mail\a.nsf' '20261123141921' '7'))
        $r.rc | Should -Be 0
        $r = Invoke-Integration $script:Backup (@('-Phase', 'delta', '-DataDir', $script:Data) +
            (Get-DominoArgs (Join-Path $script:Data 'b.nsf') 'b.nsf' '20261123141921' '7'))
        $r.rc | Should -Be 1
        $r.out | Should -Match 'not a .DELTA file'
        $r = Invoke-Integration $script:Backup (@('-Phase', 'post', '-DataDir', $script:Data) + (Get-DominoArgs '' '' '20261123141921' '7'))
        $r.rc | Should -Be 0
        $kept = Join-Path $script:Data 'quiesce_domino\deltas\20261123141921'
        Get-Content -Raw (Join-Path $kept 'mail\a.nsf.DELTA') | Should -Match 'delta'
        (Get-Content -Raw (Join-Path $kept 'collected.json') | ConvertFrom-Json).deltas.path | Should -Be 'mail\a.nsf.DELTA'
    }

    It 'deletes the file list in the snapshot phase' {
        $list = Join-Path $TestDrive 'list.txt'
        Set-Content -LiteralPath $list -Value @((Join-Path $script:Data 'mail\a.nsf'), (Join-Path $script:Data 'b.nsf'))
        Set-Content -LiteralPath (Join-Path $script:Data 'dominobackup_20261123141921.tag') -Value 'x'
        $r = Invoke-Integration $script:Backup (@('-Phase', 'snapshot', '-DataDir', $script:Data) + (Get-DominoArgs $list '' '20261123141921' '7'))
        $r.rc | Should -Be 0
        Test-Path $list | Should -BeFalse
        Test-Path (Join-Path $script:Data 'dominobackup_20261123141921.tag') | Should -BeFalse
    }

    It 'refuses a BackupStartDT that is not yyyyMMddHHmmss (arguments shifted or missing)' {
        $r = Invoke-Integration $script:Backup (@('-Phase', 'start', '-DataDir', $script:Data) + (Get-DominoArgs '' '' 'FULL' '7'))
        $r.rc | Should -Be 1
        $r.out | Should -Match 'QUIESCE_SNAPSHOT_ERROR'
    }
}

Describe 'quiesce_domino_restore.ps1' {
    It 'copies a database and its delta from the copy that holds the tag' {
        $root = Join-Path $TestDrive 'copies'
        $copy = Join-Path $root '20261123T141921Z'
        [void](New-Item -ItemType Directory -Path (Join-Path $copy 'mail'))
        Set-Content -LiteralPath (Join-Path $copy 'dominobackup_20261123141921.tag') -Value 'x'
        Set-Content -LiteralPath (Join-Path $copy 'mail\a.nsf') -Value 'db'
        Set-Content -LiteralPath (Join-Path $copy 'mail\a.nsf.DELTA') -Value 'delta'
        $target = Join-Path $TestDrive 'restore\a.DAD'
        $r = Invoke-Integration $script:Restore (@('-CopyRoot', $root) + (Get-DominoArgs '' 'mail\a.nsf' '20261123141921' $target))
        $r.rc | Should -Be 0
        Get-Content -Raw $target | Should -Match 'db'
        $r = Invoke-Integration $script:Restore (@('-CopyRoot', $root) + (Get-DominoArgs '' 'mail\a.nsf' '20261123141921' ($target + '.DELTA')))
        $r.rc | Should -Be 0
        Get-Content -Raw ($target + '.DELTA') | Should -Match 'delta'
        $r = Invoke-Integration $script:Restore (@('-CopyRoot', $root) + (Get-DominoArgs '' 'mail\a.nsf' '20990101000000' $target))
        $r.rc | Should -Be 1
        $r.out | Should -Match 'QUIESCE_RESTORE_ERROR: no complete copy'
    }
    It 'finds the data directory in the data folder of a copy with a layout file' {
        $root = Join-Path $TestDrive 'layout'
        $copy = Join-Path $root '20261123T151921Z'
        [void](New-Item -ItemType Directory -Path (Join-Path $copy 'data\mail'))
        Set-Content -LiteralPath (Join-Path $copy 'quiesce_domino.json') -Value '{"format": 1}'
        Set-Content -LiteralPath (Join-Path $copy 'data\dominobackup_20261123151921.tag') -Value 'x'
        Set-Content -LiteralPath (Join-Path $copy 'data\mail\b.nsf') -Value 'layoutdb'
        $target = Join-Path $TestDrive 'restore\b.DAD'
        $r = Invoke-Integration $script:Restore (@('-CopyRoot', $root) + (Get-DominoArgs '' 'mail\b.nsf' '20261123151921' $target))
        $r.rc | Should -Be 0
        Get-Content -Raw $target | Should -Match 'layoutdb'
    }
}
