"""The watchdog's budget: the worst case of a list of plan steps (plan.py), the snapshot and freeze plans'
watchdog check (plans.watchdog_budget), the restore's check against a running watchdog (restore.py), and the
action plugins refusing before anything is sent to the host."""
from __future__ import annotations

import sys
import time

import pytest

from ansible_collections.quiesce.domino.plugins.module_utils import plan as p
from ansible_collections.quiesce.domino.plugins.module_utils import plans
from ansible_collections.quiesce.domino.plugins.module_utils import restore
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.module_utils.process import run_step_with_retry

SC = "C:\\Windows\\System32\\sc.exe"


# ------------------------------------------------------------------ plan.worst_case_seconds

def test_a_plain_step_counts_its_timeout_and_the_default():
    assert p.step_worst_case(p.step("a", [SC], timeout=42)) == 42
    assert p.step_worst_case({"name": "b", "argv": [SC]}) == p.DEFAULT_TIMEOUT


def test_a_retried_step_counts_within_plus_one_attempt():
    polled = p.step("poll", [SC], timeout=15, retry=p.retry_until(120, 0.5, until_rc=[0]))
    assert p.step_worst_case(polled) == 135
    assert p.worst_case_terms([polled]) == [("poll", 135.0, "retry within 120 + timeout 15")]


def test_conditional_and_allowed_failure_steps_count_as_if_they_run():
    steps = [p.step("wait", [SC], timeout=10, allow_failure=True, retry=p.retry_until(30, 1, until_rc=[0])),
             p.step("kill", [SC], timeout=100, only_if_failed="wait"),
             p.step("check", [SC], timeout=5, only_if_ok="wait")]
    assert p.worst_case_seconds(steps) == 40 + 100 + 5
    assert p.describe_terms(p.worst_case_terms(steps)) == \
        "'wait' retry within 30 + timeout 10 + 'kill' timeout 100 + 'check' timeout 5"


def test_the_bound_holds_for_the_posix_executors_retry_loop():
    """A condition that never holds, each attempt close to its timeout: the step ends within within + timeout."""
    step = p.validate_plan({"version": 1, "name": "t", "platform": "posix", "steps": [
        p.step("slow poll", [sys.executable, "-c", "import time; time.sleep(0.4)"], timeout=0.6,
               retry=p.retry_until(1.0, 0.3, until_rc=[7]))]})["steps"][0]
    started = time.monotonic()
    record = run_step_with_retry(step, {}, 4096)
    took = time.monotonic() - started
    assert record["status"] == "failed" and record["attempts"] >= 2
    assert took <= p.step_worst_case(step) + 0.3, took


# ------------------------------------------------------------------ snapshot and freeze plans

def budget(plan):
    return plans.watchdog_budget(plan)


def names(terms):
    return [name for name, _s, _how in terms]


def test_shutdown_snapshot_counts_every_step_from_arming_to_the_create():
    plan = plans.snapshot_budget_plan("shutdown", 1200, shutdown_timeout=120, start_timeout=300, hold_timeout=60,
                                      create_timeout=300)
    needed, terms = budget(plan)
    assert names(terms) == ["arm watchdog", "stop Domino service", "wait until stopped", "nsd -kill after the deadline",
                            "wait until stopped after kill", "create shadow copy"]
    assert needed == 60 + 60 + (120 + plans.POLL_TIMEOUT) + 360 + (60 + plans.POLL_TIMEOUT) + 300 + plans.WATCHDOG_MARGIN
    # the thaw in finally (start_timeout) and the guards do not count: the deadline is set after the guards,
    # and the watchdog firing during the thaw starts a Domino the thaw starts anyway
    longer_start = plans.snapshot_budget_plan("shutdown", 1200, 120, 3600, 60, 300)
    assert budget(longer_start)[0] == needed


