"""Self-tests of the Windows twin: its tools print the real formats and act on the host."""
from __future__ import annotations

import datetime
import json
import time
from pathlib import Path

import pytest
from quiesce_sim import domino, fleet as simfleet

SERVICE = "HCL Domino Server (DDominodata)"


def wait_for(predicate, timeout=10.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def domino_state(fleet, host="dom01"):
    return fleet.state(host)["dominos"][0]


def write_script(tmp_path: Path, text: str) -> str:
    path = tmp_path / "s.dsh"
    path.write_text(text)
    return str(path)


def test_fleet_layout_and_inventory(fleet):
    inventory = fleet.inventory.read_text()
    assert "ansible_connection: local" in inventory
    for host in fleet.hosts:
        root = Path(host["dir"])
        assert (root / "volumes" / "C" / "Windows" / "System32" / "diskshadow.exe").exists()
        assert (root / "volumes" / "D" / "Domino" / "data" / "notes.ini").read_bytes().startswith(b"[Notes]\r\n")
        assert {p.name for p in (root / "volumes").iterdir()} == {"C", "D", "E"}
        assert host["tools"]["nserver"].endswith("nserver.exe")
    profiles = [h["profile"] for h in fleet.hosts]
    assert profiles == ["vss", "backup_task", "shutdown"]


def test_sc_query_formats_and_errors(fleet):
    out = fleet.run_tool("dom02", "sc", "queryex", SERVICE)
    assert out.returncode == 0
    assert "SERVICE_NAME: %s" % SERVICE in out.stdout
    assert "STATE              : 4  RUNNING" in out.stdout
    import subprocess
    raw = subprocess.run([fleet.tool("dom02", "sc"), "query", SERVICE], capture_output=True, check=True).stdout
    assert b"\r\n" in raw
    missing = fleet.run_tool("dom02", "sc", "query", "NoSuchService")
    assert missing.returncode == 1060 & 0xFF
    assert "[SC] EnumQueryServicesStatus:OpenService FAILED 1060:" in missing.stdout
    assert "The specified service does not exist as an installed service." in missing.stdout
    again = fleet.run_tool("dom02", "sc", "start", SERVICE)
    assert "FAILED 1056" in again.stdout


def test_tasklist_shows_domino_processes_as_csv(fleet):
    out = fleet.run_tool("dom01", "tasklist", "/FO", "CSV", "/NH", "/FI", "IMAGENAME eq nserver.exe")
    rows = out.stdout.strip().splitlines()
    assert len(rows) == 1 and rows[0].startswith('"nserver.exe","')
    none = fleet.run_tool("dom01", "tasklist", "/FI", "IMAGENAME eq nothing.exe")
    assert none.stdout.strip() == "INFO: No tasks are running which match the specified criteria."


def test_reg_query_finds_domino_and_service_image_path(fleet):
    out = fleet.run_tool("dom01", "reg", "query", "HKLM\\SOFTWARE\\Lotus\\Domino")
    assert "    Path    REG_SZ    C:\\Program Files\\HCL\\Domino" in out.stdout
    assert "    DataPath    REG_SZ    D:\\Domino\\data" in out.stdout
    svc = fleet.run_tool("dom01", "reg", "query", "HKLM\\SYSTEM\\CurrentControlSet\\Services\\" + SERVICE, "/v", "ImagePath")
    assert '=D:\\Domino\\data\\notes.ini"' in svc.stdout
    missing = fleet.run_tool("dom01", "reg", "query", "HKLM\\SOFTWARE\\Nope")
    assert missing.returncode == 1
    assert "unable to find the specified registry key" in missing.stderr


def test_console_refuses_other_users_and_prints_no_reply_by_default(solo_fleet):
    """The pessimistic defaults: the console refuses the connection's user, and nserver -c prints nothing (the
    reply goes to IBM_TECHNICAL_SUPPORT\\console.log); each can be switched per host."""
    log = solo_fleet.host_dir("dom01") / "volumes" / "D" / "Domino" / "data" / "IBM_TECHNICAL_SUPPORT" / "console.log"
    refused = solo_fleet.run_tool("dom01", "nserver", "-c", "show server")
    assert refused.returncode != 0 and refused.stdout == ""
    assert "Console command refused" in log.read_text()
    solo_fleet.fault("dom01", "console_other_user", "allow")
    silent = solo_fleet.run_tool("dom01", "nserver", "-c", "show server")
    assert silent.returncode == 0 and silent.stdout == ""
    assert "Server name:            dom01/SIM" in log.read_text() and "> show server" in log.read_text()
    solo_fleet.fault("dom01", "console_stdout", True)
    out = solo_fleet.run_tool("dom01", "nserver", "-c", "show server")
    assert "Server name:            dom01/SIM" in out.stdout and "Release 12.0.2" in out.stdout


def test_domino_writes_transactions_and_the_live_data_grows(fleet):
    data = fleet.host_dir("dom01") / "volumes" / "D" / "Domino" / "data"
    first = domino.last_transaction(data)
    assert wait_for(lambda: domino.last_transaction(data) > first + 5)


def test_checker_finds_torn_transactions(tmp_path):
    (tmp_path / "a.nsf").write_text("TXN 1 1/3 x\nTXN 1 3/3 x\nTXN 2 1/3 y\n")
    (tmp_path / "b.nsf").write_text("TXN 1 2/3 x\n")
    assert domino.torn_transactions(tmp_path) == [2]
    assert simfleet.main(["check", str(tmp_path)]) == 1
    (tmp_path / "b.nsf").write_text("TXN 1 2/3 x\nTXN 2 2/3 y\n")
    (tmp_path / "a.nsf").write_text("TXN 1 1/3 x\nTXN 1 3/3 x\nTXN 2 1/3 y\nTXN 2 3/3 y\n")
    assert domino.torn_transactions(tmp_path) == []


@pytest.mark.parametrize("autorecover", [True, False])
def test_vss_writer_snapshot_is_consistent_after_restore_only_with_auto_recovery(solo_fleet, tmp_path, autorecover):
    """The Domino VSS writer puts the databases into backup mode for the creation (writes go on).  With VSS
    auto-recovery its change info goes into the shadow copy itself; with noautorecover the deltas land in the
    live data directory and the shadow copy alone cannot be restored consistently."""
    host = solo_fleet.host_dir("dom01")
    solo_fleet.fault("dom01", "console_other_user", "allow")
    solo_fleet.fault("dom01", "console_stdout", True)
    assert "registered" in solo_fleet.run_tool("dom01", "nserver", "-c", "load backupvss").stdout
    option = "" if autorecover else "set option noautorecover\n"
    script = write_script(tmp_path, "set context persistent\n%sadd volume d: alias d\n"
                                    "writer verify {6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}\ncreate\n" % option)
    out = solo_fleet.run_tool("dom01", "diskshadow", "/s", script)
    assert '* Including writer "Domino VSS Writer":' in out.stdout, out.stdout
    [shadow] = solo_fleet.state("dom01")["shadows"].values()
    image = Path(shadow["dir"]) / "Domino" / "data"
    live = host / "volumes" / "D" / "Domino" / "data"
    verdict = domino.restore_check(image, tmp_path / "restore")
    if autorecover:
        assert verdict["consistent"], verdict
        assert not list(live.glob("*.DELTA")) and all(domino.backup_mark(db) is None for db in domino.databases(image))
    else:
        assert not verdict["consistent"] and verdict["needs_change_info"], verdict
        assert list(live.glob("*.DELTA"))
    assert domino_state(solo_fleet)["backup_mode"] is False


def test_restore_applies_a_delta_and_recovers(tmp_path):
    """The twin's Domino restore: a database marked in backup mode needs its .DELTA; applied, it is the
    database as it left backup mode; transactions torn across databases are rolled back."""
    a, b = tmp_path / "a.nsf", tmp_path / "b.nsf"
    domino.create_db(a, [])
    domino.create_db(b, [])
    domino.write_step(a, 1, 1, "x")
    domino.write_step(b, 1, 2, "x")
    domino.write_step(a, 1, 3, "x")
    base = a.stat().st_size
    domino.set_mark(a, "B1")
    domino.write_step(a, 2, 1, "y")
    snapshot = tmp_path / "snap"
    snapshot.mkdir()
    for db in (a, b):
        (snapshot / db.name).write_bytes(db.read_bytes())
    domino.write_step(b, 2, 2, "y")
    domino.write_step(a, 2, 3, "y")
    domino.write_step(a, 3, 1, "z")  # torn when a leaves backup mode
    delta = domino.write_delta(a, "B1", base)
    assert delta is not None and domino.write_delta(b, "B1", b.stat().st_size) is None  # b is unchanged
    bare = domino.restore_check(snapshot, tmp_path / "bare")
    assert bare["needs_change_info"] == ["a.nsf"] and not bare["consistent"]
    (snapshot / delta.name).write_bytes(delta.read_bytes())
    good = domino.restore_check(snapshot, tmp_path / "good")
    assert good["deltas_applied"] == ["a.nsf"] and good["torn_before_recovery"] >= 1
    assert good["consistent"] and good["last_transaction"] == 1  # 2 is torn (b's step lies after b's image), 3 too
    other = tmp_path / "other.nsf.DELTA"
    other.write_bytes(b"DELTA backup=B9 base=64\n")
    (snapshot / "a.nsf.DELTA").write_bytes(other.read_bytes())
    assert domino.restore_check(snapshot, tmp_path / "wrong")["deltas_refused"] == ["a.nsf"]


def test_diskshadow_errors_use_the_real_texts(solo_fleet, tmp_path):
    script = write_script(tmp_path, "set context persistent nowriters\nadd volume d: alias d\ncreate\nexpose %d% e:\n")
    out = solo_fleet.run_tool("dom01", "diskshadow", "/s", script)
    assert "The  drive letter is already in use." in out.stdout
    solo_fleet.fault("dom01", "fail", {"diskshadow": "com_failure"})
    out = solo_fleet.run_tool("dom01", "diskshadow", "/s", script)
    assert 'COM call "(*vssObject)->InitializeForBackup" failed.' in out.stdout


def test_vssadmin_lists_and_deletes(solo_fleet, tmp_path):
    script = write_script(tmp_path, "set context persistent nowriters\nadd volume d:\ncreate\n")
    solo_fleet.run_tool("dom01", "diskshadow", "/s", script)
    out = solo_fleet.run_tool("dom01", "vssadmin", "list", "shadows")
    assert "Contents of shadow copy set ID: {" in out.stdout
    assert "Original Volume: (D:)\\\\?\\Volume{" in out.stdout
    assert "Attributes: Persistent, Client-accessible, No auto release, No writers, Differential" in out.stdout
    sid = next(iter(solo_fleet.state("dom01")["shadows"]))
    deleted = solo_fleet.run_tool("dom01", "vssadmin", "delete", "shadows", "/shadow=" + sid, "/quiet")
    assert deleted.returncode == 0
    assert solo_fleet.state("dom01")["shadows"] == {}


def test_volatile_shadows_vanish_when_diskshadow_exits(solo_fleet, tmp_path):
    script = write_script(tmp_path, "set context volatile nowriters\nadd volume d:\ncreate\n")
    out = solo_fleet.run_tool("dom01", "diskshadow", "/s", script)
    assert "Attributes:  Auto_Release No_Writers Differential" in out.stdout
    assert solo_fleet.state("dom01")["shadows"] == {}


def test_service_stop_start_and_console_readiness(solo_fleet):
    solo_fleet.fault("dom01", "console_other_user", "allow")
    out = solo_fleet.run_tool("dom01", "sc", "stop", SERVICE)
    assert "STOP_PENDING" in out.stdout
    assert wait_for(lambda: domino_state(solo_fleet)["state"] == "STOPPED")
    assert solo_fleet.run_tool("dom01", "tasklist", "/FI", "IMAGENAME eq nserver.exe").stdout.startswith("INFO:")
    assert solo_fleet.run_tool("dom01", "nserver", "-c", "show server").returncode != 0
    solo_fleet.run_tool("dom01", "sc", "start", SERVICE)
    assert wait_for(lambda: domino_state(solo_fleet)["state"] == "RUNNING")
    # RUNNING is not yet answering: the console comes up a little later.
    assert wait_for(lambda: solo_fleet.run_tool("dom01", "nserver", "-c", "show server").returncode == 0)


def test_hung_shutdown_only_ends_with_nsd_kill_and_restart_repairs(solo_fleet):
    solo_fleet.fault("dom01", "domino_shutdown_hangs", True)
    solo_fleet.run_tool("dom01", "sc", "stop", SERVICE)
    time.sleep(1.0)
    assert domino_state(solo_fleet)["state"] == "STOP_PENDING"
    out = solo_fleet.run_tool("dom01", "nsd", "-kill")
    assert "NSD completed." in out.stdout
    assert domino_state(solo_fleet)["state"] == "STOPPED"
    solo_fleet.run_tool("dom01", "sc", "start", SERVICE)
    assert wait_for(lambda: domino_state(solo_fleet)["state"] == "RUNNING")
    # Restart recovery removed whatever the kill tore; a graceful stop leaves nothing torn either.
    solo_fleet.fault("dom01", "domino_shutdown_hangs", None)
    solo_fleet.run_tool("dom01", "sc", "stop", SERVICE)
    assert wait_for(lambda: domino_state(solo_fleet)["state"] == "STOPPED")
    data = solo_fleet.host_dir("dom01") / "volumes" / "D" / "Domino" / "data"
    assert domino.torn_transactions(data) == []


def test_slow_shutdown_takes_its_time(solo_fleet):
    solo_fleet.fault("dom01", "domino_slow_shutdown_seconds", 1.5)
    started = time.time()
    solo_fleet.run_tool("dom01", "sc", "stop", SERVICE)
    assert wait_for(lambda: domino_state(solo_fleet)["state"] == "STOPPED", timeout=10)
    assert time.time() - started >= 1.4


def test_scheduled_task_fires_at_its_deadline(solo_fleet, tmp_path):
    solo_fleet.run_tool("dom01", "sc", "stop", SERVICE)
    assert wait_for(lambda: domino_state(solo_fleet)["state"] == "STOPPED")
    at = (datetime.datetime.now() + datetime.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    xml = ('<?xml version="1.0" encoding="UTF-16"?><Task xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">'
           "<Triggers><TimeTrigger><StartBoundary>%s</StartBoundary></TimeTrigger></Triggers><Actions>"
           "<Exec><Command>C:\\Windows\\System32\\sc.exe</Command><Arguments>start \"%s\"</Arguments></Exec>"
           "</Actions></Task>" % (at, SERVICE))
    path = tmp_path / "task.xml"
    path.write_bytes(b"\xff\xfe" + xml.encode("utf-16-le"))
    created = solo_fleet.run_tool("dom01", "schtasks", "/Create", "/TN", "quiesce-watchdog", "/XML", str(path), "/F")
    assert created.stdout.strip() == 'SUCCESS: The scheduled task "quiesce-watchdog" has successfully been created.'
    assert '"\\quiesce-watchdog"' in solo_fleet.run_tool("dom01", "schtasks", "/Query", "/TN", "quiesce-watchdog").stdout
    assert wait_for(lambda: domino_state(solo_fleet)["state"] == "RUNNING", timeout=10)
    assert solo_fleet.state("dom01")["tasks"]["quiesce-watchdog"]["runs"]


def test_robocopy_copies_reports_and_faults(solo_fleet):
    host = solo_fleet.host_dir("dom01")
    src = host / "volumes" / "E" / "src"
    src.mkdir()
    (src / "a.nsf").write_text("TXN 1 1/3 x\n")
    (src / "b.txt").write_text("hello")
    out = solo_fleet.run_tool("dom01", "robocopy", "E:\\src", "E:\\dst", "/E", "/BYTES", "/R:0", "/W:0")
    assert out.returncode == 1
    assert "   Files :         2         2         0         0         0         0" in out.stdout
    again = solo_fleet.run_tool("dom01", "robocopy", "E:\\src", "E:\\dst", "/E", "/BYTES", "/R:0", "/W:0")
    assert again.returncode == 0
    solo_fleet.fault("dom01", "fail", {"robocopy": "rc8"})
    (src / "c.nsf").write_text("new")
    bad = solo_fleet.run_tool("dom01", "robocopy", "E:\\src", "E:\\dst2", "/E", "/R:0", "/W:0")
    assert bad.returncode == 9 and "ERROR 32 (0x00000020) Copying File" in bad.stdout
    solo_fleet.fault("dom01", "fail", {"robocopy": "share_unreachable"})
    unreachable = solo_fleet.run_tool("dom01", "robocopy", "E:\\src", "\\\\backupsrv\\domino\\x", "/E")
    assert unreachable.returncode == 16 and "ERROR 53 (0x00000035)" in unreachable.stdout


def test_robocopy_disk_full(solo_fleet):
    host = solo_fleet.host_dir("dom01")
    cfg = json.loads((host / "sim.json").read_text())
    cfg["volumes"]["E"]["size_mb"] = 1
    (host / "sim.json").write_text(json.dumps(cfg))
    (host / "volumes" / "D" / "big.bin").write_bytes(b"x" * (2 * 1024 * 1024))
    out = solo_fleet.run_tool("dom01", "robocopy", "D:\\", "E:\\full", "big.bin", "/R:0", "/W:0")
    assert out.returncode & 8
    assert "ERROR 112 (0x00000070)" in out.stdout and "There is not enough space on the disk." in out.stdout


def test_refuses_backup_mode_fault(solo_fleet, tmp_path):
    solo_fleet.fault("dom01", "console_other_user", "allow")
    solo_fleet.run_tool("dom01", "nserver", "-c", "load backupvss")
    solo_fleet.fault("dom01", "domino_refuses_backup_mode", True)
    script = write_script(tmp_path, "set context persistent\nadd volume d:\ncreate\n")
    out = solo_fleet.run_tool("dom01", "diskshadow", "/s", script)
    assert "VSS_E_WRITERERROR_RETRYABLE" in out.stdout


def test_stalled_create_and_hung_tools_end_when_their_caller_dies(solo_fleet, tmp_path):
    """hang_in_create: the writers stay frozen until diskshadow dies (VSS aborts, Domino thaws, no shadow)
    or VSS's writer freeze limit passes (VSS_E_WRITERERROR_TIMEOUT)."""
    import subprocess
    solo_fleet.fault("dom01", "console_other_user", "allow")
    solo_fleet.run_tool("dom01", "nserver", "-c", "load backupvss")
    solo_fleet.fault("dom01", "hang_in_create", 600)
    script = write_script(tmp_path, "set context persistent\nadd volume d:\ncreate\n")
    proc = subprocess.Popen([solo_fleet.tool("dom01", "diskshadow"), "/s", script], stdout=subprocess.DEVNULL)
    assert wait_for(lambda: domino_state(solo_fleet)["backup_mode"])
    time.sleep(0.3)
    assert domino_state(solo_fleet)["backup_mode"] and proc.poll() is None
    proc.kill()
    proc.wait()
    assert wait_for(lambda: not domino_state(solo_fleet)["backup_mode"], timeout=3)
    assert solo_fleet.state("dom01")["shadows"] == {}
    cfg_path = solo_fleet.host_dir("dom01") / "sim.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["vss_freeze_limit_s"] = 1
    cfg_path.write_text(json.dumps(cfg))
    started = time.time()
    out = solo_fleet.run_tool("dom01", "diskshadow", "/s", script)
    assert 1 <= time.time() - started < 5
    assert "(VSS_E_WRITERERROR_TIMEOUT). The shadow copy creation failed." in out.stdout
    assert not domino_state(solo_fleet)["backup_mode"] and solo_fleet.state("dom01")["shadows"] == {}
    # A hung tool whose caller dies ends too (on Windows its process goes with the caller's job).
    solo_fleet.fault("dom01", "hang", {"tasklist": 600})
    proc = subprocess.Popen([solo_fleet.tool("dom01", "tasklist")], stdout=subprocess.DEVNULL)
    log = solo_fleet.host_dir("dom01") / "run" / "hostd.log"
    assert wait_for(lambda: "tasklist hangs for 600 s" in log.read_text())
    proc.kill()
    proc.wait()
    assert wait_for(lambda: "tasklist ended: its caller died" in log.read_text(), timeout=3)


def test_hang_fault_and_latency(solo_fleet):
    solo_fleet.fault("dom01", "hang", {"tasklist": 1.0})
    started = time.time()
    solo_fleet.run_tool("dom01", "tasklist")
    assert time.time() - started >= 0.9
    solo_fleet.fault("dom01", "latency_ms", 300)
    python = solo_fleet.hosts[0]["python"]
    import subprocess
    started = time.time()
    subprocess.run([python, "-c", "pass"], check=True)
    assert time.time() - started >= 0.3
    calls = (solo_fleet.host_dir("dom01") / "run" / "remote_calls.log").read_text().strip().splitlines()
    assert len(calls) == 1


def test_unknown_fault_is_refused(solo_fleet):
    with pytest.raises(SystemExit, match="unknown fault"):
        solo_fleet.fault("dom01", "meteor_strike", True)


def test_a_backup_nobody_requested_is_not_held(tmp_path):
    """Domino Backup started by someone else (a program document, an admin's load backup -s): the hook has no
    request from quiesce.domino, so it does not hold (and a release left from an earlier snapshot is not taken
    for this one)."""
    made = simfleet.create(tmp_path / "fleet", 1, "backup_task")
    simfleet.up(tmp_path / "fleet")
    try:
        host = Path(made[0]["dir"])
        simfleet.set_fault(host, "console_other_user", "allow")
        hold = host / "volumes" / "D" / "Domino" / "data" / "quiesce_domino" / "hold"
        hold.mkdir(parents=True)
        (hold / "release").write_text("")  # left by an earlier snapshot
        tool = made[0]["tools"]["nserver"]
        import subprocess
        subprocess.run([tool, "-c", "load backup -s"], check=True, capture_output=True, timeout=30)
        log = host / "run" / "hostd.log"
        assert wait_for(lambda: "no snapshot was requested by quiesce.domino" in log.read_text())
        assert not (hold / "held.json").exists() and not (hold / "done.json").exists()
    finally:
        simfleet.down(tmp_path / "fleet")
