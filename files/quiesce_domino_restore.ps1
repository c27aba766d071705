# quiesce.domino integration for Domino Backup restores of backup_task copies (Domino 12.0+).
#
# Domino's restore (a restore request in dominobackup.nsf, run by the restore server task) finds a database
# in its inventory with the BackupStartDT of the snapshot backup and runs the commands of the Restore tab of
# the backup configuration; docs/backup-task.md of the collection gives every value to enter:
#   Restore snapshot command  ... quiesce_domino_restore.ps1 -CopyRoot "\\backupsrv\domino\<host>"
#   Restore DB command        ... the same (Domino restores each .DELTA file with it)
# Domino Backup appends its positional arguments (PhysicalFileName, FileName, BackupReference, BackupNode,
# BackupName, BackupMode, BackupStartDT, BackupTargetDir, RestoreFileName); this script uses FileName (2nd,
# the path relative to the data directory), BackupStartDT (7th) and RestoreFileName (9th, where Domino wants
# the file).  It finds the copy quiesce.domino.snapshot_copy made of that backup (the copy that holds
# dominobackup_<BackupStartDT>.tag, written into the data directory before the snapshot) under -CopyRoot,
# and copies the database, or its .DELTA file, to RestoreFileName.  A copy with quiesce_domino.json holds the
# data directory in its data folder; an older copy is the data directory itself.  Domino then applies the .DELTA to the
# restored database, recovers it (rolls it forward with archived transaction logs when asked) and brings
# it online.  Prints QUIESCE_RESTORE_OK or QUIESCE_RESTORE_ERROR for the OK and Error strings.
[CmdletBinding(PositionalBinding = $false)]
param(
    [Parameter(Mandatory = $true)][ValidateLength(3, 240)][string]$CopyRoot,
    [Parameter(ValueFromRemainingArguments = $true)][string[]]$DominoArgs
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

function Get-DominoArg([int]$Index) {
    if ($null -ne $DominoArgs -and $DominoArgs.Count -gt $Index) { return [string]$DominoArgs[$Index] }
    return ''
}

try {
    $fileName = (Get-DominoArg 1).Trim().TrimStart('\')
    $backupStart = Get-DominoArg 6
    $restoreFile = Get-DominoArg 8
    if ($backupStart -notmatch '^[A-Za-z0-9_.-]{1,40}$') { throw "BackupStartDT (7th argument) '$backupStart' is not usable" }
    if ($fileName -eq '' -or $fileName -match '(^|\\)\.\.(\\|$)' -or $fileName -match ':') {
        throw "FileName (2nd argument) '$fileName' is not a path relative to the data directory"
    }
    if ($restoreFile -eq '') { throw 'RestoreFileName (9th argument) is missing' }
    if ($restoreFile.EndsWith('.DELTA', [StringComparison]::OrdinalIgnoreCase) -and
        -not $fileName.EndsWith('.DELTA', [StringComparison]::OrdinalIgnoreCase)) {
        $fileName = $fileName + '.DELTA'
    }
    $tag = 'dominobackup_' + $backupStart + '.tag'
    # The complete copies of this host: <CopyRoot>\<UTC stamp> (versioned) and <CopyRoot>\current (mirror);
    # .partial folders and an INCOMPLETE mirror are not backups.
    $copies = @(Get-ChildItem -LiteralPath $CopyRoot -Directory |
        Where-Object { $_.Name -notlike '*.partial' -and -not (Test-Path -LiteralPath ($_.FullName + '.INCOMPLETE')) } |
        ForEach-Object {
            if (Test-Path -LiteralPath (Join-Path $_.FullName 'quiesce_domino.json') -PathType Leaf) { Join-Path $_.FullName 'data' }
            else { $_.FullName }
        } |
        Where-Object { Test-Path -LiteralPath (Join-Path $_ $tag) })
    if ($copies.Count -eq 0) { throw "no complete copy under $CopyRoot holds $tag" }
    $source = Join-Path $copies[0] $fileName
    if (-not (Test-Path -LiteralPath $source -PathType Leaf)) { throw "$source is not in the copy of backup $backupStart" }
    [void](New-Item -ItemType Directory -Force -Path (Split-Path -Parent $restoreFile))
    Copy-Item -LiteralPath $source -Destination $restoreFile -Force
    Write-Output ('QUIESCE_RESTORE_OK: {0} from {1}' -f $fileName, $copies[0])
    exit 0
}
catch {
    Write-Output ('QUIESCE_RESTORE_ERROR: {0}' -f $_.Exception.Message)
    exit 1
}
