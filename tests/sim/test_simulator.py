"""Self-tests of the Windows twin: its tools print the real formats and act on the host."""
from __future__ import annotations

import datetime
import json
import time
import typing as t
from pathlib import Path

import pytest
from ansible_collections.quiesce.domino.plugins.module_utils import robocopy
from quiesce_sim import domino, fleet as simfleet, hostd, tools

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
    (tmp_path / "b.nsf").write_text("TXN 1 2/3 x\nTXN 2 2/3 y\n")
    (tmp_path / "a.nsf").write_text("TXN 1 1/3 x\nTXN 1 3/3 x\nTXN 2 1/3 y\nTXN 2 3/3 y\n")
    assert domino.torn_transactions(tmp_path) == []


def test_fleet_check_restores_and_judges_a_copy(tmp_path, capsys):
    """``fleet check`` judges a copy as restore_check does: a transaction torn in the copy is rolled back by
    recovery (consistent); a database that needs its change info is not."""
    copy = tmp_path / "copy"
    copy.mkdir()
    a, b = copy / "a.nsf", copy / "b.nsf"
    for db in (a, b):
        domino.create_db(db, [])
    for step, db in ((1, a), (2, b), (3, a)):
        domino.write_step(db, 1, step, "x")
    domino.write_step(a, 2, 1, "y")  # torn
    assert simfleet.main(["check", str(copy)]) == 0
    assert "consistent after restore" in capsys.readouterr().out
    domino.set_mark(a, "B1")
    assert simfleet.main(["check", str(copy)]) == 1
    assert "lack their change info" in capsys.readouterr().out


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


# ------------------------------------------------------------------ the whole server: translog, DAOS, layout
WHOLE = {"translog_dir": "L:\\translog", "daos_dir": "N:\\DAOS"}
LOCATIONS = [{"name": "data", "kind": "data", "path": "D:\\Domino\\data"},
             {"name": "translog", "kind": "translog", "path": "L:\\translog"},
             {"name": "daos", "kind": "daos", "path": "N:\\DAOS"}]


def layout_copy(copy: Path, shadows: dict[str, Path], daos_from: t.Optional[Path] = None) -> Path:
    """A copy in the product's layout from a shadow copy set (volume letter -> shadow root)."""
    import shutil
    shutil.copytree(shadows["D"] / "Domino" / "data", copy / "data")
    shutil.copytree(shadows["L"] / "translog", copy / "translog")
    shutil.copytree(daos_from or shadows["N"] / "DAOS", copy / "daos")
    (copy / domino.LAYOUT_FILE).write_text(json.dumps({"format": 1, "service": SERVICE, "server_name": "dom01/SIM",
                                                       "locations": LOCATIONS}))
    return copy


def shadow_roots(fleet) -> dict[str, Path]:
    return {s["volume"]: Path(s["dir"]) for s in fleet.state("dom01")["shadows"].values()}


@pytest.fixture(scope="module")
def whole_server_copy(tmp_path_factory) -> t.Iterator[Path]:
    """A host whose transaction log (L:) and DAOS store (N:) live on volumes of their own, and a copy of it
    from one shadow copy set of D:, L: and N: in the layout the product writes."""
    from conftest import make_fleet
    root = tmp_path_factory.mktemp("whole")
    made = make_fleet(root / "fleet", 1, "vss", **WHOLE)
    try:
        host = made.host_dir("dom01")
        cfg = json.loads((host / "sim.json").read_text())
        assert {"L", "N"} <= set(cfg["volumes"]) and cfg["dominos"][0]["daos"] == {"path": "N:\\DAOS"}
        ini = (host / "volumes" / "D" / "Domino" / "data" / "notes.ini").read_bytes()
        assert b"TRANSLOG_Path=L:\\translog\r\n" in ini and b"DAOSEnable=1\r\nDAOSBasePath=N:\\DAOS\r\n" in ini
        live = host / "volumes" / "D" / "Domino" / "data"
        assert wait_for(lambda: domino.last_transaction(live) > 10)
        script = write_script(root, "set context persistent nowriters\nadd volume d:\nadd volume l:\nadd volume n:\ncreate\n")
        out = made.run_tool("dom01", "diskshadow", "/s", script)
        assert "Number of shadow copies listed: 3" in out.stdout, out.stdout
        yield layout_copy(root / "copy", shadow_roots(made))
    finally:
        simfleet.down(root / "fleet")


