"""Domino in its own security context (the twin's console refuses other OS users and prints no reply on
nserver -c, its default), partitioned servers, and servers stopped by someone else."""
from __future__ import annotations

import json
import re
from pathlib import Path

from quiesce_sim import domino

SNAP = """
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Snapshot
      quiesce.domino.snapshot:
        method: {method}
        service: "{service}"
        expose_as: "S:"
        shutdown_timeout: {shutdown_timeout}
        allow_downtime: true
      ignore_errors: true
    - name: Info after
      quiesce.domino.domino_info:
"""


def _state(fleet, service):
    return next(d for d in fleet.state("dom01")["dominos"] if d["service"] == service)


def _console_log(fleet, data_dir: str) -> str:
    path = Path(fleet.host_dir("dom01")) / "volumes" / data_dir[0] / data_dir[3:].replace("\\", "/") / \
        "IBM_TECHNICAL_SUPPORT" / "console.log"
    return path.read_text() if path.exists() else ""


def test_local_service_server_gets_its_console_commands_as_local_service(tmp_path):
    """Domino 14 runs as Local Service: load backupvss reaches the console only as that account."""
    from conftest import make_fleet, simfleet
    fleet = make_fleet(tmp_path / "fleet", 1, "domino14")
    try:
        run = fleet.playbook(SNAP.format(method="vss_writer", service="HCL Domino Server (DDominodata)",
                                         shutdown_timeout=30))
        res = run.result("Snapshot", "dom01")
        assert not res.get("failed"), res.get("msg")
        log = (Path(fleet.host_dir("dom01")) / "run" / "hostd.log").read_text()
        assert re.search(r"runas .*nserver\.exe as NT AUTHORITY\\LocalService in D:\\Domino\\data -> rc 0", log), log[-2000:]
        console = _console_log(fleet, "D:\\Domino\\data")
        assert "> load backupvss" in console and "refused" not in console
        info = run.result("Info after", "dom01")["installations"][0]
        assert info["service_account"] == "NT AUTHORITY\\LocalService" and info["tasks"]["backupvss"] is True
        verdict = fleet.restore_verdict("dom01", Path(fleet.host_dir("dom01")) / "volumes" / "S" / "Domino" / "data")
        assert verdict["consistent"], verdict
    finally:
        simfleet.down(tmp_path / "fleet")


def test_partitioned_host_backs_up_one_partition_and_leaves_the_other_alone(tmp_path):
    """Two partitions of one installation; backup_task, then a hung shutdown ended after its deadline, on
    partition 1: partition 2's service, processes, console and files are untouched.  nsd -kill ends every
    partition of an installation (the twin's pessimistic default), so on a partitioned host only partition 1's
    process tree is ended."""
    from conftest import make_fleet, simfleet
    fleet = make_fleet(tmp_path / "fleet", 1, "backup_task", data_dirs=("D:\\Domino\\data1", "F:\\Domino\\data2"))
    first, second = "HCL Domino Server (DDominodata1)", "HCL Domino Server (FDominodata2)"
    host = Path(fleet.host_dir("dom01"))
    data2 = host / "volumes" / "F" / "Domino" / "data2"
    try:
        before = _state(fleet, second)
        console2 = _console_log(fleet, "F:\\Domino\\data2")
        run = fleet.playbook(SNAP.format(method="backup_task", service=first, shutdown_timeout=30))
        res = run.result("Snapshot", "dom01")
        assert not res.get("failed"), res.get("msg")
        assert res["service"] == first and res["deltas"]
        fleet.fault("dom01", "domino_shutdown_hangs", True)
        run = fleet.playbook(SNAP.format(method="shutdown", service=first, shutdown_timeout=10).replace(
            'expose_as: "S:"', 'expose_as: "T:"'))
        res = run.result("Snapshot", "dom01")
        assert not res.get("failed"), res.get("msg")
        assert res.get("killed") is True  # partition 1 did not stop by itself: nsd -kill ended it
        after = _state(fleet, second)
        assert after["state"] == "RUNNING" and after["pid"] == before["pid"] and after["backup_mode"] is False
        assert after["tasks"] == before["tasks"]
        assert _console_log(fleet, "F:\\Domino\\data2") == console2  # no command reached partition 2's console
        assert not (data2 / "quiesce_domino").exists() and not list(data2.glob("*.DELTA"))
        assert not list(data2.glob("dominobackup_*.tag"))
        assert all(domino.backup_mark(db) is None for db in domino.databases(data2))
        infos = {i["service"]: i for i in run.result("Info after", "dom01")["installations"]}
        assert infos[first]["answers"] and infos[second]["answers"]
        log = (host / "run" / "hostd.log").read_text()
        assert "FDominodata2): killed" not in log and "DDominodata1): killed by its process tree ended" in log
    finally:
        simfleet.down(tmp_path / "fleet")


