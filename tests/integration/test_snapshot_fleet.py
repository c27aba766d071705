"""snapshot: one remote call, every method, a measured freeze window, Domino always released."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from quiesce_sim.hostd import boundary_time

SNAP = """
- hosts: {host}
  gather_facts: false
  tasks:
    - name: Snapshot
      quiesce.domino.snapshot:
        method: {method}
        expose_as: "{letter}:"
        shutdown_timeout: 30
        create_timeout: 60
      ignore_errors: true
"""


def calls(fleet, host):
    log = Path(fleet.host_dir(host)) / "run" / "remote_calls.log"
    return log.read_text().count("\n") if log.exists() else 0


def released(fleet, host):
    state = fleet.state(host)
    dom = state["dominos"][0]
    live_tasks = [t for t in state["tasks"].values() if not t.get("fired")]
    return dom["state"] == "RUNNING" and dom["answers"] and not dom["backup_mode"] and not live_tasks


@pytest.mark.parametrize("host, method, letter", [
    ("dom01", "vss_writer", "S"), ("dom02", "backup_task", "S"), ("dom03", "shutdown", "S"), ("dom01", "none", "N"),
])
def test_one_call_snapshot_per_method(fleet, host, method, letter):
    before = calls(fleet, host)
    run = fleet.playbook(SNAP.format(host=host, method=method, letter=letter))
    res = run.result("Snapshot", host)
    assert not res.get("failed"), res.get("msg")
    # discovery (one read-only call, no console command) and the snapshot itself: the freeze in one call.
    assert calls(fleet, host) - before == 2
    assert res["method"] == method and res["exposed_as"] == letter + ":"
    assert res["shadows"][0]["volume"] == "D:"
    image = Path(fleet.host_dir(host)) / "volumes" / letter / "Domino" / "data"
    verdict = fleet.restore_verdict(host, image, res.get("backup_start"))
    if method == "none":
        assert res["crash_consistent"] is True and res["frozen_ms"] == 0
    else:
        assert verdict["consistent"], verdict
        assert res["crash_consistent"] is False
        assert 0 < res["frozen_ms"] < 30000
        assert res["create_ms"] > 0
    if method == "shutdown":
        assert res["frozen_ms"] >= res["freeze_ms"] + res["create_ms"]
        assert verdict["deltas_applied"] == [] and verdict["torn_before_recovery"] == 0  # a clean shutdown
    if method == "backup_task":
        # The window runs from the hook's hold until Domino had taken every database out of backup mode
        # and written the deltas; the twin's Domino measured the same span itself.
        assert res["left_backup_mode"] is True and res["frozen_at"] >= res["create_started_at"]
        log = (Path(fleet.host_dir(host)) / "run" / "hostd.log").read_text()
        truth = int(re.findall(r"from the hook's hold until every database left it: (\d+) ms", log)[-1])
        assert abs(res["frozen_ms"] - truth) <= 15, (res["frozen_ms"], truth)
        # Writers went on during the hold: the databases changed after the snapshot, and only their deltas
        # (kept by the hook, listed in the result) make the image consistent.
        assert res["deltas"] and verdict["deltas_applied"]
        bare = fleet.restore_verdict(host, image)
        assert not bare["consistent"] and bare["needs_change_info"], bare
    if method in ("shutdown", "backup_task"):
        assert res["watchdog"]["armed"] is True and res["watchdog"]["left_armed"] is False
        assert res["thawed_at"] > res["frozen_at"]
    if method == "vss_writer":
        assert any("Domino" in w for w in res["writers_included"])
    assert released(fleet, host)


def test_failed_creation_still_releases_domino(solo_fleet):
    solo_fleet.fault("dom01", "fail", {"diskshadow": "com_failure"})
    run = solo_fleet.playbook(SNAP.format(host="dom01", method="shutdown", letter="S"))
    res = run.result("Snapshot", "dom01")
    assert res["failed"] is True
    assert res["msg"].startswith("snapshot by shutdown failed: diskshadow: a VSS COM call failed: COM call")
    assert res["watchdog"]["left_armed"] is False
    assert released(solo_fleet, "dom01")
    # the watchdog is disarmed, then the lock this lock-less snapshot took for itself is given back, last
    assert [s["name"] for s in res["steps"] if s["status"] == "ok"][-2:] == ["disarm watchdog", "release the host lock"]
    assert not solo_fleet.lock_dir("dom01").exists()


def test_vss_writer_timeout_is_reported(solo_fleet):
    solo_fleet.fault("dom01", "vss_timeout", True)
    run = solo_fleet.playbook(SNAP.format(host="dom01", method="vss_writer", letter="S"))
    res = run.result("Snapshot", "dom01")
    assert res["failed"] is True and "VSS_E_WRITERERROR_TIMEOUT" in res["msg"]
    assert released(solo_fleet, "dom01")


def test_occupied_letter_and_check_mode(fleet):
    run = fleet.playbook(SNAP.format(host="dom03", method="shutdown", letter="E"))
    res = run.result("Snapshot", "dom03")
    assert res["failed"] is True and res["msg"].startswith("expose_as: drive letter E: is already in use")
    check = fleet.playbook(SNAP.format(host="dom03", method="shutdown", letter="W"), check=True)
    res = check.result("Snapshot", "dom03")
    assert res["changed"] is True and "expose %vol_d% W:" in res["script"]
    assert res["plan"]["watchdog"]["seconds"] == 1200
    # the record of the shadow copies made as the collection's own (a second, before a thaw that may take
    # minutes), then the thaw, then Win32_ShadowCopy read back (the exposure judged in any language)
    thaw = ["record the shadow copies as ours", "start Domino service", "wait until running",
            "wait until the server answers", "read the shadow copies back"]
    assert [s["name"] for s in res["plan"]["finally"]] == thaw
    assert released(fleet, "dom03")
    # the preview in words: that the server will be shut down, for how long at most, and what is touched
    assert res["msg"].startswith("check mode, nothing was changed; this run would: ")
    assert any("will be STOPPED" in line and "at most about" in line for line in res["preview"]), res["preview"]
    assert any(line.startswith("expose it at") and "W:" in line for line in res["preview"]), res["preview"]
    assert any("arm a watchdog task that releases Domino after 1200 s" in line for line in res["preview"])


def test_controller_killed_inside_the_one_call_snapshot_executor_lives_on(solo_fleet):
    """The controller dies while the snapshot call holds Domino (diskshadow hangs) and the host-side executor
    lives on, as a PowerShell under WinRM does: its own step timeout and finally release Domino and disarm
    the watchdog long before the watchdog's deadline.  (The executor dying too, for every method and
    through the role, is a row of the fault matrix.)"""
    import time
    from conftest import kill_controller, wait_released
    fleet = solo_fleet
    fleet.fault("dom01", "hang", {"diskshadow": 600})
    proc = fleet.start_playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Snapshot
      quiesce.domino.snapshot: {method: shutdown, watchdog_seconds: 620, shutdown_timeout: 10, hold_timeout: 5, create_timeout: 10}
""")
    frozen = False
    until = time.time() + 60
    while time.time() < until and not frozen:
        state = fleet.state("dom01")
        frozen = bool(state["tasks"]) and state["dominos"][0]["state"] == "STOPPED"
        time.sleep(0.1)
    assert frozen, "Domino was never frozen"
    time.sleep(1.0)
    killed_at = time.time()
    kill_controller(proc, executor_too=False)  # the controller dies mid-call
    task = next(iter(fleet.state("dom01")["tasks"].values()))
    deadline_ts = boundary_time(task["start_boundary"])
    assert deadline_ts > time.time(), "the deadline passed before the test could watch it"
    released_at = wait_released(fleet, "dom01", deadline_ts + 15)
    assert released_at, "Domino was not released"
    # the executor's create timeout (10 s) ended the hung diskshadow, its finally released Domino
    assert released_at - killed_at < 30 and released_at < deadline_ts - 30, (released_at - killed_at)
    until = time.time() + 10
    while fleet.state("dom01")["tasks"] and time.time() < until:
        time.sleep(0.2)
    assert fleet.state("dom01")["tasks"] == {}, "the executor's finally did not disarm the watchdog"


def test_a_letter_held_by_a_real_volume_is_refused_before_the_freeze_and_frees_the_lock(solo_fleet):
    # With replace_stale a letter in use may be our own stale shadow, so discovery lets it pass; here a real
    # volume holds S:.  The plan's guard finds it after the stale cleanup and before the freeze: no shadow copy
    # set is created, the host lock is freed, and the next run may proceed.
    (Path(solo_fleet.host_dir("dom01")) / "volumes" / "S" / "data").mkdir(parents=True)
    snap = SNAP.replace("create_timeout: 60", "create_timeout: 60\n        replace_stale: true\n        lock: true")
    run = solo_fleet.playbook(snap.format(host="dom01", method="vss_writer", letter="S"))
    res = run.result("Snapshot", "dom01")
    assert res["failed"] is True and "drive letter S: is in use on the host" in res["msg"], res["msg"]
    assert "Domino was not touched" in res["msg"]
    assert not solo_fleet.state("dom01")["shadows"] and released(solo_fleet, "dom01")
    again = solo_fleet.playbook(snap.format(host="dom01", method="vss_writer", letter="T")).result("Snapshot", "dom01")
    assert not again.get("failed"), again.get("msg")
    assert again["exposed_as"] == "T:"
