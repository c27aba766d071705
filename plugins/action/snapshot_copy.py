# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for quiesce.domino.snapshot_copy (documentation: plugins/modules/snapshot_copy.py)."""

from __future__ import annotations

import datetime
import json
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import diskshadow as ds
from ansible_collections.quiesce.domino.plugins.module_utils import dominobackup as dbk
from ansible_collections.quiesce.domino.plugins.module_utils import hostlock
from ansible_collections.quiesce.domino.plugins.module_utils import locations as locs
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import preview
from ansible_collections.quiesce.domino.plugins.module_utils.watchdog import iso_ms
from ansible_collections.quiesce.domino.plugins.module_utils.durations import seconds
from ansible_collections.quiesce.domino.plugins.module_utils import robocopy as rc
from ansible_collections.quiesce.domino.plugins.module_utils import restic as rs
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.plugin_utils import executor
from ansible_collections.quiesce.domino.plugins.plugin_utils import _restic
from ansible_collections.quiesce.domino.plugins.plugin_utils._shadows import evidence_missing, exposure_target
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError, default_owner
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message, step_summary

# the kind of context a copy plan carries (plan.build_plan context), read back by state=report
REPORT_KIND = "quiesce.domino.snapshot_copy/1"

ARGSPEC = {
    "source": {"type": "str"},
    "destination": {"type": "str"},
    "state": {"type": "str", "default": "present", "choices": ["present", "progress", "pruned", "report"]},
    "job": {"type": "dict"},
    "older_than": {"type": "str"},
    "mode": {"type": "str", "default": "versioned", "choices": list(rc.MODES)},
    "keep": {"type": "int", "default": 7},
    "host_folder": {"type": "str"},
    "retries": {"type": "int", "default": 2},
    "wait": {"type": "int", "default": 5},
    "threads": {"type": "int", "default": 8},
    "unbuffered": {"type": "bool", "default": True},
    "sha256": {"type": "bool", "default": False},
    "skip_links": {"type": "bool", "default": False},
    "space_margin": {"type": "float", "default": 1.1},
    "timeout": {"type": "int", "default": 21600},
    "delete_exposed_shadow": {"type": "list", "elements": "str", "default": []},
    "delete_shadow_set": {"type": "str"},
    "unexpose_shadow": {"type": "list", "elements": "str", "default": []},
    "locations": {"type": "list", "elements": "dict", "default": []},
    "release_lock": {"type": "bool", "default": False},
    "deltas_from": {"type": "str"},
    "delta_timeout": {"type": "int", "default": 300},
    "lock_owner": {"type": "str"},
    "lock_stale_seconds": {"type": "int", "default": 21600},
    # backend restic (plugins/plugin_utils/_restic.py)
    "backend": {"type": "str", "default": "robocopy", "choices": list(rs.BACKENDS)},
    "repository": {"type": "str"},
    "repository_password": {"type": "str", "no_log": True},
    "repository_password_file": {"type": "str"},
    "repository_init": {"type": "bool", "default": False},
    "verify_read_fraction": {"type": "float", "default": 0.05},
    "keep_daily": {"type": "int"},
    "keep_weekly": {"type": "int"},
    "keep_monthly": {"type": "int"},
    "forget_min_age": {"type": "str", "default": "1d"},
    "tags": {"type": "list", "elements": "str", "default": []},
}