def test_a_server_stopped_by_its_administrator_is_snapshotted_and_stays_stopped(solo_fleet):
    service = solo_fleet.state("dom01")["dominos"][0]["service"]
    solo_fleet.run_tool("dom01", "sc", "stop", service)
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Info
      quiesce.domino.domino_info:
    - name: Thaw
      quiesce.domino.backup_mode:
        state: thawed
    - name: Snapshot
      quiesce.domino.snapshot:
        expose_as: "S:"
    - name: Snapshot with writers
      quiesce.domino.snapshot:
        method: vss_writer
      ignore_errors: true
""")
    assert run.rc == 0, run.stdout[-3000:]
    info = run.result("Info", "dom01")["installations"][0]
    assert info["state"] == "STOPPED" and info["frozen_by"] is None and info["answers"] is False
    assert run.result("Thaw", "dom01")["changed"] is False  # not ours to start
    snap = run.result("Snapshot", "dom01")
    assert snap["server_was_stopped"] is True and snap["frozen_ms"] == 0 and snap["shadows"]
    assert "stays stopped" in " ".join(snap["warnings"])
    refused = run.result("Snapshot with writers", "dom01")
    assert refused["failed"] and "needs a running Domino server" in refused["msg"]
    assert solo_fleet.state("dom01")["dominos"][0]["state"] == "STOPPED"


def test_auto_without_an_online_method_fails_and_names_the_choices(solo_fleet):
    """dom01 of the solo fleet is a Domino 12.0.2 vss host: make vss_writer impossible by an old Windows."""
    cfg_file = Path(solo_fleet.host_dir("dom01")) / "sim.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["windows"] = {"product": "Windows Server 2016 Standard", "build": 14393}
    cfg_file.write_text(json.dumps(cfg))
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Snapshot
      quiesce.domino.snapshot:
      ignore_errors: true
""")
    res = run.result("Snapshot", "dom01")
    assert res["failed"] and "method: auto found no method that keeps Domino online" in res["msg"]
    assert "allow_downtime=true" in res["msg"] and "method=backup_task" in res["msg"] and "method=none" in res["msg"]
    state = solo_fleet.state("dom01")
    assert state["dominos"][0]["state"] == "RUNNING" and state["shadows"] == {}


def test_a_server_stopped_after_its_facts_were_read_is_not_started_by_the_snapshot(solo_fleet):
    """A registered domino_info saw the server RUNNING; its administrator stops it before the snapshot: the plan's
    guard refuses the run before any watchdog, stop or thaw, so the thaw cannot start it."""
    service = solo_fleet.state("dom01")["dominos"][0]["service"]
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Info
      quiesce.domino.domino_info:
      register: facts
    - name: The administrator stops Domino
      ansible.builtin.command:
        argv: ["{{ quiesce_sim_host_dir }}/volumes/C/Windows/System32/sc.exe", "stop", "%s"]
      changed_when: true
    - name: Wait until it is stopped
      ansible.builtin.pause:
        seconds: 2
    - name: Snapshot with the old facts
      quiesce.domino.snapshot:
        method: shutdown
        domino_info: "{{ facts }}"
        expose_as: "S:"
      ignore_errors: true
""" % service)
    assert run.rc == 0, run.stdout[-3000:]
    refused = run.result("Snapshot with the old facts", "dom01")
    assert refused["failed"] and "no longer RUNNING" in refused["msg"], refused["msg"]
    state = solo_fleet.state("dom01")
    assert state["dominos"][0]["state"] == "STOPPED", "the snapshot started a server someone else had stopped"
    assert state["shadows"] == {}
    assert not [t for t in state["tasks"].values() if "watchdog" in t["name"].lower()], "a watchdog was armed"


def test_an_expose_letter_taken_after_the_facts_were_read_refuses_before_the_freeze(solo_fleet):
    """S: was free when domino_info ran; a drive is mapped to it before the snapshot: the guard refuses the run
    before the freeze (before, diskshadow failed to expose after Domino had been stopped and started again)."""
    pid = solo_fleet.state("dom01")["dominos"][0]["pid"]
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Info
      quiesce.domino.domino_info:
      register: facts
    - name: "Someone maps a drive to S:"
      ansible.builtin.file:
        path: "{{ quiesce_sim_host_dir }}/volumes/S"
        state: directory
        mode: "0755"
    - name: Snapshot with the old facts
      quiesce.domino.snapshot:
        method: shutdown
        allow_downtime: true
        domino_info: "{{ facts }}"
        expose_as: "S:"
      ignore_errors: true
""")
    assert run.rc == 0, run.stdout[-3000:] + run.stderr[-2000:]
    refused = run.result("Snapshot with the old facts", "dom01")
    assert refused["failed"] and "drive letter S: is in use on the host" in refused["msg"], refused["msg"]
    assert "Domino was not touched" in refused["msg"]
    state = solo_fleet.state("dom01")
    dom = state["dominos"][0]
    assert dom["state"] == "RUNNING" and dom["pid"] == pid, "Domino was stopped and started again"
    assert state["shadows"] == {}
    assert not [t for t in state["tasks"].values() if "watchdog" in t["name"].lower()], "a watchdog was armed"
