# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The quiesce methods: which are possible on an installation (Domino version, Windows build, partitions,
database volumes), which auto chooses, and which freeze holds a server now."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils.errors import DominoError
from ansible_collections.quiesce.domino.plugins.module_utils.inventory import version_tuple


METHODS = ("vss_writer", "backup_task", "shutdown", "none")
WINDOWS_2019_BUILD = 17763


def possible_methods(inst: dict[str, t.Any], os_build: int, partitioned: bool) -> dict[str, dict[str, t.Any]]:
    """Each method -> {possible, why}; ``why`` says what is missing when it is not possible."""
    version = version_tuple(inst.get("version"))
    has_service = bool(inst.get("service"))
    out: dict[str, dict[str, t.Any]] = {}
    reasons = []
    if version < (12, 0, 2):
        reasons.append("needs Domino 12.0.2 or later (found %s)" % (inst.get("version") or "unknown"))
    if os_build < WINDOWS_2019_BUILD:
        reasons.append("needs Windows Server 2019 or 2022 (build %d)" % os_build)
    if partitioned:
        reasons.append("partitioned server: the VSS writer serves only one partition; choose another method")
    if not inst.get("data_volume"):
        reasons.append("data directory not found")
    # HCL's limit is about databases: all on one disk, no links to other disks.  The transaction log and the DAOS
    # store (no databases) may live elsewhere; their volumes join the shadow copy set.
    database_volumes = sorted({str(loc["path"])[:2].upper() for loc in inst.get("locations") or []
                               if loc.get("kind") in ("data", "link") and re.match(r"^[A-Za-z]:", str(loc.get("path") or ""))})
    if len(database_volumes) > 1:
        reasons.append("the server keeps databases on several volumes (%s, through directory links); the VSS writer "
                       "supports all databases on one disk, no links to other disks" % ", ".join(database_volumes))
    out["vss_writer"] = {"possible": not reasons, "why": "; ".join(reasons) or "backupvss VSS writer"}
    if version < (12, 0):
        out["backup_task"] = {"possible": False, "why": "needs Domino 12.0 or later (found %s)" % (inst.get("version") or "unknown")}
    else:
        why = ("Domino Backup in snapshot mode with the collection's integration as Snapshot start and Backup snapshot "
               "command (docs/backup-task.md)")
        out["backup_task"] = {"possible": True, "why": why}
    out["shutdown"] = {"possible": has_service, "why": "stop the service, snapshot, start" if has_service
                       else "no Domino Windows service found"}
    out["none"] = {"possible": True, "why": "crash-consistent snapshot, Domino is not quiesced"}
    return out


ONLINE_METHODS = ("vss_writer", "backup_task")


def recommended_method(methods: dict[str, dict[str, t.Any]], allow_downtime: bool = False) -> t.Optional[str]:
    """The least disruptive possible method that keeps Domino serving users: vss_writer.  backup_task needs the
    admin's Domino Backup configuration, which cannot be seen from outside, so auto never guesses it; shutdown
    only when downtime is allowed.  None: no method auto may choose."""
    if methods["vss_writer"]["possible"]:
        return "vss_writer"
    if allow_downtime and methods["shutdown"]["possible"]:
        return "shutdown"
    return None


def choose_method(requested: str, methods: dict[str, dict[str, t.Any]], allow_downtime: bool = False) -> str:
    if requested == "auto":
        chosen = recommended_method(methods, allow_downtime)
        if chosen is None:
            raise DominoError(
                "method: auto found no method that keeps Domino online (vss_writer: %s); choose one: method=backup_task "
                "when Domino Backup is configured with the collection's integration (docs/backup-task.md), "
                "allow_downtime=true to let auto stop and start Domino (method shutdown), or method=none for a "
                "crash-consistent snapshot" % methods["vss_writer"]["why"])
        return chosen
    if requested not in methods:
        raise DominoError("method: %r is not one of auto, %s" % (requested, ", ".join(METHODS)))
    if not methods[requested]["possible"]:
        raise DominoError("method: %s is not possible on this server: %s" % (requested, methods[requested]["why"]))
    return requested


def frozen_state(inst: dict[str, t.Any], now_utc: t.Optional[str]) -> t.Optional[str]:
    """The method that holds this server now, or None.  A freeze is recorded by its watchdog task;
    one whose deadline has passed has fired (or is firing) and no longer holds Domino."""
    watchdog = inst.get("watchdog") or {}
    if not watchdog.get("method") or (watchdog.get("state") or "").lower() not in ("ready", "running"):
        return None
    if now_utc and watchdog.get("deadline_utc") and watchdog["deadline_utc"] <= now_utc:
        return None
    return watchdog["method"]


def thaw_method(inst: dict[str, t.Any], now_utc: t.Optional[str]) -> t.Optional[str]:
    """What a thaw must undo: the recorded freeze (the watchdog task), or a hold of the backup_task hook."""
    recorded = frozen_state(inst, now_utc)
    if recorded:
        return recorded
    if inst.get("held"):
        return "backup_task"
    watchdog = inst.get("watchdog") or {}
    if watchdog.get("method") == "shutdown" and inst.get("state") in ("STOPPED", "STOP_PENDING"):
        # Our own freeze, whose watchdog fired (its deadline passed) and did not bring Domino back: ours to start.
        return "shutdown"
    # A stopped server without a record of our freeze was stopped by someone else (an administrator, on
    # purpose): it is not ours to start.
    return None
