"""The whole server in one backup: a twin host whose transaction log and DAOS store are on volumes of their
own (L: and N:).  One shadow copy set covers all three volumes, the copy holds every place under one backup
folder (data\\, translog\\, daos\\ and quiesce_domino.json), the twin's restore check passes on it, and a
restore in place puts every place back."""
from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from quiesce_sim import domino

BACKUP = """
- hosts: dom01
  gather_facts: false
  roles:
    - role: quiesce.domino.snapshot_backup
      vars:
        snapshot_backup_method: {method}
        snapshot_backup_destination: 'E:\\Backups'
        snapshot_backup_copy_retries: 0
        snapshot_backup_copy_wait: 0
"""

RESTORE = """
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Stop Domino for the restore
      quiesce.domino.backup_mode:
        state: frozen
        method: shutdown
        watchdog_seconds: 7200
    - name: Restore the whole server from the copy
      quiesce.domino.restore:
        copy: '{copy}'
        timeout: 300
        other_locations: {others}
      register: restored
      ignore_errors: true
    - name: Start Domino again
      quiesce.domino.backup_mode:
        state: thawed
    - name: Show the restore
      ansible.builtin.debug:
        var: restored
"""


def _win(fleet, path: str) -> Path:
    return Path(fleet.host_dir("dom01")) / "volumes" / path[0] / path[3:].replace("\\", "/")


def _copy(fleet) -> Path:
    base = _win(fleet, "E:\\Backups\\dom01")
    [stamp] = [p for p in base.iterdir() if p.is_dir()]
    return stamp


@pytest.mark.parametrize("method, profile", [("vss_writer", "vss"), ("backup_task", "backup_task")])
def test_translog_and_daos_on_their_own_volumes_are_in_one_copy_that_restores_consistent(tmp_path, method, profile):
    from conftest import make_fleet, simfleet
    fleet = make_fleet(tmp_path / "fleet", 1, profile, translog_dir="L:\\translog", daos_dir="N:\\DAOS")
    try:
        run = fleet.playbook(BACKUP.format(method=method))
        assert run.rc == 0, run.stdout[-4000:]
        state = fleet.state("dom01")
        assert state["shadows"] == {}, "a shadow copy was left behind"
        copy = _copy(fleet)
        layout = json.loads((copy / "quiesce_domino.json").read_text())
        places = {p["name"]: p for p in layout["locations"]}
        assert places["data"]["path"] == "D:\\Domino\\data"
        assert places["translog"]["path"] == "L:\\translog" and places["daos"]["path"] == "N:\\DAOS"
        assert any((copy / "translog").iterdir()), "the transaction log is not in the copy"
        assert list((copy / "daos").rglob("*.nlo")), "the DAOS store is not in the copy"
        assert (copy / "data" / "names.nsf").is_file()
        manifest = json.loads((copy.parent / (copy.name + ".manifest.json")).read_text())
        listed = {r["path"].split("\\")[0] for r in manifest}
        assert {"data", "translog", "daos"} <= listed
        verdict = domino.restore_check(copy, tmp_path / "restore-check")
        assert verdict["consistent"], domino.verdict_text(verdict)
        assert verdict["nlo_referenced"] > 0 and verdict["nlo_missing"] == []
        assert verdict["log_present"] is True and verdict["log_missing_commits"] == 0

        # the same copy without its DAOS folder is not a backup of the server: the twin's check says so
        bare = tmp_path / "bare"
        shutil.copytree(copy, bare)
        shutil.rmtree(bare / "daos")
        broken = domino.restore_check(bare, tmp_path / "restore-bare")
        assert not broken["consistent"] and broken["nlo_missing"]
    finally:
        simfleet.down(tmp_path / "fleet")


