"""domino_info and backup_mode on the simulated fleet: every method gives an untorn snapshot,
and a killed controller is covered by the watchdog."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from quiesce_sim.hostd import boundary_time

# Host of each profile in the three-host fleet fixture: dom01 vss, dom02 backup_task, dom03 shutdown.
CYCLE = """
- hosts: {host}
  gather_facts: false
  tasks:
    - name: Freeze
      quiesce.domino.backup_mode:
        state: frozen
        method: {method}
        watchdog_seconds: 900
        shutdown_timeout: 30
      register: frozen
    - name: Freeze again
      quiesce.domino.backup_mode:
        state: frozen
        method: {method}
    - name: Snapshot
      quiesce.domino.diskshadow:
        volumes: ["D:"]
        expose_as: "{letter}:"
        writers: {writers}
        writer_verify: {verify}
    - name: Thaw
      quiesce.domino.backup_mode:
        state: thawed
    - name: Thaw again
      quiesce.domino.backup_mode:
        state: thawed
    - name: Info after
      quiesce.domino.domino_info:
"""
DOMINO_WRITER_ID = "{6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}"  # the simulator's Domino writer [I]


@pytest.mark.parametrize("host, method, letter", [
    ("dom03", "shutdown", "P"), ("dom02", "backup_task", "Q"), ("dom01", "vss_writer", "R"), ("dom01", "none", "T"),
])
def test_every_method_gives_a_snapshot_that_restores_consistently(fleet, host, method, letter):
    writers = method == "vss_writer"
    run = fleet.playbook(CYCLE.format(host=host, method=method, letter=letter, writers=str(writers).lower(),
                                      verify=json.dumps([DOMINO_WRITER_ID] if writers else [])))
    assert run.rc == 0, run.stdout[-5000:]
    frozen = run.result("Freeze", host)
    assert frozen["method"] == method
    assert frozen["crash_consistent"] is (method == "none")
    snap = run.result("Snapshot", host)["shadows"][0]
    data = Path(fleet.host_dir(host)) / "volumes" / letter / "Domino" / "data"
    thawed = run.result("Thaw", host)
    verdict = fleet.restore_verdict(host, data, thawed.get("backup_start"))
    if method == "none":
        assert frozen["changed"] is False  # nothing was done: the report says crash-consistent
    else:
        assert verdict["consistent"], "method %s: the snapshot does not restore consistently: %s" % (method, verdict)
    if method == "backup_task":
        assert thawed["deltas"] and thawed["deltas_folder"].endswith("\\quiesce_domino\\deltas\\" + thawed["backup_start"])
    if method in ("shutdown", "backup_task"):
        assert frozen["changed"] is True
        assert frozen["watchdog"]["task"].startswith("\\quiesce.domino\\watchdog-")
        assert run.result("Freeze again", host)["changed"] is False
        assert thawed["changed"] is True and thawed["method"] == method
        assert 0 < thawed["held_ms"] < 60000
        assert run.result("Thaw again", host)["changed"] is False
    after = run.result("Info after", host)["installations"][0]
    assert after["state"] == "RUNNING" and after["answers"] is True and after["frozen_by"] is None
    assert fleet.state(host)["dominos"][0]["backup_mode"] is False
    assert not any(t["name"].startswith("quiesce.domino") and not t.get("fired") for t in fleet.state(host)["tasks"].values())
    assert snap["exposed_as"] == letter + ":"


def test_domino_info_reports_methods_per_version(fleet):
    run = fleet.playbook("""
- hosts: all
  gather_facts: false
  tasks:
    - name: Info
      quiesce.domino.domino_info:
