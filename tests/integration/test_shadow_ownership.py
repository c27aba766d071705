"""Whose shadow copy is it (issue 14 item 7): the collection records the shadow copies it creates in the
host's ledger (HKLM\\SOFTWARE\\quiesce.domino\\Shadows), and cleanup, ``diskshadow state=absent volumes=`` and
``snapshot replace_stale`` touch only those.  Another program's shadow copy (made here by running the twin's
diskshadow directly, as Previous Versions or another backup product would make one) is left alone.  A kept
shadow copy (``snapshot_backup_keep_shadow``) is unexposed after the copy, so the next run keeps it too."""
from __future__ import annotations

import re
from pathlib import Path

LEDGER = "HKEY_LOCAL_MACHINE\\SOFTWARE\\QUIESCE.DOMINO\\SHADOWS"


def other_software_shadow(fleet, host: str = "dom01", expose: str = "") -> str:
    """A shadow copy of D: made by another program (not through the collection): its ID."""
    script = "set context persistent nowriters\nadd volume D: alias other\ncreate\n"
    if expose:
        script += "expose %%other%% %s\n" % expose
    done = fleet.run_tool(host, "diskshadow", stdin=script)
    assert done.returncode == 0, done.stdout + done.stderr
    return re.search(r"Shadow copy ID = (\{[0-9a-fA-F-]{36}\})", done.stdout).group(1).lower()


def ledger(fleet, host: str = "dom01") -> set[str]:
    return {n.lower() for n in fleet.state(host)["registry"].get(LEDGER, {}).get("values", {})}


def released(fleet, host: str = "dom01") -> bool:
    dom = fleet.state(host)["dominos"][0]
    return dom["state"] == "RUNNING" and dom["answers"] and not dom["backup_mode"]


# A shadow copy of ours kept by a restore point (tasks inserted into the playbooks below).
RESTORE_POINT = """    - name: Ours, a restore point
      quiesce.domino.diskshadow:
        volumes: ["D:"]
      register: point
    - name: Record the restore point
      quiesce.domino.restore_point:
        name: keep-me
        shadow_id: "{{ point.shadows[0].id }}"
        service: HCL Domino Server (DDominodata)
        data_dir: 'D:\\Domino\\data'
"""


def test_cleanup_deletes_only_the_collections_own_shadow_copies(solo_fleet):
    foreign = other_software_shadow(solo_fleet)
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Ours, old
      quiesce.domino.diskshadow:
        volumes: ["D:"]
      register: ours
{point}    - name: List
      quiesce.domino.shadow_info:
    - name: List ours
      quiesce.domino.shadow_info:
        owned_only: true
