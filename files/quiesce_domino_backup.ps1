# quiesce.domino integration for Domino Backup in snapshot mode (Domino 12.0+, method backup_task).
#
# One script for four commands of the Domino backup configuration (dominobackup.nsf); docs/backup-task.md
# of the collection gives every value to enter:
#   Snapshot tab   Snapshot start command   ... -Phase start    -DataDir "<data dir>"
#                  Backup snapshot command  ... -Phase snapshot -DataDir "<data dir>"
#   Backup tab     Backup DB command        ... -Phase delta    -DataDir "<data dir>"
#                  Post-Backup command      ... -Phase post     -DataDir "<data dir>"
# Domino Backup appends its positional arguments to each command (PhysicalFileName, FileName,
# BackupReference, BackupNode, BackupName, BackupMode, BackupStartDT, BackupTargetDir, RetentionDays); this
# script takes them all and uses PhysicalFileName (1st), FileName (2nd) and BackupStartDT (7th).
#
# HCL's sources disagree on when Domino takes the databases out of backup mode and writes the .DELTA files:
# before the Backup snapshot command (admin help "Snapshot backups") or after it (domino-backup
# docs/backup-providers/veeam/concept.md).  Both agree that the .DELTA files are backed up with the Backup DB
# command (docs/interface.md) and that the Post-Backup command runs when the backup is finished.  So the
# deltas are kept by phase delta (and, where the file list names databases whose .DELTA exists already, by
# phase snapshot), and phase post, which runs last either way, writes collected.json: the record that the
# backup is over and which deltas it has.
#
# Runs as the Domino service account (SYSTEM, or Local Service on Domino 14), so everything it writes
# lives in the data directory, which that account can always write:
#   <data dir>\dominobackup_<BackupStartDT>.tag      written before the hold, so the snapshot carries it
#   <data dir>\quiesce_domino\hold\held.json          the databases are in backup mode (held_ms, backup_start)
#   <data dir>\quiesce_domino\hold\release            created by quiesce.domino (or its watchdog) to let go
#   <data dir>\quiesce_domino\hold\done.json          the hook let go (done_ms, released)
#   <data dir>\quiesce_domino\deltas\<BackupStartDT>\ the .DELTA files of that backup, by their path
#                                                      relative to the data directory, and collected.json
[CmdletBinding(PositionalBinding = $false)]
param(
    [Parameter(Mandatory = $true)][ValidateSet('start', 'snapshot', 'delta', 'post')][string]$Phase,
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

function Save-Delta([string]$Source, [string]$Relative, [string]$Target) {
    # A relative path inside the data directory: no drive, no '..'.
    $Relative = $Relative.Replace('/', '\')
    if ($Relative -eq '' -or $Relative -match ':' -or $Relative -match '(^|\\)\.\.(\\|$)') {
        throw "the delta file name '$Relative' is not a path relative to the data directory"
    }
    $dest = Join-Path $Target $Relative.TrimStart('\')
    [void](New-Item -ItemType Directory -Force -Path (Split-Path -Parent $dest))
    Copy-Item -LiteralPath $Source -Destination $dest -Force
}

try {
    $root = (Resolve-Path -LiteralPath $DataDir).ProviderPath.TrimEnd('\')
    $backupStart = Get-DominoArg 6
    if ($backupStart -notmatch '^\d{14}$') {
        # BackupStartDT is yyyyMMddHHmmss (UTC); anything else means the arguments arrived shifted or not at all.
        throw ("BackupStartDT (7th argument) '{0}' is not yyyyMMddHHmmss; arguments received: [{1}]" -f
            $backupStart, ((@($DominoArgs) | ForEach-Object { "'$_'" }) -join ' '))
    }
    $state = Join-Path $root 'quiesce_domino'
    $hold = Join-Path $state 'hold'
    $target = Join-Path (Join-Path $state 'deltas') $backupStart
    $tagName = 'dominobackup_' + $backupStart + '.tag'

    if ($Phase -eq 'start') {
        [void](New-Item -ItemType Directory -Force -Path $hold)
        # Only a snapshot quiesce.domino asked for (hold\request, written just before its load backup -s) is
        # held: a backup someone else started gets an error instead of a release nobody meant for it.
        $request = Join-Path $hold 'request'
        if (-not (Test-Path -LiteralPath $request)) {
            throw 'no snapshot was requested by quiesce.domino (hold\request is missing); this backup is not held'
        }
        $requested = (Get-Item -LiteralPath $request).LastWriteTimeUtc
        $release = Join-Path $hold 'release'
        if ((Test-Path -LiteralPath $release) -and (Get-Item -LiteralPath $release).LastWriteTimeUtc -lt $requested) {
            Remove-Item -LiteralPath $release -Force  # a release of an earlier snapshot
        }
        Remove-Item -LiteralPath $request -Force
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

    [void](New-Item -ItemType Directory -Force -Path $target)
    if ($Phase -eq 'delta') {
        # Backup DB command: Domino hands over one .DELTA file (PhysicalFileName) with its name (FileName).
        $physical = Get-DominoArg 0
        $name = (Get-DominoArg 1).Trim()
        if (-not $physical.EndsWith('.DELTA', [StringComparison]::OrdinalIgnoreCase)) {
            throw "Backup DB command got '$physical', not a .DELTA file: this configuration is for snapshot backups only"
        }
        if ($name -eq '') {
            # (FileName empty: the path of the .DELTA inside the data directory)
            $full = (Resolve-Path -LiteralPath $physical).ProviderPath
            if (-not $full.StartsWith($root + '\', [StringComparison]::OrdinalIgnoreCase)) {
                throw "the delta file $full has no FileName and is not inside the data directory $root"
            }
            $name = $full.Substring($root.Length + 1)
        }
        elseif (-not $name.EndsWith('.DELTA', [StringComparison]::OrdinalIgnoreCase)) { $name = $name + '.DELTA' }
        Save-Delta $physical $name $target
        Write-Output ('QUIESCE_SNAPSHOT_OK: {0} kept for backup {1}' -f $name, $backupStart)
        exit 0
    }

    if ($Phase -eq 'snapshot') {
        # Backup snapshot command: delete the file list as Domino Backup documents; keep the .DELTA of a listed
        # database when it exists already (sources that take the databases out of backup mode first).
        $fileList = Get-DominoArg 0
        if ($fileList -ne '' -and (Test-Path -LiteralPath $fileList -PathType Leaf)) {
            foreach ($line in [System.IO.File]::ReadAllLines($fileList)) {
                $fields = $line.Split(';')
                $physical = $fields[0].Trim()
                if ($physical -eq '' -or -not (Test-Path -LiteralPath ($physical + '.DELTA') -PathType Leaf)) { continue }
                $logical = ''
                if ($fields.Count -gt 1) { $logical = $fields[1].Trim() }
                if ($logical -eq '' -and $physical.StartsWith($root + '\', [StringComparison]::OrdinalIgnoreCase)) {
                    $logical = $physical.Substring($root.Length + 1)
                }
                if ($logical -ne '') { Save-Delta ($physical + '.DELTA') ($logical + '.DELTA') $target }
            }
            Remove-Item -LiteralPath $fileList -Force
        }
        Remove-Item -LiteralPath (Join-Path $root $tagName) -Force -ErrorAction SilentlyContinue
        Write-Output ('QUIESCE_SNAPSHOT_OK: snapshot of backup {0} done' -f $backupStart)
        exit 0
    }

    # Phase post (Post-Backup command): the backup is over; record what it kept, unless something is missing.
    $startedMs = Get-NowMs
    Remove-Item -LiteralPath (Join-Path $root $tagName) -Force -ErrorAction SilentlyContinue
    $prefix = $target.TrimEnd('\') + '\'
    $rows = @(Get-ChildItem -LiteralPath $target -Recurse -File -Force -Filter '*.DELTA' |
        ForEach-Object { @{ path = $_.FullName.Substring($prefix.Length); size = $_.Length } })
    $failures = @(Get-ChildItem -LiteralPath $target -File -Filter 'failed-*.json' -ErrorAction SilentlyContinue)
    if ($failures.Count -gt 0) { throw ('{0} delta file(s) of backup {1} could not be kept' -f $failures.Count, $backupStart) }
    # A .DELTA Domino wrote during this backup that no phase kept (a Backup DB command missing or of another type).
    $heldFile = Join-Path $hold 'held.json'
    if (Test-Path -LiteralPath $heldFile) {
        $since = [DateTimeOffset]::FromUnixTimeMilliseconds([int64](([System.IO.File]::ReadAllText($heldFile) | ConvertFrom-Json).held_ms)).UtcDateTime
        $kept = @{}
        foreach ($row in $rows) { $kept[$row.path.ToLowerInvariant()] = $true }
        $missed = @(Get-ChildItem -LiteralPath $root -Recurse -File -Force -Filter '*.DELTA' |
            Where-Object { -not $_.FullName.StartsWith($state + '\', [StringComparison]::OrdinalIgnoreCase) -and
                $_.LastWriteTimeUtc -ge $since -and -not $kept.ContainsKey($_.FullName.Substring($root.Length + 1).ToLowerInvariant()) })
        if ($missed.Count -gt 0) {
            throw ('{0} delta file(s) of backup {1} were not kept, e.g. {2}: is the Backup DB command this script?' -f
                $missed.Count, $backupStart, $missed[0].FullName)
        }
    }
    Write-JsonFile (Join-Path $target 'collected.json') @{ started_ms = $startedMs; ended_ms = (Get-NowMs);
        backup_start = $backupStart; deltas = $rows }
    Write-Output ('QUIESCE_SNAPSHOT_OK: {0} delta file(s) kept for backup {1}' -f $rows.Count, $backupStart)
    exit 0
}
catch {
    $message = $_.Exception.Message
    if ($Phase -eq 'delta' -and (Get-Variable -Name target -ErrorAction SilentlyContinue)) {
        # The post phase refuses to call a backup complete when a delta could not be kept.
        try {
            [void](New-Item -ItemType Directory -Force -Path $target)
            $marker = Join-Path $target ('failed-{0}.json' -f [guid]::NewGuid().ToString('N'))
            [System.IO.File]::WriteAllText($marker, (ConvertTo-Json -Compress -InputObject @{ error = $message; args = @($DominoArgs) }))
        }
        catch { $message += ' (and the failure could not be recorded)' }
    }
    Write-Output ('QUIESCE_SNAPSHOT_ERROR: {0}' -f $message)
    exit 1
}