""", check=True)
    info = {h: run.result("Info", h)["installations"][0] for h in ("dom01", "dom02", "dom03")}
    assert info["dom01"]["version"] == "12.0.2" and info["dom01"]["recommended_method"] == "vss_writer"
    assert info["dom02"]["methods"]["vss_writer"]["possible"] is False
    assert "needs Domino 12.0.2 or later (found 12.0.1)" in info["dom02"]["methods"]["vss_writer"]["why"]
    assert info["dom02"]["methods"]["backup_task"]["possible"] is True
    assert info["dom03"]["methods"]["backup_task"]["possible"] is False
    # auto never chooses downtime by itself: no recommendation for a server that only shutdown can quiesce
    assert info["dom02"]["recommended_method"] is None and info["dom03"]["recommended_method"] is None
    for inst in info.values():
        assert inst["data_dir"] == "D:\\Domino\\data" and inst["notes_ini"] == "D:\\Domino\\data\\notes.ini"
        assert inst["translog"] == {"status": "1", "style": "0", "style_name": "circular", "path": "D:\\Domino\\translog"}
        assert inst["answers"] is True and inst["volumes"] == ["D:"] and inst["service_account"] == "LocalSystem"
        assert inst["answers_by"] == "service running, server process alive, NRPC port accepting"
    allowed = fleet.playbook("""
- hosts: dom03
  gather_facts: false
  tasks:
    - name: Info
      quiesce.domino.domino_info:
        allow_downtime: true
""", check=True)
    assert allowed.result("Info", "dom03")["installations"][0]["recommended_method"] == "shutdown"


@pytest.mark.parametrize("args, words", [
    ({"state": "frozen", "method": "vss_writer"}, "method: vss_writer is not possible on this server: needs Domino 12.0.2"),
    ({"state": "frozen", "method": "backup_task"}, "method: backup_task is not possible on this server: needs Domino 12.0"),
    ({"state": "frozen", "service": "Nope"}, "service: 'Nope' is not a Domino service on this host"),
    ({"state": "frozen", "method": "shutdown", "watchdog_seconds": 40, "shutdown_timeout": 60}, "watchdog_seconds: 40 is too short"),
    ({"state": "frozen", "watchdog_seconds": 5}, "watchdog_seconds: 5 is not valid; an integer from 30 to 86400"),
    ({"state": "melted"}, "value of state must be one of: frozen, thawed"),
    ({"state": "frozen", "service": "x\ny"}, "service: "),
])
def test_clear_errors(fleet, args, words):
    run = fleet.playbook("""
- hosts: dom03
  gather_facts: false
  tasks:
    - name: Bad
      quiesce.domino.backup_mode: "{{ bad }}"
      ignore_errors: true
""", extra_vars={"bad": args})
    res = run.result("Bad", "dom03")
    assert res["failed"] is True and words in res["msg"], res["msg"]
    assert fleet.state("dom03")["dominos"][0]["state"] == "RUNNING"


def test_hung_shutdown_is_killed_only_after_the_deadline(solo_fleet):
    solo_fleet.fault("dom01", "domino_shutdown_hangs", True)
    started = time.time()
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Freeze
      quiesce.domino.backup_mode:
        state: frozen
        method: shutdown
        shutdown_timeout: 10
        watchdog_seconds: 620
    - name: Thaw
      quiesce.domino.backup_mode:
        state: thawed
""")
    assert run.rc == 0, run.stdout[-4000:]
    frozen = run.result("Freeze", "dom01")
    assert frozen["killed"] is True
    wait = next(s for s in frozen["steps"] if s["name"] == "wait until stopped")
    assert wait["status"] == "failed" and wait["duration_ms"] >= 9000
    assert any("nsd -kill ended it" in w for w in frozen["warnings"])
    assert time.time() - started >= 10
    assert solo_fleet.state("dom01")["dominos"][0]["answers"] is True


def test_refused_backup_mode_releases_and_disarms(solo_fleet):
    solo_fleet.fault("dom01", "domino_refuses_backup_mode", True)
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Freeze
      quiesce.domino.backup_mode:
        state: frozen
        method: backup_task
        hold_timeout: 5
      ignore_errors: true
""")
    res = run.result("Freeze", "dom01")
    assert res["failed"] is True
    assert "step 'wait until databases are held' (steps) failed: exit code 1: wait_held: not within 5 s" in res["msg"]
    assert "Domino was released" in res["msg"]
    state = solo_fleet.state("dom01")
    assert state["dominos"][0]["backup_mode"] is False
    assert state["tasks"] == {}  # the watchdog was removed by the rescue


@pytest.mark.parametrize("method", ["shutdown", "backup_task"])
def test_watchdog_releases_domino_after_the_controller_is_killed(tmp_path, method):
    """The deadline is watchdog_seconds after arming (host clock), nothing releases Domino before it, and at the
    deadline the watchdog does.  The shortest watchdog the freeze accepts is minutes (it outlives the worst case of
    every freeze step), so the test checks the deadline and then lets the twin reach it at once (reach_deadline)."""
    from conftest import make_fleet, reach_deadline, simfleet
    WATCHDOG = 900
    fleet = make_fleet(tmp_path / "fleet", 2)
    host = "dom02" if method == "backup_task" else "dom01"
    try:
        book = tmp_path / "freeze-and-hang.yml"
        book.write_text("""
