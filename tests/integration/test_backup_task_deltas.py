"""method backup_task as HCL documents Domino Backup in snapshot mode: the writers go on during the hold,
the snapshot alone is not consistent, and the copy is consistent after restore only with the .DELTA files
Domino wrote when it left backup mode (kept by the collection's Backup snapshot command)."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from quiesce_sim import domino

BACKUP = """
- hosts: dom01
  gather_facts: false
  roles:
    - role: quiesce.domino.snapshot_backup
      vars:
        snapshot_backup_method: backup_task
        snapshot_backup_destination: '\\\\backupsrv\\domino'
        snapshot_backup_copy_retries: 0
        snapshot_backup_copy_wait: 0
        snapshot_backup_delta_timeout: {delta_timeout}
"""


def _copy(fleet) -> Path:
    share = fleet.root / "shares" / "backupsrv" / "domino" / "dom01"
    [stamp] = [p for p in share.iterdir() if p.is_dir()]
    return stamp


def _committed_during_hold(fleet) -> int:
    """Transactions the twin's Domino committed while its databases were in backup mode (hostd's own log)."""
    log = (Path(fleet.host_dir("dom01")) / "run" / "hostd.log").read_text()
    start = log.index("databases in backup mode")
    end = log.index("databases released from backup mode", start)
    held = log[start:end]
    return len(held.splitlines())


def _live(fleet, data_dir: str) -> Path:
    return Path(fleet.host_dir("dom01")) / "volumes" / data_dir[0] / data_dir[3:].replace("\\", "/")


def _configure(fleet, root, **backup_config):
    from conftest import simfleet
    cfg_file = Path(fleet.host_dir("dom01")) / "sim.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["dominos"][0]["backup_config"].update(backup_config)
    cfg_file.write_text(json.dumps(cfg))
    simfleet.down(root)
    simfleet.up(root)


@pytest.mark.parametrize("order, data_dir", [
    ("deltas_after", "D:\\Domino\\data"),       # HCL's Veeam concept: deltas after the Backup snapshot command
    ("deltas_first", "D:\\Lotus Domino\\data"),  # the admin help's order, and a data directory with a space
])
def test_backup_task_copy_is_consistent_only_with_its_deltas(tmp_path, order, data_dir):
    from conftest import make_fleet, simfleet
    fleet = make_fleet(tmp_path / "fleet", 1, "backup_task", data_dirs=(data_dir,))
    _configure(fleet, tmp_path / "fleet", order=order)
    try:
        run = fleet.playbook(BACKUP.format(delta_timeout=60))
        assert run.rc == 0, run.stdout[-4000:]
        snap = run.result("Take the snapshot", "dom01")
        copied = run.result("Copy and verify the frozen data", "dom01")
        assert snap["method"] == "backup_task" and snap["left_backup_mode"] is True
        assert copied["verified"] is True and copied["deltas"], copied
        copy = _copy(fleet)
        data_copy = copy / "data"  # the data directory's folder in the copy (docs/restore.md, the layout)
        # the tag written before the snapshot, keyed on Domino Backup's start time, is in the copy
        assert (data_copy / ("dominobackup_%s.tag" % snap["backup_start"])).read_text() == snap["backup_start"]
        # every delta sits beside its database and is listed in the copy's manifest
        manifest = json.loads((copy.parent / (copy.name + ".manifest.json")).read_text())
        listed = {r["path"] for r in manifest}
        for rel in copied["deltas"]:
            assert (data_copy / rel).is_file() and "data\\" + rel in listed
            assert (data_copy / rel[: -len(".DELTA")]).is_file()
        assert not (data_copy / "quiesce_domino").exists()  # the hook's own records stay on the host
        # the writers went on committing while Domino held the databases in backup mode
        state = fleet.state("dom01")["dominos"][0]
        assert state["backup_mode"] is False and state["state"] == "RUNNING"
        # Domino's restore of the copy (deltas applied, recovery) is consistent and carries the changes
        # made after the snapshot; without the deltas (what the collection copied before) it is not.
        good = domino.restore_check(copy, tmp_path / "restore-good")
        assert good["consistent"], good
        assert sorted(good["deltas_applied"]) == sorted(r[: -len(".DELTA")] for r in copied["deltas"])
        bare = tmp_path / "bare"
        shutil.copytree(copy, bare)
        for rel in copied["deltas"]:
            (bare / "data" / rel).unlink()
        old = domino.restore_check(bare, tmp_path / "restore-old")
        assert not old["consistent"] and old["needs_change_info"], old
        assert good["last_transaction"] > old["last_transaction"]
        # the hook's kept deltas of earlier backups do not pile up in the data directory
        kept = _live(fleet, data_dir) / "quiesce_domino" / "deltas"
        assert [p.name for p in kept.iterdir()] == [snap["backup_start"]]
        assert re.fullmatch(r"\d{14}", snap["backup_start"])
    finally:
        simfleet.down(tmp_path / "fleet")


def test_writers_commit_throughout_the_hold(tmp_path):
    from conftest import make_fleet, simfleet
    fleet = make_fleet(tmp_path / "fleet", 1, "backup_task")
    try:
        run = fleet.playbook(BACKUP.format(delta_timeout=60))
        assert run.rc == 0, run.stdout[-4000:]
        data = Path(fleet.host_dir("dom01")) / "volumes" / "D" / "Domino" / "data"
        log = (Path(fleet.host_dir("dom01")) / "run" / "hostd.log").read_text()
        entered = re.search(r"databases in backup mode \((B\d+)\)", log)
        assert entered
        snap = run.result("Take the snapshot", "dom01")
        # transactions committed between the hook's hold and the end of backup mode exist in the live data
        # and in the copy (through the deltas), not in the bare shadow image
        copy = _copy(fleet)
        restored = domino.restore_check(copy, tmp_path / "r")
        assert restored["consistent"]
        assert domino.last_transaction(data) >= restored["last_transaction"] > 0
        assert snap["frozen_ms"] > 0
    finally:
        simfleet.down(tmp_path / "fleet")


def test_deltas_that_never_arrive_fail_the_backup(tmp_path):
    """Domino Backup without the Backup DB command (the Post-Backup command configured): the hold works, the
    deltas Domino wrote are never kept, so the post phase refuses to record the backup as complete, the copy is
    reported failed (never verified) and no copy is left marked complete."""
    from conftest import make_fleet, simfleet
    fleet = make_fleet(tmp_path / "fleet", 1, "backup_task")
    _configure(fleet, tmp_path / "fleet", backup_db_command=None)
    try:
        run = fleet.playbook(BACKUP.format(delta_timeout=10))
        assert run.rc == 2
        failed = run.result("Fail the host with the reason", "dom01")
        assert "did not keep the .DELTA files of this backup within 10 s" in failed["msg"], failed["msg"]
        copied = run.result("Copy and verify the frozen data", "dom01")
        assert copied["verified"] is False
        share = fleet.root / "shares" / "backupsrv" / "domino" / "dom01"
        assert not share.exists() or not [p for p in share.iterdir() if p.is_dir()]
        state = fleet.state("dom01")
        assert state["dominos"][0]["backup_mode"] is False and state["shadows"] == {}
        log = (Path(fleet.host_dir("dom01")) / "run" / "hostd.log").read_text()
        assert "QUIESCE_SNAPSHOT_ERROR" in log and "were not kept" in log
    finally:
        simfleet.down(tmp_path / "fleet")


RESTORE = """
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Restore one database into the restore folder
      quiesce.domino.restore:
        copy: '{copy}'
        databases: ['{db}']
        restore_to: 'D:\\Domino\\data\\restore'
    - name: Restore in place while Domino runs
      quiesce.domino.restore:
        copy: '{copy}'
      ignore_errors: true
    - name: Stop Domino
      quiesce.domino.backup_mode:
        state: frozen
        method: shutdown
        shutdown_timeout: 30
        watchdog_seconds: 7200
    # the restore's worst case (every step at its timeout) must end before the watchdog starts Domino again
    - name: Restore the whole data directory in place, not asked to
      quiesce.domino.restore:
        copy: '{copy}'
        timeout: 300
      ignore_errors: true
    - name: Restore the whole data directory in place
      quiesce.domino.restore:
        copy: '{copy}'
        allow_unapplied_deltas: true
        timeout: 300
      register: whole
    - name: Start Domino
      quiesce.domino.backup_mode:
        state: thawed
