"""playbooks/pre_upgrade.yml: a restore point, the admin's upgrade, then commit or a rollback that brings the data back."""
from __future__ import annotations

from pathlib import Path

BAD_UPGRADE = """
- name: The upgrade damages a database and adds one
  ansible.builtin.lineinfile:
    path: "{{ quiesce_sim_host_dir }}/volumes/D/Domino/data/names.nsf"
    line: "CORRUPTED BY THE UPGRADE"
- name: The upgrade leaves a new file behind
  ansible.builtin.copy:
    dest: "{{ quiesce_sim_host_dir }}/volumes/D/Domino/data/upgrade-leftover.nsf"
    content: "new\\n"
    mode: "0644"
- name: The upgrade fails
  ansible.builtin.fail:
    msg: installer returned 1603
"""
GOOD_UPGRADE = """
- name: The upgrade does its work
  ansible.builtin.copy:
    dest: "{{ quiesce_sim_host_dir }}/volumes/C/upgrade-done.txt"
    content: "FP5\\n"
    mode: "0644"
"""


def test_failed_upgrade_is_rolled_back(solo_fleet, tmp_path):
    tasks = tmp_path / "bad.yml"
    tasks.write_text(BAD_UPGRADE)
    data = Path(solo_fleet.host_dir("dom01")) / "volumes" / "D" / "Domino" / "data"
    run = solo_fleet.playbook("quiesce.domino.pre_upgrade", extra_vars={"quiesce_upgrade_tasks": str(tasks),
                                                                        "preupgrade_snapshot_name": "before-fp5"})
    assert run.rc == 2
    restored = run.result("Restore", "dom01")
    assert restored["changed"] is True and restored["files_removed"] >= 1 and restored["files_restored"] >= 1, restored.get("msg")
    assert "CORRUPTED BY THE UPGRADE" not in (data / "names.nsf").read_text()
    assert not (data / "upgrade-leftover.nsf").exists()
    state = solo_fleet.state("dom01")
    dom = state["dominos"][0]
    assert dom["state"] == "RUNNING" and dom["answers"] and not dom["backup_mode"]
    assert not [t for t in state["tasks"].values() if not t.get("fired")], "watchdog left armed"
    # The restore point stays for the admin to look at; its shadow copy is no longer exposed.
    [shadow] = state["shadows"].values()
    assert shadow["exposed_as"] is None
    points = run.result("Record the restore point on the host", "dom01")["quiesce_restore_point"]
    assert points["shadow_id"] == shadow["id"].lower() and points["name"] == "before-fp5"
    assert points["places"][0]["kind"] == "data" and points["shadow_ids"] == [shadow["id"].lower()]
    assert "rolled back" in run.result("Report the rollback", "dom01")["msg"]


def test_good_upgrade_commits(solo_fleet, tmp_path):
    tasks = tmp_path / "good.yml"
    tasks.write_text(GOOD_UPGRADE)
    run = solo_fleet.playbook("quiesce.domino.pre_upgrade", extra_vars={
        "quiesce_upgrade_tasks": str(tasks), "preupgrade_snapshot_copy_destination": "\\\\backupsrv\\domino"})
    assert run.rc == 0, run.stdout[-3000:]
    assert run.result("Remove the restore point and its shadow copy", "dom01")["changed"] is True
    state = solo_fleet.state("dom01")
    assert state["shadows"] == {}
    assert not [k for k in state["registry"] if "RESTOREPOINTS" in k]
    copies = solo_fleet.root / "shares" / "backupsrv" / "domino" / "dom01-before-upgrade"
    assert [p for p in copies.iterdir() if p.is_dir()], "the restore point was not copied off the host"