def test_backup_task_snapshot_counts_the_hold_reset_and_starting_domino_backup():
    needed, terms = budget(plans.snapshot_budget_plan("backup_task", 1200, 120, 300, 60, 300))
    assert names(terms) == ["arm watchdog", "reset the hold", "start Domino Backup", "create shadow copy"]
    assert needed == 60 + 60 + 120 + (300 + 60) + plans.WATCHDOG_MARGIN


def test_the_defaults_fit():
    for method in ("shutdown", "backup_task"):
        assert plans.watchdog_shortfall(plans.snapshot_budget_plan(method, 1200, 120, 300, 60, 300)) is None
        assert plans.watchdog_shortfall(plans.freeze_budget_plan(method, 1200, 180, 60, 300)) is None


@pytest.mark.parametrize("method, shutdown, hold, create, old_minimum", [
    # the old hand-written minimum: shutdown_timeout + 60 + create_timeout / hold_timeout + create_timeout
    ("shutdown", 10, 5, 10, 80),
    ("shutdown", 120, 60, 300, 480),
    ("backup_task", 10, 5, 10, 15),
    ("backup_task", 120, 60, 300, 360),
])
def test_a_watchdog_the_old_formula_accepted_is_refused(method, shutdown, hold, create, old_minimum):
    plan = plans.snapshot_budget_plan(method, old_minimum, shutdown, 300, hold, create)
    msg = plans.watchdog_shortfall(plan)
    needed, _terms = budget(plan)
    assert needed > old_minimum
    assert msg.startswith("watchdog_seconds: %d is too short for snapshot %s" % (old_minimum, method)), msg
    assert "at least %d s" % needed in msg and "'arm watchdog' timeout 60" in msg
    assert ("'nsd -kill after the deadline' timeout 360" in msg) is (method == "shutdown")
    assert ("'start Domino Backup' timeout 120" in msg) is (method == "backup_task")
    assert plans.watchdog_shortfall(plans.snapshot_budget_plan(method, needed, shutdown, 300, hold, create)) is None


def test_freeze_plan_counts_every_freeze_step():
    plan = plans.freeze_budget_plan("shutdown", 195, shutdown_timeout=180, hold_timeout=60, start_timeout=300)
    needed, terms = budget(plan)
    assert names(terms) == ["arm watchdog", "stop Domino service", "wait until stopped", "nsd -kill after the deadline",
                            "wait until stopped after kill"]
    assert needed == 60 + 60 + 195 + 360 + 75 + plans.WATCHDOG_MARGIN
    # shutdown_timeout + 15, the old minimum, is refused
    assert plans.watchdog_shortfall(plan).startswith("watchdog_seconds: 195 is too short for freeze shutdown")
    held = plans.freeze_budget_plan("backup_task", 600, 180, 200, 300)
    assert names(budget(held)[1])[-1] == "wait until databases are held" and budget(held)[0] == 60 + 60 + 120 + 230 + 30


def test_a_partitioned_server_ends_its_own_tree_and_the_real_plan_is_checked_too():
    tools = cli.resolve_tools(None, "windows", "C:\\Domino")
    inst = dict(plans._BUDGET_INST, partitioned=True)
    plan = plans.freeze_plan(inst, "shutdown", tools, "windows", 600, 120, 60)
    needed, terms = budget(plan)
    assert ("nsd -kill after the deadline", 300.0, "timeout 300") in terms  # the kill-tree step
    assert needed == budget(plans.freeze_budget_plan("shutdown", 600, 120, 60, 300))[0] - 60


# ------------------------------------------------------------------ the action plugins refuse before any host contact

