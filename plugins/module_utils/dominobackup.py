# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Domino Backup in snapshot mode (method ``backup_task``): the collection's side of the hand-shake
with ``files/quiesce_domino_backup.ps1``.  Pure functions, no I/O.

Facts (HCL Domino admin help "Snapshot backups" and "Snapshot tab", HCL-TECH-SOFTWARE/domino-backup
``docs/snapshot.md``, ``docs/delta-files.md``, ``docs/interface.md`` and the Veeam concept): ``load backup -s``
runs Domino Backup in snapshot mode; it puts every database into backup mode (writes go on, change info is
kept), runs the "Snapshot start command", runs the "Backup snapshot command" with a file list and takes the
databases out of backup mode one by one, writing the change info of each changed database as a ``.DELTA``
file (the sources disagree on which of these two comes first), backs each ``.DELTA`` up with the "Backup DB
command" and ends with the "Post-Backup command".  A snapshot is consistent only with those ``.DELTA`` files
applied by Domino's restore.

The hook runs as the Domino service account (SYSTEM, or Local Service on Domino 14), which cannot
write HKLM\\SOFTWARE but can always write the data directory: every record lives under
``<data dir>\\quiesce_domino`` (see the script's header for the layout).
"""

from __future__ import annotations

import json
import re
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

STATE_DIR = "quiesce_domino"
HOOK_FILE = "quiesce_domino_backup.ps1"
LOAD_COMMAND = "load backup -s"
OK_STRING = "QUIESCE_SNAPSHOT_OK"
ERROR_STRING = "QUIESCE_SNAPSHOT_ERROR"
_BACKUP_START_RE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
# cmd.exe expands % and ! (delayed expansion) even inside double quotes; the rest is refused by
# windows_folder already.  A path reaching a .cmd file or a cmd /c line must have none of them.
_CMD_UNSAFE = set('%!"^&|<>\r\n')

HELD_STEP = "wait until databases are held"
DONE_STEP = "wait until the hook let go"
DELTAS_STEP = "wait until Domino left backup mode"
RESET_STEP = "reset the hold"
RELEASE_STEP = "release the hold"


class HoldPaths(t.NamedTuple):
    data_dir: str
    state: str
    hold: str
    held: str
    release: str
    done: str
    deltas: str


def paths(data_dir: str) -> HoldPaths:
    """Where the hook keeps its records for one Domino data directory."""
    root = cli.windows_folder("data directory", data_dir).rstrip("\\")
    if _CMD_UNSAFE & set(root):
        raise cli.OptionError("data directory: %r holds a character cmd.exe would interpret (%s); method "
                              "backup_task cannot signal through it" % (root, "".join(sorted(_CMD_UNSAFE & set(root)))))
    state = root + "\\" + STATE_DIR
    hold = state + "\\hold"
    return HoldPaths(root, state, hold, hold + "\\held.json", hold + "\\release", hold + "\\done.json",
                     state + "\\deltas")


def backup_start(value: t.Any) -> str:
    """Domino Backup's BackupStartDT as the hook recorded it (a file-name-safe token)."""
    text = cli.require_str("backup_start", value)
    if not _BACKUP_START_RE.fullmatch(text):
        raise cli.OptionError("backup_start: %r is not valid; letters, digits and ._- (1-40) are required" % text)
    return text


def deltas_folder(data_dir: str, start: str) -> str:
    return "%s\\%s" % (paths(data_dir).deltas, backup_start(start))


RESTORE_FILE = "quiesce_domino_restore.ps1"
RESTORE_OK_STRING = "QUIESCE_RESTORE_OK"
RESTORE_ERROR_STRING = "QUIESCE_RESTORE_ERROR"


def setup_fields(data_dir: str, script_dir: str, timeout: int = 120) -> dict[str, str]:
    """The values to enter in the Snapshot, Backup and Restore tabs of the Domino backup configuration for this
    data directory, with the scripts copied into ``script_dir`` (docs/backup-task.md)."""
    folder = paths(data_dir).data_dir
    scripts = cli.windows_folder("script folder", script_dir).rstrip("\\")
    run = 'powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "%s\\%s"'
    backup = run % (scripts, HOOK_FILE)
    phase = '%s -Phase %s -DataDir "%s"'
    return {"snapshot_start_command": phase % (backup, "start", folder) + " -TimeoutSeconds %d" % int(timeout),
            "backup_snapshot_command": phase % (backup, "snapshot", folder),
            "backup_snapshot_file_list": "Physical path",
            "backup_db_command": phase % (backup, "delta", folder),
            "post_backup_command": phase % (backup, "post", folder),
            "ok_string": OK_STRING, "error_string": ERROR_STRING,
            "restore_command": '%s -CopyRoot "<destination>\\<host>"' % (run % (scripts, RESTORE_FILE)),
            "restore_ok_string": RESTORE_OK_STRING, "restore_error_string": RESTORE_ERROR_STRING}


# ------------------------------------------------------------ constant script

# One constant script for every look at the hook's records; its data arrives as JSON on standard
# input, never as code.  Actions: reset (forget an earlier hold), release, wait_held, wait_done,
# wait_deltas (print collected.json of the backup that held.json names), wait_collected (collected.json
# in a given deltas folder).
HOLD_SCRIPT = """# quiesce.domino:hold
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$in = [Console]::In.ReadToEnd() | ConvertFrom-Json
$held = Join-Path $in.hold 'held.json'
$done = Join-Path $in.hold 'done.json'
function Read-Json([string]$Path) { return [System.IO.File]::ReadAllText($Path) | ConvertFrom-Json }
if ($in.action -eq 'reset') {
    # Forget an earlier hold and ask for this one: the hook holds only a snapshot with a fresh request.
    if (Test-Path -LiteralPath $in.hold) { Get-ChildItem -LiteralPath $in.hold -Force | Remove-Item -Force }
    [void](New-Item -ItemType Directory -Force -Path $in.hold)
    [System.IO.File]::WriteAllText((Join-Path $in.hold 'request'), 'request')
    exit 0
}
if ($in.action -eq 'release') {
    [void](New-Item -ItemType Directory -Force -Path $in.hold)
    [System.IO.File]::WriteAllText((Join-Path $in.hold 'release'), 'release')
    exit 0
}
$deadline = [DateTime]::UtcNow.AddSeconds([double]$in.seconds)
while ($true) {
    $out = $null
    if ($in.action -eq 'wait_held' -and (Test-Path -LiteralPath $held)) {
        # held, and already let go before this run's release (a stray release file, another run's watchdog): the
        # shadow copy would be of databases out of backup mode, so diskshadow stops here (exec failed)
        foreach ($gone in 'release', 'done.json') {
            if (Test-Path -LiteralPath (Join-Path $in.hold $gone)) {
                [Console]::Error.WriteLine("wait_held: the hook was released before the shadow copy was made ($gone)"); exit 2 } }
        $out = @{ held = (Read-Json $held) }
    }
    elseif ($in.action -eq 'wait_done' -and (Test-Path -LiteralPath $done) -and (Test-Path -LiteralPath $held)) {
        $out = @{ held = (Read-Json $held); done = (Read-Json $done) }
    }
    elseif ($in.action -eq 'wait_deltas' -and (Test-Path -LiteralPath $held)) {
        $h = Read-Json $held
        $collected = Join-Path (Join-Path $in.deltas ([string]$h.backup_start)) 'collected.json'
        if (Test-Path -LiteralPath $collected) { $out = @{ held = $h; collected = (Read-Json $collected) } }
    }
    elseif ($in.action -eq 'wait_collected' -and (Test-Path -LiteralPath (Join-Path $in.folder 'collected.json'))) {
        $out = @{ collected = (Read-Json (Join-Path $in.folder 'collected.json')) }
    }
    if ($null -ne $out) { ConvertTo-Json -Compress -Depth 6 -InputObject $out; exit 0 }
    if ([DateTime]::UtcNow -ge $deadline) { [Console]::Error.WriteLine("$($in.action): not within $($in.seconds) s"); exit 1 }
    Start-Sleep -Milliseconds 10
}
"""


def hold_step(name: str, tools: dict[str, str], data_dir: str, action: str, seconds: float = 0,
              **kw: t.Any) -> dict[str, t.Any]:
    where = paths(data_dir)
    data = {"action": action, "hold": where.hold, "deltas": where.deltas, "folder": "", "seconds": seconds}
    kw.setdefault("timeout", max(60, int(seconds) + 30))
    return planlib.step(name, cli.powershell_argv(tools, HOLD_SCRIPT), stdin=json.dumps(data), **kw)


_DELTAS_FOLDER_RE = re.compile(r"(?i)^(?P<data>[A-Za-z]:\\.+?)\\%s\\deltas\\(?P<start>[A-Za-z0-9_.-]{1,40})$" % STATE_DIR)


def parse_deltas_folder(option: str, value: t.Any) -> tuple[str, str]:
    """``<data dir>\\quiesce_domino\\deltas\\<BackupStartDT>`` (the snapshot's ``deltas_folder``) -> (data dir, start)."""
    folder = cli.windows_folder(option, value)
    match = _DELTAS_FOLDER_RE.fullmatch(folder)
    if not match:
        raise cli.OptionError("%s: %r is not a folder of kept delta files; pass the deltas_folder that "
                              "quiesce.domino.snapshot returned (<data dir>\\%s\\deltas\\<backup start>)"
                              % (option, folder, STATE_DIR))
    data_dir = paths(match.group("data")).data_dir
    return data_dir, backup_start(match.group("start"))


def wait_collected_step(tools: dict[str, str], folder: str, seconds: int, name: str) -> dict[str, t.Any]:
    """Wait until the hook wrote collected.json into ``folder``: Domino has left backup mode and every
    .DELTA of that backup is kept; not within ``seconds`` fails the step."""
    data = {"action": "wait_collected", "hold": "", "deltas": "", "folder": folder, "seconds": seconds}
    return planlib.step(name, cli.powershell_argv(tools, HOLD_SCRIPT), stdin=json.dumps(data), timeout=seconds + 60)


def release_argv(tools: dict[str, str], data_dir: str) -> list[str]:
    """Let the hook go: create the release file (``fsutil file createnew <file> 0``, a small native
    program, so the release starts no PowerShell inside the freeze).  The same argv serves the watchdog
    task, which runs it as SYSTEM.  It fails when the file exists already: someone released first."""
    return [tools["fsutil"], "file", "createnew", paths(data_dir).release, "0"]


def release_cmd_file(tools: dict[str, str], data_dir: str) -> str:
    """release.cmd for diskshadow's ``exec`` (one script file, no arguments): the same release.  Its exit
    code is 0 whatever fsutil says, so diskshadow goes on to expose; the plan's own release and its
    wait for the hook's done.json decide whether Domino was released."""
    return "@%s\r\n@exit /b 0\r\n" % _cmdline(release_argv(tools, data_dir))


HOLD_INPUT = "hold.json"


def wait_cmd_file(tools: dict[str, str], data_dir: str, seconds: int) -> tuple[str, str]:
    """wait.cmd for diskshadow's ``exec``: the hold script waiting for held.json, its input read from
    the plan file hold.json (standard input redirected by cmd.exe).  Returns (wait.cmd, hold.json)."""
    argv = cli.powershell_argv(tools, HOLD_SCRIPT)
    where = paths(data_dir)
    data = json.dumps({"action": "wait_held", "hold": where.hold, "deltas": where.deltas, "folder": "",
                       "seconds": int(seconds)})
    line = "@%s < \"%s\\%s\"\r\n@exit /b %%errorlevel%%\r\n" % (_cmdline(argv), planlib.PLAN_DIR_TOKEN, HOLD_INPUT)
    return line, data


def _cmdline(argv: t.Sequence[str]) -> str:
    """One line of a .cmd file: each argument is checked before quoting (a path with spaces is quoted, which
    cmd.exe reads literally; % and ! it would expand even inside quotes)."""
    if any(_CMD_UNSAFE & set(arg) for arg in argv):
        raise cli.OptionError("a command for diskshadow exec holds characters cmd.exe would interpret: %r" % list(argv))
    return cli.windows_cmdline(argv)


# ------------------------------------------------------------ reading records

def parse_hold_record(stdout: t.Optional[str]) -> dict[str, t.Any]:
    """The JSON the hold script printed: {held: {...}, done: {...}, collected: {...}} (parts optional)."""
    try:
        doc = cli.parse_json_document(stdout or "")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def hold_record(records: t.Sequence[dict[str, t.Any]]) -> dict[str, t.Any]:
    """The hook's record, from the plan records of the two hold steps: the first step printed what the
    hook held and released, the second adds the deltas Domino wrote before it left backup mode."""
    record: dict[str, t.Any] = {}
    for name in (DONE_STEP, DELTAS_STEP):
        rec = next((r for r in records if r.get("name") == name), None)
        if rec is not None and rec.get("status") == "ok":
            record.update(parse_hold_record(rec.get("stdout")))
    return record


def window(record: dict[str, t.Any]) -> dict[str, t.Any]:
    """The hold as the hook recorded it.  ``held_ms``: databases in backup mode and the hook running;
    ``done_ms``: the hook let go; ``left_ms``: the Post-Backup command started, so Domino had taken every
    database out of backup mode and the deltas were kept: the end of the backup."""
    held = record.get("held") or {}
    done = record.get("done") or {}
    collected = record.get("collected") or {}
    out = {"held_ms": _int(held.get("held_ms")), "done_ms": _int(done.get("done_ms")),
           "left_ms": _int(collected.get("started_ms")), "released": done.get("released"),
           "backup_start": held.get("backup_start"), "tag": held.get("tag")}
    return out


# How far a shadow copy's creation time (Win32_ShadowCopy InstallDate) may lie outside the hook's hold and still
# count as inside it: the two are read from the same host clock, but when in its creation VSS stamps the copy is
# not documented (inferred: at the commit, after the freeze).
HOLD_SLACK_MS = 2000


def created_outside_hold(hold: dict[str, t.Any], created_ms: t.Sequence[int], slack_ms: int = HOLD_SLACK_MS) -> t.Optional[str]:
    """Why shadow copies created at ``created_ms`` (host clock, epoch ms) were not taken while the hook held the
    databases (``window``: from held_ms until done_ms, the hook letting go), or None.  A release this run did not
    make (a stray release file, a watchdog of another run) lets the hook go before the shadow copy exists: the copy
    is then of databases out of backup mode, with .DELTA files that do not belong to it."""
    held, done = hold.get("held_ms"), hold.get("done_ms")
    for when in created_ms:
        if held is not None and when < held - slack_ms:
            return "the shadow copy was created (host clock %d) before Domino Backup held the databases (%d)" % (when, held)
        if done is not None and when > done + slack_ms:
            return ("the shadow copy was created (host clock %d) after the backup_task hook had let the databases go "
                    "(%d): they were not in backup mode any more" % (when, done))
    return None


def delta_list(record: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    rows = (record.get("collected") or {}).get("deltas") or []
    if isinstance(rows, dict):  # ConvertTo-Json of a one-element array in PowerShell 5.1 can unwrap it
        rows = [rows]
    return [{"path": str(r.get("path")), "size": _int(r.get("size"))} for r in rows if isinstance(r, dict)]


def _int(value: t.Any) -> t.Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
