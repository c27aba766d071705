# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host lock against concurrent runs: a directory created atomically on the host. Pure."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

LOCK_ROOT = "C:\\ProgramData\\quiesce.domino\\locks"
BUSY_RC = 75
ACQUIRE_STEP = "take the host lock"
RELEASE_STEP = "release the host lock"
MINE_STEP = "the host lock is held by this run"
_OWNER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}")

# Constant script; data on stdin.  Creating a directory is atomic: exactly one of two runs gets it.  The winner
# writes owner.json through a temporary file and a rename, so nobody reads it half-written; a loser that finds no
# readable owner.json yet waits a moment, then judges the lock by the directory's creation time.  A lock whose
# time is further than stale_seconds from the host clock (older: a run that died; in the future: a clock set back
# or a planted file) is taken over by renaming it away first.  The holder may declare for how long it needs the lock
# (hold_seconds: a copy's or a restore's worst case), recorded in owner.json with the process that runs its plan
# (this script's parent, the executor, by ID and start time, so a reused ID is not taken for it): while that process
# runs, the hold counts when it is longer than stale_seconds; once it has ended (the plan finished, or died with a
# lost connection), stale_seconds alone counts again.  Taking the lock again as its owner renews it (renewed).
# Of two runs taking over, one rename wins; the other
# may rename the winner's fresh lock instead, so the renamed folder's owner record is compared with the one judged
# stale, and a folder that is not that lock is renamed back at once.  The directory is created with CreateDirectoryW,
# which fails when it exists (New-Item and .NET's CreateDirectory do not: they check, then create, and succeed when it
# exists, so two runs could both "create" it).  The lock folder and its parent must let only SYSTEM and
# Administrators write (nothing inherited): checked on every run, not only when it is created, so a folder made by
# an older version or by someone else is fixed (owner Administrators, protected rules); `acl_fixed` reports it.  A
# lock folder or parent that is a junction or symbolic link is refused (its ACL would be applied to its target).
LOCK_SCRIPT = r"""# quiesce.domino:lock
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$in = [Console]::In.ReadToEnd() | ConvertFrom-Json
$dir = Join-Path $in.root $in.name
$ok = 'S-1-5-18', 'S-1-5-32-544'
$sid = [Security.Principal.SecurityIdentifier]
function Get-Ms { [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() }
function New-LockAcl { $a = New-Object System.Security.AccessControl.DirectorySecurity
  $a.SetOwner((New-Object System.Security.Principal.SecurityIdentifier($ok[1]))); $a.SetAccessRuleProtection($true, $false)
  foreach ($s in $ok) {
    $who = New-Object System.Security.Principal.SecurityIdentifier($s)
    $a.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule($who, 'FullControl', 'ContainerInherit,ObjectInherit', 'None', 'Allow'))) }
  $a }
$fixed = $false
$api = '[DllImport("kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true)] ' +
  'public static extern bool CreateDirectoryW(string path, IntPtr security);'
Add-Type -Namespace Quiesce -Name LockDir -MemberDefinition $api
foreach ($folder in @((Split-Path -Parent $in.root), $in.root)) {
  if ([IO.Directory]::Exists($folder)) {
    $d = [IO.DirectoryInfo]::new($folder)
    if (($d.Attributes -band [IO.FileAttributes]::ReparsePoint) -ne 0) {
      throw ('the lock folder ' + $folder + ' is a junction or symbolic link: refused (it would point the lock elsewhere); remove it') }
    $c = $d.GetAccessControl()
    $bad = @($c.GetAccessRules($true, $true, $sid) |
      Where-Object { $ok -notcontains $_.IdentityReference.Value -and [string]$_.AccessControlType -eq 'Allow' })
    if (-not $c.AreAccessRulesProtected -or $bad.Count -gt 0 -or $ok -notcontains $c.GetOwner($sid).Value) {
      $d.SetAccessControl((New-LockAcl)); $fixed = $true } }
  else { [void][IO.Directory]::CreateDirectory($folder, (New-LockAcl)) } }
function Read-Owner([string]$Path) { $f = Join-Path $Path 'owner.json'
  for ($i = 0; $i -lt 20; $i++) {
    try { $o = [IO.File]::ReadAllText($f) | ConvertFrom-Json; if ($o.owner) { return $o } } catch { }
    if (-not [IO.Directory]::Exists($Path)) { return $null }
    Start-Sleep -Milliseconds 250 }
  $born = ([DateTimeOffset][IO.Directory]::GetCreationTimeUtc($Path)).ToUnixTimeMilliseconds()
  [pscustomobject]@{ owner = 'unknown (no readable owner.json)'; since_ms = $born } }
function Write-Answer($o) { $o.acl_fixed = $fixed; ConvertTo-Json -Compress -InputObject $o }
function Get-StartMs([int]$Id) { $p = Get-Process -Id $Id -ErrorAction SilentlyContinue
  if ($null -eq $p) { return $null }
  try { return ([DateTimeOffset]$p.StartTime).ToUnixTimeMilliseconds() } catch { return $null } }
function Test-HolderAlive($h) { $i = $h.PSObject.Properties['holder_pid']; $t = $h.PSObject.Properties['holder_started_ms']
  if ($null -eq $i -or $null -eq $t) { return $false }
  $now = Get-StartMs ([int]$i.Value)
  return ($null -ne $now -and [Math]::Abs([int64]$now - [int64]$t.Value) -lt 1000) }
function Test-Busy($h) { $held = $h.PSObject.Properties['hold_seconds']; $limit = [int64]$in.stale_seconds
  # a lock taken for one plan protects nothing once the executor that runs the plan has ended (a lost connection)
  $tp = $h.PSObject.Properties['temporary']
  if ($null -ne $tp -and [bool]$tp.Value -and -not (Test-HolderAlive $h)) { return $false }
  if ($null -ne $held -and [int64]$held.Value -gt $limit -and (Test-HolderAlive $h)) { $limit = [int64]$held.Value }
  return ([Math]::Abs((Get-Ms) - [int64]$h.since_ms) -lt $limit * 1000) }
function Get-ParentPid { return [int](Get-CimInstance -ClassName Win32_Process -Filter ('ProcessId = {0}' -f $PID)).ParentProcessId }
if ($in.action -eq 'release') { $h = Read-Owner $dir; $mine = ($null -ne $h -and $h.owner -eq $in.owner)
  if ($mine -and $in.temporary) {
    # a lock taken for one plan only: given back only by the executor that took it, never one renewed
    $tp = $h.PSObject.Properties['temporary']; $hp = $h.PSObject.Properties['holder_pid']
    $mine = ($null -ne $tp -and [bool]$tp.Value -and $null -ne $hp -and [int]$hp.Value -eq (Get-ParentPid) -and (Test-HolderAlive $h)) }
  if ($mine) { Remove-Item -LiteralPath $dir -Recurse -Force }
  Write-Answer @{ released = $mine }; exit 0 }
$took = $null; $renewed = $false
for ($try = 0; $try -lt 3; $try++) {
  if ([Quiesce.LockDir]::CreateDirectoryW($dir, [IntPtr]::Zero)) { break }
  $h = Read-Owner $dir
  if ($null -eq $h) { continue }
  if ($h.owner -eq $in.owner) { $renewed = $true; break }
  if (Test-Busy $h) {
    Write-Answer @{ acquired = $false; owner = $h.owner; since_ms = $h.since_ms }; exit 75 }
  $n = '{0}.stale-{1}' -f $in.name, [guid]::NewGuid().ToString('N'); $away = Join-Path $in.root $n
  try { Rename-Item -LiteralPath $dir -NewName $n } catch { continue }
  $m = Read-Owner $away
  if ($null -ne $m -and $m.owner -eq $h.owner -and [int64]$m.since_ms -eq [int64]$h.since_ms) { $took = $h.owner; continue }
  Rename-Item -LiteralPath $away -NewName $in.name }
if (-not [IO.Directory]::Exists($dir)) { throw 'the host lock could not be taken' }
if ($renewed -and $in.temporary) {
  # this owner holds it already (kept by an earlier task): taken for this plan, it is left as it is
  Write-Answer @{ acquired = $true; owner = $in.owner; taken_over = $false; previous_owner = $null; renewed = $true }; exit 0 }
$tmp = Join-Path $dir ('owner.{0}.tmp' -f [guid]::NewGuid().ToString('N')); $f = Join-Path $dir 'owner.json'
$record = @{ owner = $in.owner; since_ms = (Get-Ms); hold_seconds = [int64]$in.hold_seconds; temporary = [bool]$in.temporary }
if ($record.hold_seconds -gt 0) {
  $parent = Get-ParentPid
  $started = Get-StartMs $parent
  if ($null -ne $started) { $record.holder_pid = $parent; $record.holder_started_ms = $started } }
[IO.File]::WriteAllText($tmp, (ConvertTo-Json -Compress -InputObject $record))
if ([IO.File]::Exists($f)) { [IO.File]::Delete($f) }
[IO.File]::Move($tmp, $f)
Get-ChildItem -LiteralPath $in.root -Directory -Filter ($in.name + '.stale-*') | Remove-Item -Recurse -Force -ErrorAction Ignore
Write-Answer @{ acquired = $true; owner = $in.owner; taken_over = ($null -ne $took); previous_owner = $took; renewed = $renewed }
"""


