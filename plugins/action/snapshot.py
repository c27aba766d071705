# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for quiesce.domino.snapshot (documentation: plugins/modules/snapshot.py)."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.quiesce.domino.plugins.plugin_utils._discovery import discover
from ansible_collections.quiesce.domino.plugins.plugin_utils._shadows import evidence_missing, exposure_target, shadow_summary
from ansible_collections.quiesce.domino.plugins.plugin_utils._shadows import volume_alias
from ansible_collections.quiesce.domino.plugins.module_utils import diskshadow as ds
from ansible_collections.quiesce.domino.plugins.module_utils import inventory
from ansible_collections.quiesce.domino.plugins.module_utils import methods
from ansible_collections.quiesce.domino.plugins.module_utils import plans
from ansible_collections.quiesce.domino.plugins.module_utils.errors import DominoError
from ansible_collections.quiesce.domino.plugins.module_utils import dominobackup as dbk
from ansible_collections.quiesce.domino.plugins.module_utils import hostlocale
from ansible_collections.quiesce.domino.plugins.module_utils import hostlock
from ansible_collections.quiesce.domino.plugins.module_utils import locations as locs
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import preview
from ansible_collections.quiesce.domino.plugins.module_utils import robocopy as rc
from ansible_collections.quiesce.domino.plugins.module_utils import shadow_ledger as ledger
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError, default_owner
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message, step_summary

ARGSPEC = {
    "method": {"type": "str", "default": "auto", "choices": ["auto"] + list(methods.METHODS)},
    "allow_downtime": {"type": "bool", "default": False},
    "service": {"type": "str"},
    "volumes": {"type": "list", "elements": "str", "default": []},
    "expose_as": {"type": "str"},
    "watchdog_seconds": {"type": "int", "default": 1200},
    "shutdown_timeout": {"type": "int", "default": 120},
    "start_timeout": {"type": "int", "default": 300},
    "hold_timeout": {"type": "int", "default": 60},
    "create_timeout": {"type": "int", "default": 300},
    "domino_writer_id": {"type": "str"},
    "domino_writer_match": {"type": "str", "default": "(?i)domino"},
    "domino_info": {"type": "dict"},
    "replace_stale": {"type": "bool", "default": False},
    "preflight_destination": {"type": "str"},
    "preflight_host_folder": {"type": "str"},
    "space_margin": {"type": "float", "default": 1.1},
    "lock": {"type": "bool", "default": False},
    "lock_owner": {"type": "str"},
    "lock_stale_seconds": {"type": "int", "default": 21600},
}