def test_rollback_refuses_a_restore_that_could_outlast_the_watchdog(solo_fleet, tmp_path):
    """The watchdog would start Domino while robocopy /MIR still writes the data directory.  The restore counts
    every place of the restore point (here the data directory and the transaction log: two exposures, copies and
    verifications), finds that its worst case does not end before the watchdog's deadline and refuses before it
    touches anything; the role's always: starts Domino again.  The old check (watchdog > 2 * timeout + 600,
    one place) accepted these values."""
    tasks = tmp_path / "bad.yml"
    tasks.write_text(BAD_UPGRADE)
    data = Path(solo_fleet.host_dir("dom01")) / "volumes" / "D" / "Domino" / "data"
    timeout, watchdog = 3000, 7200
    assert watchdog > 2 * timeout + 600  # what the role's assert let through
    run = solo_fleet.playbook("quiesce.domino.pre_upgrade", extra_vars={
        "quiesce_upgrade_tasks": str(tasks), "preupgrade_snapshot_rollback_timeout": timeout,
        "preupgrade_snapshot_rollback_watchdog_seconds": watchdog})
    assert run.rc == 2
    stopped = run.result("Stop Domino for the rollback", "dom01")
    assert stopped["changed"] is True and stopped["method"] == "shutdown"
    restored = run.result("Restore", "dom01")
    msg = restored["msg"]
    assert restored["failed"] is True and msg.startswith("timeout: not restored, nothing was touched"), msg
    assert "'restore the data directory' timeout 3000" in msg and "'restore translog' timeout 3000" in msg, msg
    assert "starts Domino at %s" % stopped["watchdog"]["deadline_utc"] in msg, msg
    assert "steps" not in restored  # no plan was sent
    # nothing restored: the upgrade's damage is still there
    assert "CORRUPTED BY THE UPGRADE" in (data / "names.nsf").read_text()
    assert (data / "upgrade-leftover.nsf").exists()
    # the always: block started Domino again and removed the watchdog
    assert run.result("Start Domino and wait until it answers", "dom01")["changed"] is True
    state = solo_fleet.state("dom01")
    dom = state["dominos"][0]
    assert dom["state"] == "RUNNING" and dom["answers"]
    assert not [t for t in state["tasks"].values() if not t.get("fired")], "watchdog left armed"
    [shadow] = state["shadows"].values()
    assert shadow["exposed_as"] is None  # the restore point was never exposed


def test_the_rollback_holds_the_host_lock_and_a_refused_restore_touches_nothing(solo_fleet, tmp_path):
    """The rollback freezes, restores and thaws under the host lock (the lock is free again afterwards); a restore
    with lock while another run holds the lock is refused before anything is touched, and a thaw with lock never
    starts a Domino that another run stopped."""
    tasks = tmp_path / "bad.yml"
    tasks.write_text(BAD_UPGRADE)
    run = solo_fleet.playbook("quiesce.domino.pre_upgrade", extra_vars={"quiesce_upgrade_tasks": str(tasks),
                                                                        "preupgrade_snapshot_name": "before-fp5"})
    assert run.rc == 2
    assert run.result("Stop Domino for the rollback", "dom01")["changed"] is True
    assert run.result("Restore", "dom01")["changed"] is True
    assert not solo_fleet.lock_dir("dom01").exists(), "the rollback left the host lock behind"
    data = Path(solo_fleet.host_dir("dom01")) / "volumes" / "D" / "Domino" / "data"
    (data / "names.nsf").write_text("CHANGED AFTER THE ROLLBACK\n")
    other = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Another run stops Domino under the lock
      quiesce.domino.backup_mode:
        state: frozen
        method: shutdown
        watchdog_seconds: 7200
        lock: true
        lock_owner: other-run:7
    - name: Restore while the other run holds the lock
      quiesce.domino.restore:
        restore_point: before-fp5
        timeout: 60
        lock: true
      ignore_errors: true
    - name: Thaw while the other run holds the lock
      quiesce.domino.backup_mode:
        state: thawed
        lock: true
      ignore_errors: true
""")
    refused = other.result("Restore while the other run holds the lock", "dom01")
    assert refused["failed"] and refused["msg"].startswith("restore refused: another run holds the host lock (owner other-run:7")
    assert "CHANGED AFTER THE ROLLBACK" in (data / "names.nsf").read_text(), "the refused restore restored"
    thaw = other.result("Thaw while the other run holds the lock", "dom01")
    assert thaw["failed"] and thaw["msg"].startswith("thaw refused: another run holds the host lock (owner other-run:7")
    assert solo_fleet.state("dom01")["dominos"][0]["state"] == "STOPPED", "the refused thaw started the other run's Domino"
    back = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: The other run thaws
      quiesce.domino.backup_mode:
        state: thawed
        lock: true
        lock_owner: other-run:7
""")
    assert back.rc == 0, back.stdout[-3000:]
    assert solo_fleet.state("dom01")["dominos"][0]["state"] == "RUNNING"
    assert not solo_fleet.lock_dir("dom01").exists(), "a successful thaw gives the lock back"


def test_a_restore_point_is_never_taken_in_backup_mode(solo_fleet, tmp_path):
    """A backup_task shadow copy is consistent only with the .DELTA files written after the hold, and the rollback
    restores the data directory from the shadow copy alone: the role refuses the method before touching the host."""
    tasks = tmp_path / "good.yml"
    tasks.write_text(GOOD_UPGRADE)
    run = solo_fleet.playbook("quiesce.domino.pre_upgrade", extra_vars={
        "quiesce_upgrade_tasks": str(tasks), "preupgrade_snapshot_method": "backup_task"})
    assert run.rc != 0
    assert "preupgrade_snapshot_method" in run.stdout and "backup_task" in run.stdout, run.stdout[-2000:]
    assert "auto, vss_writer, shutdown, none" in run.stdout, run.stdout[-2000:]
    state = solo_fleet.state("dom01")
    assert state["shadows"] == {} and state["dominos"][0]["state"] == "RUNNING"