def owner(option: str, value: t.Any) -> str:
    value = cli.check_chars(option, cli.require_str(option, value))
    if not _OWNER_RE.fullmatch(value):
        raise cli.OptionError("%s: %r is not valid; 1-128 characters of letters, digits and _.:@-" % (option, value))
    return value


def lock_step(tools: dict[str, str], action: str, name: str, who: str, stale_seconds: int,
              hold_seconds: int = 0, temporary: bool = False, **kw: t.Any) -> dict[str, t.Any]:
    """Take (``acquire``; again as its owner: renew) or give back (``release``) the host lock.  ``temporary``: taken for one plan (a task
    without ``lock``): taking it as its owner leaves it as it is, and the release gives it back only when the
    executor that runs this plan took it.  ``stale_seconds``:
    how old another run's lock must be to be taken over; ``hold_seconds``: how long this run may hold it, recorded
    in the lock, so that no other run takes it over sooner even with a shorter stale_seconds."""
    import json
    data = {"root": LOCK_ROOT, "name": name, "owner": who, "stale_seconds": stale_seconds, "action": action,
            "hold_seconds": int(hold_seconds), "temporary": bool(temporary)}
    name = {"acquire": ACQUIRE_STEP, "release": RELEASE_STEP}[action]
    return planlib.step(name, cli.powershell_argv(tools, LOCK_SCRIPT), stdin=json.dumps(data), timeout=60, **kw)