def fresh(copy: Path, tmp_path: Path) -> Path:
    import shutil
    return Path(shutil.copytree(copy, tmp_path / "copy"))


def test_whole_server_layout_copy_is_consistent(whole_server_copy, tmp_path):
    verdict = domino.restore_check(whole_server_copy, tmp_path / "restore")
    assert verdict["consistent"], domino.verdict_text(verdict)
    assert verdict["layout"] == "locations" and verdict["log_checked"] and verdict["log_present"]
    assert verdict["log_missing_commits"] == 0 and verdict["nlo_missing"] == []
    assert verdict["nlo_referenced"] >= 10 and verdict["daos_present"]
    assert "transaction log not behind" in domino.verdict_text(verdict)
    assert simfleet.main(["check", str(whole_server_copy)]) == 0


def test_whole_server_copy_missing_an_nlo_is_not_consistent(whole_server_copy, tmp_path):
    copy = fresh(whole_server_copy, tmp_path)
    referenced = sorted(domino.nlo_references(copy / "data"))
    victim = referenced[0]  # the oldest commit: never the transaction torn at the snapshot
    (copy / "daos" / domino.NLO_FOLDER / victim).unlink()
    verdict = domino.restore_check(copy, tmp_path / "restore")
    assert not verdict["consistent"] and verdict["nlo_missing"] == [victim]
    assert victim in domino.verdict_text(verdict)
    # Without its DAOS store (the old layout: the data directory alone) every referenced object is missing.
    bare = domino.restore_check(copy / "data", tmp_path / "bare")
    assert bare["layout"] == "data_dir" and not bare["log_checked"] and not bare["consistent"]
    assert len(bare["nlo_missing"]) == bare["nlo_referenced"] > 0


def test_whole_server_copy_whose_log_is_older_than_the_data_is_not_consistent(whole_server_copy, tmp_path):
    copy = fresh(whole_server_copy, tmp_path)
    extent = copy / "translog" / domino.LOG_EXTENT
    lines = extent.read_text().splitlines(keepends=True)
    last_commit = max(i for i, line in enumerate(lines) if " 3/3 " in line)
    extent.write_text("".join(lines[:last_commit]))  # the log as it was one commit earlier
    verdict = domino.restore_check(copy, tmp_path / "restore")
    assert not verdict["consistent"] and verdict["log_present"] and verdict["log_missing_commits"] == 1
    assert "transaction log is behind" in domino.verdict_text(verdict)
    import shutil
    shutil.rmtree(copy / "translog")
    gone = domino.restore_check(copy, tmp_path / "gone")
    assert not gone["consistent"] and not gone["log_present"]
    assert "L:\\translog is not in the copy" in domino.verdict_text(gone)