- hosts: %s
  gather_facts: false
  tasks:
    - name: Freeze
      quiesce.domino.backup_mode:
        state: frozen
        method: %s
        watchdog_seconds: %d
        shutdown_timeout: 10
    - name: The controller dies here
      ansible.builtin.pause:
        seconds: 600
""" % (host, method, WATCHDOG))
        env = dict(os.environ, ANSIBLE_NOCOLOR="1")
        proc = subprocess.Popen([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(fleet.inventory), str(book)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True, text=True)
        frozen_seen = None
        deadline = time.time() + 60
        while time.time() < deadline:
            state = fleet.state(host)
            dom = state["dominos"][0]
            held = dom["state"] == "STOPPED" if method == "shutdown" else dom["backup_mode"]
            if held and state["tasks"]:
                frozen_seen = time.time()
                break
            time.sleep(0.1)
        assert frozen_seen, "Domino was never frozen"
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGKILL)  # the controller and everything it started die
        proc.wait()
        task = next(iter(fleet.state(host)["tasks"].values()))
        armed_deadline = boundary_time(task["start_boundary"])
        # armed just before the freeze the test saw: its deadline is watchdog_seconds later (whole seconds)
        assert frozen_seen - 30 <= armed_deadline - WATCHDOG <= frozen_seen + 1, armed_deadline - WATCHDOG - frozen_seen
        time.sleep(2.0)
        dom = fleet.state(host)["dominos"][0]
        assert (dom["state"] == "STOPPED") if method == "shutdown" else dom["backup_mode"], "released before the deadline"
        deadline_ts = reach_deadline(fleet, host, task["name"])
        released = None
        while time.time() < deadline_ts + 15:
            dom = fleet.state(host)["dominos"][0]
            if dom["state"] == "RUNNING" and dom["answers"] and not dom["backup_mode"]:
                released = time.time()
                break
            time.sleep(0.2)
        assert released, "Domino was not released by the watchdog"
        assert released <= deadline_ts + 5, "released %.1f s after the deadline" % (released - deadline_ts)
        assert released >= deadline_ts - 1, "released before the deadline: the controller, not the watchdog, did it"
        assert task["runs"] or fleet.state(host)["tasks"][task["name"].lower()]["runs"]
    finally:
        simfleet.down(tmp_path / "fleet")


def test_a_failed_freeze_keeps_the_watchdog_when_domino_is_not_back(solo_fleet):
    """The server hangs in its shutdown and nsd -kill cannot end it: the freeze fails, the rescue's sc start cannot
    bring Domino back (it is not RUNNING), so the watchdog stays armed and the message says Domino is NOT
    confirmed released.  Before, the rescue disarmed the watchdog whatever happened and said "Domino was
    released"."""
    solo_fleet.fault("dom01", "domino_shutdown_hangs", True)
    solo_fleet.fault("dom01", "fail", {"nsd": "access_denied"})
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Freeze
      quiesce.domino.backup_mode:
        state: frozen
        method: shutdown
        shutdown_timeout: 10
        start_timeout: 10
      ignore_errors: true
""", timeout=400)
    res = run.result("Freeze", "dom01")
    solo_fleet.fault("dom01", "fail", None)
    solo_fleet.fault("dom01", "domino_shutdown_hangs", None)
    assert res["failed"] is True and res["released"] is False, res.get("msg")
    assert "NOT confirmed released" in res["msg"] and "Domino was released" not in res["msg"]
    tasks = solo_fleet.state("dom01")["tasks"]
    assert [t for t in tasks.values() if "watchdog" in t["name"].lower()], "the watchdog was disarmed"
