# Pester 5 test for Windows CI: the Windows executor passes the same contract vectors as the
# POSIX one (tests/contract/vectors.json).  Run: Invoke-Pester -Path tests/windows
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

BeforeDiscovery {
    $repo = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $script:Vectors = (Get-Content -Raw -LiteralPath (Join-Path $repo 'tests\contract\vectors.json') | ConvertFrom-Json).vectors
}

BeforeAll {
    $repo = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    Import-Module (Join-Path $repo 'plugins\module_utils\QuiesceExecutor.psm1') -Force
    $script:Probe = @("$env:SystemRoot\System32\WindowsPowerShell\v1.0\powershell.exe", '-NoProfile', '-ExecutionPolicy', 'Bypass', '-File', (Join-Path $repo 'tests\contract\probe.ps1'))

    function Expand-Vector {
        param([object]$Vector, [string]$Work)
        $json = ConvertTo-Json -InputObject $Vector.plan -Depth 20
        $plan = ConvertFrom-Json -InputObject $json
        $plan | Add-Member -NotePropertyName version -NotePropertyValue 1 -Force
        $plan | Add-Member -NotePropertyName platform -NotePropertyValue 'windows' -Force
        $sections = @($plan.steps)
        if ($plan.PSObject.Properties['guard']) { $sections += @($plan.guard) }
        if ($plan.PSObject.Properties['finally']) { $sections += @($plan.finally) }
        if ($plan.PSObject.Properties['rescue']) { $sections += @($plan.rescue) }
        if ($plan.PSObject.Properties['watchdog']) {
            $sections += @($plan.watchdog.arm)
            if ($plan.watchdog.PSObject.Properties['disarm']) { $sections += @($plan.watchdog.disarm) }
        }
        foreach ($step in $sections) {
            $argv = New-Object System.Collections.Generic.List[object]
            for ($i = 0; $i -lt $step.argv.Count; $i++) {
                $arg = $step.argv[$i]
                if ($i -eq 0 -and $arg -eq '@PROBE@') { foreach ($p in $script:Probe) { $argv.Add($p) } }
                elseif ($i -eq 0 -and $arg -eq '@MISSING@') { $argv.Add((Join-Path $Work 'no-such-tool.exe')) }
                elseif ($arg -is [string]) { $argv.Add($arg.Replace('@WORK@/', $Work.TrimEnd('\') + '\')) }
                else { $argv.Add($arg) }
            }
            $step.argv = $argv.ToArray()
        }
        return (ConvertTo-Json -InputObject $plan -Depth 20)
    }

    function Compare-Record {
        param([string]$Where, [object]$Record, [object]$Expect)
        $problems = @()
        foreach ($prop in $Expect.PSObject.Properties) {
            $key = $prop.Name
            $want = $prop.Value
            if ($key.EndsWith('_lines')) {
                $got = @(([string]$Record[$key.Substring(0, $key.Length - 6)]).Replace("`r`n", "`n").Split("`n") | Where-Object { $_ -ne '' })
                $ok = (($got -join '|') -eq (@($want) -join '|'))
            }
            elseif ($key.EndsWith('_tail_contains')) {
                $text = [string]$Record[$key.Substring(0, $key.Length - 14)]
                $ok = $text.Substring([Math]::Max(0, $text.Length - 4096)).Contains($want)
            }
            elseif ($key.EndsWith('_contains')) { $ok = ([string]$Record[$key.Substring(0, $key.Length - 9)]).Contains($want) }
            elseif ($key.EndsWith('_regex')) { $ok = ([string]$Record[$key.Substring(0, $key.Length - 6)]) -match $want }
            elseif ($key.EndsWith('_min')) { $ok = ($Record[$key.Substring(0, $key.Length - 4)] -ge $want) }
            else { $ok = ($Record[$key] -eq $want) }
            if (-not $ok) { $problems += "$Where.$key expected $want" }
        }
        return $problems
    }
}

Describe 'Windows executor contract' {
    It 'passes vector <name>' -ForEach @($script:Vectors | ForEach-Object { @{ name = $_.name; vector = $_ } }) {
        $work = Join-Path ([System.IO.Path]::GetTempPath()) ('quiesce-vector-' + [guid]::NewGuid().ToString('N'))
        [void](New-Item -ItemType Directory -Path $work)
        $result = Invoke-QuiescePlan -Json (Expand-Vector -Vector $vector -Work $work)
        $expect = $vector.expect
        $problems = @()
        if ($expect.PSObject.Properties['after_wait_s']) { Start-Sleep -Seconds $expect.after_wait_s }
        foreach ($prop in $expect.PSObject.Properties) {
            switch ($prop.Name) {
                'ok' { if ($result.ok -ne $prop.Value) { $problems += "ok expected $($prop.Value)" } }
                'tmpdir_removed' { if ($result.tmpdir_removed -ne $prop.Value) { $problems += 'tmpdir not removed' } }
                { $_ -in 'steps', 'rescue', 'finally' } {
                    $records = @($result[$prop.Name])
                    $wants = @($prop.Value)
                    if ($records.Count -ne $wants.Count) { $problems += "$($prop.Name) count" }
                    for ($i = 0; $i -lt [Math]::Min($records.Count, $wants.Count); $i++) { $problems += Compare-Record "$($prop.Name)[$i]" $records[$i] $wants[$i] }
                }
                'failed_step' {
                    if ($null -eq $prop.Value) { if ($null -ne $result.failed_step) { $problems += 'unexpected failure' } }
                    else { $problems += Compare-Record 'failed_step' $result.failed_step $prop.Value }
                }
                'watchdog' {
                    foreach ($w in $prop.Value.PSObject.Properties) {
                        if ($w.Name -in 'arm', 'disarm') {
                            $records = @($result.watchdog[$w.Name])
                            $wants = @($w.Value)
                            for ($i = 0; $i -lt $wants.Count; $i++) { $problems += Compare-Record "watchdog.$($w.Name)[$i]" $records[$i] $wants[$i] }
                        }
                        elseif ($result.watchdog[$w.Name] -ne $w.Value) { $problems += "watchdog.$($w.Name)" }
                    }
                }
                'exists' { foreach ($p in $prop.Value) { if (-not (Test-Path -LiteralPath $p.Replace('@WORK@/', $work + '\'))) { $problems += "$p missing" } } }
                'absent' { foreach ($p in $prop.Value) { if (Test-Path -LiteralPath $p.Replace('@WORK@/', $work + '\')) { $problems += "$p present" } } }
            }
        }
        Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
        $problems | Should -BeNullOrEmpty
    }

    It 'quotes arguments the way CommandLineToArgvW reads them' {
        ConvertTo-WindowsArgument 'plain' | Should -Be 'plain'
        ConvertTo-WindowsArgument 'two words' | Should -Be '"two words"'
        ConvertTo-WindowsArgument '' | Should -Be '""'
        ConvertTo-WindowsArgument 'say "hi"' | Should -Be '"say \"hi\""'
        ConvertTo-WindowsArgument 'C:\Program Files\' | Should -Be '"C:\Program Files\\"'
    }

    It 'decodes console output in the system OEM code page (OEMCP), not the format culture''s' {
        $oemcp = [int](Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Nls\CodePage' -Name OEMCP).OEMCP
        (Get-OutputEncoding 'console').CodePage | Should -Be $oemcp
        $saved = [System.Threading.Thread]::CurrentThread.CurrentCulture
        try {
            # a format culture whose OEM code page differs from the system's must not change the decoding
            $other = if ($oemcp -eq 850) { 'en-US' } else { 'de-DE' }
            [System.Threading.Thread]::CurrentThread.CurrentCulture = [System.Globalization.CultureInfo]::GetCultureInfo($other)
            (Get-OutputEncoding 'console').CodePage | Should -Be $oemcp
        }
        finally { [System.Threading.Thread]::CurrentThread.CurrentCulture = $saved }
        (Get-OutputEncoding 'utf-16le').CodePage | Should -Be 1200
    }

    It 'check mode: a read-only plan runs for real (no -WhatIf), any other plan is skipped' {
        $steps = @(@{ name = 'probe'; argv = @("$env:SystemRoot\System32\whoami.exe"); timeout = 30; ok_rc = @(0) })
        $readOnly = ConvertTo-Json -Depth 8 -InputObject @{ version = 1; name = 'read'; platform = 'windows'; check_mode_safe = $true; steps = $steps }
        $changing = ConvertTo-Json -Depth 8 -InputObject @{ version = 1; name = 'change'; platform = 'windows'; check_mode_safe = $false; steps = $steps }
        $ran = Invoke-QuiesceModule -PlanJson $readOnly -CheckMode $true
        $ran['steps'][0]['status'] | Should -Be 'ok'
        $ran['changed'] | Should -BeFalse
        $skipped = Invoke-QuiesceModule -PlanJson $changing -CheckMode $true
        $skipped['skipped'] | Should -BeTrue
        @($skipped['steps']).Count | Should -Be 0
    }

    It 'names the failed step in the module message' {
        Get-PlanFailureMessage -Failed ([ordered]@{ name = 'copy'; section = 'steps'; status = 'failed'; rc = 16; error = $null; stderr = ''; stdout = "a`r`nlast line" }) |
            Should -Be "step 'copy' (steps) failed: exit code 16: last line"
    }

    It 'a step whose runner throws is an error record, and finally still runs' {
        $work = Join-Path $TestDrive 'throws'
        [void](New-Item -ItemType Directory -Path $work)
        $mark = Join-Path $work 'finally-ran'
        $plan = ConvertTo-Json -Depth 8 -InputObject @{ version = 1; name = 'throws'; platform = 'windows'
            steps = @(@{ name = 'bad'; argv = @("$env:SystemRoot\System32\whoami.exe"); timeout = 30; ok_rc = @(0) })
            'finally' = @(@{ name = 'always'; argv = @($script:Probe[0]) + $script:Probe[1..($script:Probe.Count - 1)] + @('mark', $mark); timeout = 30; ok_rc = @(0) }) }
        Mock Invoke-PlanStepWithRetry -ModuleName QuiesceExecutor -ParameterFilter { (Get-PlanValue $Step 'name') -eq 'bad' } -MockWith { throw 'cannot end the process tree' }
        $result = Invoke-QuiescePlan -Json $plan
        $result['steps'][0]['status'] | Should -Be 'error'
        $result['steps'][0]['error'] | Should -Match 'cannot end the process tree'
        Test-Path -LiteralPath $mark | Should -BeTrue
    }
}
