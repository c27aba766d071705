# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whose shadow copy is it: the host's ledger of the shadow copies the collection created.

VSS keeps no record of which requestor made a shadow copy, and its attributes do not tell a diskshadow copy
from one made by Previous Versions (both can be ``ClientAccessible``), Windows Server Backup or another backup
product. So every plan that creates shadow copies runs, first in its ``finally`` (whatever happened, before a
thaw), a step that reads the create step's transcript (``stdin_from``) and records under
``HKLM\\SOFTWARE\\quiesce.domino\\Shadows`` each existing shadow copy whose ID the transcript names. The
match is by evidence, not by label: the GUIDs in the transcript (any language) that are IDs of shadow copies on
the host; writer, provider and instance GUIDs match no shadow copy. Entries of shadow copies that no longer
exist are dropped at the same time. HKLM\\SOFTWARE is writable by administrators and SYSTEM only, so a local user cannot make a shadow copy "ours".

Cleanup (``snapshot_cleanup``, ``diskshadow state=absent volumes=``, ``snapshot replace_stale``) deletes only
shadow copies in this ledger; a shadow copy the user names by ID is the user's choice.
"""

from __future__ import annotations

import json
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

RECORD_STEP = "record the shadow copies as ours"

RECORD_SCRIPT = (
    "# quiesce.domino:own-shadows\n"
    "Set-StrictMode -Version 2.0\n"
    "$ErrorActionPreference = 'Stop'\n"
    "$text = [Console]::In.ReadToEnd()\n"
    "$named = @{}\n"
    "foreach ($m in [regex]::Matches($text, '\\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\\}')) {\n"
    "  $named[$m.Value.ToLowerInvariant()] = $true\n"
    "}\n"
    "$key = '" + cli.SHADOW_LEDGER_KEY + "'\n"
    "$existing = @{}\n"
    "$recorded = @()\n"
    "foreach ($s in @(Get-CimInstance -ClassName Win32_ShadowCopy)) {\n"
    "  $id = ([string]$s.ID).ToLowerInvariant()\n"
    "  $existing[$id] = $true\n"
    "  if ($named.ContainsKey($id)) {\n"
    "    if (-not (Test-Path -LiteralPath $key)) { [void](New-Item -Path $key -Force) }\n"
    "    $set = ([string]$s.SetID).ToLowerInvariant()\n"
    "    [void](New-ItemProperty -LiteralPath $key -Name $id -Value $set -PropertyType String -Force)\n"
    "    $recorded += $id\n"
    "  }\n"
    "}\n"
    "$dropped = @()\n"
    "if (Test-Path -LiteralPath $key) {\n"
    "  foreach ($name in @((Get-Item -LiteralPath $key).GetValueNames())) {\n"
    "    if ($name -ne '' -and -not $existing.ContainsKey($name.ToLowerInvariant())) {\n"
    "      Remove-ItemProperty -LiteralPath $key -Name $name\n"
    "      $dropped += $name\n"
    "    }\n"
    "  }\n"
    "}\n"
    "ConvertTo-Json -Compress -InputObject @{ recorded = $recorded; dropped = $dropped }\n"
)

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
