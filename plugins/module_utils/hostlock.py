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
_OWNER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}")

# Constant script; data on stdin.  Creating a directory is atomic: exactly one of two runs gets it.  The winner
# writes owner.json through a temporary file and a rename, so nobody reads it half-written; a loser that finds no
# readable owner.json yet waits a moment, then judges the lock by the directory's creation time.  A lock older than
# stale_seconds (host clock) belongs to a run that died: it is taken over by renaming it away first (atomic: of two
# runs taking over, one rename wins; the other starts again and finds the new lock).  The lock folder is created
# with an ACL of its own (SYSTEM and Administrators only, nothing inherited): no local user can plant a lock.
LOCK_SCRIPT = r"""# quiesce.domino:lock
$ErrorActionPreference = 'Stop'
$in = [Console]::In.ReadToEnd() | ConvertFrom-Json
$dir = Join-Path $in.root $in.name; $file = Join-Path $dir 'owner.json'
if (-not [IO.Directory]::Exists($in.root)) {
  $acl = New-Object System.Security.AccessControl.DirectorySecurity
  $acl.SetAccessRuleProtection($true, $false)
  foreach ($sid in 'S-1-5-18', 'S-1-5-32-544') {
    $who = New-Object System.Security.Principal.SecurityIdentifier($sid)
    $rule = New-Object System.Security.AccessControl.FileSystemAccessRule($who, 'FullControl', 'ContainerInherit,ObjectInherit', 'None', 'Allow')
    $acl.AddAccessRule($rule) }
  [void][IO.Directory]::CreateDirectory($in.root, $acl) }
function Read-Owner { for ($i = 0; $i -lt 20; $i++) {
    try { if ([IO.File]::Exists($file)) { $o = [IO.File]::ReadAllText($file) | ConvertFrom-Json; if ($o.owner) { return $o } } } catch { }
    if (-not [IO.Directory]::Exists($dir)) { return $null }
    Start-Sleep -Milliseconds 250 }
  $born = ([DateTimeOffset][IO.Directory]::GetCreationTimeUtc($dir)).ToUnixTimeMilliseconds()
  return [pscustomobject]@{ owner = 'unknown (no readable owner.json)'; since_ms = $born } }
if ($in.action -eq 'release') {
  $held = if ([IO.Directory]::Exists($dir)) { Read-Owner } else { $null }
  $mine = ($null -ne $held -and $held.owner -eq $in.owner)
  if ($mine) { Remove-Item -LiteralPath $dir -Recurse -Force }
  ConvertTo-Json -Compress -InputObject @{ released = $mine }; exit 0 }
$took = $null
for ($try = 0; $try -lt 3; $try++) {
  $now = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
  try { [void](New-Item -ItemType Directory -Path $dir); break } catch { }
  $held = Read-Owner
  if ($null -eq $held) { continue }
  if ($held.owner -eq $in.owner) { break }
  if (($now - [int64]$held.since_ms) -lt ($in.stale_seconds * 1000)) {
    ConvertTo-Json -Compress -InputObject @{ acquired = $false; owner = $held.owner; since_ms = $held.since_ms }; exit 75 }
  try { Rename-Item -LiteralPath $dir -NewName ('{0}.stale-{1}' -f $in.name, [guid]::NewGuid().ToString('N')); $took = $held.owner } catch { } }
if (-not [IO.Directory]::Exists($dir)) { throw 'the host lock could not be taken' }
$tmp = Join-Path $dir ('owner.{0}.tmp' -f [guid]::NewGuid().ToString('N'))
[IO.File]::WriteAllText($tmp, (ConvertTo-Json -Compress -InputObject @{ owner = $in.owner; since_ms = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() }))
if ([IO.File]::Exists($file)) { [IO.File]::Delete($file) }
[IO.File]::Move($tmp, $file)
Get-ChildItem -LiteralPath $in.root -Directory -Filter ($in.name + '.stale-*') | Remove-Item -Recurse -Force -ErrorAction SilentlyContinue
ConvertTo-Json -Compress -InputObject @{ acquired = $true; owner = $in.owner; taken_over = ($null -ne $took); previous_owner = $took }
"""


def owner(option: str, value: t.Any) -> str:
    value = cli.check_chars(option, cli.require_str(option, value))
    if not _OWNER_RE.fullmatch(value):
        raise cli.OptionError("%s: %r is not valid; 1-128 characters of letters, digits and _.:@-" % (option, value))
    return value


def lock_step(tools: dict[str, str], action: str, name: str, who: str, stale_seconds: int,
              **kw: t.Any) -> dict[str, t.Any]:
    import json
    data = {"root": LOCK_ROOT, "name": name, "owner": who, "stale_seconds": stale_seconds, "action": action}
    return planlib.step(ACQUIRE_STEP if action == "acquire" else RELEASE_STEP,
                        cli.powershell_argv(tools, LOCK_SCRIPT), stdin=json.dumps(data), timeout=60, **kw)


def busy_message(record: dict[str, t.Any], now_ms: t.Optional[int] = None) -> str:
    """The reason a lock step failed: who holds the lock, since when."""
    try:
        doc = cli.parse_json_document(record.get("stdout") or "")
    except ValueError:
        return "the host lock could not be taken: %s" % ((record.get("stderr") or record.get("stdout") or "").strip()[:300])
    return "another run holds the host lock (owner %s, since host time %s ms); refusing to run concurrently" % (
        doc.get("owner"), doc.get("since_ms"))
