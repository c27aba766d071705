"""Two runs against one host: the second refuses clearly; a stale lock of a killed run is taken over."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest


def backup(fleet, stale=21600):
    return fleet.playbook("quiesce.domino.fleet_backup", extra_vars={
        "snapshot_backup_destination": "E:\\Backups", "snapshot_backup_lock_stale_seconds": stale,
        "snapshot_backup_shutdown_timeout": 30})


def test_second_run_refuses_and_stale_lock_is_taken_over(solo_fleet):
    held = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Another run holds the lock
      quiesce.domino.host_lock:
        owner: other-controller:4242
""")
    assert held.result("Another run holds the lock", "dom01")["acquired"] is True
    run = backup(solo_fleet)
    snap = run.result("Take the snapshot", "dom01")
    assert snap["failed"] is True
    assert "another run holds the host lock (owner other-controller:4242" in snap["msg"]
    assert "Domino was not touched" in snap["msg"]
    dom = solo_fleet.state("dom01")["dominos"][0]
    assert dom["state"] == "RUNNING" and not dom["backup_mode"] and solo_fleet.state("dom01")["shadows"] == {}
    # The holder was killed: after stale_seconds its lock is taken over, with a warning.
    lock_file = solo_fleet.lock_dir("dom01") / "owner.json"
    lock_file.write_text(json.dumps({"owner": "other-controller:4242", "since_ms": int(time.time() * 1000) - 120000}))
    run = backup(solo_fleet, stale=60)
    assert run.rc == 0, run.stdout[-3000:]
    snap = run.result("Take the snapshot", "dom01")
    assert snap["lock"]["taken_over"] is True and snap["lock"]["previous_owner"] == "other-controller:4242"
    assert any("took over a stale host lock" in w for w in snap["warnings"])
    assert not lock_file.exists(), "the copy released the lock"
    # The run's own lock does not block the next run.
    assert backup(solo_fleet).rc == 0


def test_two_runs_at_once_one_backs_up_the_other_refuses(solo_fleet):
    """Two controllers start a backup of the same host at the same moment: exactly one takes the lock and
    backs up; the other is refused before it touches Domino, naming the owner."""
    from concurrent.futures import ThreadPoolExecutor
    solo_fleet.fault("dom01", "hang", {"robocopy": 6})  # the winner holds the lock for seconds, not milliseconds
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _i: backup(solo_fleet), range(2)))
    solo_fleet.fault("dom01", "hang", None)
    snaps = [run.result("Take the snapshot", "dom01") for run in runs]
    winners = [i for i, snap in enumerate(snaps) if not snap.get("failed")]
    assert len(winners) == 1, [snap.get("msg") for snap in snaps]
    winner, loser = snaps[winners[0]], snaps[1 - winners[0]]
    assert runs[winners[0]].rc == 0 and runs[1 - winners[0]].rc != 0
    assert loser["msg"].startswith("snapshot refused: another run holds the host lock (owner %s," % winner["lock"]["owner"])
    assert "Domino was not touched" in loser["msg"] and not loser.get("frozen_ms")
    assert runs[winners[0]].result("Copy and verify the frozen data", "dom01")["verified"] is True
    dom = solo_fleet.state("dom01")["dominos"][0]
    assert dom["state"] == "RUNNING" and not dom["backup_mode"] and solo_fleet.state("dom01")["shadows"] == {}
    assert not solo_fleet.lock_dir("dom01").exists(), "the winner's copy released the lock"


LOCKED_SNAPSHOT = """
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Snapshot
      quiesce.domino.snapshot:
        method: {method}
        lock: true
        lock_owner: {owner}
        allow_downtime: true
        shutdown_timeout: 30
        create_timeout: 60
        expose_as: "{letter}:"
        domino_info: "{{{{ facts | default(omit) }}}}"
      ignore_errors: true
"""


@pytest.mark.parametrize("method", ["shutdown", "backup_task"])
def test_a_run_refused_during_the_freeze_touches_nothing(solo_fleet_backup_task, method):
    """Run A holds Domino (stopped, or held in backup mode) while its shadow copy creation stalls; run B starts
    meanwhile and is refused by the host lock.  B must not overwrite or delete A's watchdog, start A's stopped
    Domino or release A's hold: the lock is a guard, taken before any watchdog or freeze."""
    fleet = solo_fleet_backup_task
    # B's view of the host from before A froze it (a registered domino_info): B's plan reaches the host, and only
    # the host lock, a guard of the plan, stands between B and A's frozen Domino.
    facts = fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Info
      quiesce.domino.domino_info:
