"""snapshot_copy: verified copies from an exposed shadow, mirror deltas, and faults that never mark a copy complete."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from quiesce_sim import domino

SNAP_AND_COPY = """
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
    - name: Copy
      quiesce.domino.snapshot_copy:
        locations: "{{{{ snap.copy_locations }}}}"
        destination: '{dest}'
        mode: {mode}
        keep: {keep}
        sha256: true
        retries: 0
        wait: 0
        deltas_from: "{{{{ snap.deltas_folder | default(None) or omit }}}}"
      ignore_errors: true
    - name: Unexpose and delete the shadow copy
      quiesce.domino.diskshadow:
        state: absent
        shadow_id: "{{{{ snapshot_id }}}}"
      vars:
        snapshot_id: "{{{{ hostvars[inventory_hostname]['_snap'] | default('') }}}}"
      when: false
"""


def snap_and_copy(fleet, host, dest, mode="versioned", method="shutdown", keep=7):
    run = fleet.playbook(SNAP_AND_COPY.format(host=host, method=method, dest=dest, mode=mode, keep=keep))
    assert not run.result("Snapshot", host).get("failed"), run.result("Snapshot", host).get("msg")
    remove_shadows(fleet, host)  # free the drive letter for the next run
    return run.result("Copy", host)


def remove_shadows(fleet, host):
    fleet.playbook("""
- hosts: %s
  gather_facts: false
  tasks:
    - name: Remove shadows
      quiesce.domino.diskshadow:
        state: absent
        volumes: ["D:"]
""" % host)


def host_copies(fleet, host, base="volumes/E/Backups"):
    root = Path(fleet.host_dir(host)) / base / host
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_versioned_copy_is_verified_untorn_and_retained(fleet):
    results = [snap_and_copy(fleet, "dom02", "E:\\Backups", method="backup_task", keep=2) for _run in range(3)]
    for res in results:
        assert res.get("failed") is not True, res.get("msg")
        assert res["verified"] is True and res["robocopy_rc"] in (1, 3)
        # the data files robocopy copied from the shadow, and the kept .DELTA files beside them in the manifest
        assert res["files"] == res["files_copied"] > 0 and res["manifest_files"] == res["files"] + len(res["deltas"])
        assert res["deltas"]
        assert res["bytes_copied"] == res["bytes"] > 0 and res["throughput_bytes_per_second"] > 0
    names = host_copies(fleet, "dom02")
    stamps = [n for n in names if n[:8].isdigit() and "." not in n]
    assert len(stamps) == 2, names  # keep=2
    assert results[2]["removed_by_retention"]
    assert not any(n.endswith(".partial") for n in names)
    latest = Path(fleet.host_dir("dom02")) / "volumes" / "E" / "Backups" / "dom02" / stamps[-1]
    assert domino.restore_check(latest, latest.parent.parent / "restore-check")["consistent"]
    manifest = json.loads((latest.parent / (stamps[-1] + ".manifest.json")).read_text())
    assert {"path", "size", "mtime", "sha256"} <= set(manifest[0])
    assert (latest.parent / (stamps[-1] + ".robocopy.log")).read_bytes()[:2] == b"\xff\xfe"


def test_second_mirror_run_moves_only_changed_files(fleet):
    first = snap_and_copy(fleet, "dom03", "\\\\backupsrv\\domino", mode="mirror")
    assert first.get("failed") is not True, first.get("msg")
    assert first["verified"] is True and first["files_copied"] == first["files"]
    second = snap_and_copy(fleet, "dom03", "\\\\backupsrv\\domino", mode="mirror")
    assert second["verified"] is True
    # Domino wrote into some databases meanwhile; only those moved.
    assert 0 < second["files_copied"] < second["files"]
    share = fleet.root / "shares" / "backupsrv" / "domino" / "dom03"
    assert (share / "current").is_dir() and not (share / "current.INCOMPLETE").exists()
    assert domino.torn_transactions(share / "current") == []


@pytest.mark.parametrize("fault, dest, words", [
    ({"fail": {"robocopy": "rc8"}}, "E:\\Backups", "robocopy rc 9: some files or directories could not be copied"),
    ({"fail": {"robocopy": "share_unreachable"}}, "\\\\backupsrv\\domino", "robocopy rc 16: serious error"),
    ({"disk": 0.2}, "E:\\Backups", "destination has"),
])
def test_faults_never_leave_a_copy_marked_complete(solo_fleet, fault, dest, words):
    if "disk" in fault:
        cfg_path = solo_fleet.host_dir("dom01") / "sim.json"
        cfg = json.loads(cfg_path.read_text())
        cfg["volumes"]["E"]["size_mb"] = fault["disk"]
        cfg_path.write_text(json.dumps(cfg))
    else:
        for name, value in fault.items():
            solo_fleet.fault("dom01", name, value)
    res = snap_and_copy(solo_fleet, "dom01", dest, method="vss_writer")
    assert res["failed"] is True and res["verified"] is False
    assert words in res["msg"], res["msg"]
    assert "not marked complete" in res["msg"]
    base = "volumes/E/Backups" if dest.startswith("E:") else "../../shares/backupsrv/domino"
    leftovers = host_copies(solo_fleet, "dom01", base)
    assert not [n for n in leftovers if n[:8].isdigit() and "." not in n], leftovers


def test_progress_and_bad_input(fleet):
    run = fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Progress
      quiesce.domino.snapshot_copy:
        source: 'S:\\Domino\\data'
        destination: 'E:\\Backups'
        state: progress
    - name: Bad destination
      quiesce.domino.snapshot_copy:
        source: 'S:\\Domino\\data'
        destination: 'E:\\Backups\\..\\Windows'
      ignore_errors: true
    - name: Bad share
      quiesce.domino.snapshot_copy:
        source: 'S:\\Domino\\data'
        destination: '\\\\?\\C:\\x'
      ignore_errors: true
""", check=False)
    assert run.result("Progress", "dom01")["bytes_so_far"] == 0
    assert "'.' and '..' are not allowed" in run.result("Bad destination", "dom01")["msg"]
    assert "no device paths" in run.result("Bad share", "dom01")["msg"]