"""


def test_restore_from_a_backup_task_copy_places_each_delta_beside_its_database(tmp_path):
    from conftest import make_fleet, simfleet
    fleet = make_fleet(tmp_path / "fleet", 1, "backup_task")
    try:
        # a database nobody writes to: it changes nothing in backup mode and gets no delta
        domino.create_db(Path(fleet.host_dir("dom01")) / "volumes" / "D" / "Domino" / "data" / "archive.nsf", ["PAD\n"])
        run = fleet.playbook(BACKUP.format(delta_timeout=60))
        assert run.rc == 0, run.stdout[-4000:]
        copied = run.result("Copy and verify the frozen data", "dom01")
        copy_win = "\\\\backupsrv\\domino\\dom01\\" + _copy(fleet).name
        copy = _copy(fleet) / "data"  # the data directory's folder in the copy
        delta = copied["deltas"][0]
        db = delta[: -len(".DELTA")]
        data = Path(fleet.host_dir("dom01")) / "volumes" / "D" / "Domino" / "data"
        stale = data / "restore" / delta
        stale.parent.mkdir(parents=True)
        stale.write_bytes(b"DELTA backup=B1 base=64\n")  # an earlier restore's leftover must not be applied
        run = fleet.playbook(RESTORE.format(copy=copy_win, db=db))
        assert run.rc == 0, run.stdout[-4000:]
        one = run.result("Restore one database into the restore folder", "dom01")
        assert one["in_place"] is False and one["deltas_restored"] == [delta.rsplit("\\", 1)[-1]], one
        assert sorted(p.name for p in (data / "restore").iterdir()) == sorted([db, delta])
        assert (data / "restore" / delta).read_bytes() == (copy / delta).read_bytes()
        # Domino's restore of the restored database: the delta applies and recovery leaves it consistent
        verdict = domino.recover(data / "restore")
        assert verdict["deltas_applied"] == [db] and not verdict["needs_change_info"] and not verdict["deltas_refused"]
        # a database the copy has no delta for: a leftover .DELTA beside it in the target is removed
        plain = "archive.nsf"
        assert not (copy / (plain + ".DELTA")).exists()
        (data / "restore" / (plain + ".DELTA")).write_bytes(b"DELTA backup=B1 base=64\n")
        again = fleet.playbook(RESTORE.split("    - name: Restore in place while", maxsplit=1)[0].format(copy=copy_win, db=plain))
        assert again.rc == 0 and not (data / "restore" / (plain + ".DELTA")).exists()
        assert again.result("Restore one database into the restore folder", "dom01")["deltas_restored"] == []
        # a database the copy does not hold (robocopy would copy nothing and exit 0): refused, nothing restored
        absent = fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Restore a database the copy does not hold
      quiesce.domino.restore:
        copy: '%s'
        databases: ['ARCHIVE.NSF', 'mail\\nothere.nsf']
        restore_to: 'D:\\Domino\\data\\restore2'
      ignore_errors: true
""" % copy_win).result("Restore a database the copy does not hold", "dom01")
        assert absent.get("failed") and "refused: not in the copy" in absent["msg"], absent.get("msg")
        assert "nothere.nsf" in absent["msg"] and "ARCHIVE.NSF" not in absent["msg"], absent["msg"]
        assert not (data / "restore2").exists()
        refused = run.result("Restore in place while Domino runs", "dom01")
        assert refused["failed"] and "stop Domino first" in refused["msg"]
        unasked = run.result("Restore the whole data directory in place, not asked to", "dom01")
        assert unasked["failed"] and "the copy holds .DELTA files" in unasked["msg"] and unasked["files_restored"] == 0
        whole = run.result("Restore the whole data directory in place", "dom01")
        assert "NOT consistent until their change info is applied" in " ".join(whole["warnings"])
        assert whole["in_place"] is True and sorted(whole["deltas_restored"]) == sorted(
            d.rsplit("\\", 1)[-1] for d in copied["deltas"])
        for rel in copied["deltas"]:
            assert (data / rel).read_bytes() == (copy / rel).read_bytes()
        state = fleet.state("dom01")["dominos"][0]
        assert state["state"] == "RUNNING" and state["answers"]
    finally:
        simfleet.down(tmp_path / "fleet")


