# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whose shadow copy is it: the host's ledger of the shadow copies the collection created.

VSS keeps no record of which requestor made a shadow copy, and its attributes do not tell a diskshadow copy
from one made by Previous Versions (both can be ``ClientAccessible``), Windows Server Backup or another backup
product. So every plan that creates shadow copies runs, first in its ``finally`` (whatever happened, before a
thaw), a step that reads the create step's transcript (``stdin_from``) and records under
``HKLM\\SOFTWARE\\quiesce.domino\\Shadows`` the shadow copies of the set the transcript names with the alias
token ``%VSS_SHADOW_SET%`` (without one: the existing shadow copies whose IDs it names). The match is by
evidence, not by label: GUIDs and the alias token read the same in any language. Entries of shadow copies that
no longer exist are dropped at the same time. HKLM\\SOFTWARE is writable by administrators and SYSTEM only,
so a local user cannot make a shadow copy "ours".

A run cut off between its create and its record step (a lost connection) would leave its exposure unrecorded,
and every later run would refuse it as another program's.  So a snapshot first notes its exposure targets and
the window it runs in (``...\\Shadows\\Pending``); the next run for a target adopts an unrecorded shadow copy
exposed there within a left note's window (PENDING_SCRIPT).

Cleanup (``snapshot_cleanup``, ``diskshadow state=absent volumes=``, ``snapshot replace_stale``) deletes only
shadow copies in this ledger; a shadow copy the user names by ID is the user's choice.
"""

from __future__ import annotations

import json
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

RECORD_STEP = "record the shadow copies as ours"

_GUID_PATTERN = "\\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\\}"
PENDING_KEY = cli.SHADOW_LEDGER_KEY + "\\Pending"

# stdin: the create step's transcript.  The shadow copies of the set the transcript names with the language-free
# alias token VSS_SHADOW_SET are recorded (without such a line: the existing shadow copies whose IDs it names).  An
# entry is dropped only when its shadow copy is gone when asked again by ID (a run that recorded one meanwhile
# keeps it).  The pending entries of the targets the transcript exposed ("-> expose <alias> <target>", the
# script's own command echoed) are cleared: this run finished its record.
RECORD_SCRIPT = (
    "# quiesce.domino:own-shadows\n"
    "Set-StrictMode -Version 2.0\n"
    "$ErrorActionPreference = 'Stop'\n"
    "$text = [Console]::In.ReadToEnd()\n"
    "$guid = '" + _GUID_PATTERN + "'\n"
    "$named = @{}\n"
    "$sets = @{}\n"
    "$exposed = @{}\n"
    "foreach ($line in ($text -split \"`r?`n\")) {\n"
    "  foreach ($m in [regex]::Matches($line, $guid)) {\n"
    "    $named[$m.Value.ToLowerInvariant()] = $true\n"
    "    if ($line -match 'VSS_SHADOW_SET') { $sets[$m.Value.ToLowerInvariant()] = $true }\n"
    "  }\n"
    "  if ($line -match '^\\s*->\\s*expose\\s+\\S+\\s+(\\S+)\\s*$') { $exposed[$Matches[1].TrimEnd('\\').ToUpperInvariant()] = $true }\n"
    "}\n"
    "$key = '" + cli.SHADOW_LEDGER_KEY + "'\n"
    "$existing = @{}\n"
    "$recorded = @()\n"
    "foreach ($s in @(Get-CimInstance -ClassName Win32_ShadowCopy)) {\n"
    "  $id = ([string]$s.ID).ToLowerInvariant()\n"
    "  $set = ([string]$s.SetID).ToLowerInvariant()\n"
    "  $existing[$id] = $true\n"
    "  $ours = $named.ContainsKey($id)\n"
    "  if ($sets.Count -gt 0) { $ours = $sets.ContainsKey($set) }\n"
    "  if ($ours) {\n"
    "    if (-not (Test-Path -LiteralPath $key)) { [void](New-Item -Path $key -Force) }\n"
    "    [void](New-ItemProperty -LiteralPath $key -Name $id -Value $set -PropertyType String -Force)\n"
    "    $recorded += $id\n"
    "  }\n"
    "}\n"
    "$dropped = @()\n"
    "if (Test-Path -LiteralPath $key) {\n"
    "  foreach ($name in @((Get-Item -LiteralPath $key).GetValueNames())) {\n"
    "    if ($name -notmatch ('^' + $guid + '$') -or $existing.ContainsKey($name.ToLowerInvariant())) { continue }\n"
    "    if (@(Get-CimInstance -ClassName Win32_ShadowCopy -Filter (\"ID='\" + $name + \"'\")).Count -gt 0) { continue }\n"
    "    Remove-ItemProperty -LiteralPath $key -Name $name\n"
    "    $dropped += $name\n"
    "  }\n"
    "}\n"
    "$pending = '" + PENDING_KEY + "'\n"
    "if (Test-Path -LiteralPath $pending) {\n"
    "  foreach ($target in @($exposed.Keys)) { Remove-ItemProperty -LiteralPath $pending -Name $target -ErrorAction Ignore }\n"
    "}\n"
    "ConvertTo-Json -Compress -InputObject @{ recorded = $recorded; dropped = $dropped }\n"
)

PENDING_STEP = "note the exposures this run will make"

# stdin {"targets": ["S:", ...], "seconds": N}: before a plan creates and exposes shadow copies, it notes under
# ...\Shadows\Pending each target with the window [now, now + N s] in which its shadow copy will appear.  A run
# that dies after its create and before its record step (a lost connection) leaves the note; the next run for the
# same target adopts, before anything else, a shadow copy exposed there whose creation time lies in that window
# and that is not recorded yet: exposed at the target this run chose, in the time it ran, by nobody else (the
# letter was checked free first).  Then it writes its own window.
PENDING_SCRIPT = (
    "# quiesce.domino:pending-shadows\n"
    "Set-StrictMode -Version 2.0\n"
    "$ErrorActionPreference = 'Stop'\n"
    "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
    "$key = '" + cli.SHADOW_LEDGER_KEY + "'\n"
    "$pending = '" + PENDING_KEY + "'\n"
    "$now = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()\n"
    "$owned = @{}\n"
    "if (Test-Path -LiteralPath $key) {\n"
    "  foreach ($name in @((Get-Item -LiteralPath $key).GetValueNames())) { $owned[$name.ToLowerInvariant()] = $true }\n"
    "}\n"
    "$left = @{}\n"
    "if (Test-Path -LiteralPath $pending) {\n"
    "  $note = Get-Item -LiteralPath $pending\n"
    "  foreach ($name in @($note.GetValueNames())) { $left[$name.ToUpperInvariant()] = [string]$note.GetValue($name) }\n"
    "}\n"
    "$adopted = @()\n"
    "foreach ($s in @(Get-CimInstance -ClassName Win32_ShadowCopy)) {\n"
    "  if ($null -eq $s.ExposedName) { continue }\n"
    "  $at = ([string]$s.ExposedName).TrimEnd('\\').ToUpperInvariant()\n"
    "  $id = ([string]$s.ID).ToLowerInvariant()\n"
    "  if (-not $left.ContainsKey($at) -or $owned.ContainsKey($id)) { continue }\n"
    "  $window = @($left[$at] -split ';')\n"
    "  if ($window.Count -ne 2) { continue }\n"
    "  $born = ([DateTimeOffset]$s.InstallDate).ToUnixTimeMilliseconds()\n"
    "  if ($born -lt ([int64]$window[0] - 5000) -or $born -gt [int64]$window[1]) { continue }\n"
    "  if (-not (Test-Path -LiteralPath $key)) { [void](New-Item -Path $key -Force) }\n"
    "  $set = ([string]$s.SetID).ToLowerInvariant()\n"
    "  [void](New-ItemProperty -LiteralPath $key -Name $id -Value $set -PropertyType String -Force)\n"
    "  $adopted += $id\n"
    "}\n"
    "if (-not (Test-Path -LiteralPath $pending)) { [void](New-Item -Path $pending -Force) }\n"
    "$until = $now + [int64]$in.seconds * 1000\n"
    "foreach ($target in @($in.targets)) {\n"
    "  $name = ([string]$target).TrimEnd('\\').ToUpperInvariant()\n"
    "  [void](New-ItemProperty -LiteralPath $pending -Name $name -Value ('{0};{1}' -f $now, $until) -PropertyType String -Force)\n"
    "}\n"
    "ConvertTo-Json -Compress -InputObject @{ adopted = $adopted }\n"
)


def pending_step(tools: dict[str, str], targets: t.Sequence[str], seconds: int) -> dict[str, t.Any]:
    """A guard step: adopt what a dead run exposed at ``targets``, then note this run's window (never fatal)."""
    return planlib.step(PENDING_STEP, cli.powershell_argv(tools, PENDING_SCRIPT),
                        stdin=json.dumps({"targets": list(targets), "seconds": int(seconds)}), allow_failure=True, timeout=120)