""").result("Info", "dom01")
    fleet.fault("dom01", "hang_in_create", 6)
    first = fleet.start_playbook(LOCKED_SNAPSHOT.format(method=method, owner="controller-a:1", letter="S"))
    try:
        deadline = time.time() + 30
        while time.time() < deadline and not fleet.lock_dir("dom01").exists():
            time.sleep(0.1)
        frozen = (lambda d: d["state"] == "STOPPED") if method == "shutdown" else (lambda d: d["backup_mode"])
        while time.time() < deadline and not frozen(fleet.state("dom01")["dominos"][0]):
            time.sleep(0.1)
        assert frozen(fleet.state("dom01")["dominos"][0]), "run A never froze Domino"
        watchdog = [t for t in fleet.state("dom01")["tasks"].values() if t["name"].startswith("quiesce.domino\\watchdog")]
        assert len(watchdog) == 1
        second = fleet.playbook(LOCKED_SNAPSHOT.format(method=method, owner="controller-b:2", letter="T"),
                                extra_vars={"facts": facts})
        refused = second.result("Snapshot", "dom01")
        assert refused["failed"] and "another run holds the host lock (owner controller-a:1" in refused["msg"]
        # A still holds Domino, and its watchdog is the same task with the same deadline
        assert frozen(fleet.state("dom01")["dominos"][0]), "the refused run released run A's freeze"
        now = [t for t in fleet.state("dom01")["tasks"].values() if t["name"].startswith("quiesce.domino\\watchdog")]
        assert [(t["name"], t["start_boundary"]) for t in now] == [(t["name"], t["start_boundary"]) for t in watchdog]
        assert first.wait(timeout=120) == 0
    finally:
        if first.poll() is None:
            first.kill()
    dom = fleet.state("dom01")["dominos"][0]
    assert dom["state"] == "RUNNING" and not dom["backup_mode"]


def test_a_lock_without_a_readable_owner_is_judged_by_its_age(solo_fleet):
    """A run that took the lock has not written owner.json yet (or wrote half of it): another run does not take
    the lock too (before, it found no owner and became a second winner); once the lock is older than
    stale_seconds it is taken over."""
    lock = solo_fleet.lock_dir("dom01")
    lock.mkdir(parents=True)
    (lock / "owner.json").write_text('{"owner": "half-writ')  # cut off mid-write
    run = backup(solo_fleet)
    snap = run.result("Take the snapshot", "dom01")
    assert snap["failed"] is True, "a second run took a lock somebody holds"
    assert "owner unknown (no readable owner.json)" in snap["msg"] and "Domino was not touched" in snap["msg"]
    assert solo_fleet.state("dom01")["dominos"][0]["state"] == "RUNNING"
    old = time.time() - 3600
    os.utime(lock, (old, old))
    run = backup(solo_fleet, stale=60)
    assert run.rc == 0, run.stdout[-3000:]
    snap = run.result("Take the snapshot", "dom01")
    assert snap["lock"]["taken_over"] is True and snap["lock"]["previous_owner"].startswith("unknown")
    assert not lock.exists() and not list(lock.parent.glob("*.stale-*"))


def test_a_lock_stamped_in_the_future_is_taken_over(solo_fleet):
    """A lock whose time lies further ahead than stale_seconds (the host clock was set back, or the file was
    planted) would never become stale by age alone: it is taken over like an old one."""
    lock = solo_fleet.lock_dir("dom01")
    lock.mkdir(parents=True)
    (lock / "owner.json").write_text(json.dumps({"owner": "clock-skewed:1", "since_ms": int(time.time() * 1000) + 86400000}))
    run = backup(solo_fleet, stale=60)
    assert run.rc == 0, run.stdout[-3000:]
    snap = run.result("Take the snapshot", "dom01")
    assert snap["lock"]["taken_over"] is True and snap["lock"]["previous_owner"] == "clock-skewed:1"


def test_a_lock_folder_other_users_may_write_is_fixed_and_reported(solo_fleet):
    """A lock folder made by an older version inherits ProgramData's permissions, where local users may create
    folders (and so plant a lock that blocks every backup): its permissions are reset on the next run, with a
    warning, and not again after that."""
    path = solo_fleet.host_dir("dom01") / "sim.json"
    cfg = json.loads(path.read_text())
    cfg.setdefault("windows", {})["lock_root_acl"] = "inherited"
    path.write_text(json.dumps(cfg))
    solo_fleet.lock_dir("dom01").parent.mkdir(parents=True)
    run = backup(solo_fleet)
    assert run.rc == 0, run.stdout[-3000:]
    snap = run.result("Take the snapshot", "dom01")
    assert snap["lock"]["acl_fixed"] is True
    assert any("permissions were reset to SYSTEM and Administrators only" in w for w in snap["warnings"])
    again = backup(solo_fleet).result("Take the snapshot", "dom01")
    assert again["lock"]["acl_fixed"] is False and not any("permissions" in w for w in again.get("warnings", []))


def test_a_thaw_that_fails_gives_the_host_lock_back(tmp_path):
    """Domino is started after the snapshot but does not answer within start_timeout (a long fixup after the
    stop): the thaw in finally fails, no rescue runs; the host lock is given back all the same, so the next
    backup is not refused for lock_stale_seconds."""
    from conftest import Fleet, simfleet
    made = simfleet.create(tmp_path / "fleet", 1, "shutdown")
    cfg_path = tmp_path / "fleet" / "hosts" / "dom01" / "sim.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["dominos"][0]["ready_seconds"] = 25
    cfg_path.write_text(json.dumps(cfg))
    simfleet.up(tmp_path / "fleet", timeout=60)
    fleet = Fleet(tmp_path / "fleet", made)
    try:
        play = """
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Snapshot
      quiesce.domino.snapshot:
        method: shutdown
        lock: true
        shutdown_timeout: 10
        start_timeout: 10
      register: snap
      ignore_errors: true