def test_async_copy_and_progress(solo_fleet):
    solo_fleet.fault("dom01", "hang", {"robocopy": 3})  # a long copy
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Snapshot
      quiesce.domino.snapshot:
        method: vss_writer
        expose_as: "S:"
    - name: Copy in the background
      quiesce.domino.snapshot_copy:
        source: 'S:\\Domino\\data'
        destination: 'E:\\Backups'
        delete_exposed_shadow: "S:"
        timeout: 60
      async: 3600
      poll: 0
      register: job
    - name: Progress while it runs
      quiesce.domino.snapshot_copy:
        destination: 'E:\\Backups'
        state: progress
      register: progress
      until: progress.copies | length > 0
      retries: 20
      delay: 0.2
    - name: Wait for the copy
      ansible.builtin.async_status:
        jid: "{{ job.ansible_job_id }}"
      register: done
      until: done.finished
      retries: 60
      delay: 1
""")
    assert run.rc == 0, run.stdout[-3000:]
    progress = run.result("Progress while it runs", "dom01")
    assert [c["name"] for c in progress["copies"]][0].endswith(".partial")
    done = run.result("Wait for the copy", "dom01")
    assert done["ok"] is True and done["failed_step"] is None
    names = [r["name"] for r in done["steps"]]
    assert names[:4] == ["check free space", "the snapshot was not taken in backup mode", "copy", "verify"]
    assert "finalize" in names
    copies = [p for p in (solo_fleet.host_dir("dom01") / "volumes" / "E" / "Backups" / "dom01").iterdir() if p.is_dir()]
    assert len(copies) == 1 and not copies[0].name.endswith(".partial")
    assert solo_fleet.state("dom01")["shadows"] == {}


ASYNC_REPORT = """
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Snapshot
      quiesce.domino.snapshot:
        method: vss_writer
        expose_as: "S:"
    - name: Copy as a job
      quiesce.domino.snapshot_copy:
        source: 'S:\\Domino\\data'
        destination: 'E:\\Backups'
        delete_exposed_shadow: "S:"
        retries: 0
        wait: 0
        timeout: 60
      async: 3600
      poll: {poll}
      register: job
      ignore_errors: true
    - name: Wait for the job
      ansible.builtin.async_status:
        jid: "{{{{ job.ansible_job_id }}}}"
      register: done
      until: done.finished
      retries: 60
      delay: 1
      failed_when: false
      when: {poll} == 0
    - name: Report
      quiesce.domino.snapshot_copy:
        state: report
        job: "{{{{ done if {poll} == 0 else job }}}}"
      register: report
      ignore_errors: true
    - name: Report before the job has finished
      quiesce.domino.snapshot_copy:
        state: report
        job: {{ansible_job_id: "j1.2", started: 1, finished: 0}}
      ignore_errors: true
    - name: Report of something else
      quiesce.domino.snapshot_copy:
        state: report
        job: {{changed: true, rc: 0}}
      ignore_errors: true
