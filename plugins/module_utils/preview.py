# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a changing module would do, in words, for check mode: the lines an administrator reads before a run.

Pure functions, no I/O.  Each returns a list of sentences; the action returns them as ``preview`` and joins them
into ``msg``.  The times are the limits the options set (a stop that takes longer is ended by nsd -kill, a start
that takes longer fails the run), not a forecast: a stop and a start usually take seconds to a few minutes.
"""

from __future__ import annotations

import typing as t

STOP_KILL_SECONDS = 60 + 60  # sc stop's own step, and the wait after nsd -kill (plans.freeze_steps)


def _places(volumes: t.Sequence[str]) -> str:
    return ", ".join(volumes) if volumes else "the data volume"


def freeze_lines(service: str, method: str, shutdown_timeout: int, start_timeout: int, hold_timeout: int,
                 create_timeout: t.Optional[int] = None) -> list[str]:
    """What freezing ``service`` by ``method`` does to Domino and its users."""
    if method == "shutdown":
        longest = shutdown_timeout + STOP_KILL_SECONDS + (create_timeout or 0) + start_timeout
        return ["Domino (%s) will be STOPPED: users cannot work until it is started again, for at most about %d s "
                "(stop up to %d s, then nsd -kill%s, start up to %d s); usually much less"
                % (service, longest, shutdown_timeout,
                   ", shadow copy up to %d s" % create_timeout if create_timeout else "", start_timeout)]
    if method == "backup_task":
        return ["Domino (%s) keeps serving users: Domino Backup puts every database into backup mode (changes go to "
                ".DELTA files) while the shadow copy is made, for at most about %d s" % (service, hold_timeout + (create_timeout or 0))]
    if method == "vss_writer":
        return ["Domino (%s) keeps serving users: its VSS writer holds writes only while the shadow copy is created "
                "(seconds)" % service]
    return ["Domino (%s) is not quiesced (method none): the snapshot is crash-consistent, as after a power cut" % service]


def snapshot_lines(service: str, method: str, stopped: bool, volumes: t.Sequence[str], exposed: dict[str, str],
                   replace_stale: bool, lock: bool, watchdog_seconds: int, shutdown_timeout: int, start_timeout: int,
                   hold_timeout: int, create_timeout: int, preflight: t.Optional[str]) -> list[str]:
    """What ``quiesce.domino.snapshot`` would do."""
    lines = []
    if lock:
        lines.append("take the host lock (a second run against this host is refused)")
    if preflight:
        lines.append("check that %s has room for a copy of the server" % preflight)
    if stopped:
        lines.append("Domino (%s) is STOPPED (not by quiesce.domino): it is snapshotted as it is and stays stopped"
                     % service)
    else:
        lines += freeze_lines(service, method, shutdown_timeout, start_timeout, hold_timeout, create_timeout)
        if method in ("shutdown", "backup_task"):
            lines.append("arm a watchdog task that releases Domino after %d s if this run is cut off" % watchdog_seconds)
    lines.append("create one shadow copy set of %s with diskshadow (the script is in the result's script and in the "
                 "preview report)" % _places(volumes))
    if exposed:
        lines.append("expose it at %s" % ", ".join("%s as %s" % (vol, at) for vol, at in exposed.items()))
        first = next(iter(exposed.values()))
        if replace_stale:
            lines.append("first delete a shadow copy of the collection's own still exposed at %s (another program's is "
                         "refused, never deleted)" % first)
    return lines


def thaw_lines(service: str, method: str, start_timeout: int) -> list[str]:
    """What ``backup_mode state=thawed`` would do."""
    if method == "shutdown":
        return ["start Domino (%s) and wait up to %d s until it answers, then remove its watchdog" % (service, start_timeout)]
    if method == "backup_task":
        return ["let Domino Backup take the databases out of backup mode (%s), then remove its watchdog" % service]
    return ["nothing to release for %s (method %s)" % (service, method)]


def copy_lines(units: t.Sequence[dict[str, t.Any]], final: str, mode: str, keep: int, verify: str) -> list[str]:
    """What ``snapshot_copy state=present`` would do."""
    where = final + (".partial" if mode == "versioned" else "")
    lines = ["copy %s with robocopy to %s" % (", ".join(str(u.get("source")) for u in units) or "nothing", where),
             "verify the copy against the source (%s) before it counts" % verify]
    if mode == "versioned":
        lines.append("rename it to %s once verified, then keep the newest %d verified copies" % (final, keep)
                     if keep else "rename it to %s once verified; no older copy is removed (keep=0)" % final)
    return lines


def restore_lines(places: t.Sequence[dict[str, t.Any]], source: str, mirror: bool) -> list[str]:
    """What ``quiesce.domino.restore`` would do: a restore point is mirrored back (robocopy /MIR: files it does not
    hold are deleted), a copy is copied back (nothing in the target is deleted); a transaction log that is replaced
    is set aside first in both."""
    verb, effect = (("mirror back", "files the restore point does not hold are DELETED there") if mirror
                    else ("copy back", "nothing already there is deleted"))
    return ["%s %s %s from %s (%s)" % (verb, p.get("kind") or p.get("name"), p.get("path") or p.get("target"), source, effect)
            for p in places]


def message(lines: t.Sequence[str]) -> str:
    """The check-mode msg: what would happen, in order."""
    return "check mode, nothing was changed; this run would: " + "; ".join(lines)