def busy_message(record: dict[str, t.Any], now_ms: t.Optional[int] = None) -> str:
    """The reason a lock step failed: who holds the lock, since when."""
    try:
        doc = cli.parse_json_document(record.get("stdout") or "")
    except ValueError:
        return "the host lock could not be taken: %s" % ((record.get("stderr") or record.get("stdout") or "").strip()[:300])
    return "another run holds the host lock (owner %s, since host time %s ms); refusing to run concurrently" % (
        doc.get("owner"), doc.get("since_ms"))


def read_result(record: t.Optional[dict[str, t.Any]]) -> dict[str, t.Any]:
    """The lock script's JSON answer, or {} when it printed none."""
    try:
        doc = cli.parse_json_document((record or {}).get("stdout") or "")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def lock_warnings(doc: dict[str, t.Any]) -> list[str]:
    """What a lock step did that the administrator should know: a stale lock taken over, the lock folder's
    permissions reset (it let other accounts than SYSTEM and Administrators write)."""
    out = []
    if doc.get("taken_over"):
        out.append("took over a stale host lock of %s" % doc.get("previous_owner"))
    if doc.get("acl_fixed"):
        out.append("the lock folder %s let other accounts than SYSTEM and Administrators write or was owned by another "
                   "account (made by an older version of quiesce.domino, or by someone else); its permissions were reset "
                   "to SYSTEM and Administrators only" % LOCK_ROOT)
    return out