""".replace("{point}", RESTORE_POINT))
    assert run.rc == 0, run.stdout[-3000:]
    ours = run.result("Ours, old", "dom01")["shadows"][0]["id"]
    point = run.result("Ours, a restore point", "dom01")["shadows"][0]["id"]
    assert ledger(solo_fleet) == {ours, point}
    listed = {s["id"]: s["owned"] for s in run.result("List", "dom01")["shadows"]}
    assert listed == {foreign: False, ours: True, point: True}
    assert {s["id"] for s in run.result("List ours", "dom01")["shadows"]} == {ours, point}

    cleaned = solo_fleet.playbook("quiesce.domino.cleanup", extra_vars={"snapshot_cleanup_shadow_max_age": "0s"})
    assert cleaned.rc == 0, cleaned.stdout[-3000:]
    assert set(solo_fleet.state("dom01")["shadows"]) == {foreign, point}
    deleted = cleaned.result("Delete old shadow copies that are not restore points", "dom01")["results"]
    assert [r["item"]["id"] for r in deleted] == [ours]

    # An administrator who wants the old behaviour (every old shadow copy but restore points) says so.
    cleaned = solo_fleet.playbook("quiesce.domino.cleanup", extra_vars={
        "snapshot_cleanup_shadow_max_age": "0s", "snapshot_cleanup_other_software_shadows": True})
    assert cleaned.rc == 0, cleaned.stdout[-3000:]
    assert set(solo_fleet.state("dom01")["shadows"]) == {point}


def test_absent_by_volume_deletes_only_ours_unless_told(solo_fleet):
    foreign = other_software_shadow(solo_fleet)
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: First of ours
      quiesce.domino.diskshadow:
        volumes: ["D:"]
    - name: Second of ours
      quiesce.domino.diskshadow:
        volumes: ["D:"]
      register: second
{point}    - name: Delete the oldest of ours
      quiesce.domino.diskshadow:
        state: absent
        volumes: ["D:"]
        oldest: true
    - name: Delete ours
      quiesce.domino.diskshadow:
        state: absent
        volumes: ["D:"]
    - name: Delete ours again
      quiesce.domino.diskshadow:
        state: absent
        volumes: ["D:"]
""".replace("{point}", RESTORE_POINT))
    assert run.rc == 0, run.stdout[-3000:]
    first = run.result("Delete the oldest of ours", "dom01")
    assert first["changed"] is True and "delete shadows id {" in first["script"]
    assert "oldest" not in first["script"]  # the oldest on the volume is the other program's
    deleted = run.result("Delete ours", "dom01")
    assert deleted["changed"] is True and [s["id"] for s in deleted["shadows"]] == [run.result(
        "Second of ours", "dom01")["shadows"][0]["id"]]
    assert run.result("Delete ours again", "dom01")["changed"] is False
    point = run.result("Ours, a restore point", "dom01")["shadows"][0]["id"]
    assert set(solo_fleet.state("dom01")["shadows"]) == {foreign, point}  # the restore point's is kept
    everything = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Delete every shadow copy of D
      quiesce.domino.diskshadow:
        state: absent
        volumes: ["D:"]
        owned_only: false
""")
    assert everything.rc == 0, everything.stdout[-3000:]
    assert "delete shadows volume D:" in everything.result("Delete every shadow copy of D", "dom01")["script"]
    assert solo_fleet.state("dom01")["shadows"] == {}


SNAP = """
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Snapshot
      quiesce.domino.snapshot:
        method: vss_writer
        expose_as: "S:"
        replace_stale: true
        lock: {lock}
      register: snap
      ignore_errors: true
"""


def test_replace_stale_replaces_our_exposure_and_refuses_another_programs(solo_fleet):
    first = solo_fleet.playbook(SNAP.format(lock="false")).result("Snapshot", "dom01")
    assert not first.get("failed"), first.get("msg")
    ours = first["shadows"][0]["id"]
    assert ours in ledger(solo_fleet)
    # Our own stale exposure (a run that died before its copy) is replaced.
    second = solo_fleet.playbook(SNAP.format(lock="false")).result("Snapshot", "dom01")
    assert not second.get("failed"), second.get("msg")
    assert ours not in solo_fleet.state("dom01")["shadows"]
    solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - quiesce.domino.diskshadow:
        state: absent
        expose_as: "S:"
""")
    # Another program's shadow copy exposed at S: is not deleted: the run is refused before anything is touched.
    foreign = other_software_shadow(solo_fleet, expose="S:")
    refused = solo_fleet.playbook(SNAP.format(lock="true")).result("Snapshot", "dom01")
    assert refused["failed"] is True
    assert "%s, which quiesce.domino did not create" % foreign in refused["msg"], refused["msg"]
    assert "Domino was not touched" in refused["msg"]
    assert set(solo_fleet.state("dom01")["shadows"]) == {foreign}
    assert released(solo_fleet)
    # ... and the host lock was given back: another letter works at once.
    other = solo_fleet.playbook(SNAP.format(lock="true").replace('"S:"', '"T:"')).result("Snapshot", "dom01")
    assert not other.get("failed"), other.get("msg")


KEEP = """
- hosts: dom01
  gather_facts: false
  roles:
    - role: quiesce.domino.snapshot_backup
      vars:
        snapshot_backup_destination: '\\\\backupsrv\\domino'
        snapshot_backup_keep_shadow: true
        snapshot_backup_copy_retries: 0
        snapshot_backup_copy_wait: 0
"""