def test_restore_in_place_puts_every_place_back_and_refuses_a_foreign_layout(tmp_path):
    from conftest import make_fleet, simfleet
    fleet = make_fleet(tmp_path / "fleet", 1, "vss", translog_dir="L:\\translog", daos_dir="N:\\DAOS")
    try:
        run = fleet.playbook(BACKUP.format(method="vss_writer"))
        assert run.rc == 0, run.stdout[-4000:]
        copy = _copy(fleet)
        win_copy = "E:\\Backups\\dom01\\" + copy.name
        nlo = sorted((copy / "daos").rglob("*.nlo"))[0]
        live_nlo = _win(fleet, "N:\\DAOS") / nlo.relative_to(copy / "daos")
        live_log = _win(fleet, "L:\\translog")

        # a copy whose layout sends the transaction log somewhere the server does not keep it is refused
        layout_file = copy / "quiesce_domino.json"
        good = layout_file.read_text()
        forged = json.loads(good)
        next(p for p in forged["locations"] if p["name"] == "translog")["path"] = "C:\\Windows\\System32"
        layout_file.write_text(json.dumps(forged))
        run = fleet.playbook(RESTORE.format(copy=win_copy, others="true"))
        assert run.rc == 0, run.stdout[-4000:]
        assert "does not keep its translog there now" in run.stdout
        assert not list(_win(fleet, "C:\\Windows\\System32").glob("S*.TXN"))
        layout_file.write_text(good)

        # a copy with a data folder but without its layout is not restored one level too deep
        layout_file.unlink()
        run = fleet.playbook(RESTORE.format(copy=win_copy, others="true"))
        assert "has a data folder but no readable quiesce_domino.json" in run.stdout, run.stdout[-3000:]
        assert not _win(fleet, "D:\\Domino\\data\\data").exists()
        # nor is another host's copy, unless asked
        other = json.loads(good)
        other["host"] = "dom99"
        layout_file.write_text(json.dumps(other))
        run = fleet.playbook(RESTORE.format(copy=win_copy, others="true"))
        assert "is a copy of dom99, not of dom01" in run.stdout, run.stdout[-3000:]
        layout_file.write_text(good)

        # lose an attachment object and the log, then restore the whole server in place
        live_nlo.unlink()
        shutil.rmtree(live_log)
        run = fleet.playbook(RESTORE.format(copy=win_copy, others="true"))
        assert run.rc == 0, run.stdout[-4000:]
        assert re.search(r'"locations_restored": \[\s*"data",\s*"translog",\s*"daos"\s*\]', run.stdout), run.stdout[-3000:]
        assert live_nlo.is_file(), "the DAOS object was not put back"
        assert sorted(p.name for p in live_log.iterdir()) == sorted(p.name for p in (copy / "translog").iterdir())
        dom = fleet.state("dom01")["dominos"][0]
        assert dom["state"] == "RUNNING"
    finally:
        simfleet.down(tmp_path / "fleet")


BAD_UPGRADE = """
- name: The upgrade damages a database
  ansible.builtin.lineinfile:
    path: "{{ quiesce_sim_host_dir }}/volumes/D/Domino/data/names.nsf"
    line: "CORRUPTED BY THE UPGRADE"
- name: The upgrade loses the DAOS store's first folder
  ansible.builtin.file:
    path: "{{ quiesce_sim_host_dir }}/volumes/N/DAOS/0001"
    state: absent
- name: The upgrade leaves a log extent newer than the databases
  ansible.builtin.copy:
    dest: "{{ quiesce_sim_host_dir }}/volumes/L/translog/S9999999.TXN"
    content: "TXN 999999 3/3 names.nsf\\n"
    mode: "0644"
- name: The upgrade fails
  ansible.builtin.fail:
    msg: installer returned 1603
"""


def test_a_failed_upgrade_rolls_back_every_place_from_the_restore_point(tmp_path):
    from conftest import make_fleet, simfleet
    fleet = make_fleet(tmp_path / "fleet", 1, "vss", translog_dir="L:\\translog", daos_dir="N:\\DAOS")
    tasks = tmp_path / "bad.yml"
    tasks.write_text(BAD_UPGRADE)
    try:
        run = fleet.playbook("quiesce.domino.pre_upgrade", extra_vars={
            "quiesce_upgrade_tasks": str(tasks), "preupgrade_snapshot_name": "before-fp5",
            "preupgrade_snapshot_method": "vss_writer"})
        assert run.rc == 2, run.stdout[-3000:]
        point = run.result("Record the restore point on the host", "dom01")["quiesce_restore_point"]
        assert [p["kind"] for p in point["places"]] == ["data", "translog", "daos"]
        restored = run.result("Restore", "dom01")
        assert restored["locations_restored"] == ["data", "translog", "daos"], restored
        assert "CORRUPTED BY THE UPGRADE" not in _win(fleet, "D:\\Domino\\data\\names.nsf").read_text()
        assert list(_win(fleet, "N:\\DAOS").rglob("*.nlo")), "the DAOS store was not put back"
        assert not _win(fleet, "L:\\translog\\S9999999.TXN").exists(), "a log extent newer than the databases stayed"
        # nothing was deleted: the log as the upgrade left it is set aside beside it
        [aside] = [p for p in _win(fleet, "L:\\").iterdir() if p.name.startswith("translog.before-restore-")]
        assert (aside / "S9999999.TXN").is_file() and restored["translog"]["action"] == "replace"
        state = fleet.state("dom01")
        assert state["dominos"][0]["state"] == "RUNNING"
        # the restore point keeps the shadow copy of every volume, none exposed any more
        assert sorted(s["volume"] for s in state["shadows"].values()) == ["D", "L", "N"]
        assert all(s["exposed_as"] is None for s in state["shadows"].values())
        # the cleanup keeps every shadow copy a restore point needs, not only the data volume's
        time.sleep(1.1)
        run = fleet.playbook("quiesce.domino.cleanup", extra_vars={"snapshot_cleanup_shadow_max_age": "1s"})
        assert run.rc == 0, run.stdout[-3000:]
        assert len(fleet.state("dom01")["shadows"]) == 3
        # removing the restore point removes every shadow copy of its set
        run = fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Remove the restore point
      quiesce.domino.restore_point:
        name: before-fp5
        state: absent
