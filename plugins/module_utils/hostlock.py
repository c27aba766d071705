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

# Constant script; data on stdin. Creating a directory is atomic: exactly one of two runs gets it.
# A lock older than stale_seconds (by the host clock) belongs to a run that died and is taken over.
LOCK_SCRIPT = (
    "# quiesce.domino:lock\n$ErrorActionPreference = 'Stop'\n"
    "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
    "$dir = Join-Path $in.root $in.name\n$file = Join-Path $dir 'owner.json'\n"
    "$now = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()\n"
    "[void](New-Item -ItemType Directory -Force -Path $in.root)\n"
    "$held = $null\nif (Test-Path -LiteralPath $file) { $held = Get-Content -Raw -LiteralPath $file | ConvertFrom-Json }\n"
    "if ($in.action -eq 'release') {\n"
    "  if ($null -ne $held -and $held.owner -eq $in.owner) { Remove-Item -LiteralPath $dir -Recurse -Force }\n"
    "  ConvertTo-Json -Compress -InputObject @{ released = ($null -ne $held -and $held.owner -eq $in.owner) }\n  exit 0 }\n"
    "$took = $false\n"
    "try { [void](New-Item -ItemType Directory -Path $dir) }\n"
    "catch {\n"
    "  if ($null -ne $held -and $held.owner -ne $in.owner -and ($now - [int64]$held.since_ms) -lt ($in.stale_seconds * 1000)) {\n"
    "    ConvertTo-Json -Compress -InputObject @{ acquired = $false; owner = $held.owner; since_ms = $held.since_ms }\n"
    "    exit 75 }\n"
    "  $took = ($null -ne $held -and $held.owner -ne $in.owner) }\n"
    "$me = @{ owner = $in.owner; since_ms = $now }\n"
    "[System.IO.File]::WriteAllText($file, (ConvertTo-Json -Compress -InputObject $me))\n"
    "ConvertTo-Json -Compress -InputObject @{ acquired = $true; owner = $in.owner; taken_over = $took;"
    " previous_owner = $(if ($took) { $held.owner } else { $null }) }\n"
)


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
