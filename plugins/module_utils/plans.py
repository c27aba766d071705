# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The executor plans that freeze, thaw and snapshot Domino: the steps per method, the one-call snapshot plan
(guards, watchdog, create, record, release in finally) and the freeze window read from its step records."""

from __future__ import annotations

import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import console
from ansible_collections.quiesce.domino.plugins.module_utils import dominobackup as dbk
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import shadow_ledger as ledger
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.module_utils.errors import DominoError
from ansible_collections.quiesce.domino.plugins.module_utils.robocopy import fs_step
from ansible_collections.quiesce.domino.plugins.module_utils.services import RUNNING_RE, STOPPED_RE
from ansible_collections.quiesce.domino.plugins.module_utils.watchdog import arm_steps, disarm_step, iso_ms, release_argvs, watchdog_xml


STILL_RUNNING_STEP = "Domino is still running"
LETTERS_FREE_STEP = "the exposure drive letters are free"
ANSWERS_STEP = "wait until the server answers"
KILL_STEP = "nsd -kill after the deadline"
HELD_STEP = dbk.HELD_STEP
DONE_STEP = dbk.DONE_STEP
DELTAS_STEP = dbk.DELTAS_STEP
# How long a thaw follows Domino Backup, after the hook let go, taking every database out of backup mode,
# writing the .DELTA files and starting the Backup snapshot command: only to measure the freeze window and
# report the deltas.  snapshot_copy waits for the deltas itself (delta_timeout) and fails without them.
LEAVE_SECONDS = 20


def backup_task_end_steps(inst: dict[str, t.Any], tools: dict[str, str], within: int, strict: bool) -> list[dict[str, t.Any]]:
    """Release the hold and follow Domino out of backup mode: the hook let go (done.json), then the
    collector kept the delta files (collected.json).  ``strict``: a hook that does not let go fails."""
    return [
        # fsutil fails when the release file exists (the watchdog or diskshadow's release.cmd came first): the hook's
        # done.json, not this exit code, says whether Domino was released.
        planlib.step(dbk.RELEASE_STEP, dbk.release_argv(tools, inst["data_dir"]), ok_rc="any", timeout=60),
        dbk.hold_step(DONE_STEP, tools, inst["data_dir"], "wait_done", within, allow_failure=not strict),
        dbk.hold_step(DELTAS_STEP, tools, inst["data_dir"], "wait_deltas", LEAVE_SECONDS, allow_failure=True),
    ]


# One attempt of a state poll (`sc query` under retry): it returns at once; an attempt that hangs is killed and
# counts as "not yet", so a short limit costs nothing and keeps the watchdog budget (watchdog_budget) honest.
POLL_TIMEOUT = 15


# backup_task inside one diskshadow run: diskshadow starts (VSS initialised) while Domino Backup is still
# starting, runs wait.cmd until the hook holds the databases, creates at once, and runs release.cmd the
# moment the shadow copies exist (before expose, before it exits). The thaw's release is the fallback.
WAIT_CMD = "wait.cmd"
RELEASE_CMD = "release.cmd"
WAIT_CMD_PATH = planlib.PLAN_DIR_TOKEN + "\\" + WAIT_CMD
RELEASE_CMD_PATH = planlib.PLAN_DIR_TOKEN + "\\" + RELEASE_CMD


def freeze_steps(inst: dict[str, t.Any], method: str, tools: dict[str, str], shutdown_timeout: int,
                 hold_timeout: int) -> list[dict[str, t.Any]]:
    svc = inst["service"]
    if method == "shutdown":
        query = [tools["sc"], "query", svc]
        return [
            planlib.step("stop Domino service", [tools["sc"], "stop", svc], ok_rc="any", timeout=60),
            planlib.step("wait until stopped", query, ok_rc="any", allow_failure=True, timeout=POLL_TIMEOUT,
                         retry=planlib.retry_until(shutdown_timeout, 0.5, until_stdout=STOPPED_RE)),
            # nsd -kill ends every Domino process of the installation; no source limits it to one partition, so
            # on a partitioned host only this service's own process tree is ended.
            (console.kill_tree_step if inst.get("partitioned") else console.nsd_kill_step)(
                KILL_STEP, tools, inst, ok_rc="any", only_if_failed="wait until stopped"),
            planlib.step("wait until stopped after kill", query, ok_rc="any", only_if_failed="wait until stopped",
                         timeout=POLL_TIMEOUT, retry=planlib.retry_until(60, 1.0, until_stdout=STOPPED_RE)),
        ]
    if method == "backup_task":
        # Snapshot mode (-s): without it Domino Backup copies database by database and never runs the hook.
        return [
            dbk.hold_step(dbk.RESET_STEP, tools, inst["data_dir"], "reset"),
            console.console_command_step("start Domino Backup", tools, inst, dbk.LOAD_COMMAND),
            dbk.hold_step(HELD_STEP, tools, inst["data_dir"], "wait_held", hold_timeout),
        ]
    if method == "vss_writer":
        steps = []
        if not (inst.get("tasks") or {}).get("backupvss"):
            steps.append(console.console_command_step("load backupvss", tools, inst, "load backupvss"))
        # the task's process under the server's nserver.exe; its image name is inferred, so not finding it is not
        # fatal: the shadow copy creation itself must show the Domino writer (writer verify / the transcript)
        steps.append(console.state_step("wait until backupvss runs", tools, inst, ok_rc="any", allow_failure=True,
                                        retry=planlib.retry_until(60, 1.0, until_rc=[0],
                                                                  until_stdout=r'(?i)"nbackupvss\.exe"')))
        return steps
    return []


def thaw_steps(inst: dict[str, t.Any], method: str, tools: dict[str, str], start_timeout: int) -> list[dict[str, t.Any]]:
    svc = inst["service"]
    if method == "shutdown":
        return [
            planlib.step("start Domino service", [tools["sc"], "start", svc], ok_rc="any", timeout=60),
            planlib.step("wait until running", [tools["sc"], "query", svc], ok_rc="any",
                         retry=planlib.retry_until(start_timeout, 0.5, until_stdout=RUNNING_RE)),
            console.state_step(ANSWERS_STEP, tools, inst, ok_rc="any",
                               retry=planlib.retry_until(start_timeout, 0.5, until_rc=[0], until_stdout=console.ANSWERS_STDOUT)),
        ]
    if method == "backup_task":
        return backup_task_end_steps(inst, tools, 120, strict=True)
    return []


RESCUE_RELEASE_STEP = "release after a failed freeze"
RESCUE_EVIDENCE_STEP = "Domino is released"


def freeze_plan(inst: dict[str, t.Any], method: str, tools: dict[str, str], platform: str, watchdog_seconds: int,
                shutdown_timeout: int, hold_timeout: int, start_timeout: int = 300) -> dict[str, t.Any]:
    """One call: arm the watchdog, freeze; on failure release and disarm; the watchdog stays armed
    (no disarm) until the thaw plan removes it."""
    if method not in ("shutdown", "backup_task", "vss_writer"):
        raise DominoError("method %s has nothing to freeze" % method)
    steps = freeze_steps(inst, method, tools, shutdown_timeout, hold_timeout)
    if method == "vss_writer":
        return planlib.build_plan("prepare vss writer", platform, steps)
    rescue = [planlib.step(RESCUE_RELEASE_STEP, argv, ok_rc="any", timeout=120) for argv in release_argvs(inst, method, tools)]
    # The watchdog is disarmed only on evidence that Domino was released: the service RUNNING again (shutdown),
    # the hook's done.json (backup_task).  Without it the watchdog stays armed and releases Domino by its deadline.
    if method == "shutdown":
        rescue.append(planlib.step(RESCUE_EVIDENCE_STEP, [tools["sc"], "query", inst["service"]], ok_rc="any",
                                   retry=planlib.retry_until(start_timeout, 0.5, until_stdout=RUNNING_RE)))
    else:
        # the hook does not hold the databases: it never took them (no held.json) or it let go (done.json)
        rescue.append(dict(fs_step(RESCUE_EVIDENCE_STEP, tools, "taken_in_backup_mode", {"root": inst["data_dir"]}),
                           retry=planlib.retry_until(120, 1.0, until_rc=[0])))
    rescue.append(dict(disarm_step(inst, tools), only_if_ok=RESCUE_EVIDENCE_STEP))
    xml = watchdog_xml(inst, method, watchdog_seconds, release_argvs(inst, method, tools))
    return planlib.build_plan(
        "freeze %s" % method, platform, steps, rescue=rescue,
        files={"watchdog.xml": planlib.plan_file(xml, encoding="utf-16le-bom", template=True)},
        watchdog={"seconds": watchdog_seconds, "arm": arm_steps(inst, tools), "disarm": []})


def thaw_plan(inst: dict[str, t.Any], method: str, tools: dict[str, str], platform: str,
              start_timeout: int) -> dict[str, t.Any]:
    """Release, wait until Domino is really back, then disarm (a failed thaw keeps the watchdog)."""
    steps = thaw_steps(inst, method, tools, start_timeout) + [disarm_step(inst, tools)]
    return planlib.build_plan("thaw %s" % method, platform, steps)


CREATE_STEP = "create shadow copy"
STALE_STEP = "delete a stale exposed shadow copy"
PREFLIGHT_STEP = "check free space"


def release_cleanup_steps(inst: dict[str, t.Any], method: str, tools: dict[str, str],
                          start_timeout: int) -> list[dict[str, t.Any]]:
    """The thaw of a one-call snapshot, safe to run whatever the freeze reached (finally)."""
    if method == "backup_task":
        return backup_task_end_steps(inst, tools, 60, strict=False)
    return thaw_steps(inst, method, tools, start_timeout)


PENDING_MARGIN = 120


def snapshot_plan(inst: dict[str, t.Any], method: str, tools: dict[str, str], platform: str, script: str,
                  watchdog_seconds: int, shutdown_timeout: int, start_timeout: int, hold_timeout: int,
                  create_timeout: int, stale_script: t.Optional[str] = None, stale_at: t.Optional[str] = None,
                  lock_steps: t.Optional[tuple[dict[str, t.Any], dict[str, t.Any]]] = None,
                  preflight: t.Sequence[dict[str, t.Any]] = (), expose_letters: t.Sequence[str] = (),
                  expose_targets: t.Sequence[str] = ()) -> dict[str, t.Any]:
    """One remote call: arm the watchdog, freeze, create the shadow copy, thaw (finally), disarm.
    With ``stale_script`` a shadow copy left exposed at ``stale_at`` by an earlier run is deleted first (before any
    freeze), only when the ledger says it is the collection's own: another program's is never deleted."""
    # Guards: the host lock first, then the checks that may take long.  A run refused by the lock (or a failed
    # check) arms no watchdog, freezes nothing and releases nothing.  The watchdog's deadline counts from after the
    # guards.  The lock is never given back inside this plan: the executor runs a rescue before finally (the
    # thaw) and the watchdog's disarm, so a lock freed there would let another run freeze Domino while this one
    # still thaws it and deletes the watchdog task.  The action frees it in a call of its own after the plan.
    guard = [lock_steps[0]] if lock_steps else []
    if method in ("shutdown", "backup_task", "vss_writer"):
        # The facts may be older than this call (a registered domino_info): a server its administrator stopped
        # meanwhile is not ours to stop, hold or start; the plan is refused before anything is touched.
        guard.append(planlib.step(STILL_RUNNING_STEP, [tools["sc"], "query", inst["service"]], ok_rc="any",
                                  retry=planlib.retry_until(3, 1.0, until_stdout=RUNNING_RE), timeout=30))
    guard += list(preflight)
    steps: list[dict[str, t.Any]] = []
    rescue: list[dict[str, t.Any]] = []
    files = {"create.dsh": planlib.plan_file(script, encoding="ascii")}
    # Before anything at the targets is judged or replaced: adopt what a run cut off between its create and its
    # record step exposed there, then note this run's window (shadow_ledger.PENDING_SCRIPT).  Its length is known
    # once every step is: inserted here at the end.
    pending_at = len(guard)
    if stale_script:
        if not stale_at:
            raise DominoError("a stale exposure is replaced only where its owner was checked: stale_at is missing")
        guard.append(ledger.exposure_owner_step(tools, stale_at))
        files["stale.dsh"] = planlib.plan_file(stale_script, encoding="ascii")
        guard.append(planlib.step(STALE_STEP, [tools["diskshadow"], "/s", planlib.file_ref("stale.dsh")], ok_rc="any",
                                  timeout=create_timeout))
    if expose_letters:
        # The letters were free when the facts were read; one taken since (a mapped drive, another tool's exposure)
        # would fail the expose after the freeze: refused before anything is touched instead.
        guard.append(fs_step(LETTERS_FREE_STEP, tools, "letters_free", {"letters": list(expose_letters)}, timeout=60))
    if method == "backup_task":
        # diskshadow itself waits for the hold (wait.cmd) and releases it (release.cmd): see WAIT_CMD.
        if WAIT_CMD_PATH not in script or RELEASE_CMD_PATH not in script:
            raise DominoError("a backup_task snapshot script must exec %s and %s" % (WAIT_CMD_PATH, RELEASE_CMD_PATH))
        steps += [step for step in freeze_steps(inst, method, tools, shutdown_timeout, hold_timeout) if step["name"] != HELD_STEP]
        files["create.dsh"]["template"] = True
        wait, hold_input = dbk.wait_cmd_file(tools, inst["data_dir"], hold_timeout)
        files[WAIT_CMD] = planlib.plan_file(wait, encoding="ascii", template=True)
        files[dbk.HOLD_INPUT] = planlib.plan_file(hold_input, encoding="ascii")
        files[RELEASE_CMD] = planlib.plan_file(dbk.release_cmd_file(tools, inst["data_dir"]), encoding="ascii")
        create_timeout += hold_timeout
    elif method != "none":
        steps += freeze_steps(inst, method, tools, shutdown_timeout, hold_timeout)
    # Its exit code does not decide alone: the action judges the transcript and the evidence (diskshadow.judge), so
    # a create that printed only a documented harmless message with a non-zero code is not thrown away; one judged
    # failed is discarded by the action, which also frees the host lock (no rescue runs then).
    steps.append(planlib.step(CREATE_STEP, [tools["diskshadow"], "/s", planlib.file_ref("create.dsh")],
                              timeout=create_timeout, ok_rc="any"))
    if expose_targets:
        # the window spans the worst case of every step after the note until the create has exposed the copies,
        # and the arming of the watchdog, with PENDING_MARGIN for the executor's own work
        window = planlib.worst_case_seconds(guard[pending_at:] + arm_steps(inst, tools) + steps) + PENDING_MARGIN
        guard.insert(pending_at, ledger.pending_step(tools, expose_targets, int(window)))
    # First in finally (a second or two, before the thaw, whose Domino start can take minutes: a connection lost
    # during it must not leave the shadow copies unrecorded): the shadow copies the create step made go into the
    # host's ledger, even when the step failed after creating them, so cleanup can tell them from other
    # software's (shadow_ledger.py).
    own = [ledger.record_step(tools, CREATE_STEP)]
    if method not in ("shutdown", "backup_task"):
        return planlib.build_plan("snapshot %s" % method, platform, steps, files=files, rescue=rescue, guard=guard,
                                  finally_steps=own)
    files["watchdog.xml"] = planlib.plan_file(watchdog_xml(inst, method, watchdog_seconds, release_argvs(inst, method, tools)),
                                              encoding="utf-16le-bom", template=True)
    return planlib.build_plan(
        "snapshot %s" % method, platform, steps, rescue=rescue, guard=guard,
        finally_steps=own + release_cleanup_steps(inst, method, tools, start_timeout), files=files,
        watchdog={"seconds": watchdog_seconds, "arm": arm_steps(inst, tools), "disarm": [disarm_step(inst, tools)]})


def freeze_window(result: dict[str, t.Any], method: str) -> dict[str, t.Any]:
    """frozen_ms and its breakdown from the host-clock step records of a snapshot plan."""
    steps = [r for r in result.get("steps", []) if r.get("start_ms") is not None]
    create = next((r for r in steps if r["name"] == CREATE_STEP), None)
    freeze = [r for r in steps if r["name"] not in (CREATE_STEP, STALE_STEP, PREFLIGHT_STEP, "take the host lock")]
    thaw = [r for r in result.get("finally", []) if r.get("start_ms") is not None and r["name"] != ledger.RECORD_STEP]
    out: dict[str, t.Any] = {"freeze_ms": None, "create_ms": None, "thaw_ms": None, "frozen_ms": None,
                             "frozen_at": None, "thawed_at": None}
    if create is not None:
        out["create_ms"] = create["end_ms"] - create["start_ms"]
        out["create_started_at"] = iso_ms(create["start_ms"])
        out["create_ended_at"] = iso_ms(create["end_ms"])
    if method == "none":
        out["frozen_ms"] = 0
        return out
    if method == "vss_writer":
        # VSS freezes the writer inside the creation; the creation bounds the window.
        if create is not None:
            out.update(frozen_ms=out["create_ms"], frozen_at=iso_ms(create["start_ms"]), thawed_at=iso_ms(create["end_ms"]))
        return out
    if freeze:
        out["freeze_ms"] = max(r["end_ms"] for r in freeze) - freeze[0]["start_ms"]
        out["frozen_at"] = iso_ms(freeze[0]["start_ms"])
    if thaw:
        out["thaw_ms"] = max(r["end_ms"] for r in thaw) - thaw[0]["start_ms"]
        out["thawed_at"] = iso_ms(max(r["end_ms"] for r in thaw))
    if freeze and thaw:
        out["frozen_ms"] = max(r["end_ms"] for r in thaw) - freeze[0]["start_ms"]
    if method == "backup_task":
        # The hook's own record is the hold: the databases were in backup mode when it recorded held_ms,
        # and they stayed in backup mode until Domino had written every delta and started the Backup
        # snapshot command (left_ms); done_ms (the hook let go) bounds it when that never came.
        record = dbk.hold_record(thaw)
        hold = dbk.window(record)
        end = hold["left_ms"] or hold["done_ms"]
        if hold["held_ms"] is not None and end is not None and end >= hold["held_ms"]:
            out.update(frozen_ms=end - hold["held_ms"], frozen_at=iso_ms(hold["held_ms"]), thawed_at=iso_ms(end),
                       hook_released_at=iso_ms(hold["done_ms"]), left_backup_mode=hold["left_ms"] is not None)
        out["backup_start"] = hold["backup_start"]
        out["deltas"] = dbk.delta_list(record)
    return out


# ------------------------------------------------------------ watchdog budget

# What the watchdog's deadline keeps on top of the worst case of the steps it guards: the executors' own work
# between steps (process start, output capture, the retry loop's checks), a few seconds per step at most.
WATCHDOG_MARGIN = 30


def watchdog_budget(plan: dict[str, t.Any]) -> tuple[int, list[tuple[str, float, str]]]:
    """The shortest watchdog a freezing plan needs: the worst case (plan.worst_case_seconds) of the steps that
    run from the moment its deadline is set (both executors: after the guards, just before the arm steps) until
    the shadow copy exists (the create step; a freeze plan: its last step), plus WATCHDOG_MARGIN.  The watchdog
    then never releases Domino while a step of the freeze or the creation may still run.  Returns the seconds
    and the terms (step, seconds, which timeouts) that make them up."""
    watchdog = plan.get("watchdog") or {}
    guarded = list(watchdog.get("arm") or [])
    for raw in plan["steps"]:
        guarded.append(raw)
        if raw["name"] == CREATE_STEP:
            break
    terms = planlib.worst_case_terms(guarded)
    return int(-(-sum(seconds for _name, seconds, _how in terms) // 1)) + WATCHDOG_MARGIN, terms


def watchdog_shortfall(plan: dict[str, t.Any], option: str = "watchdog_seconds",
                       hint: str = "") -> t.Optional[str]:
    """None when the plan's watchdog outlives every step it guards; else the message for ``option``."""
    if "watchdog" not in plan:
        return None
    needed, terms = watchdog_budget(plan)
    seconds = plan["watchdog"]["seconds"]
    if seconds >= needed:
        return None
    return ("%s: %d is too short for %s%s; the watchdog would release Domino while a step it guards may still run: it "
            "needs at least %d s = %s + %d s margin. Raise %s or lower the timeouts"
            % (option, seconds, plan["name"], hint, needed, planlib.describe_terms(terms), WATCHDOG_MARGIN, option))


