"""Domino discovery and method decisions from inventory JSON (partitioned servers included)."""
from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.quiesce.domino.plugins.module_utils import inventory as inventory_lib
from ansible_collections.quiesce.domino.plugins.module_utils import methods as method_lib
from ansible_collections.quiesce.domino.plugins.module_utils import plans
from ansible_collections.quiesce.domino.plugins.module_utils import watchdog
from ansible_collections.quiesce.domino.plugins.module_utils.errors import DominoError
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

INI1 = ("[Notes]\r\nDirectory=D:\\Domino\\data1\r\nServerName=srv1/ACME\r\nTRANSLOG_Status=1\r\nTRANSLOG_Style=1\r\n"
        "TRANSLOG_Path=L:\\translog1\r\nDAOSEnable=1\r\nDAOSBasePath=N:\\DAOS\r\nDAOSDeferredDeleteInterval=0\r\n"
        "ServerKeyFileName=server.id\r\nTCPIP_TcpIpAddress=0,10.0.0.5:0\r\n")
INI2 = "[Notes]\r\nDirectory=E:\\Domino\\data2\r\nServerName=srv2/ACME\r\nTRANSLOG_Status=0\r\nDAOSEnable=1\r\n"


def inventory(services, build="20348", watchdogs=(), held=(), now="2026-11-22T10:00:00Z", port_open=True,
              processes=None):
    places = {
        "D:\\Domino\\data1\\notes.ini": {
            "data_dir": "D:\\Domino\\data1", "port_open": port_open, "console_log": True, "held": "D:\\Domino\\data1" in held,
            "links": [{"path": "D:\\Domino\\data1\\archive.dir", "target": "M:\\archive"},
                      {"path": "D:\\Domino\\data1\\inner.dir", "target": "D:\\Domino\\data1\\x"}]},
        "E:\\Domino\\data2\\notes.ini": {
            "data_dir": "E:\\Domino\\data2", "port_open": False, "console_log": False, "held": False, "links": []}}
    if processes is None:  # server 1 runs (nservice 100 -> nserver 102 -> tasks)
        processes = [{"Name": "nservice.exe", "ProcessId": 100, "ParentProcessId": 4},
                     {"Name": "nserver.exe", "ProcessId": 102, "ParentProcessId": 100},
                     {"Name": "nbackupvss.exe", "ProcessId": 110, "ParentProcessId": 102}]
    return json.dumps({
        "services": services,
        "registry": [{"key": "HKEY_LOCAL_MACHINE\\SOFTWARE\\Lotus\\Domino", "path": "C:\\Domino", "data_path": "D:\\Domino\\data1",
                      "version": "12.0.2"},
                     {"key": "HKEY_LOCAL_MACHINE\\SOFTWARE\\Lotus\\Domino\\2", "path": "C:\\Domino", "data_path": "E:\\Domino\\data2",
                      "version": "12.0.2"}],
        "ini": {"D:\\Domino\\data1\\notes.ini": INI1, "E:\\Domino\\data2\\notes.ini": INI2}, "places": places,
        "processes": processes, "os": {"Caption": "Microsoft Windows Server 2022", "BuildNumber": build},
        "watchdogs": list(watchdogs), "drives": ["C:\\", "D:\\", "E:\\"], "now_utc": now})


SVC1 = {"Name": "Lotus Domino Server (DDominodata1)", "State": "Running", "StartName": "NT AUTHORITY\\LocalService",
        "PathName": '"C:\\Domino\\nservice.exe" "=D:\\Domino\\data1\\notes.ini"', "ProcessId": 100}
SVC2 = {"Name": "Lotus Domino Server (EDominodata2)", "State": "Stopped", "StartName": "LocalSystem",
        "PathName": '"C:\\Domino\\nservice.exe" "=E:\\Domino\\data2\\notes.ini"', "ProcessId": 0}


