"""snapshot_copy backend=restic on the twin with the real restic (Debian's /usr/bin/restic): backup of every
Domino place from the exposed shadow copy, verification against the host manifest and restic check, guarded
retention, faults (locked, wrong password, unreachable, disk full), and restore from a restic snapshot."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from quiesce_sim import domino
from quiesce_sim import fleet as simfleet

pytestmark = pytest.mark.skipif(shutil.which("restic") is None, reason="restic is not installed (make test installs it)")

PASSWORD = "correct horse battery staple"

SNAP_AND_BACKUP = """
- hosts: {host}
  gather_facts: false
  tasks:
    - name: Snapshot
      quiesce.domino.snapshot:
        method: {method}
        expose_as: "S:"
        shutdown_timeout: 30
        create_timeout: 60
      register: snap
    - name: Backup
      quiesce.domino.snapshot_copy:
        backend: restic
        locations: "{{{{ snap.copy_locations }}}}"
        destination: '{repo}'
        repository_password: "{{{{ restic_password }}}}"
        repository_init: true
        verify_read_fraction: 0.5
        tags: ["method:{method}"]
        delete_shadow_set: "{{{{ snap.shadow_set_id }}}}"
        deltas_from: "{{{{ snap.deltas_folder | default(None) or omit }}}}"
        {extra}
      ignore_errors: true
    - name: Remove what is left of the shadow copies
      quiesce.domino.diskshadow:
        state: absent
        volumes: ["D:", "N:"]
"""


def snap_and_backup(fleet, host, repo="E:\\restic", method="shutdown", extra="", password=PASSWORD):
    run = fleet.playbook(SNAP_AND_BACKUP.format(host=host, method=method, repo=repo, extra=extra),
                         extra_vars={"restic_password": password})
    assert not run.result("Snapshot", host).get("failed"), run.result("Snapshot", host).get("msg")
    return run, run.result("Backup", host)


def restic_json(fleet, host, repo_dir: Path, *args: str):
    proc = subprocess.run(["restic", "--repo", str(repo_dir), "--quiet"] + list(args) + ["--json"],
                          input=PASSWORD + "\n", capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(fleet.host_dir(host) / "run")})
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith(("{", "["))]


@pytest.fixture(scope="module")
def restic_fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("restic-fleet")
    made = simfleet.create(root, 2, "mixed", daos_dir="N:\\DAOS", db_kb=4096)
    simfleet.up(root)
    from conftest import Fleet
    yield Fleet(root, made)
    simfleet.down(root)


def test_backup_is_verified_deduplicated_and_never_shows_the_password(restic_fleet):
    fleet = restic_fleet
    run, first = snap_and_backup(fleet, "dom01")
    assert first.get("failed") is not True, first.get("msg")
    assert first["verified"] is True and first["backend"] == "restic"
    assert len(first["snapshot_id"]) == 64 and first["data_added"] > 0
    assert first["manifest_files"] > 5 and first["files"] >= first["manifest_files"]
    assert first["read_data_subset"] == "50%"
    _run2, second = snap_and_backup(fleet, "dom01")
    assert second["verified"] is True and second["snapshot_id"] != first["snapshot_id"]
    # the second backup adds less than it read: unchanged chunks are deduplicated (the simulated Domino keeps
    # writing to its databases, so how much changed varies; benchmarks/copy_backends.py measures it)
    assert second["data_added"] < second["bytes"], (second["data_added"], second["bytes"])
    repo = fleet.host_dir("dom01") / "volumes" / "E" / "restic"
    snaps = restic_json(fleet, "dom01", repo, "snapshots")[0]
    assert {s["id"] for s in snaps} == {first["snapshot_id"], second["snapshot_id"]}
    for snap in snaps:
        assert snap["hostname"] == "dom01"
        assert "quiesce.domino" in snap["tags"] and "method:shutdown" in snap["tags"]
        assert "quiesce.domino:verified" in snap["tags"]  # added only after the comparison and restic check passed
        assert any(tag.startswith("run:") for tag in snap["tags"])
        assert any(tag.startswith("version:") for tag in snap["tags"])
    # every Domino place is in the snapshot: data, transaction log, DAOS, notes.ini
    paths = {n["path"].lower() for n in restic_json(fleet, "dom01", repo, "ls", second["snapshot_id"])[1:]}
    assert any(p.endswith("/names.nsf") for p in paths)
    assert any(p.endswith("/notes.ini") for p in paths)
    assert any("/translog" in p for p in paths), sorted(paths)[:20]
    # the password reached restic on standard input only: not in the output, the results or the arguments
    assert PASSWORD not in run.stdout
    assert not any(PASSWORD in " ".join(map(str, s.get("argv", []))) for s in second.get("plan", {}).get("steps", []))


def test_check_mode_shows_the_plan_without_the_password(restic_fleet):
    run = restic_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Backup
      quiesce.domino.snapshot_copy:
        backend: restic
        source: 'S:\\Domino\\data'
        destination: 'E:\\restic'
        repository_password: "{{ restic_password }}"
        keep_daily: 7
      check_mode: true
""", extra_vars={"restic_password": PASSWORD})
    res = run.result("Backup", "dom01")
    assert res.get("failed") is not True, res.get("msg")
    assert PASSWORD not in json.dumps(res) and PASSWORD not in run.stdout
    stdins = [s.get("stdin") for s in res["plan"]["steps"] if s["argv"][0].lower().endswith("restic.exe")]
    assert stdins and set(stdins) == {"********"}
    assert any("--keep-daily" in s["argv"] for s in res["plan"]["steps"])