"""


@pytest.mark.parametrize("poll", [0, 1])
def test_an_async_copy_is_judged_by_state_report_as_a_copy_without_async(solo_fleet, poll):
    """An async job's result is the executor's (Ansible replaces the task's result with the job's); state=report
    turns it into the module's own verdict (verified, counts, the release of the shadow copy), from the context
    the plan carried, whether the job was polled by Ansible (poll > 0) or by async_status (poll: 0)."""
    run = solo_fleet.playbook(ASYNC_REPORT.format(poll=poll))
    report = run.result("Report", "dom01")
    assert not report.get("failed"), report.get("msg")
    assert report["verified"] is True and report["changed"] is False
    assert report["files"] > 0 and report["manifest_files"] > 0 and report["shadow_deleted"] is True
    assert report["destination"].startswith("E:\\Backups\\dom01\\") and report["job_id"]
    early = run.result("Report before the job has finished", "dom01")
    assert early["failed"] and "async job j1.2 has not finished" in early["msg"], early
    other = run.result("Report of something else", "dom01")
    assert other["failed"] and "has no copy context" in other["msg"], other


def test_a_failed_async_copy_is_reported_failed_and_not_verified(solo_fleet):
    """robocopy fails inside the job: the job's result is failed (the executor's own failure), and state=report
    fails with the same reason as a copy without async, never verified."""
    solo_fleet.fault("dom01", "fail", {"robocopy": "rc8"})
    run = solo_fleet.playbook(ASYNC_REPORT.format(poll=0))
    done = run.result("Wait for the job", "dom01")
    assert done["finished"] and done["ok"] is False and done["failed_step"]["name"] == "copy", done
    report = run.result("Report", "dom01")
    assert report["failed"] is True and report["verified"] is False
    assert report["msg"].startswith("copy failed at 'copy': robocopy rc 9"), report["msg"]


def test_async_is_refused_where_ansible_would_end_the_job_mid_copy(solo_fleet):
    """Ansible ends an async job at its limit, without the plan's finally: a limit shorter than the copy's worst
    case is refused before anything is sent (the shadow copy stays exposed, no copy is started), and so is async
    for the one-call states."""
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Snapshot
      quiesce.domino.snapshot:
        method: vss_writer
        expose_as: "S:"
    - name: Copy with a short async limit
      quiesce.domino.snapshot_copy:
        source: 'S:\\Domino\\data'
        destination: 'E:\\Backups'
        delete_exposed_shadow: "S:"
      async: 120
      poll: 0
      ignore_errors: true
    - name: Progress as a job
      quiesce.domino.snapshot_copy:
        destination: 'E:\\Backups'
        state: progress
      async: 60
      poll: 0
      ignore_errors: true
""")
    short = run.result("Copy with a short async limit", "dom01")
    assert short["failed"] is True and short["msg"].startswith("async: 120 s is shorter than the copy's worst case"), short
    assert "timeout 21600" in short["msg"] and "lower timeout (each robocopy step's limit, now 21600)" in short["msg"], short["msg"]
    assert "ansible_job_id" not in short
    progress = run.result("Progress as a job", "dom01")
    assert progress["failed"] is True and progress["msg"].startswith("async: only state=present"), progress
    state = solo_fleet.state("dom01")
    assert [str(s["exposed_as"])[:2] for s in state["shadows"].values()] == ["S:"]  # nothing released it
    backups = Path(solo_fleet.host_dir("dom01")) / "volumes" / "E" / "Backups"
    assert not backups.exists() or not any(backups.rglob("*")), "a copy was started"