def test_old_layout_copy_is_checked_as_before(tmp_path):
    """A copy without quiesce_domino.json is the data directory: judged by its databases and deltas alone when
    the log lies outside it (the old layout has no place for it); the same data as a layout copy without the
    log folder is not consistent."""
    copy = tmp_path / "old"
    copy.mkdir()
    (copy / "notes.ini").write_text("[Notes]\r\nDirectory=D:\\Domino\\data\r\nTRANSLOG_Status=1\r\n"
                                    "TRANSLOG_Path=D:\\Domino\\translog\r\n")
    a, b = copy / "a.nsf", copy / "b.nsf"
    for db in (a, b):
        domino.create_db(db, [])
    for step, db in ((1, a), (2, b), (3, a)):
        domino.write_step(db, 1, step, "x")
    old = domino.restore_check(copy, tmp_path / "r-old")
    assert old["consistent"] and old["layout"] == "data_dir" and not old["log_checked"]
    assert old["nlo_referenced"] == 0 and old["databases"] == 2
    domino.set_mark(b, "B1")
    marked = domino.restore_check(copy, tmp_path / "r-marked")
    assert not marked["consistent"] and marked["needs_change_info"] == ["b.nsf"]
    domino.set_mark(b, None)
    layout = tmp_path / "layout"
    import shutil
    shutil.copytree(copy, layout / "data")
    (layout / domino.LAYOUT_FILE).write_text(json.dumps({"format": 1, "locations": [
        {"name": "data", "kind": "data", "path": "D:\\Domino\\data"},
        {"name": "translog", "kind": "translog", "path": "D:\\Domino\\translog"}]}))
    missing = domino.restore_check(layout, tmp_path / "r-layout")
    assert missing["log_checked"] and not missing["log_present"] and not missing["consistent"]
    domino.log_step(layout / "translog", 1, 3, "a.nsf")
    assert domino.restore_check(layout, tmp_path / "r-logged")["consistent"]


def in_process_host(tmp_path: Path, **kw) -> "hostd.Host":
    """A host served in this process (no hostd), so a test can watch or steer its writer."""
    made = simfleet.create(tmp_path / "fleet", 1, "vss", **kw)
    return hostd.Host(Path(made[0]["dir"]))


def stop(host) -> None:
    with host.io_lock:
        host.dominos[0].kill("test end")


def test_writer_logs_before_the_database_and_writes_the_nlo_before_its_reference(tmp_path, monkeypatch):
    host = in_process_host(tmp_path, **WHOLE)
    server = host.dominos[0]
    log = host.path("L:\\translog") / domino.LOG_EXTENT
    daos = host.path("N:\\DAOS")
    seen: list[tuple[int, int]] = []
    wrong: list[str] = []
    write_step = domino.write_step

    def checked(db, txn, step, payload):
        record = "TXN %d %d/3 %s\n" % (txn, step, db.name)
        if not log.exists() or not log.read_text().endswith(record):
            wrong.append("no log record before %s" % record.strip())
        if step == 3:
            nlo = daos / domino.NLO_FOLDER / domino.nlo_name(txn)
            if "nlo=%012d" % txn not in payload or nlo.read_text() != "NLO %d\n" % txn:
                wrong.append("commit %d refers to no NLO written before it" % txn)
        seen.append((txn, step))
        write_step(db, txn, step, payload)
    monkeypatch.setattr(domino, "write_step", checked)
    server.start()
    try:
        assert wait_for(lambda: sum(1 for _t, s in seen if s == 3) >= 5)
    finally:
        stop(host)
    assert not wrong, wrong[:5]
    first = daos / domino.NLO_FOLDER / domino.nlo_name(seen[0][0])
    assert first.read_text() == "NLO %d\n" % seen[0][0]  # never changed afterwards


def test_a_shadow_copy_set_is_one_point_in_time_across_its_volumes(tmp_path):
    """The log on L:, the databases on D:: a write that tries to land between the two volumes of one set
    waits until the whole set is taken, so no transaction is in one volume's shadow and not the other's."""
    import threading
    host = in_process_host(tmp_path, translog_dir="L:\\translog")
    server = host.dominos[0]
    server.start()
    assert wait_for(lambda: server.txn > 3)
    original = host.create_shadow
    helpers = []

    def write_one() -> None:
        with host.io_lock:
            server.txn += 1
            for step, db in ((1, server.dbs[0]), (2, server.dbs[1]), (3, server.dbs[0])):
                server._write_step(server.txn, step, db)

    def shadow_then_write(*args, **kwargs):
        shadow = original(*args, **kwargs)
        helper = threading.Thread(target=write_one)
        helper.start()
        helper.join(0.2)  # without the set's lock the write lands now, between two volumes
        helpers.append(helper)
        return shadow
    host.create_shadow = shadow_then_write
    ds = tools._DiskShadow(host)
    ds.writers, ds.persistent = False, True
    ds.volumes = [("L", None), ("D", None)]  # the log first: a write in between would put the data ahead of it
    try:
        ds.cmd_create([])
    finally:
        for helper in helpers:
            helper.join(5)
        stop(host)
    roots = {s["volume"]: Path(s["dir"]) for s in host.shadows.values()}
    logged = {tuple(line.split()[1:3]) for line in (roots["L"] / "translog" / domino.LOG_EXTENT).read_text().splitlines()}
    written = set()
    for db in domino.databases(roots["D"] / "Domino" / "data"):
        written |= {tuple(line.split()[1:3]) for line in db.read_text().splitlines() if line.startswith("TXN ")}
    assert logged == written and len(written) >= 3