@pytest.mark.parametrize("args, words", [
    ({"method": "shutdown", "watchdog_seconds": 80, "shutdown_timeout": 10, "hold_timeout": 5, "create_timeout": 10},
     "watchdog_seconds: 80 is too short for snapshot shutdown; "),
    ({"method": "backup_task", "watchdog_seconds": 360}, "watchdog_seconds: 360 is too short for snapshot backup_task"),
    ({"method": "auto", "allow_downtime": True, "watchdog_seconds": 600},
     "watchdog_seconds: 600 is too short for snapshot shutdown (method=auto with allow_downtime may choose shutdown)"),
])
def test_snapshot_refuses_before_discovery(host, args, words):
    from ansible_collections.quiesce.domino.plugins.action import snapshot as action
    from test_actions_mocked import run_action
    result = run_action(action, args)
    assert result["failed"] is True and words in result["msg"], result["msg"]
    assert "'wait until stopped' retry within" in result["msg"] or "backup_task" in words
    assert host["plans"] == []


@pytest.mark.parametrize("args, words", [
    ({"state": "frozen", "method": "shutdown", "watchdog_seconds": 200, "shutdown_timeout": 180},
     "watchdog_seconds: 200 is too short for freeze shutdown; "),
    ({"state": "frozen", "method": "backup_task", "watchdog_seconds": 300},
     "watchdog_seconds: 300 is too short for freeze backup_task; "),
    ({"state": "frozen", "method": "auto", "allow_downtime": True, "watchdog_seconds": 600},
     "(method=auto with allow_downtime may choose shutdown)"),
    ({"state": "frozen", "watchdog_seconds": 86401}, "watchdog_seconds: 86401 is not valid"),
])
def test_backup_mode_refuses_before_discovery(host, args, words):
    from ansible_collections.quiesce.domino.plugins.action import backup_mode as action
    from test_actions_mocked import run_action
    result = run_action(action, args)
    assert result["failed"] is True and words in result["msg"], result["msg"]
    assert host["plans"] == []


def test_vss_writer_and_thawing_need_no_budget(host):
    from ansible_collections.quiesce.domino.plugins.action import backup_mode as action
    from test_actions_mocked import run_action
    # a short watchdog is no reason to refuse what arms no watchdog: the action goes on to discovery
    with pytest.raises(AssertionError, match="unexpected plan domino inventory"):
        run_action(action, {"state": "thawed", "watchdog_seconds": 30})
    with pytest.raises(AssertionError, match="unexpected plan domino inventory"):
        run_action(action, {"state": "frozen", "method": "vss_writer", "watchdog_seconds": 30})
    assert len(host["plans"]) == 2


# ------------------------------------------------------------------ restore against a running watchdog

TOOLS = cli.resolve_tools(None, "windows", "C:\\Domino")
PLACES = [{"kind": "data", "name": "data", "path": "D:\\Domino\\data", "shadow_id": "{11111111-1111-1111-1111-111111111111}"},
          {"kind": "daos", "name": "daos", "path": "E:\\DAOS", "shadow_id": "{22222222-2222-2222-2222-222222222222}"},
          {"kind": "link", "name": "links-mail", "path": "F:\\mail", "shadow_id": "{33333333-3333-3333-3333-333333333333}"}]


def frozen(deadline_utc, state="Ready", method="shutdown"):
    return {"service": "Domino", "state": "STOPPED",
            "watchdog": {"name": "\\quiesce.domino\\watchdog-Domino", "state": state, "method": method,
                         "deadline_utc": deadline_utc, "seconds": 7200}}


def restore_plan(places, timeout):
    return restore.restore_plan(TOOLS, "windows", "Domino", places, "R:", timeout)


def test_restore_worst_case_counts_every_place():
    one = p.worst_case_seconds(restore_plan(PLACES[:1], 3000)["steps"])
    three = p.worst_case_seconds(restore_plan(PLACES, 3000)["steps"])
    # per place: expose, restore, verify, unexpose, and the read-back of the exposure and of the unexposure
    assert three - one == 2 * (600 + 120 + 3000 + 3000 + 600 + 120)