def test_retention_is_guarded_by_minimum_age_and_this_runs_snapshot(restic_fleet):
    fleet = restic_fleet
    repo = "E:\\restic-retention"
    ids = [snap_and_backup(fleet, "dom01", repo=repo)[1]["snapshot_id"] for _run in range(2)]
    # keep one daily snapshot: the older ones of today are candidates, but younger than a day
    _run, guarded = snap_and_backup(fleet, "dom01", repo=repo, extra="keep_daily: 1")
    assert guarded["verified"] is True and guarded["forgotten"] == []
    assert {k["id"] for k in guarded["kept_by_guard"]} == set(ids)
    assert {k["reason"] for k in guarded["kept_by_guard"]} == {"younger than the minimum age"}
    # without the minimum age, restic's rule applies, and never to the snapshot just made
    _run, pruned = snap_and_backup(fleet, "dom01", repo=repo, extra="keep_daily: 1\n        forget_min_age: 0")
    assert pruned["verified"] is True
    assert set(pruned["forgotten"]) == set(ids + [guarded["snapshot_id"]])
    left = restic_json(fleet, "dom01", fleet.host_dir("dom01") / "volumes" / "E" / "restic-retention", "snapshots")[0]
    assert [s["id"] for s in left] == [pruned["snapshot_id"]]


@pytest.mark.parametrize("fault", ["locked", "wrong_password", "unreachable", "disk_full"])
def test_faults_fail_with_the_reason_and_release_the_shadow_copy(restic_fleet, fault):
    fleet = restic_fleet
    repo = "E:\\restic-%s" % fault
    password = PASSWORD
    _run, ready = snap_and_backup(fleet, "dom01", repo=repo)
    assert ready["verified"] is True, ready.get("msg")
    if fault == "locked":
        fleet.fault("dom01", "fail", {"restic": "locked"})
    elif fault == "disk_full":
        fleet.fault("dom01", "fail", {"restic": "disk_full"})
    elif fault == "unreachable":
        repo = "\\\\backupsrv\\domino\\restic"
        fleet.fault("dom01", "share_access", "unreachable")
    else:
        password = "not the password"
    try:
        _run, res = snap_and_backup(fleet, "dom01", repo=repo, password=password)
    finally:
        fleet.fault("dom01", "fail", None)
        fleet.fault("dom01", "share_access", None)
    words = {"locked": "locked by another restic process", "wrong_password": "wrong repository password",
             "unreachable": "unreachable or not initialized", "disk_full": "disk is full"}[fault]
    assert res.get("failed") is True and res["verified"] is False
    assert words in res["msg"], res["msg"]
    assert PASSWORD not in res["msg"]
    # the shadow copies were deleted all the same (the plan's finally)
    assert fleet.state("dom01")["shadows"] == {}


def test_a_snapshot_that_lacks_a_file_is_not_verified_and_is_forgotten(restic_fleet):
    """The comparison runs on the host (the source listing and restic ls never come back whole): a snapshot without
    a database the listing names fails, names the file, is forgotten, and the listing file is removed."""
    fleet = restic_fleet
    repo = "E:\\restic-drops"
    _run, ready = snap_and_backup(fleet, "dom02", repo=repo)
    assert ready["verified"] is True, ready.get("msg")
    fleet.fault("dom02", "fail", {"restic": "drops_file"})
    try:
        _run, res = snap_and_backup(fleet, "dom02", repo=repo)
    finally:
        fleet.fault("dom02", "fail", None)
    assert res.get("failed") is True and res["verified"] is False
    assert "failed at 'verify'" in res["msg"] and "missing in the snapshot: data\\names.nsf" in res["msg"], res["msg"]
    assert "was forgotten" in res["msg"], res["msg"]
    snaps = restic_json(fleet, "dom02", fleet.host_dir("dom02") / "volumes" / "E" / "restic-drops", "snapshots")[0]
    assert [s["id"] for s in snaps] == [ready["snapshot_id"]]
    assert "quiesce.domino:verified" in snaps[0]["tags"]
    listings = fleet.host_dir("dom02") / "volumes" / "C" / "ProgramData" / "quiesce.domino" / "restic" / "dom02"
    assert not list(listings.glob("manifest-*.tsv")), sorted(listings.iterdir())
    assert fleet.state("dom02")["shadows"] == {}