def test_kept_shadow_copies_are_all_kept_then_aged_out(solo_fleet):
    sets = []
    for _run in range(2):
        run = solo_fleet.playbook(KEEP)
        assert run.rc == 0, run.stdout[-3000:]
        copied = run.result("Copy and verify the frozen data", "dom01")
        assert copied["verified"] is True and copied["shadow_unexposed"] is True
        sets.append(run.result("Take the snapshot", "dom01")["shadow_set_id"])
    shadows = solo_fleet.state("dom01")["shadows"]
    # both runs' shadow copies are kept (the second did not replace the first), none is exposed
    assert {s["set_id"].lower() for s in shadows.values()} == {s.lower() for s in sets}
    assert all(not s["exposed_as"] for s in shadows.values())
    assert set(shadows) == ledger(solo_fleet)
    cleaned = solo_fleet.playbook("quiesce.domino.cleanup", extra_vars={"snapshot_cleanup_shadow_max_age": "0s"})
    assert cleaned.rc == 0, cleaned.stdout[-3000:]
    assert solo_fleet.state("dom01")["shadows"] == {}


def test_a_ledger_that_cannot_be_written_is_a_warning_not_a_failed_backup(solo_fleet):
    solo_fleet.fault("dom01", "fail", {"powershell": "ledger_denied"})
    run = solo_fleet.playbook(KEEP)
    assert run.rc == 0, run.stdout[-3000:]
    snap = run.result("Take the snapshot", "dom01")
    assert any("could not be recorded as the collection's own" in w for w in snap.get("warnings", [])), snap
    assert run.result("Copy and verify the frozen data", "dom01")["verified"] is True
    solo_fleet.fault("dom01", "fail", None)
    assert ledger(solo_fleet) == set()
    # so cleanup leaves it, as it leaves any shadow copy it cannot prove is ours
    cleaned = solo_fleet.playbook("quiesce.domino.cleanup", extra_vars={"snapshot_cleanup_shadow_max_age": "0s"})
    assert cleaned.rc == 0, cleaned.stdout[-3000:]
    assert len(solo_fleet.state("dom01")["shadows"]) == 1
    assert Path(solo_fleet.host_dir("dom01")).exists()


def test_a_run_cut_off_before_its_record_step_is_adopted_by_the_next(solo_fleet):
    """A run whose connection is lost after diskshadow exposed its shadow copy and before the record step (the
    executor dies with it) leaves an exposure the ledger does not know.  Its note (the target and the window in
    which it ran) lets the next run adopt that exposure as the collection's own and replace it, instead of
    refusing it as another program's for ever."""
    import time
    from conftest import kill_controller
    solo_fleet.fault("dom01", "hang_after_expose", 600)
    proc = solo_fleet.start_playbook(SNAP.format(lock="false").replace("vss_writer", "none"))
    log = Path(solo_fleet.host_dir("dom01")) / "run" / "hostd.log"
    until = time.time() + 90
    while time.time() < until and "diskshadow after expose hangs" not in log.read_text():
        time.sleep(0.1)
    assert "diskshadow after expose hangs" in log.read_text(), "the run never exposed its shadow copy"
    kill_controller(proc, executor_too=True)
    solo_fleet.fault("dom01", "hang_after_expose", None)
    left = [sid for sid, s in solo_fleet.state("dom01")["shadows"].items() if str(s["exposed_as"]).startswith("S:")]
    assert len(left) == 1 and left[0].lower() not in ledger(solo_fleet), "the cut-off run recorded its shadow copy"
    nxt = solo_fleet.playbook(SNAP.format(lock="false").replace("vss_writer", "none")).result("Snapshot", "dom01")
    assert not nxt.get("failed"), nxt.get("msg")
    assert nxt["adopted_shadow_ids"] == [left[0].lower()]
    assert any("cut off between creating and recording" in w for w in nxt["warnings"])
    assert left[0] not in solo_fleet.state("dom01")["shadows"], "the adopted stale exposure was not replaced"
    assert nxt["shadows"][0]["id"] in ledger(solo_fleet)
