# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for quiesce.domino.restore (documentation: plugins/modules/restore.py)."""

from __future__ import annotations

import datetime
import typing as t

from ansible_collections.quiesce.domino.plugins.plugin_utils._discovery import discover
from ansible_collections.quiesce.domino.plugins.module_utils import inventory
from ansible_collections.quiesce.domino.plugins.module_utils.errors import DominoError
from ansible_collections.quiesce.domino.plugins.module_utils import locations as locs
from ansible_collections.quiesce.domino.plugins.module_utils import hostlock
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import preview
from ansible_collections.quiesce.domino.plugins.module_utils import restore
from ansible_collections.quiesce.domino.plugins.module_utils import robocopy as rc
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.plugin_utils._restore_points import read_points
from ansible_collections.quiesce.domino.plugins.plugin_utils import _restic
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError, default_owner
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message, step_summary

ARGSPEC = {
    "restore_point": {"type": "str"},
    "copy": {"type": "str"},
    "databases": {"type": "list", "elements": "str", "default": []},
    "restore_to": {"type": "str"},
    "service": {"type": "str"},
    "expose_as": {"type": "str", "default": "R:"},
    "timeout": {"type": "int", "default": 21600},
    "allow_unapplied_deltas": {"type": "bool", "default": False},
    "other_locations": {"type": "bool", "default": True},
    "allow_other_host": {"type": "bool", "default": False},
    "allow_archive_log": {"type": "bool", "default": False},
    # restore from a restic snapshot (snapshot_copy backend=restic), staged into the new folder copy first
    "restic_snapshot": {"type": "str"},
    "repository": {"type": "str"},
    "repository_password": {"type": "str", "no_log": True},
    "repository_password_file": {"type": "str"},
    "lock": {"type": "bool", "default": False},
    "release_lock": {"type": "bool", "default": True},
    "lock_owner": {"type": "str"},
    "lock_stale_seconds": {"type": "int", "default": 21600},
}
STOP_HINT = " (stop Domino first, for example with quiesce.domino.backup_mode state=frozen method=shutdown)"


