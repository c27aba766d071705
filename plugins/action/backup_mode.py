# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for quiesce.domino.backup_mode (documentation: plugins/modules/backup_mode.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.quiesce.domino.plugins.plugin_utils._discovery import discover
from ansible_collections.quiesce.domino.plugins.module_utils import hostlock
from ansible_collections.quiesce.domino.plugins.module_utils import inventory
from ansible_collections.quiesce.domino.plugins.module_utils import methods
from ansible_collections.quiesce.domino.plugins.module_utils import plans
from ansible_collections.quiesce.domino.plugins.module_utils import watchdog
from ansible_collections.quiesce.domino.plugins.module_utils.errors import DominoError
from ansible_collections.quiesce.domino.plugins.module_utils import dominobackup as dbk
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import preview
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError, default_owner
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message, step_summary

ARGSPEC = {
    "state": {"type": "str", "required": True, "choices": ["frozen", "thawed"]},
    "method": {"type": "str", "default": "auto", "choices": ["auto"] + list(methods.METHODS)},
    "allow_downtime": {"type": "bool", "default": False},
    "service": {"type": "str"},
    "watchdog_seconds": {"type": "int", "default": 1200},
    "shutdown_timeout": {"type": "int", "default": 180},
    "start_timeout": {"type": "int", "default": 300},
    "hold_timeout": {"type": "int", "default": 60},
    "lock": {"type": "bool", "default": False},
    "lock_owner": {"type": "str"},
    "lock_stale_seconds": {"type": "int", "default": 21600},
}


def result_base(inst: dict[str, t.Any], method: t.Optional[str]) -> dict[str, t.Any]:
    return {"service": inst["service"], "method": method, "frozen_at": None, "thawed_at": None, "held_ms": None,
            "watchdog": None, "crash_consistent": method == "none"}