def adopted(result: dict[str, t.Any]) -> tuple[list[str], t.Optional[str]]:
    """The shadow IDs of a dead run the pending step adopted, and a warning when the note could not be written."""
    record = planlib.find_record(result, PENDING_STEP)
    if record is None or record.get("status") == "skipped":
        return [], None
    if record.get("status") != "ok":
        detail = (record.get("error") or record.get("stderr") or "").strip().splitlines()
        return [], ("this run could not note its exposures in the ledger (%s): if it is cut off between creating "
                    "and recording its shadow copies, the next run will not recognise them as the collection's own"
                    % (detail[0] if detail else "no detail"))
    try:
        doc = cli.parse_json_document(record.get("stdout") or "")
    except ValueError:
        return [], None
    ids = doc.get("adopted") if isinstance(doc, dict) else None
    ids = ids if isinstance(ids, list) else [ids] if isinstance(ids, str) else []
    return sorted(str(i).lower() for i in ids), None


FOREIGN_EXPOSURE_STEP = "the exposure to replace is ours"

# stdin {"at": "S:"}: exit 1 (with the shadow's ID) when a shadow copy exposed there is not in the ledger.
EXPOSURE_OWNER_SCRIPT = (
    "# quiesce.domino:exposure-owner\n"
    "Set-StrictMode -Version 2.0\n"
    "$ErrorActionPreference = 'Stop'\n"
    "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
    "$key = '" + cli.SHADOW_LEDGER_KEY + "'\n"
    "$owned = @{}\n"
    "if (Test-Path -LiteralPath $key) {\n"
    "  foreach ($name in @((Get-Item -LiteralPath $key).GetValueNames())) { $owned[$name.ToLowerInvariant()] = $true }\n"
    "}\n"
    "$want = ([string]$in.at).TrimEnd('\\').ToUpperInvariant()\n"
    "$foreign = @()\n"
    "foreach ($s in @(Get-CimInstance -ClassName Win32_ShadowCopy)) {\n"
    "  if ($null -eq $s.ExposedName) { continue }\n"
    "  if (([string]$s.ExposedName).TrimEnd('\\').ToUpperInvariant() -ne $want) { continue }\n"
    "  $id = ([string]$s.ID).ToLowerInvariant()\n"
    "  if (-not $owned.ContainsKey($id)) { $foreign += $id }\n"
    "}\n"
    "ConvertTo-Json -Compress -InputObject @{ foreign = $foreign }\n"
    "if ($foreign.Count -gt 0) { exit 1 }\n"
)