RESTORE = """
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Stop Domino for the restore
      quiesce.domino.backup_mode:
        state: frozen
        method: shutdown
        watchdog_seconds: 7200
      when: {stop}
    # the restore's worst case (each step at its timeout) ends before the watchdog starts Domino again
    - name: Restore
      quiesce.domino.restore:
        timeout: 300
        restic_snapshot: '{snapshot}'
        repository: 'E:\\restic-restore'
        repository_password: "{{{{ restic_password }}}}"
        copy: '{copy}'
        {extra}
      register: restored
      ignore_errors: true
    - name: Start Domino again
      quiesce.domino.backup_mode:
        state: thawed
      when: {stop}
"""


def test_restore_one_database_and_the_whole_server_from_a_restic_snapshot(tmp_path):
    from conftest import make_fleet
    fleet = make_fleet(tmp_path / "fleet", 1, "vss", translog_dir="L:\\translog", daos_dir="N:\\DAOS", db_kb=256)
    try:
        _run, made = snap_and_backup(fleet, "dom01", repo="E:\\restic-restore", method="vss_writer")
        assert made["verified"] is True, made.get("msg")
        host = fleet.host_dir("dom01") / "volumes"
        names = host / "D" / "Domino" / "data" / "names.nsf"
        nlo = sorted((host / "N" / "DAOS").rglob("*.nlo"))[0]

        # one database into a restore folder, by the newest snapshot of this host
        run = fleet.playbook(RESTORE.format(stop="false", snapshot="latest", copy="E:\\staging1",
                                            extra="databases: [names.nsf]\n        restore_to: 'E:\\restored'"),
                             extra_vars={"restic_password": PASSWORD})
        res = run.result("Restore", "dom01")
        assert res.get("failed") is not True, res.get("msg")
        assert res["restic_snapshot"] == made["snapshot_id"]
        assert (host / "E" / "restored" / "names.nsf").is_file()
        assert not (host / "E" / "restored" / "log.nsf").exists(), "more than the one database was restored"
        assert (host / "E" / "staging1" / "data" / "names.nsf").is_file()
        assert not (host / "E" / "staging1" / ".restic").exists()
        assert PASSWORD not in run.stdout

        # the whole server in place: every place from the snapshot, DAOS and the transaction log too
        nlo.unlink()
        names.write_bytes(b"damaged")
        run = fleet.playbook(RESTORE.format(stop="true", snapshot=made["snapshot_id"][:8], copy="E:\\staging2", extra=""),
                             extra_vars={"restic_password": PASSWORD})
        res = run.result("Restore", "dom01")
        assert res.get("failed") is not True, res.get("msg")
        assert set(res["locations_restored"]) >= {"data", "daos"}, res["locations_restored"]
        assert nlo.is_file(), "the DAOS object was not put back"
        assert names.read_bytes() != b"damaged"
        verdict = domino.restore_check(host / "E" / "staging2", tmp_path / "check")
        assert verdict["consistent"], domino.verdict_text(verdict)

        # an existing folder is never used as the staging folder
        run = fleet.playbook(RESTORE.format(stop="false", snapshot="latest", copy="E:\\staging2", extra=""),
                             extra_vars={"restic_password": PASSWORD})
        assert "already exists" in run.result("Restore", "dom01")["msg"]
    finally:
        simfleet.down(tmp_path / "fleet")


def test_a_backup_task_database_comes_back_from_restic_with_its_delta(tmp_path):
    """backup_task into restic: the snapshot holds the databases in backup mode and this backup's .DELTA files in a
    place of their own; restoring one database (named in another case: Windows paths) brings its .DELTA beside
    it, as a copy of the robocopy backend has it."""
    from conftest import make_fleet
    fleet = make_fleet(tmp_path / "fleet", 1, "backup_task", db_kb=256)
    try:
        _run, made = snap_and_backup(fleet, "dom01", repo="E:\\restic-restore", method="backup_task")
        assert made["verified"] is True, made.get("msg")
        volumes = fleet.host_dir("dom01") / "volumes"
        kept = sorted((volumes / "D" / "Domino" / "data" / "quiesce_domino" / "deltas").rglob("*.DELTA"))
        assert kept, "the hook kept no .DELTA (the twin writes during the hold)"
        folder = next(p for p in kept[0].parents if p.parent.name == "deltas")
        delta_rel = kept[0].relative_to(folder)
        database = str(delta_rel)[:-len(".DELTA")].replace("/", "\\")
        run = fleet.playbook(RESTORE.format(stop="false", snapshot="latest", copy="E:\\staging-bt",
                                            extra="databases: ['%s']\n        restore_to: 'E:\\restored-bt'" % database.upper()),
                             extra_vars={"restic_password": PASSWORD})
        res = run.result("Restore", "dom01")
        assert res.get("failed") is not True, res.get("msg")
        restored = volumes / "E" / "restored-bt"
        found = {str(p.relative_to(restored)).lower() for p in restored.rglob("*") if p.is_file()}
        assert str(delta_rel).lower() in found and str(delta_rel)[:-len(".DELTA")].lower() in found, sorted(found)
    finally:
        simfleet.down(tmp_path / "fleet")
