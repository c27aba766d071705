"""Two runs against one host: the second refuses clearly; a stale lock of a killed run is taken over."""
from __future__ import annotations

import json
import time


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