class ActionModule(QuiesceAction):
    ARGSPEC = ARGSPEC
    MUTUALLY_EXCLUSIVE = [["restore_point", "copy"]]
    REQUIRED_ONE_OF = [["restore_point", "copy"]]

    def perform(self, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        timeout = cli.int_range("timeout", args["timeout"], 60, planlib.MAX_TIMEOUT)  # a plan step's own limit
        stale = cli.int_range("lock_stale_seconds", args["lock_stale_seconds"], 60, 604800)
        who = hostlock.owner("lock_owner", args["lock_owner"] or default_owner())
        self._lock = (who, stale, args["release_lock"]) if args["lock"] else None
        # without lock the lock is taken for the plan only (hostlock.temporary): refused while another run holds it
        self._temporary_lock = (who, stale)
        if args["restic_snapshot"] is not None:
            # a restic snapshot is first restored into the new folder copy, arranged as a copy, then put back from it
            if args["copy"] is None:
                raise cli.OptionError("copy: restic_snapshot needs copy, a new folder to restore the snapshot into")
            databases = [restore.relative_path("databases[%d]" % i, d) for i, d in enumerate(args["databases"])]
            staged = _restic.stage(self, args, task_vars, cli.destination("copy", args["copy"]), databases, timeout)
            if self._task.check_mode:
                return dict(staged, changed=True, msg="check mode: " + "; ".join(staged["preview"]) +
                            "; then restore from that copy")
            return dict(self._from_copy(args, timeout, task_vars), **staged)
        if args["copy"] is not None:
            return self._from_copy(args, timeout, task_vars)
        if args["databases"] or args["restore_to"] is not None:
            raise cli.OptionError("databases, restore_to: only with copy; a restore point puts the whole data "
                                  "directory back in place")
        name = restore.point_name("restore_point", args["restore_point"])
        letter = cli.drive_letter("expose_as", args["expose_as"])
        tools = self.tools()
        point = restore.find_point(read_points(self, tools), name)
        if point is None:
            raise QuiesceActionError("restore_point: %s is not recorded on this host" % name)
        try:
            places = restore.point_places(point)
        except cli.OptionError as exc:
            raise QuiesceActionError("restore_point: %s is not usable: %s" % (name, exc))
        service = cli.service_name("Service", point["Service"])
        inv = discover(self)
        inst = next((i for i in inv["installations"] if i["service"].lower() == service.lower()), {})
        log = restore.log_handling(inst, rc.stamp(datetime.datetime.now(datetime.timezone.utc)),
                                   held=any(p["kind"] == "translog" for p in places)
                                   or locs.inside(str((inst.get("translog") or {}).get("path") or "?"),
                                                  next(p["path"] for p in places if p["kind"] == "data")),
                                   allow_archive=args["allow_archive_log"])
        self._refuse(log, "restore_point")
        plan = self._locked(restore.restore_plan(tools, self.platform, service, places, letter, timeout, log=log), tools)
        self._refuse_watchdog(plan, inst, inv)
        out: dict[str, t.Any] = {"changed": True, "restore_point": restore.point_facts(name, point),
                                 "locations_restored": self._restored(places, log)}
        self._log_result(out, log)
        if self._task.check_mode:
            lines = ["Domino (%s) must be stopped: the restore refuses to run while it runs" % service]
            lines += preview.restore_lines(places, "restore point %s (its shadow copies, exposed at %s)" % (name, letter), True)
            out.update(plan=plan, preview=lines, msg=preview.message(lines))
            return out
        run = self.run_plan(plan)
        out["steps"] = step_summary(r for _section, r in planlib.iter_records(run))
        self._refused(run, out)
        copy = planlib.find_record(run, "restore the data directory") or {}
        summary = rc.parse_summary(copy.get("stdout") or "")
        if summary:
            out.update(files_restored=summary["files"]["copied"], files_removed=summary["files"]["extras"],
                       bytes_restored=summary["bytes"]["copied"])
        if not run["ok"]:
            failed = (run.get("failed_step") or {}).get("name")
            hint = STOP_HINT if failed == "Domino must be stopped" else ""
            raise QuiesceActionError("restore from %s failed: %s%s%s"
                                     % (name, outcome_message(run), hint, self._undo_note(run, log)), **out)
        return out

    def _from_copy(self, args: dict[str, t.Any], timeout: int, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        """Databases (each with its .DELTA beside it), folders or the whole data directory from a copy."""
        source = cli.destination("copy", args["copy"])
        databases = [restore.relative_path("databases[%d]" % i, d) for i, d in enumerate(args["databases"])]
        restore_to = cli.windows_folder("restore_to", args["restore_to"]) if args["restore_to"] is not None else None
        service = cli.service_name("service", args["service"]) if args["service"] is not None else None
        inv = discover(self)
        try:
            inst = inventory.select_installation(inv["installations"], service)
        except DominoError as exc:
            raise QuiesceActionError(str(exc))
        data_dir = cli.windows_folder("data directory", inst["data_dir"] or "")
        in_place = restore_to is None or restore_to.lower() == data_dir.lower()
        target = data_dir if in_place else restore_to
        if not in_place and (data_dir.lower().startswith(target.lower() + "\\")):
            raise cli.OptionError("restore_to: %s holds the data directory %s; give a folder inside it or elsewhere"
                                  % (target, data_dir))
        entries = restore.copy_entries(databases)
        tools = self.tools(inst["program_dir"])
        layout = self._layout(tools, source)
        made_for = (layout or {}).get("host")
        here = str(task_vars.get("inventory_hostname", ""))
        # host names compared by their first label: dom01 and dom01.example.com are the same host
        if in_place and made_for and made_for.split(".", maxsplit=1)[0].lower() != here.split(".", maxsplit=1)[0].lower() \
                and not args["allow_other_host"]:
            raise QuiesceActionError("copy: %s is a copy of %s, not of %s; set allow_other_host=true to restore it here "
                                     "in place (its notes.ini and server ID would come along)"
                                     % (source, made_for, task_vars.get("inventory_hostname")))
        others: list[dict[str, t.Any]] = []
        if in_place and not databases and args["other_locations"]:
            try:
                others = restore.places_to_restore(layout, inst.get("locations") or [])
            except ValueError as exc:
                raise QuiesceActionError("copy: %s" % exc)
        log = None
        if in_place and not databases:
            log_path = str((inst.get("translog") or {}).get("path") or "?")
            held = locs.inside(log_path, inst["data_dir"]) or any(
                p["kind"] == "translog" and p["path"].lower() == log_path.rstrip("\\").lower() for p in others)
            log = restore.log_handling(inst, rc.stamp(datetime.datetime.now(datetime.timezone.utc)), held=held,
                                       allow_archive=args["allow_archive_log"])
            if not args["other_locations"] and log["action"] in ("replace", "refuse"):
                log = dict(log, action="keep", why="other_locations=false: the transaction log is left as it is")
            self._refuse(log, "copy")
        plan = restore.copy_restore_plan(tools, self.platform, inst["service"], locs.data_root(source, layout), target,
                                         entries, in_place, timeout,
                                         refuse_deltas=in_place and not args["allow_unapplied_deltas"], copy_base=source,
                                         others=others, log=log)
        plan = self._locked(plan, tools)
        if in_place or locs.inside(target, data_dir):
            self._refuse_watchdog(plan, inst, inv)
        out: dict[str, t.Any] = {"changed": True, "copy": source, "restored_to": target, "in_place": in_place,
                                 "databases": databases or None, "service": inst["service"],
                                 "locations_restored": self._restored([{"name": "data", "kind": "data"}] + others,
                                                                      log or {"action": None})}
        self._log_result(out, log or {"action": None})
        held = [p["name"] for p in (layout or {}).get("locations", []) if p["name"] != "data"]
        if held and not others:
            out.setdefault("warnings", []).append(
                "the copy also holds %s; only the data directory is restored (other places are put back only with the "
                "whole data directory in place and other_locations=true)" % ", ".join(sorted(set(held))))
        if self._task.check_mode:
            what = [{"kind": "the databases %s of the data directory" % ", ".join(databases) if databases else "the data directory",
                     "path": target}] + list(others)
            lines = preview.restore_lines(what, "copy %s" % source, False)
            out.update(plan=plan, preview=lines, msg=preview.message(lines))
            return out
        run = self.run_plan(plan)
        out["steps"] = step_summary(r for _section, r in planlib.iter_records(run))
        self._refused(run, out)
        copied = [r for r in run["steps"] if r["name"].startswith((restore.COPY_RESTORE_STEP, restore.PLACE_RESTORE_STEP))]
        files = bytes_ = 0
        deltas: list[str] = []
        for record in copied:
            summary = rc.parse_summary(record.get("stdout") or "")
            if summary:
                files += summary["files"]["copied"]
                bytes_ += summary["bytes"]["copied"]
            deltas += restore.restored_deltas(record.get("stdout") or "")
        out.update(files_restored=files, bytes_restored=bytes_, deltas_restored=deltas)
        if not run["ok"]:
            failed = (run.get("failed_step") or {}).get("name")
            hint = STOP_HINT if failed == "Domino must be stopped" else ""
            if failed == restore.IN_COPY_STEP:
                record = planlib.find_record(run, restore.IN_COPY_STEP) or {}
                try:
                    missing = cli.parse_json_document(record.get("stdout") or "").get("missing") or []
                except ValueError:
                    missing = []
                out["changed"] = False
                raise QuiesceActionError("restore from %s refused: not in the copy: %s; nothing was restored (check the "
                                         "names against the copy's data folder)"
                                         % (source, ", ".join(str(m) for m in cli.as_list(missing)) or "?"), **out)
            if failed == restore.DELTA_CHECK_STEP:
                hint = ("; the copy holds .DELTA files (method backup_task): databases copied back in place would be "
                        "opened by Domino without their change info. Restore them through Domino's restore "
                        "(dominobackup.nsf, docs/restore.md), into a restore folder (restore_to), or set "
                        "allow_unapplied_deltas=true to put the files back anyway")
                out["changed"] = False
            raise QuiesceActionError("restore from %s failed: %s%s%s"
                                     % (source, outcome_message(run), hint, self._undo_note(run, log or {"action": None})),
                                     **out)
        if deltas:
            out.setdefault("warnings", []).append(
                "%d databases in %s have their .DELTA beside them and are NOT consistent until their change info is "
                "applied: have Domino's restore process them before anyone opens them (docs/restore.md)"
                % (len(deltas), target))
        return out

    @staticmethod
    def _restored(places: t.Sequence[dict[str, t.Any]], log: dict[str, t.Any]) -> list[str]:
        """The places a restore puts back, as named in the copy (a transaction log left alone is not one)."""
        return [p["name"] + ("\\" + p["path"].rsplit("\\", 1)[-1] if p.get("file") else "") for p in places
                if not (p["kind"] == "translog" and log["action"] != "replace")]

    @staticmethod
    def _undo_note(run: dict[str, t.Any], log: dict[str, t.Any]) -> str:
        """What a failed restore did with the transaction log it had set aside."""
        record = planlib.find_record(run, restore.UNDO_ASIDE_STEP)
        if log["action"] != "replace" or record is None:
            return ""
        if record.get("status") == "ok":
            return "; the transaction log that had been set aside was put back at %s" % log["path"]
        return ("; putting the transaction log back FAILED: it is at %s, rename it to %s before Domino starts"
                % (log["aside"], log["path"]))

    @staticmethod
    def _refuse_watchdog(plan: dict[str, t.Any], inst: dict[str, t.Any], inv: dict[str, t.Any]) -> None:
        """A server stopped by our freeze is started by its watchdog at the deadline: a restore that may still run
        then is refused before it touches anything (restore.watchdog_refusal)."""
        why = restore.watchdog_refusal(plan, inst, inv.get("now_utc"))
        if why:
            raise QuiesceActionError(why, changed=False, watchdog=inst.get("watchdog"), now_utc=inv.get("now_utc"))

    @staticmethod
    def _refuse(log: dict[str, t.Any], option: str) -> None:
        if log["action"] == "refuse":
            raise QuiesceActionError("%s: not restored, nothing was touched: transaction log %s: %s"
                                     % (option, log["path"], log["why"]), translog={"action": "refuse", "path": log["path"]})

    def _locked(self, plan: dict[str, t.Any], tools: dict[str, str]) -> dict[str, t.Any]:
        """With lock: the host lock first (refused while another run holds it; renewed for the restore's worst
        case when this run holds it already, as after backup_mode state=frozen lock=true), given back at the end
        with release_lock."""
        if not self._lock:
            return hostlock.temporary(plan, tools, *self._temporary_lock)
        who, stale, release = self._lock
        return hostlock.locked(plan, tools, who, stale, release_in="finally" if release else None)

    @staticmethod
    def _refused(run: dict[str, t.Any], out: dict[str, t.Any]) -> None:
        lock = hostlock.refusal(run)
        if lock is not None:
            out["changed"] = False
            raise QuiesceActionError("restore refused: %s; nothing was restored or touched" % hostlock.busy_message(lock),
                                     **out)

    @staticmethod
    def _log_result(out: dict[str, t.Any], log: dict[str, t.Any]) -> None:
        """What happened to the transaction log, in the result and, when it was left alone, as a warning."""
        if log["action"] is None:
            return
        out["translog"] = {k: log.get(k) for k in ("action", "path", "aside", "why", "style") if log.get(k)}
        if log["action"] == "keep":
            out.setdefault("warnings", []).append("transaction log %s not restored: %s" % (log["path"], log["why"]))
        elif log.get("style") == "archive":
            out.setdefault("warnings", []).append(
                "archive-style transaction log %s was set aside to %s and the backup's put back: archive the set-aside "
                "extents, and take a new full backup as soon as the server runs" % (log["path"], log["aside"]))

    def _layout(self, tools: dict[str, str], copy: str) -> t.Optional[dict[str, t.Any]]:
        """The copy's quiesce_domino.json (None: a copy made before 0.2.0, the data directory itself).  A copy
        with a data folder but no readable layout is refused: it would be restored one level too deep."""
        plan = planlib.build_plan("read the layout of the copy", self.platform,
                                  [rc.fs_step("read the layout", tools, "read_layout", {"copy": copy}, timeout=120)],
                                  check_mode_safe=True)
        run = self.run_plan(plan)
        if not run["ok"]:
            raise QuiesceActionError("copy: %s cannot be read on the host (is it a folder the account can read?): %s"
                                     % (copy, outcome_message(run)))
        try:
            found = cli.parse_json_document(run["steps"][0].get("stdout") or "")
            layout = locs.parse_layout(found.get("layout") or "")
        except ValueError as exc:
            raise QuiesceActionError("copy: %s" % exc)
        if layout is None and found.get("data_folder"):
            raise QuiesceActionError("copy: %s has a data folder but no readable %s; it is not restored as an old "
                                     "copy (that would put data\\ inside the data directory)" % (copy, locs.LAYOUT_FILE))
        return layout