class ActionModule(QuiesceAction):
    ARGSPEC = ARGSPEC

    def perform(self, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        service = cli.service_name("service", args["service"]) if args["service"] is not None else None
        volumes = [cli.volume("volumes[%d]" % i, v) for i, v in enumerate(args["volumes"])]
        target = exposure_target("expose_as", args["expose_as"]) if args["expose_as"] else None
        watchdog_seconds = cli.int_range("watchdog_seconds", args["watchdog_seconds"], 30, 7200)
        shutdown_timeout = cli.int_range("shutdown_timeout", args["shutdown_timeout"], 10, 3600)
        start_timeout = cli.int_range("start_timeout", args["start_timeout"], 10, 3600)
        hold_timeout = cli.int_range("hold_timeout", args["hold_timeout"], 5, 600)
        create_timeout = cli.int_range("create_timeout", args["create_timeout"], 10, 3600)
        writer_id = cli.guid("domino_writer_id", args["domino_writer_id"]) if args["domino_writer_id"] else None
        try:
            writer_match = re.compile(cli.safe_text("domino_writer_match", args["domino_writer_match"], 100))
        except re.error as exc:
            raise cli.OptionError("domino_writer_match: %r is not a valid regular expression: %s"
                                  % (args["domino_writer_match"], exc))
        # The watchdog must never fire while a step of the freeze or the creation may still run (it would release
        # Domino mid-snapshot): the worst case of those steps (plans.watchdog_budget) is checked before anything is
        # sent, and again on the real plan.  auto with allow_downtime may resolve to shutdown: held to its rule.
        judged = "shutdown" if args["method"] == "auto" and args["allow_downtime"] else args["method"]
        if judged in ("shutdown", "backup_task"):
            short = plans.watchdog_shortfall(plans.snapshot_budget_plan(
                judged, watchdog_seconds, shutdown_timeout, start_timeout, hold_timeout, create_timeout),
                hint=" (method=auto with allow_downtime may choose shutdown)" if judged != args["method"] else "")
            if short:
                raise cli.OptionError(short)

        owner = hostlock.owner("lock_owner", args["lock_owner"] or default_owner())
        who = owner if args["lock"] else None
        stale_s = cli.int_range("lock_stale_seconds", args["lock_stale_seconds"], 60, 604800)
        if args["preflight_destination"] == "":
            raise cli.OptionError("preflight_destination: is empty; give the copy destination or omit the option "
                                  "(role quiesce.domino.snapshot_backup: snapshot_backup_destination is not set)")
        dest = cli.destination("preflight_destination", args["preflight_destination"]) if args["preflight_destination"] is not None else None
        folder = (rc.host_folder("preflight_host_folder", args["preflight_host_folder"] or task_vars.get("inventory_hostname", ""))
                  if dest or args["preflight_host_folder"] else "")
        if not 1.0 <= args["space_margin"] <= 10.0:
            raise cli.OptionError("space_margin: %r is not valid; a factor from 1.0 to 10.0 is required" % args["space_margin"])

        inv = self._facts(args["domino_info"])  # the first call to the host: every option is checked above
        # The host's tools must print a language the transcripts are read in (a stopped server skips the method
        # check that carries this refusal, so it is checked here too).  Facts without a culture are not trusted.
        culture = inv.get("culture") if isinstance(inv.get("culture"), dict) else hostlocale.culture_support(None)
        if not culture.get("supported"):
            raise QuiesceActionError("snapshot refused: %s; nothing was touched" % culture.get("reason"), culture=culture)
        try:
            inst = inventory.select_installation(inv["installations"], service)
            if inst["frozen_by"]:
                raise DominoError("service: %s is already frozen by %s; thaw it first (quiesce.domino.backup_mode)"
                                  % (inst["service"], inst["frozen_by"]))
            stopped = inst.get("state") == "STOPPED"
            if stopped and args["method"] in ("vss_writer", "backup_task"):
                raise DominoError("method: %s needs a running Domino server, but %s is STOPPED (not by "
                                  "quiesce.domino); use method=shutdown or auto to snapshot the stopped server, "
                                  "which stays stopped" % (args["method"], inst["service"]))
            if stopped:
                method = "none" if args["method"] == "none" else "shutdown"
            else:
                method = methods.choose_method(args["method"], hostlocale.writer_methods(inst["methods"], culture, writer_id),
                                               args["allow_downtime"])
        except DominoError as exc:
            chosen = next((i for i in inv["installations"] if service and i["service"].lower() == service.lower()),
                          inv["installations"][0] if inv["installations"] else {})
            raise QuiesceActionError(str(exc), methods=chosen.get("methods") or {})
        if not stopped and inst.get("state") != "RUNNING":
            raise QuiesceActionError("service: %s is %s; try again when it is RUNNING or STOPPED"
                                     % (inst["service"], inst.get("state") or "in an unknown state"))
        if method in ("shutdown", "backup_task") and not stopped and not inst.get("answers"):
            raise QuiesceActionError("service: %s does not answer (%s); refusing to quiesce a server whose health cannot "
                                     "be checked afterwards" % (inst["service"], inst.get("answers_by")))
        for loc in inst.get("locations") or []:
            if dest is not None and not loc.get("file") and loc.get("path") and locs.inside(dest, loc["path"]):
                raise QuiesceActionError("preflight_destination: %s is inside %s (%s) that the backup copies; every "
                                         "backup would hold the ones before it" % (dest, loc["path"], loc["kind"]))
        if not volumes and inst.get("data_volume"):
            # The whole server in one shadow copy set: the data volume first (the one exposed), then every other
            # volume where the server keeps data (transaction log, DAOS store, directory-link targets, ...).
            volumes = [inst["data_volume"]] + [v for v in inst.get("volumes") or [] if v != inst["data_volume"]]
        if not volumes:
            raise QuiesceActionError("volumes: the data volume of %s is unknown; name the volumes" % inst["service"])
        if target and re.fullmatch(r"[A-Z]:", target) and target in inv.get("drives_in_use", []) and not args["replace_stale"]:
            raise QuiesceActionError("expose_as: drive letter %s is already in use on the host; choose a free letter"
                                     % target)
        writers = method == "vss_writer"
        pairs = [(vol, volume_alias(vol, i)) for i, vol in enumerate(volumes)]
        exposed: dict[str, str] = {}
        if target:
            # Every volume of the set is exposed, so that snapshot_copy reads each place of the server from its
            # shadow copy: the first (the data volume) at expose_as, the others at free drive letters.
            try:
                exposed = locs.exposure_letters(volumes, target, inv.get("drives_in_use") or [])
            except ValueError as exc:
                raise QuiesceActionError("expose_as: %s; name fewer volumes" % exc)
        alias_of = {vol.upper(): alias for vol, alias in pairs}
        lines = ds.render_create(pairs, writers=writers, writer_verify=[writer_id] if writer_id else [],
                                 expose={alias_of[vol]: letter for vol, letter in exposed.items()} if target else None,
                                 exec_before_create=plans.WAIT_CMD_PATH if method == "backup_task" else None,
                                 exec_after_create=plans.RELEASE_CMD_PATH if method == "backup_task" else None)
        script = ds.render(lines)
        tools = self.tools(inst["program_dir"])
        stale = ds.render(ds.render_delete("exposed", target)) if target and args["replace_stale"] else None
        # With lock: held until the copy renews it (snapshot_copy release_lock) or gives it back (lock_stale_seconds).
        # Without: taken for this snapshot only (refused while another run holds it) and given back after it,
        # unless this owner held it before.
        temporary = who is None
        locks = (hostlock.lock_step(tools, "acquire", "backup", owner, stale_s, hold_seconds=stale_s, temporary=temporary),
                 hostlock.lock_step(tools, "release", "backup", owner, stale_s, ok_rc="any"))
        preflight = []
        if dest is not None:
            # the whole server as the copy will hold it: every place that is on a volume of the set
            live = [dict(loc, source=loc["path"]) for loc in inst.get("locations") or []
                    if loc["kind"] == "data" or str(loc.get("path") or "")[:2].upper() in {v.upper() for v in volumes}]
            sizes = [{"path": u["source"], "files": u["files"]} for u in locs.robocopy_units(live)] or [
                {"path": cli.windows_folder("data directory", inst["data_dir"]), "files": None}]
            preflight.append(rc.fs_step(plans.PREFLIGHT_STEP, tools, "fit", {
                "sources": sizes, "base": "%s\\%s" % (dest.rstrip("\\"), folder), "margin": args["space_margin"]},
                timeout=600))
        # A server someone else stopped is snapshotted as it is, and left stopped: nothing is stopped or started.
        plan = plans.snapshot_plan(inst, "none" if stopped else method, tools, self.platform, script, watchdog_seconds, shutdown_timeout,
                                   start_timeout, hold_timeout, create_timeout, stale_script=stale, stale_at=target if stale else None,
                                   lock_steps=locks,
                                   preflight=preflight,
                                   expose_letters=[v for v in exposed.values() if re.fullmatch(r"[A-Z]:", v)],
                                   expose_targets=sorted(set(exposed.values())))
        short = plans.watchdog_shortfall(plan)
        if short:
            raise cli.OptionError(short)
        if temporary:
            # a lock taken for this snapshot only is given back on the host at the very end: after the watchdog's
            # disarm (so no other run arms its watchdog before this one deletes the task), or after finally when
            # nothing is armed; when those do not run (a failed thaw, a refused guard) the action gives it back
            give_back = hostlock.lock_step(tools, "release", "backup", owner, stale_s, temporary=True, ok_rc="any")
            if plan.get("watchdog"):
                plan["watchdog"]["disarm"].append(give_back)
            else:
                plan["finally"].append(give_back)
        # last in finally (after any thaw): Win32_ShadowCopy read back; the create (the shadow copies exist) and any
        # exposure are judged by it, whatever language the transcript is in
        plan["finally"].append(ds.probe_step(tools, [ds.expectation("exposed", at) for at in exposed.values()]))
        out: dict[str, t.Any] = {"changed": True, "service": inst["service"], "data_dir": inst["data_dir"], "method": method,
                                 "crash_consistent": method == "none", "script": script, "volumes": volumes,
                                 "server_was_stopped": stopped, "locations": inst.get("locations") or []}
        if target:
            out.update(exposed=exposed, exposed_letters=sorted(set(exposed.values()), key=list(exposed.values()).index),
                       copy_locations=locs.copy_locations(out["locations"], exposed,
                                                          (inst.get("daos") or {}).get("base_path")),
                       copy_source=exposed[volumes[0].upper()] + inst["data_dir"][2:] if inst.get("data_dir") else None)
            left_out = [loc for loc in out["locations"]
                        if not any(c["name"] == loc["name"] and c["path"] == loc["path"] for c in out["copy_locations"])]
            if left_out:
                out.setdefault("warnings", []).append(
                    "%s keeps data where this shadow copy set does not reach (%s): a copy of it is not the whole "
                    "server" % (inst["service"], ", ".join("%s %s" % (loc["kind"], loc["path"]) for loc in left_out)))
        if stopped:
            out.setdefault("warnings", []).append("%s was STOPPED before the snapshot (not by quiesce.domino); it was "
                                                  "snapshotted as it is and stays stopped" % inst["service"])
        if self._task.check_mode:
            lines = preview.snapshot_lines(inst["service"], method, stopped, volumes, exposed, bool(args["replace_stale"]),
                                           who is not None, watchdog_seconds, shutdown_timeout, start_timeout, hold_timeout,
                                           create_timeout, dest)
            out.update(plan=plan, preview=lines, msg=preview.message(lines),
                       diff={"before": "", "after": script, "after_header": "diskshadow script"})
            return out
        run = self.run_plan(plan)
        out.update(plans.freeze_window(ds.without_probe(run), "none" if stopped else method))
        if method == "backup_task":
            # Where the hook keeps this backup's .DELTA files: snapshot_copy puts them into the copy.
            out["deltas_folder"] = dbk.deltas_folder(inst["data_dir"], out["backup_start"]) if out.get("backup_start") else None
            if out.get("backup_start") and not out.get("left_backup_mode"):
                out.setdefault("warnings", []).append(
                    "Domino had not finished leaving backup mode when the snapshot returned; snapshot_copy waits "
                    "for the delta files (delta_timeout)")
        create = planlib.find_record(run, plans.CREATE_STEP) or {}
        parsed = ds.parse_transcript((create.get("stdout") or "") + "\n" + (create.get("stderr") or ""))
        adopted_ids, unnoted = ledger.adopted(run)
        if adopted_ids:
            out["adopted_shadow_ids"] = adopted_ids
            out.setdefault("warnings", []).append(
                "an earlier run was cut off between creating and recording its shadow copies: %s, exposed at this "
                "run's target in that run's time, were recorded as the collection's own" % ", ".join(adopted_ids))
        if unnoted:
            out.setdefault("warnings", []).append(unnoted)
        recorded_ids, unrecorded = ledger.recorded(run)
        if unrecorded:
            out.setdefault("warnings", []).append(unrecorded)
        missing = sorted({sh["id"].lower() for sh in parsed["shadows"] if sh.get("id")} - set(recorded_ids))
        if missing and not unrecorded:
            out.setdefault("warnings", []).append(
                "shadow copies %s were not recorded as the collection's own; snapshot_cleanup will not delete them"
                % ", ".join(missing))
        evidence = ds.parse_probe(planlib.find_record(run, ds.PROBE_STEP))
        if evidence is None and create.get("status") == "ok":
            out.setdefault("warnings", []).append(evidence_missing(run))
        if evidence is not None:  # where each shadow copy is exposed, by the facts (diskshadow's words are a hint)
            for shadow in parsed["shadows"]:
                shadow["exposed_as"] = next((e["exposed_as"] for e in evidence["shadows"] if e["id"] == shadow["id"]), None)
        shown = target in (parsed["exposed"] if evidence is None else [s["exposed_as"] for s in parsed["shadows"]])
        out.update(transcript=create.get("stdout", ""), shadow_set_id=parsed["shadow_set_id"],
                   shadows=[shadow_summary(s) for s in parsed["shadows"]], exposed_as=target if shown else None,
                   writers_included=parsed["writers_included"],
                   shadow_places=locs.shadow_places(out["locations"], [shadow_summary(sh) for sh in parsed["shadows"]]),
                   steps=step_summary(r for _section, r in planlib.iter_records(run)))
        if "watchdog" in run:
            out["watchdog"] = {k: run["watchdog"].get(k) for k in ("armed", "left_armed", "deadline_utc", "deadline_local")}
        killed = planlib.find_record(run, "nsd -kill after the deadline")
        if killed and killed["status"] == "ok":
            out["killed"] = True
            out["crash_consistent"] = True
            out.setdefault("warnings", []).append("Domino did not stop within %d s; nsd -kill ended it, so the "
                                                  "snapshot is crash-consistent" % shutdown_timeout)
        refused = hostlock.refusal(run)
        if refused is not None:
            raise QuiesceActionError("snapshot refused: %s; Domino was not touched" % hostlock.busy_message(refused), **out)
        lock = planlib.find_record(run, hostlock.ACQUIRE_STEP)
        # The host lock is still held: the plan never gives it back (see plans.snapshot_plan), so the action frees it
        # after the plan, once the thaw and the watchdog's disarm have run on the host: a failed snapshot always, one
        # without lock always; never a lock this owner held before (a temporary acquire that only renewed it).
        held = locks
        if lock is not None:
            taken = hostlock.read_result(lock)
            if not temporary:
                out["lock"] = taken
            elif taken.get("renewed"):
                held = None
            for warning in hostlock.lock_warnings(taken):
                out.setdefault("warnings", []).append(warning)
        running = planlib.find_record(run, plans.STILL_RUNNING_STEP)
        if running is not None and running["status"] in ("failed", "timeout", "error"):
            self._refuse(held, "snapshot refused: %s is no longer RUNNING (stopped since its facts were read?); a "
                         "server stopped by someone else is not stopped, held or started by quiesce.domino; Domino "
                         "was not touched" % inst["service"], out)
        foreign = ledger.foreign_exposed(run)
        if foreign:
            self._refuse(held, "snapshot refused: expose_as: %s exposes shadow copy %s, which quiesce.domino did not "
                         "create (it is not in the host's ledger of its own shadow copies); replace_stale deletes only "
                         "the collection's own. Choose another expose_as, or unexpose or delete it yourself if it is "
                         "not needed; Domino was not touched" % (target, ", ".join(foreign)), out)
        letters = planlib.find_record(run, plans.LETTERS_FREE_STEP)
        if letters is not None and letters["status"] in ("failed", "timeout", "error"):
            try:
                taken = cli.parse_json_document(letters.get("stdout") or "").get("taken") or []
            except ValueError:
                taken = []
            self._refuse(held, "snapshot refused: drive letter %s is in use on the host (checked just before the "
                         "freeze, after any stale exposure of ours was removed); choose another expose_as, or free "
                         "it; Domino was not touched" % ", ".join(taken or ["?"]), out)
        space = planlib.find_record(run, plans.PREFLIGHT_STEP)
        if space is not None and space["status"] != "ok":
            try:
                doc = cli.parse_json_document(space.get("stdout") or "")
                why = "the destination has %s bytes free, the Domino data needs %s (with margin)" % (
                    doc.get("free_bytes"), doc.get("source_bytes"))
            except ValueError:
                why = outcome_message(run)
            self._refuse(held, "snapshot refused by the preflight: %s; Domino was not touched" % why, out)
        released = all(r["status"] == "ok" for r in run.get("finally", [])
                       if not r.get("allowed_failure") and r["name"] != ledger.RECORD_STEP)
        tail = "" if released else "; the release did not complete: the watchdog releases Domino by its deadline"
        failed_name = (run.get("failed_step") or {}).get("name")
        reason = None
        if create.get("status") in ("ok", "failed"):  # diskshadow ran: its transcript says what happened
            judged: list[str] = []
            reason = ds.judge(create.get("rc"), parsed, {"shadows": len(volumes), "exposed": list(exposed.values())},
                              evidence, judged)
            for warning in judged:
                out.setdefault("warnings", []).append(warning)
        if reason and failed_name in (None, plans.CREATE_STEP):
            out["failed_step"] = plans.CREATE_STEP  # judged by its transcript and evidence (it may have exited 0)
            self._discard(tools, parsed, out, held, "snapshot by %s failed: diskshadow: %s%s" % (method, reason, tail))
        if not run["ok"]:
            self._discard(tools, parsed, out, held, "snapshot by %s failed: %s%s" % (method, outcome_message(run), tail))
        if method == "backup_task" and evidence is not None:
            # the shadow copies must have been created while the hook held the databases (read back: InstallDate)
            ours = {sh["id"] for sh in parsed["shadows"]}
            why = dbk.created_outside_hold(dbk.window(dbk.hold_record(run.get("finally") or [])),
                                           [e["created_ms"] for e in evidence["shadows"]
                                            if e["id"] in ours and e.get("created_ms") is not None])
            if why:
                out["failed_step"] = plans.CREATE_STEP
                self._discard(tools, parsed, out, held, "snapshot by backup_task failed: %s; the shadow copy is not "
                              "application-consistent" % why)
        # With domino_writer_id the script's "writer verify" makes diskshadow fail the creation when the writer is
        # missing (Microsoft's writer reference), so the create's evidence decides in any language; without it the
        # writer lines (English: hostlocale.writer_methods allows this only on an English host) must name it.
        if writers and not writer_id and not any(writer_match.search(w) for w in parsed["writers_included"]):
            self._discard(tools, parsed, out, held, "snapshot by vss_writer failed: no writer matching %r took part (included: %s); "
                          "the shadow copy %s is not application-consistent" % (
                              writer_match.pattern, ", ".join(parsed["writers_included"]) or "none",
                              out["shadows"][0]["id"] if out["shadows"] else "?"))
        given = planlib.find_record(run, hostlock.RELEASE_STEP)
        if temporary and held and not (given and given.get("status") == "ok"
                                       and hostlock.read_result(given).get("released")):
            freed = self.run_plan(planlib.build_plan("free the host lock", self.platform, [held[1]]))
            if not freed.get("ok"):
                out.setdefault("warnings", []).append("the host lock taken for this snapshot could not be given back (%s): "
                                                      "it goes stale after lock_stale_seconds" % outcome_message(freed))
        return out

    def _discard(self, tools: dict[str, str], parsed: dict[str, t.Any], out: dict[str, t.Any],
                 locks: t.Optional[tuple[dict[str, t.Any], dict[str, t.Any]]], msg: str) -> t.NoReturn:
        """Fail the snapshot.  A shadow copy set it created anyway (expose refused, writer missing) is deleted
        in one more call.  ``locks``: the host lock this run took, freed by that call (after the plan's thaw and
        disarm).  A failed snapshot leaves nothing behind."""
        if parsed.get("shadow_set_id"):
            set_id = cli.guid("shadow set", parsed["shadow_set_id"])
            run = self.run_plan(ds.script_plan("delete the failed snapshot", tools, self.platform,
                                               ds.render_delete("set", set_id), after=[locks[1]] if locks else []))
            if run["steps"] and run["steps"][0]["status"] == "ok":
                out["discarded_shadow_set"] = set_id
                msg += "; its shadow copy set %s was deleted" % set_id
            else:
                msg += "; its shadow copy set %s could not be deleted: %s" % (set_id, outcome_message(run))
        elif locks:
            self.run_plan(planlib.build_plan("free the host lock", self.platform, [locks[1]]))
        raise QuiesceActionError(msg, **out)

    def _refuse(self, locks: t.Optional[tuple[dict[str, t.Any], dict[str, t.Any]]], msg: str,
                out: dict[str, t.Any]) -> t.NoReturn:
        """A guard refused the snapshot after this run took the host lock: give it back (nothing was frozen)."""
        if locks:
            freed = self.run_plan(planlib.build_plan("free the host lock", self.platform, [locks[1]]))
            if not freed.get("ok"):
                msg += "; the host lock could not be given back (%s): it goes stale after lock_stale_seconds" % (
                    outcome_message(freed))
        raise QuiesceActionError(msg, **out)

    def _facts(self, given: t.Optional[dict[str, t.Any]]) -> dict[str, t.Any]:
        """A registered domino_info result saves the discovery calls; otherwise discover now."""
        if not given:
            return discover(self)
        if not isinstance(given.get("installations"), list) or given.get("failed"):
            raise cli.OptionError("domino_info: pass the registered result of a successful quiesce.domino.domino_info task")
        return {"installations": given["installations"], "drives_in_use": given.get("drives_in_use") or [],
                "partitioned": given.get("partitioned", False), "os": given.get("os") or {},
                "culture": given.get("culture")}