class ActionModule(QuiesceAction):
    ARGSPEC = ARGSPEC
    MUTUALLY_EXCLUSIVE = [["delete_exposed_shadow", "delete_shadow_set", "unexpose_shadow"]]
    REQUIRED_IF = [["state", "present", ["destination"]], ["state", "progress", ["destination"]],
                   ["state", "pruned", ["destination"]], ["state", "report", ["job"]]]
    SUPPORTS_ASYNC = True

    def perform(self, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        if self._task.async_val and args["state"] != "present":
            raise cli.OptionError("async: only state=present runs as an async job; state=%s is one short call, run it "
                                  "without async (and poll) " % args["state"])
        if self._task.async_val and args["backend"] == "restic":
            raise cli.OptionError("async: backend=restic runs without async (its verification and guarded retention "
                                  "need the controller between its calls); run it without async")
        if args["state"] == "report":
            return self._report_job(args["job"], task_vars)
        if args["job"] is not None:
            raise cli.OptionError("job: only state=report reads a job's result; state=%s does not take it" % args["state"])
        source = cli.windows_folder("source", args["source"]) if args["source"] is not None else ""
        destination = cli.destination("destination", args["destination"])
        host = rc.host_folder("host_folder", args["host_folder"] or task_vars.get("inventory_hostname", ""))
        keep = cli.int_range("keep", args["keep"], 0, 1000)
        retries = cli.int_range("retries", args["retries"], 0, 100)
        wait = cli.int_range("wait", args["wait"], 0, 600)
        threads = cli.int_range("threads", args["threads"], 1, 128)
        timeout = cli.int_range("timeout", args["timeout"], 60, planlib.MAX_TIMEOUT)  # a plan step's own limit
        delta_timeout = cli.int_range("delta_timeout", args["delta_timeout"], 10, 3600)
        units: list[dict[str, t.Any]] = []
        if args["state"] == "present":
            units = self._units(source, args["locations"])
            source = units[0]["source"]
            for unit in units:
                if unit.get("path") and not unit.get("file") and locs.inside(destination, unit["path"]):
                    raise cli.OptionError("destination: %s is inside %s (%s) that is being copied; every backup would "
                                          "hold the ones before it" % (destination, unit["path"], unit["name"]))
        deltas = None
        if args["deltas_from"] is not None:
            data_dir, _start = dbk.parse_deltas_folder("deltas_from", args["deltas_from"])
            if source and not source.lower().endswith(data_dir[2:].lower()):
                raise cli.OptionError("deltas_from: %s belongs to the data directory %s, but source %s is not a copy of it"
                                      % (args["deltas_from"], data_dir, source))
            folder = cli.windows_folder("deltas_from", args["deltas_from"])
            deltas = {"folder": folder, "state_dir": dbk.STATE_DIR,
                      "wait_step": dbk.wait_collected_step(self.tools(), folder, delta_timeout, rc.DELTAS_WAIT_STEP)}
        margin = args["space_margin"]
        if not 1.0 <= margin <= 10.0:
            raise cli.OptionError("space_margin: %r is not valid; a factor from 1.0 to 10.0 is required" % margin)
        tools = self.tools()
        if args["backend"] == "restic" and args["state"] != "present":
            raise cli.OptionError("state: backend=restic supports state=present only (retention is part of each run: "
                                  "keep_daily, keep_weekly, keep_monthly)")
        if args["state"] == "progress":
            return self._progress(tools, destination, host)
        if args["state"] == "pruned":
            max_age = seconds("older_than", args["older_than"]) if args["older_than"] is not None else 0
            if not keep and not max_age:
                raise cli.OptionError("keep, older_than: state=pruned needs keep > 0 or older_than")
            base = "%s\\%s" % (destination.rstrip("\\"), host)
            # check mode runs the same choice as a dry run (read-only): it lists what would go, and is changed
            # exactly when the real run would be
            plan = rc.prune_plan(tools, self.platform, base, keep, max_age, dry_run=self._task.check_mode)
            if not self._task.check_mode:
                # a backup running now (another run's lock) may be writing a .partial copy whose top folder's time
                # does not move: nothing is pruned while another run holds the host lock
                plan = hostlock.temporary(plan, tools, hostlock.owner("lock_owner", args["lock_owner"] or default_owner()),
                                          cli.int_range("lock_stale_seconds", args["lock_stale_seconds"], 60, 604800))
            run = self.run_plan(plan)
            refused = hostlock.refusal(run)
            if refused is not None:
                raise QuiesceActionError("pruning refused: %s; nothing was removed" % hostlock.busy_message(refused))
            if not run["ok"]:
                raise QuiesceActionError("pruning copies failed: %s" % outcome_message(run))
            doc = cli.parse_json_document(run["steps"][0]["stdout"])
            removed = [str(n) for n in cli.as_list(doc.get("removed"))]
            partials = [str(n) for n in cli.as_list(doc.get("partials_removed"))]
            out = {"changed": bool(removed or partials), "removed": removed, "partials_removed": partials}
            if self._task.check_mode:
                lines = ["remove the copies %s under %s" % (", ".join(removed), base) if removed else
                         "remove no complete copy under %s" % base]
                if partials:
                    lines.append("remove the unfinished copies %s" % ", ".join(partials))
                out.update(plan=plan, preview=lines, msg=preview.message(lines))
            return out
        where = rc.layout(destination, host, args["mode"], rc.stamp(datetime.datetime.now(datetime.timezone.utc)))
        release = None
        if args["delete_exposed_shadow"]:
            letters = [cli.drive_letter("delete_exposed_shadow[%d]" % i, v) for i, v in enumerate(args["delete_exposed_shadow"])]
            read_from = sorted({u["source"][:2].upper() for u in units})
            for i, letter in enumerate(letters):
                if letter not in read_from:
                    raise cli.OptionError("delete_exposed_shadow[%d]: %s is not where any place is copied from (%s)"
                                          % (i, letter, ", ".join(read_from)))
            release = ds.render([line for letter in letters for line in ds.render_delete("exposed", letter)])
        if args["delete_shadow_set"]:
            # the whole set, exposed or not (a volume without a drive letter is in the set but never exposed)
            release = ds.render(ds.render_delete("set", cli.guid("delete_shadow_set", args["delete_shadow_set"])))
        if args["unexpose_shadow"]:
            # A shadow copy kept on the host is unexposed: its letters are free for the next run, whose stale
            # exposure cleanup would otherwise delete it (keeping only the latest); snapshot_cleanup ages it out.
            targets = [exposure_target("unexpose_shadow[%d]" % i, v) for i, v in enumerate(args["unexpose_shadow"])]
            release = ds.render([line for where in targets for line in ds.render_unexpose(where)])
        extra = []
        if release:  # after the release, Win32_ShadowCopy read back: what it left behind is judged by it
            freed = letters if args["delete_exposed_shadow"] else targets if args["unexpose_shadow"] else []
            extra.append(ds.probe_step(tools, [ds.expectation("free", at) for at in freed]))
        who = None
        if args["release_lock"]:
            who = hostlock.owner("lock_owner", args["lock_owner"] or default_owner())
            extra.append(hostlock.lock_step(tools, "release", "backup", who, 60, ok_rc="any"))
        runits = locs.robocopy_units(units)
        if args["backend"] == "restic":
            # the restic backend: one snapshot of every place, verified against the host-side manifest
            return _restic.backup(self, args, task_vars, units, runits, destination, host, release, extra, deltas)
        layout_text = json.dumps(locs.layout_document(task_vars.get("inventory_hostname") or host, units), indent=1,
                                 sort_keys=True)
        out: dict[str, t.Any] = {"changed": True, "source": source, "mode": args["mode"], "destination": where["final"],
                                 "manifest": where["manifest"], "log": where["log"], "verified": False,
                                 "layout": {u["name"] if not u.get("file") else "files\\" + u["source"].rsplit("\\", 1)[-1]:
                                            u.get("path") for u in units}}
        given = {k: args[k] for k in ("unexpose_shadow", "delete_shadow_set", "delete_exposed_shadow")}
        given["delta_timeout"] = delta_timeout
        # what state=report needs to judge this copy's result when it arrives later (an async job): returned by the
        # executor unchanged with the result
        context = json.loads(json.dumps({"kind": REPORT_KIND, "host": task_vars.get("inventory_hostname") or host,
                                         "out": out, "where": where, "units": runits, "given": given}))
        plan = rc.copy_plan(tools, self.platform, runits, where, args["mode"], retries, wait, threads,
                            args["unbuffered"], args["sha256"], margin, keep if args["mode"] == "versioned" else 0, timeout,
                            layout_text, release_script=release, extra_finally=extra, deltas=deltas,
                            daos_live=self._daos_live(units, where), context=context, skip_links=args["skip_links"])
        if who is not None:
            # The snapshot's lock is renewed first, declaring the copy's worst case as its hold, so no other run
            # takes it over as stale while the copy runs; when another run holds it now, nothing is copied.
            plan = hostlock.locked(plan, tools, who, cli.int_range("lock_stale_seconds", args["lock_stale_seconds"], 60,
                                                                   604800), release_in=None)
        if self._task.async_val:
            # Ansible ends an async job at its limit (the Windows async watchdog stops the module's runspace, the
            # POSIX async_wrapper kills its process group): mid-copy, without the plan's finally (the shadow copy
            # set and the host lock are not released).  Refused unless the limit outlives the plan's worst case.
            terms = planlib.worst_case_terms(planlib.plan_sections(plan))
            worst = int(-(-sum(seconds for _name, seconds, _how in terms) // 1))
            if self._task.async_val < worst:
                raise cli.OptionError(
                    "async: %d s is shorter than the copy's worst case, %d s (%s); Ansible ends an async job at its "
                    "limit, in the middle of the copy and without its cleanup (shadow copy, host lock). Raise async "
                    "to at least %d or lower timeout (each robocopy step's limit, now %d)"
                    % (self._task.async_val, worst, planlib.describe_terms(terms), worst, timeout))
        if self._task.check_mode:
            lines = preview.copy_lines(units, where["final"], args["mode"], keep if args["mode"] == "versioned" else 0,
                                       "SHA-256 of every file" if args["sha256"] else "names, sizes and times of every file")
            if release:
                lines.append("then release the shadow copies on the host (diskshadow)")
            out.update(plan=plan, preview=lines, msg=preview.message(lines))
            return out
        if self._task.async_val:
            # The executor runs as an async job: Ansible (poll > 0) or async_status (poll: 0) returns the executor's
            # own result, whose failed/msg are right; state=report turns it into this module's verified result.
            return executor.run_plan(self, plan, task_vars, wrap_async=True)
        run = self.run_plan(plan)
        return self._report(run, out, where, runits, given)

    def _report_job(self, job: t.Any, task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        """state=report: the result of a finished async copy (registered with poll > 0, or async_status's),
        judged as a copy without async is, from the context its plan carried; nothing is sent to the host."""
        if not isinstance(job, dict):
            raise cli.OptionError("job: must be the registered result of an async snapshot_copy (a mapping)")
        if job.get("ansible_job_id") is not None and not job.get("finished") and "steps" not in job:
            raise cli.OptionError(
                "job: async job %s has not finished; wait for it with ansible.builtin.async_status (until: "
                "result.finished, failed_when: false) and pass that result" % job.get("ansible_job_id"))
        context = job.get("context")
        if context is None and job.get("failed") and "steps" not in job and job.get("ansible_job_id") is not None:
            # killed by its async limit, or its result could not be read: the copy's outcome is unknown, and the
            # plan's finally (which releases the shadow copies and the host lock) may not have run
            raise QuiesceActionError(
                "async job %s ended without a copy result (%s): the copy is not verified; its shadow copies and "
                "host lock may not have been released: check with quiesce.domino.shadow_info and release them "
                "(quiesce.domino.diskshadow state=absent, quiesce.domino.host_lock state=absent)"
                % (job.get("ansible_job_id"), job.get("msg") or "no message"), verified=False, changed=False)
        if not isinstance(context, dict) or context.get("kind") != REPORT_KIND:
            raise cli.OptionError("job: not the result of a quiesce.domino.snapshot_copy state=present run with "
                                  "backend=robocopy (it has no copy context); pass what async_status returned for it")
        mine = task_vars.get("inventory_hostname")
        if mine and context.get("host") and context["host"] != mine:
            raise cli.OptionError("job: the result of %s's copy; this task runs for %s" % (context["host"], mine))
        try:
            out = dict(context["out"])
            where, runits, given = dict(context["where"]), list(context["units"]), dict(context["given"])
        except (KeyError, TypeError, ValueError) as exc:
            raise cli.OptionError("job: its copy context is incomplete (%s)" % exc) from exc
        out.update(changed=False, job_id=job.get("ansible_job_id"))
        return self._report(executor.normalise(job, self.platform), out, where, runits, given)

    @staticmethod
    def _units(source: str, given: list[t.Any]) -> list[dict[str, t.Any]]:
        """The places to copy, the data directory first: ``source`` alone, or the snapshot's copy_locations."""
        units = locs.copy_units("locations", given) if given else []
        data = [u for u in units if u["name"] == "data"]
        if source and data and data[0]["source"].lower() != source.lower():
            raise cli.OptionError("source: %s is not the data directory's place in locations (%s); give one of them"
                                  % (source, data[0]["source"]))
        if not source and not data:
            raise cli.OptionError("source, locations: state=present needs source (the data directory in the exposed "
                                  "shadow copy) or locations with the data directory (the snapshot's copy_locations)")
        if not data:
            data = [{"name": "data", "kind": "data", "source": source, "path": None}]
        return data + [u for u in units if u["name"] != "data"]

    @staticmethod
    def _daos_live(units: list[dict[str, t.Any]], where: dict[str, str]) -> t.Optional[dict[str, str]]:
        """The live DAOS store and its folder in the copy, for the top-up: a place of its own, or the data
        directory's DAOS folder (the snapshot's copy_locations name it as the data place's ``daos``)."""
        own = next((u for u in units if u["kind"] == "daos" and u.get("path")), None)
        if own is not None:
            return {"source": own["path"], "target": where["work"] + "\\daos", "prefix": "daos\\"}
        data = units[0]
        if data.get("daos") and data.get("path"):
            rel = data["daos"][len(data["path"].rstrip("\\")) + 1:]
            return {"source": data["daos"], "target": "%s\\data\\%s" % (where["work"], rel), "prefix": "data\\%s\\" % rel}
        return None

    def _report(self, run: dict[str, t.Any], out: dict[str, t.Any], where: dict[str, str],
                runits: list[dict[str, t.Any]], given: dict[str, t.Any]) -> dict[str, t.Any]:
        out["steps"] = step_summary(r for _section, r in planlib.iter_records(run))
        fit = planlib.find_record(run, "check free space") or {}
        copy_names = [rc.unit_step_names(u)[0] for u in runits]
        verify_names = [rc.unit_step_names(u)[1] for u in runits]
        copies = [r for r in (planlib.find_record(run, n) for n in copy_names) if r is not None]
        try:
            space = cli.parse_json_document(fit.get("stdout") or "")
        except ValueError:
            space = {}
        out.update(source_bytes=space.get("source_bytes"), free_bytes=space.get("free_bytes"))
        ran = [c for c in copies if c.get("rc") is not None]
        worst = max((c for c in ran), key=lambda c: c["rc"], default={})
        meaning = rc.decode_rc(worst.get("rc"))
        errors = [e for c in copies for e in rc.error_lines(c.get("stdout") or "")]
        out.update(robocopy_rc=worst.get("rc"), rc_meanings=meaning["meanings"], errors=errors,
                   duration_ms=sum(c.get("duration_ms") or 0 for c in ran) if ran else None,
                   started_at=iso_ms(ran[0].get("start_ms")) if ran else None,
                   ended_at=iso_ms(ran[-1].get("end_ms")) if ran else None)
        summaries = [s for s in (rc.parse_summary(c.get("stdout") or "") for c in ran) if s]
        if summaries:
            def total(row: str, column: str) -> int:
                return sum(s[row][column] for s in summaries)
            out.update(files=total("files", "total"), files_copied=total("files", "copied"),
                       files_failed=total("files", "failed"), bytes=total("bytes", "total"),
                       bytes_copied=total("bytes", "copied"), bytes_failed=total("bytes", "failed"))
            seconds = max((out["duration_ms"] or 0) / 1000.0, 0.001)
            out["throughput_bytes_per_second"] = int(out["bytes_copied"] / seconds)
        failed = run.get("failed_step") or {}
        finalized = planlib.find_record(run, "finalize")
        if not run["ok"] and failed.get("section") == "finally" and (finalized or {}).get("status") == "ok":
            # Verified and finalised before the cleanup in finally failed (the shadow copy's release, the lock): the
            # copy is a good backup; what is left on the host is reported, and the next run clears a stale exposure.
            out.setdefault("warnings", []).append(
                "the copy is complete and verified, but the cleanup after it failed at '%s': %s; the shadow copy may "
                "still be exposed (the next snapshot with replace_stale removes it) and the host lock may stay until "
                "it is stale" % (failed.get("name"), outcome_message(run)))
        elif not run["ok"]:
            where_left = ("the partial copy was removed" if out["mode"] == "versioned"
                          else "%s marks the mirror as incomplete" % where["marker"])
            if failed.get("name") == "check free space" and failed.get("rc") not in (None, 0) and space:
                reason = ("destination has %s bytes free, the copy needs %s (with margin); nothing was copied"
                          % (space.get("free_bytes"), space.get("source_bytes")))
                where_left = "nothing was written"
            elif failed.get("name") in copy_names:
                record = planlib.find_record(run, failed["name"]) or {}
                mine = rc.error_lines(record.get("stdout") or "")
                reason = "robocopy rc %s: %s%s" % (record.get("rc"), "; ".join(rc.decode_rc(record.get("rc"))["meanings"]),
                                                   (" (%s)" % mine[0]) if mine else "")
            elif failed.get("name") == hostlock.ACQUIRE_STEP:
                reason = ("the host lock is not this run's any more: %s (the snapshot's lock went stale and another run "
                          "took it)" % hostlock.busy_message(planlib.find_record(run, hostlock.ACQUIRE_STEP) or {}))
                where_left = "nothing was copied, and the shadow copy is left to the run that holds the lock"
            elif failed.get("name") == rc.BACKUP_MODE_STEP:
                reason = ("the shadow copy was taken while Domino Backup held the databases in backup mode (method "
                          "backup_task); it is consistent only with its .DELTA files: pass deltas_from (the snapshot's "
                          "deltas_folder)")
                where_left = "nothing was copied"
            elif failed.get("name") == rc.DELTAS_WAIT_STEP:
                reason = ("Domino Backup did not keep the .DELTA files of this backup within %s s (are the Backup DB "
                          "command and the Post-Backup command configured? docs/backup-task.md); without them the "
                          "snapshot is not a consistent backup" % given["delta_timeout"])
            elif failed.get("name") in verify_names:
                reason = "the copy differs from the source (robocopy /L found differences)"
            elif failed.get("name") == rc.COMPARE_STEP:
                record = planlib.find_record(run, rc.COMPARE_STEP) or {}
                try:
                    doc = cli.parse_json_document(record.get("stdout") or "{}")
                except ValueError:
                    doc = {}
                listed = doc.get("differences") or []
                reason = ("the copy differs from the source manifests in %s files: %s" % (doc.get("difference_count"), "; ".join(listed[:5]))
                          if listed else outcome_message(run))
            else:
                reason = outcome_message(run)
            raise QuiesceActionError("copy failed at '%s': %s; not marked complete, %s"
                                     % (failed.get("name"), reason, where_left), **out)
        released = planlib.find_record(run, rc.RELEASE_STEP)
        if released is not None:
            parsed = ds.parse_transcript(released.get("stdout") or "")
            evidence = ds.parse_probe(planlib.find_record(run, ds.PROBE_STEP))
            if evidence is None:
                out.setdefault("warnings", []).append(evidence_missing(run))
            if given.get("unexpose_shadow"):
                freed = [exposure_target("unexpose_shadow", v) for v in given["unexpose_shadow"]]
                out["shadow_unexposed"] = ds.judge(released.get("rc"), parsed, {"unexposed": len(freed), "freed": freed},
                                                   evidence) is None
            elif given.get("delete_shadow_set"):
                gone_set = cli.guid("delete_shadow_set", given["delete_shadow_set"])
                out["shadow_deleted"] = ds.judge(released.get("rc"), parsed, {"sets_gone": [gone_set]}, evidence) is None
            else:
                freed = [cli.drive_letter("delete_exposed_shadow", v) for v in given.get("delete_exposed_shadow") or []]
                out["shadow_deleted"] = ds.judge(released.get("rc"), parsed, {"deleted": len(freed), "freed": freed},
                                                 evidence) is None
        delta_record = planlib.find_record(run, rc.DELTAS_MANIFEST_STEP)
        if delta_record is not None and delta_record.get("status") == "ok":
            rows = rc.manifest_rows(delta_record.get("stdout") or "[]")
            out["deltas"] = sorted(str(r["path"]).split("\\", 1)[1] for r in rows)
        topped = planlib.find_record(run, rc.DAOS_TOPUP_STEP)
        if topped is not None and topped.get("status") == "ok":
            try:
                doc = cli.parse_json_document(topped.get("stdout") or "{}")
            except ValueError as exc:
                doc = {}
                out.setdefault("warnings", []).append("the DAOS top-up's answer could not be read: %s" % exc)
            out["daos_topped_up"] = doc.get("copied")
            if doc.get("in_use_count"):
                out.setdefault("warnings", []).append(
                    "%s DAOS objects written since the snapshot were still being written and are not in this "
                    "copy (HCL: such NLO files can wait for the next backup); run tell daosmgr listnlo missing after "
                    "a restore" % doc["in_use_count"])
        compared = planlib.find_record(run, rc.COMPARE_STEP) or {}
        try:
            summary = cli.parse_json_document(compared.get("stdout") or "{}")
        except ValueError:
            summary = {}
        out["manifest_files"] = summary.get("files")
        source = planlib.find_record(run, rc.SOURCE_MANIFEST_STEP) or {}
        try:
            links = cli.parse_json_document(source.get("stdout") or "{}")
        except ValueError:
            links = {}
        if links.get("links_count"):
            out["links_skipped"] = links.get("links_skipped") or []
            out.setdefault("warnings", []).append(
                "%d junctions or symbolic links in the sources were not followed (robocopy /XJ), so what they point "
                "to is not in the copy: %s" % (links["links_count"], ", ".join(out["links_skipped"][:5])))
        retention = planlib.find_record(run, rc.RETENTION_STEP)
        retention_doc: t.Optional[dict[str, t.Any]] = None
        if retention and retention.get("status") == "ok" and retention.get("stdout"):
            try:
                retention_doc = cli.parse_json_document(retention["stdout"])
            except ValueError as exc:
                out.setdefault("warnings", []).append("the copy is complete and verified, but retention's answer could "
                                                      "not be read: %s" % exc)
        if retention_doc is not None:
            out["removed_by_retention"] = retention_doc.get("removed") or []
        elif retention and retention.get("status") != "ok":
            out.setdefault("warnings", []).append("the copy is complete and verified, but removing older copies failed: %s"
                                                  % (retention.get("error") or (retention.get("stderr") or "").strip()[:300]))
        out["verified"] = True
        return out

    def _progress(self, tools: dict[str, str], destination: str, host: str) -> dict[str, t.Any]:
        base = "%s\\%s" % (destination.rstrip("\\"), host)
        plan = planlib.build_plan("copy progress", self.platform,
                                  [rc.fs_step("measure", tools, "progress", {"base": base}, timeout=600)],
                                  check_mode_safe=True)
        run = self.run_plan(plan)
        if not run["ok"]:
            raise QuiesceActionError("cannot read the copy progress under %s" % base)
        copies = cli.parse_json_document(run["steps"][0]["stdout"]).get("copies") or []
        return {"changed": False, "copies": copies, "bytes_so_far": sum(c.get("bytes") or 0 for c in copies)}