def test_a_cleanup_that_fails_after_the_copy_was_verified_keeps_the_copy_good(solo_fleet):
    """The shadow copy's release in finally fails (diskshadow's delete) after the copy was verified and finalised:
    the copy is a good backup, reported as verified with a warning, not as "not marked complete"."""
    snap = solo_fleet.playbook(SNAP_AND_COPY.format(host="dom01", method="none", dest="E:\\\\Backups", mode="versioned",
                                                    keep=7).split("    - name: Copy", maxsplit=1)[0])
    assert not snap.result("Snapshot", "dom01").get("failed")
    solo_fleet.fault("dom01", "fail", {"diskshadow": "delete_failure"})
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Snapshot facts
      quiesce.domino.shadow_info:
      register: shadows
    - name: Copy
      quiesce.domino.snapshot_copy:
        source: 'S:\\Domino\\data'
        destination: 'E:\\Backups'
        retries: 0
        wait: 0
        delete_exposed_shadow: ["S:"]
""")
    solo_fleet.fault("dom01", "fail", None)
    copied = run.result("Copy", "dom01")
    assert not copied.get("failed"), copied.get("msg")
    assert copied["verified"] is True
    assert any("complete and verified, but the cleanup after it failed" in w for w in copied["warnings"]), copied["warnings"]
    assert [n for n in host_copies(solo_fleet, "dom01") if not n.endswith((".json", ".log", ".tsv"))][0].endswith("Z")


def test_a_nested_system_volume_information_folder_is_skipped_by_the_copy_and_its_listing_alike(solo_fleet):
    """robocopy's /XD with a bare name skips System Volume Information and $RECYCLE.BIN at any depth; the listing
    skips them at any depth too, so a data directory holding one in a subfolder (a volume mounted there once) is
    copied and verified instead of failing every night as "missing in the copy"."""
    data = Path(solo_fleet.host_dir("dom01")) / "volumes" / "D" / "Domino" / "data"
    nested = data / "archive" / "System Volume Information"
    nested.mkdir(parents=True)
    (nested / "tracking.log").write_text("volume metadata")
    (data / "archive" / "$RECYCLE.BIN").mkdir()
    (data / "archive" / "$RECYCLE.BIN" / "desktop.ini").write_text("x")
    (data / "archive" / "old.nsf").write_text("kept")
    try:
        res = snap_and_copy(solo_fleet, "dom01", "E:\\Nested")
        assert res.get("failed") is not True and res["verified"] is True, res.get("msg")
        base = Path(solo_fleet.host_dir("dom01")) / "volumes" / "E" / "Nested" / "dom01"
        [copy] = [p / "data" / "archive" for p in base.iterdir() if p.is_dir()]
        assert (copy / "old.nsf").exists()
        assert not (copy / "System Volume Information").exists() and not (copy / "$RECYCLE.BIN").exists()
    finally:
        shutil.rmtree(data / "archive")


FILES_FROM_TWO_FOLDERS = """
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Snapshot
      quiesce.domino.snapshot:
        method: shutdown
        expose_as: "S:"
        shutdown_timeout: 30
      register: snap
    - name: Copy
      quiesce.domino.snapshot_copy:
        backend: {backend}
        locations:
          - {{name: data, kind: data, source: 'S:\\Domino\\data', path: 'D:\\Domino\\data'}}
          - {{name: files, kind: notes_ini, source: 'S:\\Domino\\program\\notes.ini', path: 'D:\\Domino\\program\\notes.ini', file: true}}
          - {{name: files, kind: server_id, source: 'S:\\IDs\\domino01.id', path: 'D:\\IDs\\domino01.id', file: true}}
        destination: '{dest}'
        repository_password: "{{{{ 'pw' if '{backend}' == 'restic' else omit }}}}"
        repository_init: "{{{{ '{backend}' == 'restic' }}}}"
        delete_shadow_set: "{{{{ snap.shadow_set_id }}}}"
      ignore_errors: true