"""
        first = fleet.playbook(play).result("Snapshot", "dom01")
        assert first["failed"] is True and "wait until the server answers" in first["msg"], first["msg"]
        assert not fleet.lock_dir("dom01").exists(), "the failed thaw kept the host lock"
        time.sleep(20)  # Domino answers now
        again = fleet.playbook(play).result("Snapshot", "dom01")
        assert "another run holds the host lock" not in again.get("msg", ""), again.get("msg")
    finally:
        simfleet.down(tmp_path / "fleet")


def test_a_freeze_refused_by_the_lock_touches_nothing_and_the_copy_renews_the_lock(solo_fleet):
    """backup_mode state=frozen with lock while another run holds it: refused, Domino running, no watchdog armed.
    snapshot_copy with release_lock renews the snapshot's lock for the copy's worst case; when another run took
    the lock over in between, nothing is copied."""
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Another run holds the lock
      quiesce.domino.host_lock:
        owner: other-controller:4242
    - name: Freeze under the lock
      quiesce.domino.backup_mode:
        state: frozen
        method: shutdown
        lock: true
      ignore_errors: true
    - name: Give the other run's lock back
      quiesce.domino.host_lock:
        owner: other-controller:4242
        state: absent
    - name: Snapshot under the lock
      quiesce.domino.snapshot:
        method: vss_writer
        expose_as: "S:"
        lock: true
        lock_owner: this-run:1
""")
    refused = run.result("Freeze under the lock", "dom01")
    assert refused["failed"] and refused["msg"].startswith("freeze refused: another run holds the host lock (owner other-controller:4242")
    state = solo_fleet.state("dom01")
    assert state["dominos"][0]["state"] == "RUNNING"
    assert not [t for t in state["tasks"].values() if t["name"].startswith("quiesce.domino\\watchdog")], "a watchdog was armed"
    lock_file = solo_fleet.lock_dir("dom01") / "owner.json"
    mine = json.loads(lock_file.read_text())
    assert mine["hold_seconds"] == 21600  # the snapshot holds it for lock_stale_seconds, until the copy renews it
    # Another run takes the lock over as stale before the copy starts: the copy is refused, nothing is copied.
    lock_file.write_text(json.dumps({"owner": "other-controller:4242", "since_ms": int(time.time() * 1000), "hold_seconds": 0}))
    copy = solo_fleet.playbook(COPY_WITH_LOCK)
    result = copy.result("Copy", "dom01")
    assert result["failed"] and "the host lock is not this run's any more" in result["msg"], result["msg"]
    assert "nothing was copied" in result["msg"]
    backups = Path(solo_fleet.host_dir("dom01")) / "volumes" / "E" / "Backups"
    assert not backups.exists() or not any(backups.rglob("*")), "a copy was started"
    assert json.loads(lock_file.read_text())["owner"] == "other-controller:4242"
    assert mine["owner"] == "this-run:1"
    # With its own lock, the copy renews it with the copy's worst case as the hold, then gives it back.
    lock_file.write_text(json.dumps({"owner": mine["owner"], "since_ms": int(time.time() * 1000), "hold_seconds": 60}))
    copy = solo_fleet.playbook(COPY_WITH_LOCK)
    assert copy.rc == 0, copy.stdout[-3000:]
    assert copy.result("Copy", "dom01")["verified"] is True, copy.result("Copy", "dom01")["msg"]
    assert not lock_file.exists()