# A stand-in server for the budget before discovery: the steps (and so their timeouts) depend only on the method
# and the options; an unpartitioned server gets nsd -kill, the longer of the two kill steps.
_BUDGET_INST: dict[str, t.Any] = {"service": "Domino", "data_dir": "C:\\Domino\\data", "program_dir": "C:\\Domino",
                                  "partitioned": False, "service_account": "LocalSystem", "tasks": {}}


def _budget_tools() -> dict[str, str]:
    return cli.resolve_tools(None, "windows", _BUDGET_INST["program_dir"])


def snapshot_budget_plan(method: str, watchdog_seconds: int, shutdown_timeout: int, start_timeout: int,
                         hold_timeout: int, create_timeout: int) -> dict[str, t.Any]:
    """The snapshot plan of ``method`` for a stand-in server, to check the watchdog before any host contact."""
    script = "exec \"%s\"\r\nexec \"%s\"\r\n" % (WAIT_CMD_PATH, RELEASE_CMD_PATH)
    return snapshot_plan(dict(_BUDGET_INST), method, _budget_tools(), "windows", script, watchdog_seconds,
                         shutdown_timeout, start_timeout, hold_timeout, create_timeout)


def freeze_budget_plan(method: str, watchdog_seconds: int, shutdown_timeout: int, hold_timeout: int,
                       start_timeout: int) -> dict[str, t.Any]:
    """The freeze plan of ``method`` for a stand-in server, to check the watchdog before any host contact."""
    return freeze_plan(dict(_BUDGET_INST), method, _budget_tools(), "windows", watchdog_seconds, shutdown_timeout,
                       hold_timeout, start_timeout)