def test_partitioned_server_is_discovered_with_both_partitions():
    inv = inventory_lib.parse_inventory(inventory([SVC1, SVC2]))
    assert inv["partitioned"] is True and inv["drives_in_use"] == ["C:", "D:", "E:"]
    first, second = inv["installations"]
    assert first["data_dir"] == "D:\\Domino\\data1" and first["notes_ini"] == "D:\\Domino\\data1\\notes.ini"
    assert first["program_dir"] == "C:\\Domino" and first["version"] == "12.0.2" and first["server_name"] == "srv1/ACME"
    assert first["translog"] == {"status": "1", "style": "1", "style_name": "archive", "path": "L:\\translog1"}
    assert first["service_account"] == "NT AUTHORITY\\LocalService" and first["nrpc"] == ["10.0.0.5", 1352]
    assert second["data_volume"] == "E:" and second["state"] == "STOPPED" and second["answers"] is False
    assert second["daos"]["base_path"] == "E:\\Domino\\data2\\DAOS"  # relative to the data directory: inside it
    assert [loc["kind"] for loc in second["locations"]] == ["data"]
    methods = method_lib.possible_methods(first, inv["os"]["build"], inv["partitioned"])
    assert methods["vss_writer"]["possible"] is False and "partitioned server" in methods["vss_writer"]["why"]
    assert method_lib.recommended_method(methods) is None and method_lib.recommended_method(methods, allow_downtime=True) == "shutdown"
    with pytest.raises(DominoError, match="method: auto found no method that keeps Domino online .*allow_downtime=true"):
        method_lib.choose_method("auto", methods)
    with pytest.raises(DominoError, match="this host has 2 Domino servers"):
        inventory_lib.select_installation(inv["installations"], None)
    assert inventory_lib.select_installation(inv["installations"], "lotus domino server (edominodata2)") is second


def test_every_place_of_the_server_and_the_evidence_that_it_answers():
    first = inventory_lib.parse_inventory(inventory([SVC1, SVC2]))["installations"][0]
    assert [(loc["kind"], loc["path"]) for loc in first["locations"]] == [
        ("data", "D:\\Domino\\data1"), ("translog", "L:\\translog1"), ("daos", "N:\\DAOS"), ("link", "M:\\archive")]
    assert first["volumes"] == ["D:", "L:", "M:", "N:"] and first["server_id"] == "D:\\Domino\\data1\\server.id"
    assert first["answers"] is True and first["answers_by"].startswith("service running, server process alive")
    assert first["tasks"] == {"backup": False, "backupvss": True}
    warnings = inventory_lib.backup_warnings(first)
    assert any("archive-style transaction logging" in w for w in warnings)
    assert any("DAOS deferred deletion interval is 0 days" in w for w in warnings)
    closed = inventory_lib.parse_inventory(inventory([SVC1], port_open=False))["installations"][0]
    assert closed["answers"] is False and "NRPC port closed" in closed["answers_by"]
    orphan = inventory_lib.parse_inventory(inventory([SVC1], processes=[]))["installations"][0]
    assert orphan["answers"] is False and "no server process" in orphan["answers_by"]


def test_no_domino_and_old_windows():
    inv = inventory_lib.parse_inventory(inventory([]))
    with pytest.raises(DominoError, match="no Domino server is installed on this host"):
        inventory_lib.select_installation(inv["installations"], None)
    single = inventory_lib.parse_inventory(inventory([SVC1], build="14393"))["installations"][0]
    methods = method_lib.possible_methods(single, 14393, False)
    assert "needs Windows Server 2019 or 2022 (build 14393)" in methods["vss_writer"]["why"]
    with pytest.raises(DominoError, match="method: vss_writer is not possible on this server"):
        method_lib.choose_method("vss_writer", methods)


def test_frozen_state_comes_from_the_watchdog_record_or_the_hold():
    wd = {"name": "watchdog-x", "state": "Ready", "start": "2026-11-22T10:05:00",
          "description": "quiesce.domino watchdog; method=shutdown; seconds=300; deadline_utc=2026-11-22T10:05:00Z; "
                         "service=Lotus Domino Server (DDominodata1)"}
    stopped = dict(SVC1, State="Stopped", ProcessId=0)
    inv = inventory_lib.parse_inventory(inventory([stopped], watchdogs=[wd], processes=[]))
    inst = inv["installations"][0]
    assert method_lib.thaw_method(inst, inv["now_utc"]) == "shutdown"
    frozen = datetime.datetime(2026, 11, 22, 10, 0, 0, tzinfo=datetime.timezone.utc)
    assert watchdog.frozen_ms(inst["watchdog"]) == int(frozen.timestamp() * 1000)  # deadline 10:05:00Z minus 300 s
    # After the deadline the watchdog has fired: the record no longer holds the freeze, but a server still stopped
    # under our record is ours (the watchdog's start failed) and a thaw starts it.  A stopped server without our
    # record was stopped by someone else: a thaw does not start it.
    late = inventory_lib.parse_inventory(inventory([stopped], watchdogs=[wd], now="2026-11-22T10:06:00Z", processes=[]))
    assert method_lib.frozen_state(late["installations"][0], late["now_utc"]) is None
    assert method_lib.thaw_method(late["installations"][0], late["now_utc"]) == "shutdown"
    theirs = inventory_lib.parse_inventory(inventory([stopped], processes=[]))
    assert method_lib.thaw_method(theirs["installations"][0], theirs["now_utc"]) is None
    held = inventory_lib.parse_inventory(inventory([SVC1], held=["D:\\Domino\\data1"]))
    assert method_lib.thaw_method(held["installations"][0], held["now_utc"]) == "backup_task"
    assert method_lib.thaw_method(inventory_lib.parse_inventory(inventory([SVC1]))["installations"][0], None) is None