"""


def files_from_two_folders(fleet, backend, dest):
    """notes.ini in one folder and the server ID in another (both single-file places named files), the ID's name
    sorting before notes.ini: each file's listing row maps back to its own folder, in listing order."""
    volume = Path(fleet.host_dir("dom01")) / "volumes" / "D"
    (volume / "Domino" / "program").mkdir(parents=True, exist_ok=True)
    (volume / "Domino" / "program" / "notes.ini").write_text("[Notes]\r\nDirectory=D:\\Domino\\data\r\n")
    (volume / "IDs").mkdir(exist_ok=True)
    (volume / "IDs" / "domino01.id").write_bytes(b"\x00server id\x01")
    try:
        return fleet.playbook(FILES_FROM_TWO_FOLDERS.format(backend=backend, dest=dest)).result("Copy", "dom01")
    finally:
        shutil.rmtree(volume / "Domino" / "program")
        shutil.rmtree(volume / "IDs")


@pytest.mark.parametrize("backend", ["robocopy", "restic"])
def test_single_files_of_two_folders_are_copied_and_verified(solo_fleet, backend):
    if backend == "restic" and shutil.which("restic") is None:
        pytest.skip("restic is not installed (make test installs it)")
    res = files_from_two_folders(solo_fleet, backend, "E:\\TwoFolders-" + backend)
    assert res.get("failed") is not True and res["verified"] is True, res.get("msg")
    assert res["manifest_files"] > 2 if backend == "restic" else True
    if backend == "robocopy":
        base = Path(solo_fleet.host_dir("dom01")) / "volumes" / "E" / "TwoFolders-robocopy" / "dom01"
        [copy] = [p for p in base.iterdir() if p.is_dir()]
        assert sorted(p.name for p in (copy / "files").iterdir()) == ["domino01.id", "notes.ini"]


def test_a_junction_inside_the_data_directory_fails_the_copy_unless_skip_links(solo_fleet):
    """robocopy /XJ and the listing both leave out a junction (the twin: a symbolic link), so a volume mounted in
    the data directory would be missing from a copy marked verified: the copy fails before it is finalized, naming
    the link; skip_links copies without it and warns."""
    volume = Path(solo_fleet.host_dir("dom01")) / "volumes" / "D"
    elsewhere = volume / "mailstore"
    elsewhere.mkdir()
    (elsewhere / "big.nsf").write_text("mail kept on another volume")
    link = volume / "Domino" / "data" / "mail2"
    link.symlink_to(elsewhere, target_is_directory=True)
    try:
        failed = snap_and_copy(solo_fleet, "dom01", "E:\\Links")
        assert failed.get("failed") and failed["verified"] is False
        assert "junctions, volume mount points or symbolic links" in failed["msg"] and "data\\mail2" in failed["msg"], \
            failed["msg"]
        base = Path(solo_fleet.host_dir("dom01")) / "volumes" / "E" / "Links" / "dom01"
        assert not base.exists() or not [p for p in base.iterdir() if p.is_dir()], "a copy was finalized"
        run = solo_fleet.playbook(SNAP_AND_COPY.format(host="dom01", method="shutdown", dest="E:\\Links", mode="versioned",
                                                       keep=7).replace("deltas_from:", "skip_links: true\n        deltas_from:"))
        skipped = run.result("Copy", "dom01")
        assert skipped.get("failed") is not True and skipped["verified"] is True, skipped.get("msg")
        assert skipped["links_skipped"] == ["data\\mail2"]
        assert any("were not followed" in w for w in skipped.get("warnings") or [])
    finally:
        link.unlink()
        shutil.rmtree(elsewhere)
        remove_shadows(solo_fleet, "dom01")