def test_a_backup_task_snapshot_is_not_copied_without_its_deltas(solo_fleet_backup_task):
    """The old behaviour, refused: copying the shadow copy of a backup_task snapshot without deltas_from."""
    fleet = solo_fleet_backup_task
    run = fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Snapshot
      quiesce.domino.snapshot:
        method: backup_task
        expose_as: "S:"
    - name: Copy without the deltas
      quiesce.domino.snapshot_copy:
        source: 'S:\\Domino\\data'
        destination: 'E:\\Backups'
        delete_exposed_shadow: "S:"
      ignore_errors: true
""")
    copied = run.result("Copy without the deltas", "dom01")
    assert copied["failed"] and copied["verified"] is False
    assert "taken while Domino Backup held the databases in backup mode" in copied["msg"] and "deltas_from" in copied["msg"]
    backups = Path(fleet.host_dir("dom01")) / "volumes" / "E" / "Backups"
    assert not backups.exists() or not any(p.is_dir() for p in (backups / "dom01").glob("*"))


def test_a_shadow_copy_created_after_the_hook_let_go_is_discarded(solo_fleet_backup_task):
    """A release this run did not make (a stray release file, another run's) lets the hook go while diskshadow is
    still before its creation: the shadow copy is then of databases out of backup mode.  Its creation time, read
    back from Win32_ShadowCopy, lies after the hook's done.json: the snapshot fails and the set is deleted."""
    import threading
    import time
    fleet = solo_fleet_backup_task
    hold = Path(fleet.host_dir("dom01")) / "volumes" / "D" / "Domino" / "data" / "quiesce_domino" / "hold"
    fleet.fault("dom01", "hang_in_create", 6)
    done: dict = {}
    play = threading.Thread(target=lambda: done.update(run=fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Snapshot
      quiesce.domino.snapshot:
        method: backup_task
        expose_as: "S:"
      ignore_errors: true
""")))
    play.start()
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (hold / "held.json").exists():
            time.sleep(0.05)
        assert (hold / "held.json").exists(), "the hook never held the databases"
        (hold / "release").write_text("")  # a release this run did not make
    finally:
        play.join(timeout=200)
        fleet.fault("dom01", "hang_in_create", None)
    snap = done["run"].result("Snapshot", "dom01")
    assert snap.get("failed") and "after the backup_task hook had let the databases go" in snap["msg"], (snap.get("msg"), snap.get("transcript"))
    assert snap["failed_step"] == "create shadow copy"
    assert "was deleted" in snap["msg"]
    assert fleet.state("dom01")["shadows"] == {}


def test_a_hold_released_before_the_create_stops_diskshadow(solo_fleet_backup_task):
    """A release file appears right after the snapshot asked the hook to hold (another run's watchdog, a stray
    file): the hook holds and lets go at once. wait.cmd finds the hold already released and fails, so diskshadow
    stops before its create: no shadow copy of databases out of backup mode is ever made."""
    fleet = solo_fleet_backup_task
    fleet.fault("dom01", "stray_release", True)
    try:
        snap = fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Snapshot
      quiesce.domino.snapshot:
        method: backup_task
        expose_as: "S:"
      ignore_errors: true
""").result("Snapshot", "dom01")
    finally:
        fleet.fault("dom01", "stray_release", None)
    assert snap.get("failed"), snap.get("msg")
    assert "released before the shadow copy was made" in (snap.get("transcript") or "") + snap["msg"], \
        (snap["msg"], snap.get("transcript"))
    assert fleet.state("dom01")["shadows"] == {}
    dom = fleet.state("dom01")["dominos"][0]
    assert dom["state"] == "RUNNING" and not dom["backup_mode"]