""")
        assert run.rc == 0, run.stdout[-3000:]
        assert len(run.result("Remove the restore point", "dom01")["deleted"]["shadow_ids"]) == 3
        assert fleet.state("dom01")["shadows"] == {}
    finally:
        simfleet.down(tmp_path / "fleet")


def test_an_archive_style_log_is_never_lost_by_a_whole_restore(tmp_path):
    """Archive-style logging keeps extents for media recovery: a whole restore in place is refused unless asked,
    and when asked the current log (inside the data directory here, where the data directory's own restore
    would otherwise overwrite it) is set aside whole, never overwritten or deleted."""
    from conftest import make_fleet, simfleet
    fleet = make_fleet(tmp_path / "fleet", 1, "vss", translog_dir="D:\\Domino\\data\\logdir")
    ini = _win(fleet, "D:\\Domino\\data\\notes.ini")
    ini.write_bytes(ini.read_bytes().replace(b"TRANSLOG_Style=0", b"TRANSLOG_Style=1"))
    try:
        run = fleet.playbook(BACKUP.format(method="vss_writer"))
        assert run.rc == 0, run.stdout[-4000:]
        copy = _copy(fleet)
        log = _win(fleet, "D:\\Domino\\data\\logdir")
        assert (copy / "data" / "logdir" / "S0000001.TXN").is_file()  # the copy holds an older state of this extent
        (log / "S0000042.TXN").write_text("an extent not archived yet\n")
        win_copy = "E:\\Backups\\dom01\\" + copy.name
        run = fleet.playbook(RESTORE.format(copy=win_copy, others="true"))
        assert "archive-style transaction logging" in run.stdout and "nothing was touched" in run.stdout, run.stdout[-3000:]
        assert (log / "S0000042.TXN").read_text() == "an extent not archived yet\n"
        run = fleet.playbook(RESTORE.format(copy=win_copy, others="true").replace(
            "        other_locations: true", "        other_locations: true\n        allow_archive_log: true"))
        assert run.rc == 0, run.stdout[-4000:]
        [aside] = [p for p in _win(fleet, "D:\\Domino").iterdir() if p.name.startswith("data-logdir.before-restore-")]
        assert (aside / "S0000042.TXN").read_text() == "an extent not archived yet\n", "the unarchived extent was lost"
        assert not (log / "S0000042.TXN").exists(), "a log extent newer than the databases stayed beside them"
        assert "archive the set-aside extents" in run.stdout
        # a restore that fails after setting the log aside puts it back: Domino never starts without its log
        before = sorted((log).iterdir())
        fleet.fault("dom01", "fail", {"robocopy": "rc8"})
        time.sleep(1.1)  # a new UTC second: a new set-aside name
        run = fleet.playbook(RESTORE.format(copy=win_copy, others="true").replace(
            "        other_locations: true", "        other_locations: true\n        allow_archive_log: true"))
        assert "the transaction log that had been set aside was put back" in run.stdout, run.stdout[-3000:]
        assert sorted(log.iterdir()) == before
        assert len([p for p in _win(fleet, "D:\\Domino").iterdir() if ".before-restore-" in p.name]) == 1
    finally:
        simfleet.down(tmp_path / "fleet")