# How long a lock's holder adds to its plan's worst case when it declares its hold (executor start, slow hosts).
HOLD_MARGIN_SECONDS = 300


def hold_for(plan: dict[str, t.Any]) -> int:
    """The hold a plan declares when it takes the lock: its worst case (every section) and a margin."""
    return int(planlib.worst_case_seconds(planlib.plan_sections(plan))) + HOLD_MARGIN_SECONDS


def locked(plan: dict[str, t.Any], tools: dict[str, str], who: str, stale_seconds: int, release_in: t.Optional[str] = "finally",
           release_only_if_ok: t.Optional[str] = None, hold_seconds: t.Optional[int] = None) -> dict[str, t.Any]:
    """``plan`` with the host lock taken first: a guard, so that when another run holds it nothing else runs
    (the rescue only), and renewed with the plan's own worst case as its hold (``hold_seconds`` to hold longer,
    for a lock kept after the plan).  It is given back in ``release_in``: ``finally`` (whatever happened),
    ``steps`` (only when every step passed), ``rescue`` (only when the run failed), or None (kept), in ``rescue``
    optionally only when the step ``release_only_if_ok`` of that section passed."""
    hold = max(hold_for(plan), hold_seconds or 0)
    new = dict(plan)
    new["guard"] = [lock_step(tools, "acquire", "backup", who, stale_seconds, hold)] + list(plan["guard"])
    if plan["rescue"]:
        # A guard that fails runs the rescue, which undoes what this plan would have done (starts Domino, removes
        # a partial copy): never while another run holds the lock, or it would undo that run's work.  The rescue
        # runs only when the lock is this run's (taking it again as its owner succeeds).
        mine = dict(lock_step(tools, "acquire", "backup", who, stale_seconds, hold), name=MINE_STEP, ok_rc=[0])
        new["rescue"] = [mine] + [dict(s, only_if_ok=MINE_STEP) if s.get("only_if_ok") is None and s.get("only_if_failed") is None
                                  else s for s in plan["rescue"]]
    if release_in is not None:
        release = lock_step(tools, "release", "backup", who, stale_seconds,
                            ok_rc="any" if release_in != "steps" else [0])
        if release_only_if_ok:
            release["only_if_ok"] = release_only_if_ok
        elif release_in == "rescue" and plan["rescue"]:
            release["only_if_ok"] = MINE_STEP
        new[release_in] = list(new[release_in]) + [release]
    return planlib.validate_plan(new)


def temporary(plan: dict[str, t.Any], tools: dict[str, str], who: str, stale_seconds: int) -> dict[str, t.Any]:
    """``plan`` run under the host lock taken for this plan only (a task without ``lock``): refused while another
    run holds it, its rescue gated on the lock being this run's (hostlock.locked), and given back in finally unless
    this owner held it before (kept by an earlier task with ``lock``, which keeps it)."""
    hold = hold_for(plan)
    new = dict(plan)
    new["guard"] = [lock_step(tools, "acquire", "backup", who, stale_seconds, hold, temporary=True)] + list(plan["guard"])
    if plan["rescue"]:
        mine = dict(lock_step(tools, "acquire", "backup", who, stale_seconds, hold, temporary=True), name=MINE_STEP,
                    ok_rc=[0])
        new["rescue"] = [mine] + [dict(s, only_if_ok=MINE_STEP) if s.get("only_if_ok") is None
                                  and s.get("only_if_failed") is None else s for s in plan["rescue"]]
    new["finally"] = list(plan["finally"]) + [lock_step(tools, "release", "backup", who, stale_seconds, temporary=True,
                                                        ok_rc="any")]
    return planlib.validate_plan(new)


def refusal(run: dict[str, t.Any]) -> t.Optional[dict[str, t.Any]]:
    """The lock step that refused the plan because another run holds the lock."""
    record = planlib.find_record(run, ACQUIRE_STEP)
    if record is not None and record.get("status") != "ok":
        return record
    return None
