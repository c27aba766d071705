# quiesce.domino hook for Domino Backup's "Snapshot start command" (Domino 12.0+, method backup_task).
#
# Domino Backup puts the databases into backup mode and runs this command. It records the hold in
# HKLM:\SOFTWARE\quiesce.domino\Hold\<Slug> (value Held, Unix ms), checks every 20 ms until
# quiesce.domino (or its watchdog) sets the value Release, or until -TimeoutSeconds pass, records
# value Done (Unix ms) and prints the OK string, after which Domino ends backup mode. Held and Done
# are the measured freeze window; quiesce.domino removes the key once it has read Done.
# Configure in the Domino backup configuration database, Snapshot tab (see docs/backup-task.md):
#   Snapshot start command: powershell.exe -NoProfile -ExecutionPolicy Bypass -File "<path>\quiesce_snapshot_hook.ps1" -Slug <Slug>
#   Backup start OK string: QUIESCE_SNAPSHOT_OK     Backup snapshot Error string: QUIESCE_SNAPSHOT_ERROR
# <Slug> is the Domino service name with everything but letters and digits removed; the collection's
# domino_info module reports it per installation.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9]{1,60}$')][string]$Slug,
    [ValidateRange(5, 3600)][int]$TimeoutSeconds = 120
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$key = "HKLM:\SOFTWARE\quiesce.domino\Hold\$Slug"
try {
    # A Release set before Domino Backup got here (a snapshot that failed early) must still count:
    # keep an existing key (New-Item -Force would empty it) and let go at once.
    if (-not (Test-Path -LiteralPath $key)) { [void](New-Item -Path $key -Force) }
    $held = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
    Set-ItemProperty -LiteralPath $key -Name Held -Value ([string]$held) -Type String
    Set-ItemProperty -LiteralPath $key -Name Pid -Value ([string]$PID) -Type String
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    $released = $false
    while ([DateTime]::UtcNow -lt $deadline) {
        $props = Get-ItemProperty -LiteralPath $key -ErrorAction SilentlyContinue
        if ($null -ne $props -and $null -ne $props.PSObject.Properties['Release']) {
            $released = $true
            break
        }
        Start-Sleep -Milliseconds 20
    }
}
finally {
    # Done marks the end of the hold whatever happened; a key without Held is not a hold at all.
    $done = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
    Set-ItemProperty -LiteralPath $key -Name Done -Value ([string]$done) -Type String -ErrorAction SilentlyContinue
}
if ($released) {
    Write-Output 'QUIESCE_SNAPSHOT_OK'
    exit 0
}
Write-Output "QUIESCE_SNAPSHOT_ERROR: not released within $TimeoutSeconds s; Domino ends backup mode"
exit 1