def exposure_owner_step(tools: dict[str, str], where: str) -> dict[str, t.Any]:
    """A guard: the shadow copy exposed at ``where`` (if any) is the collection's own, so replacing it is safe."""
    return planlib.step(FOREIGN_EXPOSURE_STEP, cli.powershell_argv(tools, EXPOSURE_OWNER_SCRIPT),
                        stdin=json.dumps({"at": where}), timeout=120)


def foreign_exposed(result: dict[str, t.Any]) -> list[str]:
    """The IDs of other software's shadow copies the exposure-owner guard found ([] when it passed)."""
    record = planlib.find_record(result, FOREIGN_EXPOSURE_STEP)
    if record is None or record.get("status") in ("ok", "skipped"):
        return []
    try:
        doc = cli.parse_json_document(record.get("stdout") or "")
    except ValueError:
        return ["(unreadable: %s)" % (record.get("error") or record.get("stderr") or "no output").strip()[:200]]
    ids = doc.get("foreign") if isinstance(doc, dict) else None
    return [str(i) for i in (ids if isinstance(ids, list) else [ids] if ids else [])] or ["(unknown)"]


def record_step(tools: dict[str, str], create_step: str) -> dict[str, t.Any]:
    """The finally step that records what ``create_step`` created (a failure is reported, never fatal)."""
    return planlib.step(RECORD_STEP, cli.powershell_argv(tools, RECORD_SCRIPT), stdin_from=create_step,
                        allow_failure=True, timeout=120)


def recorded(result: dict[str, t.Any]) -> tuple[list[str], t.Optional[str]]:
    """The shadow IDs a plan recorded as ours, and a warning when recording failed."""
    record = planlib.find_record(result, RECORD_STEP)
    if record is None or record.get("status") == "skipped":
        return [], None
    if record.get("status") != "ok":
        detail = (record.get("error") or record.get("stderr") or "").strip().splitlines()
        return [], ("the shadow copies this run created could not be recorded as the collection's own (%s); "
                    "snapshot_cleanup will not delete them: delete them by ID with quiesce.domino.diskshadow "
                    "state=absent shadow_id=..." % (detail[0] if detail else "no detail"))
    try:
        doc = cli.parse_json_document(record.get("stdout") or "")
    except ValueError:
        return [], "the record of the shadow copies this run created could not be read"
    ids = doc.get("recorded") if isinstance(doc, dict) else None
    ids = ids if isinstance(ids, list) else [ids] if isinstance(ids, str) else []
    return sorted(str(i).lower() for i in ids), None


def owned_ids(doc: dict[str, t.Any]) -> set[str]:
    """The ledger's shadow IDs from the shadow inventory document (``owned``: a name or a list of names)."""
    raw = doc.get("owned")
    names = raw if isinstance(raw, list) else [raw] if isinstance(raw, str) else []
    return {str(n).lower() for n in names if n}
