# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# The Windows host executor of quiesce.domino: runs one plan (docs/executor-contract.md) and returns every
# step's rc, output and host-clock timings.  Used by the quiesce.domino.host_exec module (host_exec.ps1, on
# Ansible.Basic); Pester imports it to test the functions (tests/windows).  Target: Windows PowerShell 5.1.
# All knowledge of Windows tools lives in Python on the controller; this file only runs argv lists.

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

function Get-PlanValue {
    param([object]$Object, [string]$Name, [object]$Default = $null)
    if ($null -eq $Object) { return $Default }
    $prop = $Object.PSObject.Properties[$Name]
    if ($null -eq $prop) { return $Default }
    return $prop.Value
}

function Get-NowMs {
    return [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
}

function ConvertTo-WindowsArgument {
    # Quote one argument so that CommandLineToArgvW (and the C runtime) give it back unchanged.
    param([AllowEmptyString()][string]$Argument)
    if ($Argument.Length -gt 0 -and $Argument -notmatch '[\s"]') { return $Argument }
    $sb = New-Object System.Text.StringBuilder
    [void]$sb.Append('"')
    $backslashes = 0
    foreach ($ch in $Argument.ToCharArray()) {
        if ($ch -eq [char]'\') {
            $backslashes++
            continue
        }
        if ($ch -eq [char]'"') {
            [void]$sb.Append([char]'\', ($backslashes * 2) + 1)
            [void]$sb.Append([char]'"')
        }
        else {
            if ($backslashes -gt 0) { [void]$sb.Append([char]'\', $backslashes) }
            [void]$sb.Append($ch)
        }
        $backslashes = 0
    }
    if ($backslashes -gt 0) { [void]$sb.Append([char]'\', $backslashes * 2) }
    [void]$sb.Append('"')
    return $sb.ToString()
}

function Get-OutputEncoding {
    # 'console': console tools write in the system's OEM code page (GetOEMCP, "the current OEM code page identifier
    # for the operating system", learn.microsoft.com/windows/win32/api/winnls/nf-winnls-getoemcp), which the
    # registry value Nls\CodePage\OEMCP holds; a tool started without a console (CreateNoWindow) gets a new one,
    # in that code page unless the console's own settings say otherwise (inferred, not checked on a host with such
    # settings).  CurrentCulture.TextInfo.OEMCodePage is the OEM code page of the user's format culture, which
    # differs when format and system locale differ (de-DE formats on an en-US system: 850, not 437).  The
    # installed UI culture's OEM code page stands in when the value cannot be read.
    param([string]$Name)
    switch ($Name) {
        'utf-8' { return New-Object System.Text.UTF8Encoding -ArgumentList $false }
        'utf-16le' { return [System.Text.Encoding]::Unicode }
        default {
            $oem = 0
            $nls = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Nls\CodePage' -ErrorAction SilentlyContinue
            if ($null -ne $nls -and $null -ne $nls.PSObject.Properties['OEMCP']) {
                [void][int]::TryParse([string]$nls.PSObject.Properties['OEMCP'].Value, [ref]$oem)
            }
            if ($oem -le 0) { $oem = [System.Globalization.CultureInfo]::InstalledUICulture.TextInfo.OEMCodePage }
            return [System.Text.Encoding]::GetEncoding($oem)
        }
    }
}

function Limit-Output {
    # Keep the head and the tail within $Limit characters, as the contract says.
    param([AllowEmptyString()][string]$Text, [int]$Limit)
    if ($Text.Length -le $Limit) { return @{ Text = $Text; Truncated = $false } }
    $half = [int][Math]::Floor($Limit / 2)
    $omitted = $Text.Length - (2 * $half)
    $joined = $Text.Substring(0, $half) + "`n...[$omitted bytes omitted]...`n" + $Text.Substring($Text.Length - $half)
    return @{ Text = $joined; Truncated = $true }
}

function Stop-ProcessTree {
    # Kill a process and every process it started (children first, collected before any kill).
    param([int]$ProcessId)
    $all = @(Get-CimInstance -ClassName Win32_Process -Property ProcessId, ParentProcessId)
    $victims = New-Object System.Collections.Generic.List[int]
    $queue = New-Object System.Collections.Generic.Queue[int]
    $queue.Enqueue($ProcessId)
    while ($queue.Count -gt 0) {
        $current = $queue.Dequeue()
        $victims.Add($current)
        foreach ($proc in $all) {
            if ($proc.ParentProcessId -eq $current -and -not $victims.Contains([int]$proc.ProcessId)) {
                $queue.Enqueue([int]$proc.ProcessId)
            }
        }
    }
    $victims.Reverse()
    foreach ($victim in $victims) {
        Stop-Process -Id $victim -Force -ErrorAction SilentlyContinue
    }
}

function New-StepRecord {
    param([string]$Name, [string]$Status, [string]$ErrorText = $null)
    return [ordered]@{
        name = $Name; status = $Status; rc = $null; stdout = ''; stderr = ''
        stdout_bytes = 0; stderr_bytes = 0; truncated = $false
        start_ms = $null; end_ms = $null; duration_ms = $null; error = $ErrorText
    }
}

function Invoke-PlanStep {
    param([object]$Step, [hashtable]$FilePaths, [int]$MaxOutput)
    $name = [string](Get-PlanValue $Step 'name')
    $argv = New-Object System.Collections.Generic.List[string]
    foreach ($arg in @(Get-PlanValue $Step 'argv' @())) {
        if ($arg -is [string]) { $argv.Add($arg) }
        else { $argv.Add([string]$FilePaths[[string](Get-PlanValue $arg 'file')]) }
    }
    $record = New-StepRecord -Name $name -Status 'ok'
    $record['argv'] = $argv.ToArray()
    $start = Get-NowMs
    $record.start_ms = $start
    $exe = $argv[0]
    if (-not (Test-Path -LiteralPath $exe -PathType Leaf)) {
        $record.status = 'error'
        $record.error = "executable not found: $exe"
        $record.end_ms = Get-NowMs
        $record.duration_ms = $record.end_ms - $start
        return $record
    }
    $encoding = Get-OutputEncoding ([string](Get-PlanValue $Step 'encoding' 'console'))
    $psi = New-Object System.Diagnostics.ProcessStartInfo
    $psi.FileName = $exe
    $quoted = @()
    for ($i = 1; $i -lt $argv.Count; $i++) { $quoted += ConvertTo-WindowsArgument $argv[$i] }
    $psi.Arguments = $quoted -join ' '
    $psi.UseShellExecute = $false
    $psi.CreateNoWindow = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.RedirectStandardInput = $true
    $psi.StandardOutputEncoding = $encoding
    $psi.StandardErrorEncoding = $encoding
    $psi.WorkingDirectory = [System.IO.Path]::GetTempPath()
    $proc = New-Object System.Diagnostics.Process
    $proc.StartInfo = $psi
    try {
        [void]$proc.Start()
    }
    catch {
        $record.status = 'error'
        $record.error = "cannot start ${exe}: $($_.Exception.Message)"
        $record.end_ms = Get-NowMs
        $record.duration_ms = $record.end_ms - $start
        return $record
    }
    $outTask = $proc.StandardOutput.ReadToEndAsync()
    $errTask = $proc.StandardError.ReadToEndAsync()
    $stdin = Get-PlanValue $Step 'stdin'
    try {
        if ($null -ne $stdin) { $proc.StandardInput.Write([string]$stdin) }
        $proc.StandardInput.Close()
    }
    catch [System.IO.IOException] {
        Write-Verbose "step '$name' closed its standard input early"
    }
    $timeoutMs = [int]([double](Get-PlanValue $Step 'timeout' 60) * 1000)
    $timedOut = -not $proc.WaitForExit($timeoutMs)
    if ($timedOut) {
        Stop-ProcessTree -ProcessId $proc.Id
        [void]$proc.WaitForExit(10000)
    }
    else {
        $proc.WaitForExit()  # flush the asynchronous readers
    }
    [void][System.Threading.Tasks.Task]::WaitAll(@($outTask, $errTask), 5000)
    $stdout = if ($outTask.IsCompleted) { $outTask.Result } else { '' }
    $stderr = if ($errTask.IsCompleted) { $errTask.Result } else { '' }
    $record.end_ms = Get-NowMs
    $record.duration_ms = $record.end_ms - $start
    $record.stdout_bytes = $encoding.GetByteCount($stdout)
    $record.stderr_bytes = $encoding.GetByteCount($stderr)
    $limitedOut = Limit-Output -Text $stdout -Limit $MaxOutput
    $limitedErr = Limit-Output -Text $stderr -Limit $MaxOutput
    $record.stdout = $limitedOut.Text
    $record.stderr = $limitedErr.Text
    $record.truncated = ($limitedOut.Truncated -or $limitedErr.Truncated)
    if ($timedOut) {
        $record.status = 'timeout'
        $record.error = "timed out after $(Get-PlanValue $Step 'timeout' 60) s; process tree killed"
        return $record
    }
    $record.rc = $proc.ExitCode
    $okRc = Get-PlanValue $Step 'ok_rc' @(0)
    if ($okRc -is [string]) {
        if ($okRc -ne 'any') { $record.status = 'failed' }
    }
    elseif (@($okRc) -notcontains $proc.ExitCode) { $record.status = 'failed' }
    return $record
}

function Test-RetryCondition {
    param([object]$Record, [object]$Retry)
    if ($Record.status -eq 'timeout' -or $Record.status -eq 'error') { return $false }
    $untilRc = Get-PlanValue $Retry 'until_rc'
    if ($null -ne $untilRc) { $rcOk = (@($untilRc) -contains $Record.rc) }
    else { $rcOk = ($Record.status -eq 'ok') }
    $pattern = Get-PlanValue $Retry 'until_stdout'
    $outOk = ($null -eq $pattern) -or ([regex]::IsMatch([string]$Record.stdout, [string]$pattern))
    return ($rcOk -and $outOk)
}

function Invoke-PlanStepWithRetry {
    # Run a step; with 'retry' run it again every 'interval' seconds until its condition holds.
    param([object]$Step, [hashtable]$FilePaths, [int]$MaxOutput)
    $retry = Get-PlanValue $Step 'retry'
    if ($null -eq $retry) { return Invoke-PlanStep -Step $Step -FilePaths $FilePaths -MaxOutput $MaxOutput }
    $within = [double](Get-PlanValue $retry 'within' 60)
    $interval = [double](Get-PlanValue $retry 'interval' 1)
    $deadline = [DateTime]::UtcNow.AddSeconds($within)
    $attempts = 0
    $firstStart = $null
    while ($true) {
        $record = Invoke-PlanStep -Step $Step -FilePaths $FilePaths -MaxOutput $MaxOutput
        $attempts++
        if ($null -eq $firstStart) { $firstStart = $record.start_ms }
        if (Test-RetryCondition -Record $record -Retry $retry) {
            $record.status = 'ok'
            break
        }
        if ([DateTime]::UtcNow.AddSeconds($interval) -gt $deadline) {
            $record.status = 'failed'
            $record.error = "condition not met within $within s ($attempts attempts)"
            break
        }
        Start-Sleep -Milliseconds ([int]($interval * 1000))
    }
    $record['attempts'] = $attempts
    $record.start_ms = $firstStart
    $record.duration_ms = $record.end_ms - $firstStart
    return $record
}

function Write-PlanFile {
    param([string]$Directory, [string]$Name, [object]$Spec, [string]$DeadlineLocal, [string]$DeadlineUtc)
    $content = [string](Get-PlanValue $Spec 'content' '')
    if (Get-PlanValue $Spec 'template' $false) {
        $content = $content.Replace('@@WATCHDOG_DEADLINE_LOCAL@@', $DeadlineLocal).Replace('@@WATCHDOG_DEADLINE_UTC@@', $DeadlineUtc).Replace('@@PLAN_DIR@@', $Directory)
    }
    switch ([string](Get-PlanValue $Spec 'encoding' 'utf-8')) {
        'utf-16le-bom' { $bytes = [byte[]](0xFF, 0xFE) + [System.Text.Encoding]::Unicode.GetBytes($content) }
        'ascii' { $bytes = [System.Text.Encoding]::ASCII.GetBytes($content) }
        default { $bytes = (New-Object System.Text.UTF8Encoding -ArgumentList $false).GetBytes($content) }
    }
    $path = Join-Path -Path $Directory -ChildPath $Name
    [System.IO.File]::WriteAllBytes($path, $bytes)
    return $path
}

function Test-PlanShape {
    # Python validated the plan; the executor re-checks what keeps argv safe.
    param([object]$Plan)
    if ((Get-PlanValue $Plan 'version') -ne 1) { throw "invalid plan: version must be 1" }
    if ((Get-PlanValue $Plan 'platform') -ne 'windows') { throw "invalid plan: platform must be windows" }
    $sections = @(@(Get-PlanValue $Plan 'guard' @()), @(Get-PlanValue $Plan 'steps' @()), @(Get-PlanValue $Plan 'rescue' @()),
        @(Get-PlanValue $Plan 'finally' @()))
    $watchdog = Get-PlanValue $Plan 'watchdog'
    if ($null -ne $watchdog) { $sections += , @(Get-PlanValue $watchdog 'arm' @()); $sections += , @(Get-PlanValue $watchdog 'disarm' @()) }
    foreach ($section in $sections) {
        foreach ($step in $section) {
            $argv = @(Get-PlanValue $step 'argv' @())
            if ($argv.Count -eq 0 -or $argv[0] -isnot [string] -or $argv[0] -notmatch '^[A-Za-z]:\\') {
                throw "invalid plan: step '$(Get-PlanValue $step 'name')' needs an absolute executable path"
            }
            foreach ($arg in $argv) {
                if ($arg -is [string] -and $arg -match "[`0`r`n]") {
                    throw "invalid plan: step '$(Get-PlanValue $step 'name')' has a newline or NUL in an argument"
                }
            }
        }
    }
}

function Invoke-QuiescePlan {
    param([Parameter(Mandatory = $true)][string]$Json)
    $plan = ConvertFrom-Json -InputObject $Json
    Test-PlanShape -Plan $plan
    $started = Get-NowMs
    $maxOutput = [int](Get-PlanValue $plan 'max_output_bytes' 1048576)
    $watchdog = Get-PlanValue $plan 'watchdog'
    $deadlineLocal = ''
    $deadlineUtc = ''
    # outputs: what each step of the steps section printed, for a later step's stdin_from.
    $state = @{ failed = $null; outputs = @{} }
    $result = [ordered]@{ guard = @(); steps = @(); rescue = @(); "finally" = @() }
    $wd = [ordered]@{ armed = $false; left_armed = $false; arm = @(); disarm = @(); deadline_local = $deadlineLocal; deadline_utc = $deadlineUtc }

    $runSection = {
        param([string]$Section, [object[]]$Steps, [bool]$StopOnFailure, [hashtable]$Paths)
        $records = @()
        $allOk = $true
        $stepFailed = @{}
        for ($index = 0; $index -lt $Steps.Count; $index++) {
            $step = $Steps[$index]
            $stepName = [string](Get-PlanValue $step 'name')
            if ($StopOnFailure -and -not $allOk) {
                $records += , (New-StepRecord -Name $stepName -Status 'skipped' -ErrorText 'skipped after an earlier failure')
                continue
            }
            $onlyIf = Get-PlanValue $step 'only_if_failed'
            if ($null -ne $onlyIf -and -not ($stepFailed.ContainsKey([string]$onlyIf) -and $stepFailed[[string]$onlyIf])) {
                $records += , (New-StepRecord -Name $stepName -Status 'skipped' -ErrorText "runs only if '$onlyIf' failed")
                continue
            }
            $onlyIfOk = Get-PlanValue $step 'only_if_ok'
            if ($null -ne $onlyIfOk -and -not ($stepFailed.ContainsKey([string]$onlyIfOk) -and -not $stepFailed[[string]$onlyIfOk])) {
                $records += , (New-StepRecord -Name $stepName -Status 'skipped' -ErrorText "runs only if '$onlyIfOk' succeeded")
                continue
            }
            $stdinFrom = Get-PlanValue $step 'stdin_from'
            if ($null -ne $stdinFrom) {
                $text = ''
                if ($state.outputs.ContainsKey([string]$stdinFrom)) { $text = [string]$state.outputs[[string]$stdinFrom] }
                $step = $step.PSObject.Copy()
                Add-Member -InputObject $step -NotePropertyName 'stdin' -NotePropertyValue $text -Force
            }
            try {
                $record = Invoke-PlanStepWithRetry -Step $step -FilePaths $Paths -MaxOutput $maxOutput
            }
            catch {
                # The runner itself threw (starting the process, ending a timed-out process tree, ...): the step
                # is an error, and the plan goes on to its rescue, finally and disarm as after any failed step.
                $record = New-StepRecord -Name $stepName -Status 'error' -ErrorText ('the executor failed: ' + $_.Exception.Message)
            }
            $records += , $record
            if ($Section -eq 'steps') { $state.outputs[$stepName] = [string]$record.stdout }
            $stepFailed[$stepName] = ($record.status -ne 'ok')
            if ($record.status -ne 'ok') {
                if ([bool](Get-PlanValue $step 'allow_failure' $false)) {
                    $record['allowed_failure'] = $true
                    continue
                }
                $allOk = $false
                if ($null -eq $state.failed) {
                    $failed = [ordered]@{}
                    foreach ($key in $record.Keys) { $failed[$key] = $record[$key] }
                    $failed['section'] = $Section
                    $failed['index'] = $index
                    $state.failed = $failed
                }
            }
        }
        return @{ Records = $records; Ok = $allOk }
    }

    $tmp = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('quiesce-plan-' + [guid]::NewGuid().ToString('N'))
    [void](New-Item -Path $tmp -ItemType Directory)
    try {
        $paths = @{}
        $files = Get-PlanValue $plan 'files'
        # Plain files first; template files (the watchdog's deadline) only after the guard steps passed.
        if ($null -ne $files) {
            foreach ($prop in $files.PSObject.Properties) {
                if ([bool](Get-PlanValue $prop.Value 'template' $false)) { continue }
                $paths[$prop.Name] = Write-PlanFile -Directory $tmp -Name $prop.Name -Spec $prop.Value -DeadlineLocal '' -DeadlineUtc ''
            }
        }
        $guarded = & $runSection 'guard' @(Get-PlanValue $plan 'guard' @()) $true $paths
        $result.guard = $guarded.Records
        if (-not $guarded.Ok) {
            # Another run holds the host lock, a preflight check failed: nothing is armed, frozen or released.
            $result.steps = @(foreach ($step in @(Get-PlanValue $plan 'steps' @())) {
                    New-StepRecord -Name ([string](Get-PlanValue $step 'name')) -Status 'skipped' -ErrorText 'a guard step failed'
                })
            $result["finally"] = @(foreach ($step in @(Get-PlanValue $plan 'finally' @())) {
                    New-StepRecord -Name ([string](Get-PlanValue $step 'name')) -Status 'skipped' -ErrorText 'a guard step failed'
                })
            $rescued = & $runSection 'rescue' @(Get-PlanValue $plan 'rescue' @()) $false $paths
            $result.rescue = $rescued.Records
            if ($null -ne $watchdog) {
                $wd.arm = @(foreach ($step in @(Get-PlanValue $watchdog 'arm' @())) {
                        New-StepRecord -Name ([string](Get-PlanValue $step 'name')) -Status 'skipped' -ErrorText 'a guard step failed'
                    })
            }
        }
        else {
            if ($null -ne $watchdog) {
                # The deadline counts from here, after the guards (they may take long: a free-space check).
                $seconds = [double](Get-PlanValue $watchdog 'seconds' 300)
                $invariant = [System.Globalization.CultureInfo]::InvariantCulture
                $deadlineLocal = [DateTime]::Now.AddSeconds($seconds).ToString('yyyy-MM-ddTHH:mm:ss', $invariant)
                $deadlineUtc = [DateTime]::UtcNow.AddSeconds($seconds).ToString("yyyy-MM-ddTHH:mm:ss'Z'", $invariant)
                $wd.deadline_local = $deadlineLocal
                $wd.deadline_utc = $deadlineUtc
            }
            if ($null -ne $files) {
                foreach ($prop in $files.PSObject.Properties) {
                    if (-not [bool](Get-PlanValue $prop.Value 'template' $false)) { continue }
                    $paths[$prop.Name] = Write-PlanFile -Directory $tmp -Name $prop.Name -Spec $prop.Value -DeadlineLocal $deadlineLocal -DeadlineUtc $deadlineUtc
                }
            }
            $mainMayRun = $true
            if ($null -ne $watchdog) {
                $wd.armed = $true
                $armed = & $runSection 'arm' @(Get-PlanValue $watchdog 'arm' @()) $true $paths
                $wd.arm = $armed.Records
                $mainMayRun = $armed.Ok
            }
            $mainOk = $false
            if ($mainMayRun) {
                $main = & $runSection 'steps' @(Get-PlanValue $plan 'steps' @()) $true $paths
                $result.steps = $main.Records
                $mainOk = $main.Ok
            }
            else {
                $result.steps = @(foreach ($step in @(Get-PlanValue $plan 'steps' @())) {
                        New-StepRecord -Name ([string](Get-PlanValue $step 'name')) -Status 'skipped' -ErrorText 'watchdog could not be armed'
                    })
            }
            if ($mainOk) {
                $result.rescue = @(foreach ($step in @(Get-PlanValue $plan 'rescue' @())) {
                        New-StepRecord -Name ([string](Get-PlanValue $step 'name')) -Status 'skipped' -ErrorText 'no failure to rescue'
                    })
            }
            else {
                $rescued = & $runSection 'rescue' @(Get-PlanValue $plan 'rescue' @()) $false $paths
                $result.rescue = $rescued.Records
            }
            $fin = & $runSection 'finally' @(Get-PlanValue $plan 'finally' @()) $false $paths
            $result["finally"] = $fin.Records
            if ($null -ne $watchdog) {
                if ($fin.Ok) {
                    $disarmSteps = @(Get-PlanValue $watchdog 'disarm' @())
                    $dis = & $runSection 'disarm' $disarmSteps $false $paths
                    $wd.disarm = $dis.Records
                    # No disarm steps: the watchdog is left armed on purpose for a later plan.
                    $wd.left_armed = ($disarmSteps.Count -eq 0) -or (-not $dis.Ok)
                }
                else {
                    $wd.left_armed = $true
                    $wd.disarm = @(foreach ($step in @(Get-PlanValue $watchdog 'disarm' @())) {
                            New-StepRecord -Name ([string](Get-PlanValue $step 'name')) -Status 'skipped' -ErrorText 'left armed: a finally step failed'
                        })
                }
            }
        }
    }
    finally {
        Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue
    }
    if ($null -ne $watchdog) { $result['watchdog'] = $wd }
    $result['ok'] = ($null -eq $state.failed)
    $result['failed_step'] = $state.failed
    $result['started_ms'] = $started
    $result['ended_ms'] = Get-NowMs
    $result['tmpdir_removed'] = -not (Test-Path -LiteralPath $tmp)
    return $result
}

function Get-PlanFailureMessage {
    # The msg of a failed plan: the failed step and its reason (mirror of plan.failure_message in Python).
    param([object]$Failed)
    if ($null -eq $Failed) { return '' }
    $reason = [string]$Failed['error']
    if (-not $reason) {
        $reason = if ($Failed['status'] -eq 'timeout') { 'timed out' } else { 'exit code {0}' -f $Failed['rc'] }
        $detail = @(([string]$Failed['stderr'] + '') -split "`r?`n" | Where-Object { $_.Trim() })
        if ($detail.Count -eq 0) { $detail = @(([string]$Failed['stdout'] + '') -split "`r?`n" | Where-Object { $_.Trim() }) }
        if ($detail.Count -gt 0) {
            $last = $detail[-1].Trim()
            if ($last.Length -gt 300) { $last = $last.Substring(0, 300) }
            $reason += ': ' + $last
        }
    }
    return "step '{0}' ({1}) failed: {2}" -f $Failed['name'], $Failed['section'], $reason
}

function Invoke-QuiesceModule {
    # What host_exec does with a plan: in check mode a plan that changes the host is not run (native check mode,
    # nothing runs with -WhatIf); otherwise the plan runs.  Returns the outcome; 'changed' is true unless the plan
    # only reads (check_mode_safe).
    param([string]$PlanJson, [bool]$CheckMode)
    $parsed = ConvertFrom-Json -InputObject $PlanJson
    $checkSafe = [bool](Get-PlanValue $parsed 'check_mode_safe' $false)
    if ($CheckMode -and -not $checkSafe) {
        return [ordered]@{ ok = $true; skipped = $true; failed_step = $null; steps = @(); 'finally' = @(); changed = $false
            msg = "check mode: plan '$(Get-PlanValue $parsed 'name')' changes the host and was not run" }
    }
    $outcome = Invoke-QuiescePlan -Json $PlanJson
    $outcome['changed'] = -not $checkSafe
    return $outcome
}

Export-ModuleMember -Function *