COPY_WITH_LOCK = """
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Copy
      quiesce.domino.snapshot_copy:
        source: 'S:\\Domino\\data'
        destination: 'E:\\Backups'
        delete_exposed_shadow: "S:"
        release_lock: true
        lock_owner: this-run:1
      ignore_errors: true
"""


def test_the_holders_declared_hold_outlasts_a_shorter_stale_seconds_while_its_process_runs(solo_fleet):
    """A lock whose holder declared a hold longer than the other run's lock_stale_seconds (a copy's worst case) is
    not taken over as stale by that run while the process that took it runs; once that process has ended (the
    plan died with a lost connection), stale_seconds alone counts; a reused process ID is not taken for it."""
    import subprocess
    from quiesce_sim import tools as simtools
    lock = solo_fleet.lock_dir("dom01")
    lock.mkdir(parents=True)
    since = int(time.time() * 1000) - 600 * 1000
    alive = subprocess.Popen(["sleep", "120"])
    try:
        def plant(pid, started):
            (lock / "owner.json").write_text(json.dumps({"owner": "copying-run:1", "since_ms": since, "hold_seconds": 7200,
                                                         "holder_pid": pid, "holder_started": started}))
        take = """
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Take
      quiesce.domino.host_lock:
        owner: next-run:2
        stale_seconds: 300
      ignore_errors: true
"""
        plant(alive.pid, simtools._process_start(alive.pid))
        held = solo_fleet.playbook(take).result("Take", "dom01")
        assert held["failed"] and "copying-run:1" in held["msg"], held
        plant(alive.pid, simtools._process_start(alive.pid) - 1)  # the ID of another, later process
        taken = solo_fleet.playbook(take).result("Take", "dom01")
        assert not taken.get("failed") and taken["taken_over"] is True, taken
    finally:
        alive.kill()
        alive.wait()
    started = simtools._process_start(os.getpid())  # any start time: the process with alive.pid has ended
    lock.mkdir(parents=True, exist_ok=True)
    (lock / "owner.json").write_text(json.dumps({"owner": "copying-run:1", "since_ms": since, "hold_seconds": 7200,
                                                 "holder_pid": alive.pid, "holder_started": started}))
    gone = solo_fleet.playbook(take).result("Take", "dom01")
    assert not gone.get("failed") and gone["taken_over"] is True, gone


def test_a_failed_snapshot_keeps_the_lock_until_its_thaw_and_disarm_are_done(tmp_path):
    """Run A's shadow copy creation times out (a failed step: the executor runs the rescue, then the thaw in
    finally, then the watchdog's disarm).  Its Domino takes a while to answer after the start, and run B starts
    meanwhile.  The lock must still be A's: were it given back in the rescue, B would take it, stop the Domino
    A is starting, and A's disarm would delete B's watchdog.  Once A is done the lock is free."""
    from conftest import Fleet, simfleet
    made = simfleet.create(tmp_path / "fleet", 1, "shutdown")
    cfg_path = tmp_path / "fleet" / "hosts" / "dom01" / "sim.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["dominos"][0]["ready_seconds"] = 10
    cfg_path.write_text(json.dumps(cfg))
    simfleet.up(tmp_path / "fleet", timeout=60)
    fleet = Fleet(tmp_path / "fleet", made)
    play = LOCKED_SNAPSHOT.replace("create_timeout: 60", "create_timeout: 10").replace(
        "shutdown_timeout: 30", "shutdown_timeout: 30\n        start_timeout: 60")
    try:
        facts = fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Info
      quiesce.domino.domino_info:
""").result("Info", "dom01")
        fleet.fault("dom01", "hang_in_create", 30)
        first = fleet.start_playbook(play.format(method="shutdown", owner="controller-a:1", letter="S"))
        try:
            deadline = time.time() + 90
            seen_stopped = False
            while time.time() < deadline:
                state = fleet.state("dom01")["dominos"][0]["state"]
                seen_stopped = seen_stopped or state == "STOPPED"
                if seen_stopped and state != "STOPPED":
                    break  # A's create timed out and its thaw is starting Domino
                time.sleep(0.1)
            assert seen_stopped and fleet.state("dom01")["dominos"][0]["state"] != "STOPPED", "run A never thawed"
            assert first.poll() is None, "run A ended before its Domino answered"
            fleet.fault("dom01", "hang_in_create", None)
            second = fleet.playbook(play.format(method="shutdown", owner="controller-b:2", letter="T"),
                                    extra_vars={"facts": facts}).result("Snapshot", "dom01")
            assert second.get("failed") and "another run holds the host lock (owner controller-a:1" in second.get("msg", ""), \
                second.get("msg")
            assert first.wait(timeout=120) == 0
        finally:
            if first.poll() is None:
                first.kill()
        assert not fleet.lock_dir("dom01").exists(), "the failed snapshot kept the host lock"
        dom = fleet.state("dom01")["dominos"][0]
        assert dom["state"] == "RUNNING"
        assert not [t for t in fleet.state("dom01")["tasks"].values() if t["name"].startswith("quiesce.domino\\watchdog")]
    finally:
        simfleet.down(tmp_path / "fleet")


def test_a_copy_that_never_reaches_the_host_gives_back_the_lock_and_the_shadow_copy(solo_fleet):
    """The role's copy fails on the controller (an option out of range) after a good snapshot: its plan, whose
    finally would give back the shadow copies and the host lock, never ran.  The role's rescue gives them back, so
    the next backup is not refused for lock_stale_seconds."""
    run = solo_fleet.playbook("quiesce.domino.fleet_backup", extra_vars={
        "snapshot_backup_destination": "E:\\Backups", "snapshot_backup_shutdown_timeout": 30,
        "snapshot_backup_copy_threads": 999})
    failed = run.result("Fail the host with the reason", "dom01")
    assert failed.get("failed") and "threads" in failed["msg"], failed.get("msg")
    assert run.result("Take the snapshot", "dom01").get("failed") is not True
    assert not solo_fleet.lock_dir("dom01").exists(), "the host lock was left held"
    assert solo_fleet.state("dom01")["shadows"] == {}
    again = backup(solo_fleet)
    assert again.result("Copy and verify the frozen data", "dom01")["verified"] is True


def test_already_frozen_is_an_answer_only_for_the_run_that_holds_the_lock(solo_fleet):
    """backup_mode state=frozen with lock finds Domino frozen: it answers "already frozen" only to the owner of the
    host lock (its own freeze).  Another run's freeze, under the lock or made without it, is refused: the caller
    would back up under a freeze whose owner thaws it when it is done."""
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Run A freezes under the lock
      quiesce.domino.backup_mode:
        state: frozen
        method: shutdown
        lock: true
        lock_owner: run-a:1
    - name: Run B finds it frozen
      quiesce.domino.backup_mode:
        state: frozen
        method: shutdown
        lock: true
        lock_owner: run-b:2
      ignore_errors: true
    - name: Run A again
      quiesce.domino.backup_mode:
        state: frozen
        method: shutdown
        lock: true
        lock_owner: run-a:1
    - name: Run A thaws
      quiesce.domino.backup_mode:
        state: thawed
        lock: true
        lock_owner: run-a:1
    - name: Run C freezes without the lock
      quiesce.domino.backup_mode:
        state: frozen
        method: shutdown
    - name: Run D finds it frozen
      quiesce.domino.backup_mode:
        state: frozen
        method: shutdown
        lock: true
        lock_owner: run-d:4
      ignore_errors: true
    - name: Run C thaws
      quiesce.domino.backup_mode:
        state: thawed
""")
    b = run.result("Run B finds it frozen", "dom01")
    assert b.get("failed") and "another run holds the host lock (owner run-a:1" in b["msg"], b.get("msg")
    again = run.result("Run A again", "dom01")
    assert again.get("failed") is not True and again["msg"] == "already frozen by shutdown", again.get("msg")
    d = run.result("Run D finds it frozen", "dom01")
    assert d.get("failed") and "did not take the host lock, so not by this one" in d["msg"], d.get("msg")
    assert run.result("Run C thaws", "dom01")["changed"] is True
    assert not solo_fleet.lock_dir("dom01").exists(), "run D's check kept the host lock"
    assert solo_fleet.state("dom01")["dominos"][0]["state"] == "RUNNING"