def test_watchdog_xml_runs_release_actions_at_the_template_deadline():
    inst = {"service": "HCL Domino Server (DDominodata)"}
    xml = watchdog.watchdog_xml(inst, "shutdown", 300, [["C:\\Windows\\System32\\sc.exe", "start", inst["service"]]])
    # UTC with Z: a boundary without an offset is local wall-clock time, which daylight saving moves by an hour
    assert "<StartBoundary>@@WATCHDOG_DEADLINE_UTC@@</StartBoundary>" in xml
    assert '<Arguments>start "HCL Domino Server (DDominodata)"</Arguments>' in xml
    assert "<UserId>S-1-5-18</UserId>" in xml and "deadline_utc=@@WATCHDOG_DEADLINE_UTC@@" in xml
    assert cli.windows_cmdline(["a b", 'q"x', "C:\\dir\\"]) == '"a b" "q\\"x" C:\\dir\\'


def _rec(name, start, end, stdout=""):
    return {"name": name, "start_ms": start, "end_ms": end, "stdout": stdout, "status": "ok"}


HELD = {"held_ms": 1700000001000, "backup_start": "20231114221320", "pid": 4242, "tag": "dominobackup_20231114221320.tag"}
DONE_OUT = json.dumps({"held": HELD, "done": {"done_ms": 1700000001150, "released": True}})
DELTAS_OUT = json.dumps({"held": HELD, "collected": {"started_ms": 1700000001190, "ended_ms": 1700000001230,
                                                     "deltas": {"path": "mail\\a.nsf.DELTA", "size": 12}}})


def test_backup_task_window_runs_from_the_hold_until_domino_left_backup_mode():
    result = {"steps": [_rec("reset the hold", 1700000000000, 1700000000040),
                        _rec("start Domino Backup", 1700000000040, 1700000000900),
                        _rec(plans.CREATE_STEP, 1700000000900, 1700000001090)],
              "finally": [_rec("release the hold", 1700000001090, 1700000001130),
                          _rec(plans.DONE_STEP, 1700000001130, 1700000001170, DONE_OUT),
                          _rec(plans.DELTAS_STEP, 1700000001170, 1700000001300, DELTAS_OUT)]}
    window = plans.freeze_window(result, "backup_task")
    # held_ms to the start of the Backup snapshot command: Domino had left backup mode and written the deltas
    assert window["frozen_ms"] == 190 and window["left_backup_mode"] is True
    assert window["frozen_at"] == "2023-11-14T22:13:21.000Z" and window["thawed_at"] == "2023-11-14T22:13:21.190Z"
    assert window["hook_released_at"] == "2023-11-14T22:13:21.150Z"
    assert window["backup_start"] == "20231114221320" and window["deltas"] == [{"path": "mail\\a.nsf.DELTA", "size": 12}]
    # The deltas never came: the hook's own release bounds the window.
    result["finally"][2]["status"] = "failed"
    window = plans.freeze_window(result, "backup_task")
    assert window["frozen_ms"] == 150 and window["left_backup_mode"] is False and window["deltas"] == []
    # Without any record of the hook the plan's own steps bound the window.
    result["finally"][1]["stdout"] = ""
    assert plans.freeze_window(result, "backup_task")["frozen_ms"] == 1300


def test_a_shadow_copy_must_be_created_while_the_hook_held_the_databases():
    from ansible_collections.quiesce.domino.plugins.module_utils import dominobackup as dbk
    hold = dbk.window(json.loads(DONE_OUT))  # held 1700000001000, let go 1700000001150
    assert dbk.created_outside_hold(hold, [1700000001100]) is None
    # within the slack of either end: the same host clock, the stamp's moment in the creation not documented
    assert dbk.created_outside_hold(hold, [1700000000000 + 1000 - dbk.HOLD_SLACK_MS]) is None
    assert dbk.created_outside_hold(hold, [1700000001150 + dbk.HOLD_SLACK_MS]) is None
    late = dbk.created_outside_hold(hold, [1700000001100, 1700000001150 + dbk.HOLD_SLACK_MS + 1])
    assert late and "after the backup_task hook had let the databases go" in late
    early = dbk.created_outside_hold(hold, [1700000001000 - dbk.HOLD_SLACK_MS - 1])
    assert early and "before Domino Backup held the databases" in early
    # no record of the hook, no creation time: nothing to hold against the copy here
    assert dbk.created_outside_hold({"held_ms": None, "done_ms": None}, [1]) is None
    assert dbk.created_outside_hold(hold, []) is None
