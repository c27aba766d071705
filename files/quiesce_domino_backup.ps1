# quiesce.domino integration for Domino Backup in snapshot mode (Domino 12.0+, method backup_task).
#
# One script for two fields of the Snapshot tab of the Domino backup configuration (dominobackup.nsf);
# docs/backup-task.md of the collection gives every value to enter:
#   Snapshot start command   ... quiesce_domino_backup.ps1 -Phase start -DataDir "<data dir>"
#   Backup snapshot command  ... quiesce_domino_backup.ps1 -Phase snapshot -DataDir "<data dir>"
# Domino Backup appends its positional arguments to each command (PhysicalFileName, FileName,
# BackupReference, BackupNode, BackupName, BackupMode, BackupStartDT, BackupTargetDir, RetentionDays);
# this script takes them all and uses two: BackupStartDT (7th) and, in the snapshot phase, the file list
# (1st, PhysicalFileName).
#
# Runs as the Domino service account (SYSTEM, or Local Service on Domino 14), so everything it writes
# lives in the data directory, which that account can always write:
#   <data dir>\dominobackup_<BackupStartDT>.tag      written before the hold, so the snapshot carries it
#   <data dir>\quiesce_domino\hold\held.json          the databases are in backup mode (held_ms, backup_start)
#   <data dir>\quiesce_domino\hold\release            created by quiesce.domino (or its watchdog) to let go
#   <data dir>\quiesce_domino\hold\done.json          the hook let go (done_ms, released)
#   <data dir>\quiesce_domino\deltas\<BackupStartDT>\ the .DELTA files of that backup, by their path
#                                                      relative to the data directory, and collected.json
# Phase start: writes the tag, records held.json, waits (checking every 20 ms) for the release file or
# -TimeoutSeconds, records done.json, prints QUIESCE_SNAPSHOT_OK (released) or QUIESCE_SNAPSHOT_ERROR.
# Domino Backup then takes the databases out of backup mode one by one, writing a .DELTA file for each
# database that changed meanwhile, and runs the snapshot phase.
# Phase snapshot: copies the .DELTA file of every database in the file list (or, without a file list,
# every .DELTA in the data directory) into the deltas folder of this backup, deletes the file list as
# Domino Backup documents, removes the tag from the live data directory, writes collected.json last and
# prints QUIESCE_SNAPSHOT_OK.  quiesce.domino.snapshot_copy puts these files beside their databases in
# the copy, so Domino's restore applies them.
[CmdletBinding(PositionalBinding = $false)]
param(
    [Parameter(Mandatory = $true)][ValidateSet('start', 'snapshot')][string]$Phase,
    [Parameter(Mandatory = $true)][ValidateLength(3, 240)][string]$DataDir,
    [ValidateRange(5, 3600)][int]$TimeoutSeconds = 120,
    [Parameter(ValueFromRemainingArguments = $true)][string[]]$DominoArgs
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

function Get-NowMs {
    return [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
}

function Write-JsonFile([string]$Path, [hashtable]$Value) {
    # Written to a temporary name and moved: a reader never sees half a file.
    $tmp = $Path + '.tmp'
    [System.IO.File]::WriteAllText($tmp, (ConvertTo-Json -Compress -Depth 4 -InputObject $Value))
    Move-Item -LiteralPath $tmp -Destination $Path -Force
}

function Get-DominoArg([int]$Index) {
    if ($null -ne $DominoArgs -and $DominoArgs.Count -gt $Index) { return [string]$DominoArgs[$Index] }
    return ''
}

try {
    $root = (Resolve-Path -LiteralPath $DataDir).ProviderPath.TrimEnd('\')
    $backupStart = Get-DominoArg 6
    if ($backupStart -notmatch '^[A-Za-z0-9_.-]{1,40}$') {
        throw "BackupStartDT (7th argument) '$backupStart' is missing or not usable in a file name"
    }
    $state = Join-Path $root 'quiesce_domino'
    $hold = Join-Path $state 'hold'
    $tagName = 'dominobackup_' + $backupStart + '.tag'

    if ($Phase -eq 'start') {
        [void](New-Item -ItemType Directory -Force -Path $hold)
        [System.IO.File]::WriteAllText((Join-Path $root $tagName), $backupStart)
        Write-JsonFile (Join-Path $hold 'held.json') @{ held_ms = (Get-NowMs); backup_start = $backupStart; pid = $PID; tag = $tagName }
        $released = $false
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
        try {
            # A release set before Domino Backup got here (a snapshot that failed early) counts too.
            while ([DateTime]::UtcNow -lt $deadline) {
                if (Test-Path -LiteralPath (Join-Path $hold 'release')) { $released = $true; break }
                Start-Sleep -Milliseconds 20
            }
        }
        finally {
            Write-JsonFile (Join-Path $hold 'done.json') @{ done_ms = (Get-NowMs); released = $released }
        }
        if (-not $released) {
            Write-Output "QUIESCE_SNAPSHOT_ERROR: not released within $TimeoutSeconds s; Domino ends backup mode"
            exit 1
        }
        Write-Output 'QUIESCE_SNAPSHOT_OK'
        exit 0
    }

    # Phase snapshot: Domino Backup has taken every database out of backup mode.
    $startedMs = Get-NowMs
    $target = Join-Path (Join-Path $state 'deltas') $backupStart
    [void](New-Item -ItemType Directory -Force -Path $target)
    $rows = New-Object System.Collections.ArrayList
    $fileList = Get-DominoArg 0
    $databases = @()
    $listed = $false
    if ($fileList -ne '' -and (Test-Path -LiteralPath $fileList -PathType Leaf)) {
        $listed = $true
        foreach ($line in [System.IO.File]::ReadAllLines($fileList)) {
            # "Physical path" or "Physical path;Logical path": the physical path comes first.
            $physical = $line.Split(';')[0].Trim()
            if ($physical -ne '') { $databases += $physical }
        }
    }
    $deltas = @()
    if ($listed) {
        foreach ($db in $databases) {
            foreach ($candidate in @(($db + '.DELTA'), [System.IO.Path]::ChangeExtension($db, '.DELTA'))) {
                if (Test-Path -LiteralPath $candidate -PathType Leaf) { $deltas += $candidate; break }
            }
        }
    }
    else {
        $deltas = @(Get-ChildItem -LiteralPath $root -Recurse -File -Force -Filter '*.DELTA' |
            Where-Object { -not $_.FullName.StartsWith($state + '\', [StringComparison]::OrdinalIgnoreCase) } |
            ForEach-Object { $_.FullName })
    }
    foreach ($delta in $deltas) {
        $full = (Resolve-Path -LiteralPath $delta).ProviderPath
        if (-not $full.StartsWith($root + '\', [StringComparison]::OrdinalIgnoreCase)) {
            throw "the delta file $full is not inside the data directory $root"
        }
        $relative = $full.Substring($root.Length + 1)
        $dest = Join-Path $target $relative
        [void](New-Item -ItemType Directory -Force -Path (Split-Path -Parent $dest))
        Copy-Item -LiteralPath $full -Destination $dest -Force
        [void]$rows.Add(@{ path = $relative; size = (Get-Item -LiteralPath $dest).Length })
    }
    if ($listed) { Remove-Item -LiteralPath $fileList -Force }
    Remove-Item -LiteralPath (Join-Path $root $tagName) -Force -ErrorAction SilentlyContinue
    Write-JsonFile (Join-Path $target 'collected.json') @{ started_ms = $startedMs; ended_ms = (Get-NowMs);
        backup_start = $backupStart; file_list = $listed; deltas = @($rows) }
    Write-Output ('QUIESCE_SNAPSHOT_OK: {0} delta file(s) kept for backup {1}' -f $rows.Count, $backupStart)
    exit 0
}
catch {
    Write-Output ('QUIESCE_SNAPSHOT_ERROR: {0}' -f $_.Exception.Message)
    exit 1
}