def commit_one(server) -> int:
    """One whole transaction written by the host's Domino writer steps (log record, NLO, database lines)."""
    with server.host.io_lock:
        server.txn += 1
        for step, db in ((1, server.dbs[0]), (2, server.dbs[1]), (3, server.dbs[0])):
            server._write_step(server.txn, step, db)
        return server.txn


def test_change_info_applied_in_the_shadow_is_newer_than_the_snapshot(tmp_path):
    """VSS auto-recovery: the writer applies its change info to the shadow copy after the set was taken.  The
    commits that came with it are newer than the snapshot: the set's log may lack them (not behind: exempt),
    and the attachment objects they refer to are not in the set's DAOS store but in a copy of the store taken
    afterwards (HCL: back up the NLOs after the NSFs)."""
    host = in_process_host(tmp_path, **WHOLE)
    server = host.dominos[0]
    for _commit in range(3):
        commit_one(server)
    with host.io_lock:
        assert server.enter_backup_mode()
    commit_one(server)
    with host.io_lock:
        shadows = {v: Path(host.create_shadow(v, "{set}", tools.new_guid(), [], "persistent")["dir"]) for v in "DLN"}
    late = commit_one(server)
    server.leave_backup_mode(into=shadows["D"], gap_s=0)
    image = shadows["D"] / "Domino" / "data"
    assert any(domino.applied_from(db) for db in domino.databases(image))
    assert late in domino.scan(image) and late not in domino.logged_commits(shadows["L"] / "translog")
    from_set = domino.restore_check(layout_copy(tmp_path / "set", shadows), tmp_path / "r1")
    assert from_set["log_checked"] and from_set["log_missing_commits"] == 0
    assert from_set["nlo_missing"] == [domino.nlo_name(late)] and not from_set["consistent"]
    later = layout_copy(tmp_path / "later", shadows, host.path("N:\\DAOS"))
    assert domino.restore_check(later, tmp_path / "r2")["consistent"]
    # The same late commit in the databases of the snapshot itself (no change info) puts the log behind.
    domino.set_mark(later / "data" / server.dbs[0].name, None)  # a header without the applied offset
    behind = domino.restore_check(later, tmp_path / "r3")
    assert behind["log_missing_commits"] == 1 and not behind["consistent"]


def test_vss_writer_layout_copy_of_the_whole_server(tmp_path):
    """Through diskshadow with the Domino VSS writer (auto-recovery): the set of D:, L: and N: in the layout,
    with the DAOS store copied after the snapshot, restores consistently and its log is not behind."""
    from conftest import make_fleet
    made = make_fleet(tmp_path / "fleet", 1, "vss", **WHOLE)
    try:
        host = made.host_dir("dom01")
        made.fault("dom01", "console_other_user", "allow")
        made.run_tool("dom01", "nserver", "-c", "load backupvss")
        script = write_script(tmp_path, "set context persistent\nadd volume d:\nadd volume l:\nadd volume n:\ncreate\n")
        out = made.run_tool("dom01", "diskshadow", "/s", script)
        assert '* Including writer "Domino VSS Writer":' in out.stdout, out.stdout
        shadows = shadow_roots(made)
        assert any(domino.applied_from(db) for db in domino.databases(shadows["D"] / "Domino" / "data"))
        copy = layout_copy(tmp_path / "copy", shadows, host / "volumes" / "N" / "DAOS")
        verdict = domino.restore_check(copy, tmp_path / "restore")
        assert verdict["log_checked"] and verdict["log_missing_commits"] == 0
        assert verdict["consistent"], domino.verdict_text(verdict)
    finally:
        simfleet.down(tmp_path / "fleet")