class ActionModule(QuiesceAction):
    ARGSPEC = ARGSPEC

    def perform(self, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        service = cli.service_name("service", args["service"]) if args["service"] is not None else None
        watchdog_seconds = cli.int_range("watchdog_seconds", args["watchdog_seconds"], 30, planlib.MAX_WATCHDOG_SECONDS)
        shutdown_timeout = cli.int_range("shutdown_timeout", args["shutdown_timeout"], 10, 3600)
        start_timeout = cli.int_range("start_timeout", args["start_timeout"], 10, 3600)
        hold_timeout = cli.int_range("hold_timeout", args["hold_timeout"], 5, 600)
        stale = cli.int_range("lock_stale_seconds", args["lock_stale_seconds"], 60, 604800)
        # (owner, stale seconds) of the host lock, or None: taken before anything else is touched
        who = hostlock.owner("lock_owner", args["lock_owner"] or default_owner())
        self._lock = (who, stale) if args["lock"] else None
        if args["lock"] and args["state"] == "frozen" and stale < watchdog_seconds + hostlock.HOLD_MARGIN_SECONDS:
            # the freeze keeps the lock after its task, when only lock_stale_seconds protects it from a takeover
            raise cli.OptionError("lock_stale_seconds: %d is shorter than the freeze it protects (watchdog_seconds %d "
                                  "and %d s of margin); another run could take the lock over while Domino is frozen"
                                  % (stale, watchdog_seconds, hostlock.HOLD_MARGIN_SECONDS))
        # without lock the lock is taken for the plan only (hostlock.temporary): refused while another run holds it
        self._temporary_lock = (who, stale)
        # The watchdog must outlive every step of the freeze (plans.watchdog_budget), checked before anything is
        # sent; auto with allow_downtime may resolve to shutdown: held to its rule.  The real plan is checked again.
        judged = "shutdown" if args["method"] == "auto" and args["allow_downtime"] else args["method"]
        if args["state"] == "frozen" and judged in ("shutdown", "backup_task"):
            short = plans.watchdog_shortfall(plans.freeze_budget_plan(
                judged, watchdog_seconds, shutdown_timeout, hold_timeout, start_timeout),
                hint=" (method=auto with allow_downtime may choose shutdown)" if judged != args["method"] else "")
            if short:
                raise cli.OptionError(short)
        self._allow_downtime = args["allow_downtime"]
        inv = discover(self)
        try:
            inst = inventory.select_installation(inv["installations"], service)
        except DominoError as exc:
            raise QuiesceActionError(str(exc), installations=[i["service"] for i in inv["installations"]])
        tools = self.tools(inst["program_dir"])
        if args["state"] == "frozen":
            return self._freeze(inst, args["method"], tools, watchdog_seconds, shutdown_timeout, hold_timeout,
                                start_timeout)
        return self._thaw(inst, args["method"], tools, start_timeout)

    def _freeze(self, inst, requested, tools, watchdog_seconds, shutdown_timeout, hold_timeout, start_timeout):
        current = inst["frozen_by"]
        if current:
            if requested not in ("auto", current):
                raise QuiesceActionError("method: %s is already frozen by %s; thaw it first" % (inst["service"], current))
            out = result_base(inst, current)
            if not self._task.check_mode:
                # A freeze is this run's only when the host lock is: another run's freeze (its backup going on) is
                # no freeze this caller may back up under, since that run thaws it when it is done.  Without lock:
                # refused at least while another run holds the lock.
                self._own_freeze(tools, current, watchdog_seconds, out)
            out.update(changed=False, frozen_at=watchdog.iso_ms(watchdog.frozen_ms(inst.get("watchdog"))),
                       watchdog=inst.get("watchdog"), msg="already frozen by %s" % current)
            return out
        try:
            method = methods.choose_method(requested, inst["methods"], self._allow_downtime)
        except DominoError as exc:
            raise QuiesceActionError(str(exc), methods=inst["methods"])
        if method in ("shutdown", "backup_task") and not inst.get("answers") and inst.get("state") == "RUNNING":
            raise QuiesceActionError("service: %s runs but does not answer (%s); refusing to freeze a server whose "
                                     "health cannot be checked" % (inst["service"], inst.get("answers_by")))
        if method in ("shutdown", "backup_task") and inst.get("state") != "RUNNING":
            raise QuiesceActionError("service: %s is %s, not RUNNING; nothing to freeze"
                                     % (inst["service"], inst.get("state") or "unknown"))
        out = result_base(inst, method)
        if method == "none":
            out.update(changed=False, msg="method none: Domino is not quiesced; snapshots are crash-consistent")
            return out
        if method == "vss_writer" and inst["tasks"].get("backupvss"):
            out.update(changed=False, msg="backupvss runs; VSS freezes Domino during the shadow copy creation")
            return out
        plan = plans.freeze_plan(inst, method, tools, self.platform, watchdog_seconds, shutdown_timeout, hold_timeout,
                                 start_timeout)
        short = plans.watchdog_shortfall(plan)
        if short:
            raise cli.OptionError(short)
        if self._lock and method in ("shutdown", "backup_task"):
            # kept while Domino is frozen (state=thawed gives it back), at least until the watchdog releases
            # Domino; a failed freeze gives it back once Domino is confirmed released
            plan = hostlock.locked(plan, tools, self._lock[0], self._lock[1], release_in="rescue",
                                   release_only_if_ok=plans.RESCUE_EVIDENCE_STEP,
                                   hold_seconds=watchdog_seconds + hostlock.HOLD_MARGIN_SECONDS)
        elif method in ("shutdown", "backup_task"):
            plan = hostlock.temporary(plan, tools, *self._temporary_lock)
        out["changed"] = True
        if self._task.check_mode:
            lines = preview.freeze_lines(inst["service"], method, shutdown_timeout, start_timeout, hold_timeout)
            if method in ("shutdown", "backup_task"):
                lines.append("arm a watchdog task that releases Domino after %d s unless state=thawed runs first"
                             % watchdog_seconds)
            out.update(plan=plan, preview=lines, msg=preview.message(lines))
            return out
        run = self.run_plan(plan)
        out["steps"] = step_summary(run["steps"])
        self._refused(run, out, "freeze")
        if not run["ok"]:
            # released only on evidence: the rescue's check (service RUNNING, the hook's done.json) succeeded
            evidence = next((r for r in run.get("rescue", []) or [] if r["name"] == plans.RESCUE_EVIDENCE_STEP), None)
            released = evidence is None or evidence["status"] == "ok"
            out["released"] = released
            raise QuiesceActionError("freeze by %s failed: %s%s" % (
                method, outcome_message(run), "; Domino was released" if released else
                "; Domino is NOT confirmed released (%s): the watchdog stays armed and releases it by its deadline"
                % (evidence.get("error") or "no evidence")), **out)
        ends = [r["end_ms"] for r in run["steps"] if r.get("end_ms")]
        out["frozen_at"] = watchdog.iso_ms(max(ends) if ends else run.get("ended_ms"))
        if "watchdog" in run:
            out["watchdog"] = {"task": watchdog.task_name(inst), "deadline_utc": run["watchdog"].get("deadline_utc"),
                               "deadline_local": run["watchdog"].get("deadline_local"), "seconds": watchdog_seconds}
        killed = next((r for r in run["steps"] if r["name"] == "nsd -kill after the deadline"), None)
        if killed and killed["status"] == "ok":
            out["killed"] = True
            out["warnings"] = ["Domino did not stop within %d s; nsd -kill ended it" % shutdown_timeout]
        return out

    def _thaw(self, inst, requested, tools, start_timeout):
        method = inst["frozen_by"]
        if requested not in ("auto", method) and method is not None:
            raise QuiesceActionError("method: %s is frozen by %s, not %s" % (inst["service"], method, requested))
        if method is None:
            # Nothing holds Domino (vss_writer and none never hold it): thawing changes nothing.
            out = result_base(inst, requested if requested != "auto" else None)
            out.update(changed=False, msg="%s is not frozen" % inst["service"])
            return out
        out = result_base(inst, method)
        out["changed"] = True
        out["frozen_at"] = watchdog.iso_ms(watchdog.frozen_ms(inst.get("watchdog")))
        plan = plans.thaw_plan(inst, method, tools, self.platform, start_timeout)
        if self._lock:
            # refused while another run holds the lock (its Domino is not this run's to thaw); given back only
            # after the thaw succeeded (a failed thaw keeps it, as it keeps the watchdog)
            plan = hostlock.locked(plan, tools, self._lock[0], self._lock[1], release_in="steps")
        else:
            plan = hostlock.temporary(plan, tools, *self._temporary_lock)
        if self._task.check_mode:
            lines = preview.thaw_lines(inst["service"], method, start_timeout)
            out.update(plan=plan, preview=lines, msg=preview.message(lines))
            return out
        run = self.run_plan(plan)
        out["steps"] = step_summary(run["steps"])
        self._refused(run, out, "thaw")
        if not run["ok"]:
            raise QuiesceActionError("thaw by %s failed: %s; the watchdog stays armed and releases Domino by its "
                                     "deadline" % (method, outcome_message(run)), **out)
        ends = [r["end_ms"] for r in run["steps"] if r["name"] != "disarm watchdog" and r.get("end_ms")]
        thawed = max(ends) if ends else run.get("ended_ms")
        out["thawed_at"] = watchdog.iso_ms(thawed)
        frozen = watchdog.frozen_ms(inst.get("watchdog"))
        out["held_ms"] = thawed - frozen if frozen is not None and thawed is not None else None
        if method == "backup_task":
            # Domino leaves backup mode after the hook let go and writes the .DELTA files; the collection's
            # integration keeps them: a copy of the snapshot needs them (snapshot_copy deltas_from).
            record = dbk.hold_record([rec for _section, rec in planlib.iter_records(run)])
            hold = dbk.window(record)
            out["backup_start"] = hold["backup_start"]
            out["deltas"] = dbk.delta_list(record)
            out["deltas_folder"] = dbk.deltas_folder(inst["data_dir"], hold["backup_start"]) if hold["backup_start"] else None
            if not hold["left_ms"]:
                out["warnings"] = ["Domino did not finish leaving backup mode within %d s; the .DELTA files of backup %s "
                                   "are not kept yet" % (plans.LEAVE_SECONDS, hold["backup_start"])]
        return out

    def _own_freeze(self, tools: dict[str, str], method: str, watchdog_seconds: int, out: dict[str, t.Any]) -> None:
        """Domino is frozen already: go on only when this owner holds the host lock (renewed, as its freeze took
        it); refuse when another run holds it, or when nobody does (a freeze made without the lock)."""
        who, stale = self._lock or self._temporary_lock
        temporary = self._lock is None
        taking = hostlock.lock_step(tools, "acquire", "backup", who, stale,
                                    hold_seconds=watchdog_seconds + hostlock.HOLD_MARGIN_SECONDS, temporary=temporary)
        run = self.run_plan(planlib.build_plan("check who froze Domino", self.platform, [taking]))
        self._refused(run, out, "freeze")
        record = planlib.find_record(run, hostlock.ACQUIRE_STEP)
        if not run["ok"] or record is None:
            raise QuiesceActionError("freeze: the host lock could not be checked: %s" % outcome_message(run), **out)
        if hostlock.read_result(record).get("renewed"):
            return
        if temporary:
            # without lock: nobody else holds it, so the frozen Domino is answered as before; the lock taken for this
            # check is given back
            self.run_plan(planlib.build_plan("give back the host lock", self.platform, [
                hostlock.lock_step(tools, "release", "backup", who, stale, ok_rc="any")]))
            return
        given = self.run_plan(planlib.build_plan("give back the host lock", self.platform, [
            hostlock.lock_step(tools, "release", "backup", who, stale, ok_rc="any")]))
        raise QuiesceActionError(
            "freeze refused: %s is already frozen by %s, by a run that did not take the host lock, so not by this "
            "one (its owner thaws it when it is done); thaw it first (state=thawed) or wait for its watchdog%s"
            % (out.get("service") or "Domino", method, "" if given.get("ok") else
               "; the host lock taken for this check could not be given back: %s" % outcome_message(given)), **out)

    @staticmethod
    def _refused(run: dict[str, t.Any], out: dict[str, t.Any], what: str) -> None:
        """Stop when the host lock (option lock) was not this run's: nothing was touched."""
        lock = hostlock.refusal(run)
        if lock is not None:
            out["changed"] = False
            raise QuiesceActionError("%s refused: %s; Domino was not touched" % (what, hostlock.busy_message(lock)), **out)