def test_tasks_without_lock_are_refused_while_another_run_holds_it(solo_fleet):
    """The promise "a refused run touches nothing" holds without lock too: a snapshot, a thaw and a restore that
    do not take the lock still check it, and refuse while another run holds it; with the lock free (or their
    own) they run."""
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Run A freezes under the lock
      quiesce.domino.backup_mode:
        state: frozen
        method: shutdown
        lock: true
        lock_owner: run-a:1
    - name: Run B thaws without the lock
      quiesce.domino.backup_mode:
        state: thawed
        lock_owner: run-b:2
      ignore_errors: true
    - name: Run A thaws
      quiesce.domino.backup_mode:
        state: thawed
        lock: true
        lock_owner: run-a:1
    - name: Run A holds the lock for a copy
      quiesce.domino.host_lock:
        owner: run-a:1
    - name: Run B snapshots without the lock
      quiesce.domino.snapshot:
        method: none
        lock_owner: run-b:2
      ignore_errors: true
    - name: Run A snapshots without the lock it holds
      quiesce.domino.snapshot:
        method: none
        lock_owner: run-a:1
    - name: Run A still holds it
      ansible.builtin.command: cat {lock_file}
      delegate_to: localhost
      changed_when: false
      register: still
    - name: Run B freezes without the lock
      quiesce.domino.backup_mode:
        state: frozen
        method: shutdown
        lock_owner: run-b:2
      ignore_errors: true
    - name: Run A is done
      quiesce.domino.host_lock:
        owner: run-a:1
        state: absent
    - name: Run B snapshots without the lock again
      quiesce.domino.snapshot:
        method: none
        lock_owner: run-b:2
""".replace("{lock_file}", str(solo_fleet.lock_dir("dom01") / "owner.json")))
    thaw = run.result("Run B thaws without the lock", "dom01")
    assert thaw.get("failed") and thaw["msg"].startswith("thaw refused: another run holds the host lock (owner run-a:1"), \
        thaw.get("msg")
    snap = run.result("Run B snapshots without the lock", "dom01")
    assert snap.get("failed") and "snapshot refused: another run holds the host lock (owner run-a:1" in snap["msg"], \
        snap.get("msg")
    # a task without lock by the lock's own owner leaves the lock as it is (taken for it only, never given back)
    assert run.result("Run A snapshots without the lock it holds", "dom01").get("failed") is not True
    assert json.loads(run.result("Run A still holds it", "dom01")["stdout"])["owner"] == "run-a:1"
    freeze = run.result("Run B freezes without the lock", "dom01")
    assert freeze.get("failed") and freeze["msg"].startswith("freeze refused: another run holds the host lock (owner "
                                                             "run-a:1"), freeze.get("msg")
    assert run.result("Run A thaws", "dom01")["changed"] is True
    assert run.result("Run B snapshots without the lock again", "dom01").get("failed") is not True
    assert not solo_fleet.lock_dir("dom01").exists()
    state = solo_fleet.state("dom01")
    assert state["dominos"][0]["state"] == "RUNNING"
    assert len(state["shadows"]) == 2  # the refused snapshot made none; run A's and the last one did


def test_pruning_removes_nothing_while_another_run_holds_the_lock(solo_fleet):
    """A backup running now may be writing a .partial copy whose top folder's time does not move: state=pruned
    checks the host lock and removes nothing while another run holds it."""
    partial = Path(solo_fleet.host_dir("dom01")) / "volumes" / "E" / "Prune" / "dom01" / "20200101T000000Z.partial"
    partial.mkdir(parents=True)
    (partial / "names.nsf").write_text("being written")
    old = time.time() - 3 * 86400
    os.utime(partial, (old, old))  # the top folder's time does not move while robocopy writes deeper in the tree
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Another run holds the lock
      quiesce.domino.host_lock:
        owner: other-controller:4242
    - name: Prune
      quiesce.domino.snapshot_copy:
        state: pruned
        destination: 'E:\\Prune'
        older_than: 1d
      ignore_errors: true
    - name: The other run is done
      quiesce.domino.host_lock:
        owner: other-controller:4242
        state: absent
    - name: Prune again
      quiesce.domino.snapshot_copy:
        state: pruned
        destination: 'E:\\Prune'
        older_than: 1d
""")
    refused = run.result("Prune", "dom01")
    assert refused.get("failed") and refused["msg"].startswith("pruning refused: another run holds the host lock "
                                                               "(owner other-controller:4242"), refused.get("msg")
    assert run.result("Prune again", "dom01")["partials_removed"] == ["20200101T000000Z.partial"]
    assert not partial.exists()