def test_the_compare_script_compares_place_by_place_and_allows_only_topped_up_daos_objects(tmp_path):
    """The host-side comparison (the compare script, here its twin): rows outside the places copied this time are
    not judged, an extra DAOS object is a difference unless the top-up is allowed, a missing file always is."""
    host = hostd.Host(Path(simfleet.create(tmp_path / "fleet", 1, "vss")[0]["dir"]))

    def tsv(name, rows):
        host.path("E:\\" + name).write_text("".join("%s\t1\tx\t\n" % r for r in rows))
        return "E:\\" + name
    # listing order: daos before data, a folder's contents before its next sibling ("0001\\" before "0001-old")
    source = tsv("source.tsv", ["daos\\0001\\1.nlo", "daos\\0001-old\\9.nlo", "data\\a.nsf"])
    copy = tsv("copy.tsv", ["daos\\0001\\1.nlo", "daos\\0001\\2.nlo", "daos\\0001-old\\9.nlo", "data\\a.nsf",
                            "links\\old\\f"])
    more = tsv("more.tsv", ["translog\\S1.TXN"])

    def compare(sources, extras):
        rc, out, _err = tools._fs_compare(host, {"sources": sources, "copy": copy, "under": ["data\\", "daos\\"],
                                                 "extras_allowed_under": extras, "required": None})
        return rc, json.loads(out)
    rc, doc = compare([source], [])
    assert rc == 1 and doc["differences"] == ["extra in the copy: daos\\0001\\2.nlo"] and doc["files"] == 4
    assert compare([source], ["daos\\"]) == (0, {"files": 4, "difference_count": 0, "differences": []})
    rc, doc = compare([source, more], ["daos\\"])
    assert rc == 1 and doc["differences"] == ["missing in the copy: translog\\S1.TXN"]
    # a listing out of order is an error, never a pass (the merge would miss rows)
    unordered = tsv("unordered.tsv", ["data\\a.nsf", "daos\\0001\\1.nlo"])
    rc, out, err = tools._fs_compare(host, {"sources": [unordered], "copy": copy, "under": ["data\\"],
                                            "extras_allowed_under": [], "required": None})
    assert rc == 1 and out == "" and "not in listing order at daos\\0001\\1.nlo" in err


def test_the_manifest_script_lists_in_the_order_the_compare_script_merges(tmp_path):
    """Siblings by upper-case name, a folder's contents right after it (before "a-b" comes "a\\z"), units as given."""
    host = hostd.Host(Path(simfleet.create(tmp_path / "fleet", 1, "vss")[0]["dir"]))
    for rel in ("a-b.nsf", "a\\z.nsf", "B.nsf", "a\\Y\\x.nsf", "c.nsf"):
        target = host.path("E:\\tree\\" + rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x")
    rc, _out, err = tools._fs_manifest(host, {"units": [{"root": "E:\\tree", "prefix": "data\\", "files": None, "exclude_dirs": [],
                                                         "exclude_files": []}], "sha256": False, "out_tsv": "E:\\t.tsv",
                                              "out_json": None, "print_rows": False})
    assert rc == 0, err
    paths = [line.split("\t")[0] for line in host.path("E:\\t.tsv").read_text().splitlines()]
    assert paths == ["data\\a\\Y\\x.nsf", "data\\a\\z.nsf", "data\\a-b.nsf", "data\\B.nsf", "data\\c.nsf"]
    assert paths == sorted(paths, key=robocopy.listing_key)