def test_three_places_that_the_roles_old_assert_let_through_are_refused():
    timeout, watchdog = 3000, 7200
    assert watchdog > 2 * timeout + 600  # the rollback role's old assert: one place
    msg = restore.watchdog_refusal(restore_plan(PLACES, timeout), frozen("2026-01-01T02:00:00Z"), "2026-01-01T00:00:00Z")
    assert msg.startswith("timeout: not restored, nothing was touched: the restore may take up to"), msg
    assert "'restore daos' timeout 3000" in msg and "'verify the restore of links-mail' timeout 3000" in msg
    assert "starts Domino at 2026-01-01T02:00:00Z, in 7200 s" in msg


def test_a_restore_that_ends_before_the_deadline_runs():
    plan = restore_plan(PLACES[:1], 600)
    worst = int(p.worst_case_seconds(plan["steps"] + plan["rescue"] + plan["finally"]))
    now = "2026-01-01T00:00:00Z"
    enough = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1767225600 + worst + restore.RESTORE_MARGIN))
    short = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1767225600 + worst + restore.RESTORE_MARGIN - 1))
    assert restore.watchdog_refusal(plan, frozen(enough), now) is None
    assert restore.watchdog_refusal(plan, frozen(short), now) is not None


@pytest.mark.parametrize("inst", [
    {"service": "Domino", "state": "STOPPED", "watchdog": None},  # stopped by someone else: nothing starts it
    frozen("2025-12-31T23:00:00Z"),  # the watchdog already fired
    frozen("2026-01-01T00:10:00Z", state="Disabled"),
    frozen("2026-01-01T00:10:00Z", method="backup_task"),  # a running server: the restore refuses it itself
])
def test_no_watchdog_to_outrun_means_no_limit(inst):
    assert restore.watchdog_refusal(restore_plan(PLACES, 86400), inst, "2026-01-01T00:00:00Z") is None


def test_an_unreadable_deadline_is_refused():
    msg = restore.watchdog_refusal(restore_plan(PLACES[:1], 60), frozen("soon"), "2026-01-01T00:00:00Z")
    assert msg and "cannot be read" in msg


# ------------------------------------------------------------------ snapshot_copy with async (S5)

def run_async(args, async_val):
    from unittest.mock import MagicMock
    from ansible_collections.quiesce.domino.plugins.action import snapshot_copy as action
    task = MagicMock()
    task.args = args
    task.async_val = async_val
    task.check_mode = False
    task.diff = False
    connection = MagicMock()
    connection._shell.SHELL_FAMILY = "powershell"
    connection._shell.tmpdir = "C:\\tmp"
    templar = MagicMock()
    templar.template.side_effect = lambda value, **kw: value
    return action.ActionModule(task, connection, MagicMock(), MagicMock(), templar, None).run(
        task_vars={"inventory_hostname": "dom01"})


@pytest.mark.parametrize("state", ["progress", "pruned"])
def test_async_is_refused_for_the_short_states(host, state):
    result = run_async({"destination": "E:\\Backups", "state": state, "keep": 3}, 600)
    assert result["failed"] is True
    assert result["msg"].startswith("async: only state=present runs as an async job; state=%s" % state), result["msg"]
    assert host["plans"] == []


def test_async_shorter_than_the_copys_worst_case_is_refused(host):
    args = {"source": "S:\\Domino\\data", "destination": "E:\\Backups", "delete_exposed_shadow": ["S:"], "timeout": 600}
    result = run_async(args, 1800)
    msg = result["msg"]
    assert result["failed"] is True and msg.startswith("async: 1800 s is shorter than the copy's worst case"), msg
    assert "timeout 600" in msg and "lower timeout (each robocopy step's limit, now 600)" in msg
    assert host["plans"] == []
    worst = int(msg.split("worst case, ")[1].split(" s")[0])
    assert worst > 1800
    # an async limit that outlives the worst case starts the job
    host["replies"] = [{"ansible_job_id": "j1", "started": 1, "finished": 0}]
    started = run_async(args, worst)
    assert started.get("ansible_job_id") == "j1", started
    assert [plan["name"] for plan in host["plans"]] == [host["plans"][0]["name"]]
