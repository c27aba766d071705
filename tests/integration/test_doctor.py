"""quiesce.domino.doctor (issue 15, item 3): `ansible-playbook quiesce.domino.doctor` on a simulated fleet prints a
readiness table per host; a host made unready in each way (no Domino writer, console refused, unsupported culture,
share not writable) is reported with the reason and the fix; check mode writes nothing."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import make_fleet
from quiesce_sim import fleet as simfleet
from quiesce_sim.tools import DOMINO_WRITER_ID

SHARE = "\\\\backupsrv\\domino"
HOSTS = {"dom01": "ready", "dom02": "no writer", "dom03": "console refused", "dom04": "german", "dom05": "read-only share",
         "dom06": "supported german", "dom07": "stopped"}
READY = ("dom01", "dom06", "dom07")


def _edit(fleet, name, change) -> None:
    path = fleet.host_dir(name) / "sim.json"
    cfg = json.loads(path.read_text())
    change(cfg)
    path.write_text(json.dumps(cfg))


@pytest.fixture(scope="module")
def doctor_fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("doctor")
    made = make_fleet(root, len(HOSTS), "vss")
    # dom02: backupvss runs but registers no writer with VSS
    _edit(made, "dom02", lambda cfg: cfg["dominos"][0].update(vss_writer_registers=False))
    made.fault("dom02", "console_other_user", "allow")
    loaded = made.run_tool("dom02", "nserver", "-c", "load backupvss")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    made.fault("dom02", "console_other_user", None)
    # dom01: backupvss loaded too, with its writer
    made.fault("dom01", "console_other_user", "allow")
    assert made.run_tool("dom01", "nserver", "-c", "load backupvss").returncode == 0
    made.fault("dom01", "console_other_user", None)
    made.fault("dom03", "console_refused", True)
    _edit(made, "dom04", lambda cfg: cfg.setdefault("windows", {}).update(
        # German is read by evidence now; what stays unsupported is a language whose output cannot be decoded: a
        # host that does not report its OEM code page
        culture={"installed_ui": "de-DE", "ui": "de-DE", "format": "de-DE", "oem_code_page": None}))
    made.fault("dom05", "share_access", "read_only")
    # dom06: German and supported (OEM code page known), backupvss loaded: vssadmin prints German, the name in
    # double quotes; the snapshot would need the writer's ID
    _edit(made, "dom06", lambda cfg: cfg.setdefault("windows", {}).update(
        culture={"installed_ui": "de-DE", "ui": "de-DE", "format": "de-DE", "oem_code_page": "850"}))
    made.fault("dom06", "console_other_user", "allow")
    assert made.run_tool("dom06", "nserver", "-c", "load backupvss").returncode == 0
    made.fault("dom06", "console_other_user", None)
    # dom07: its Domino server is stopped
    service = made.state("dom07")["dominos"][0]["service"]
    stopped = made.run_tool("dom07", "sc", "stop", service)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    yield made
    simfleet.down(root)


def _checks(result):
    return {c["name"].split(" HCL ")[0]: c for c in result["checks"]}


def test_the_playbook_prints_a_table_per_host_and_names_the_unready_ones(doctor_fleet, tmp_path):
    run = doctor_fleet.playbook("quiesce.domino.doctor", extra_vars={
        "quiesce_doctor_destination": SHARE, "quiesce_doctor_transcripts": str(tmp_path / "transcripts")})
    results = run.results("Check the host")
    tables = run.results("Readiness table")
    for host in HOSTS:
        assert tables[host]["msg"] == results[host]["table"], host
        assert tables[host]["msg"][0] == "%s: %s" % (host, "READY" if host in READY else "NOT READY")
        assert results[host]["remote_calls"] == 2
    ready = _checks(results["dom01"])
    assert results["dom01"]["ready"] is True, results["dom01"]["table"]
    assert ready["vss writer"]["status"] == "ok" and "Domino VSS Writer {" in ready["vss writer"]["found"]
    assert ready["console"]["status"] == "ok" and "console.log" in ready["console"]["found"]
    assert ready["destination"]["status"] == "ok" and "created and deleted" in ready["destination"]["found"]

    writer = _checks(results["dom02"])["vss writer"]
    assert writer["status"] == "fail" and "backupvss runs but no Domino writer" in writer["found"]
    assert "load backupvss" in writer["fix"]
    assert results["dom02"]["not_ready"] == [c["name"] for c in results["dom02"]["checks"] if c["status"] == "fail"]
    assert len(results["dom02"]["not_ready"]) == 1

    console = _checks(results["dom03"])["console"]
    assert console["status"] == "fail" and "exit code 1" in console["found"], console
    assert "Console command refused" in console["found"] and "Task Scheduler" in console["fix"]
    assert len(results["dom03"]["not_ready"]) == 1

    culture = _checks(results["dom04"])["ui culture"]
    assert culture["status"] == "fail" and "UI culture de-DE" in culture["reason"]

    assert "OEMCP" in culture["fix"] and "English" not in culture["fix"]

    share = _checks(results["dom05"])["destination"]
    assert share["status"] == "fail" and "is denied" in share["found"] and "Modify" in share["fix"]
    assert len(results["dom05"]["not_ready"]) == 1

    # a supported German host: the writer is read from German output (double quotes), and method auto would refuse
    # vss_writer without its ID, so the doctor names the ID to set
    german = _checks(results["dom06"])
    assert results["dom06"]["ready"] is True, results["dom06"]["table"]
    assert german["ui culture"]["status"] == "ok"
    writer = german["vss writer"]
    assert writer["status"] == "warn" and "Domino VSS Writer %s" % DOMINO_WRITER_ID.lower() in writer["found"], writer
    assert writer["fix"].startswith('set snapshot_backup_domino_writer_id: "%s"' % DOMINO_WRITER_ID.lower())
    assert german["console"]["status"] == "ok"

    # a stopped server outside check mode: its console is not tried, a warning, and the host is ready
    stopped = _checks(results["dom07"])["console"]
    assert stopped["status"] == "warn" and "does not answer" in stopped["reason"], stopped
    assert "refused" not in stopped["found"] and "batch job" not in stopped["found"]
    assert results["dom07"]["ready"] is True, results["dom07"]["table"]

    # the play fails at the end, naming every host that is not ready and why
    assert run.rc != 0
    final = run.result("Hosts not ready", "dom01")
    assert final["failed"] is True
    for host in ("dom02", "dom03", "dom04", "dom05"):
        assert "%s: not ready (" % host in final["msg"], final["msg"]
    for host in READY:
        assert host not in final["msg"]

    saved = json.loads((tmp_path / "transcripts" / "doctor-dom04.json").read_text())
    assert saved["host"] == "dom04" and saved["culture"]["ui_culture"] == "de-DE"
    writers = next(s for s in saved["steps"] if s["name"] == "vssadmin list writers")
    assert 'Verfassername: "System Writer"' in writers["stdout"] and writers["argv"][1:] == ["list", "writers"]
    assert results["dom04"]["transcripts"] == str(tmp_path / "transcripts" / "doctor-dom04.json")
    # nothing of the write test is left on the share
    assert not list((doctor_fleet.root / "shares" / "backupsrv" / "domino").glob("quiesce-doctor-*"))
    # the console test ran under a task name of its own, never the backups' console-<service>
    tasks = re.findall(r"runas task (\S+): ", (Path(doctor_fleet.host_dir("dom01")) / "run" / "hostd.log").read_text())
    doctor_tasks = [name for name in tasks if name.startswith("doctor-")]
    assert doctor_tasks and all(re.fullmatch(r"doctor-\w+-[0-9a-f]{32}", name) for name in doctor_tasks), tasks


def test_check_mode_reads_only_and_skips_the_share_write(doctor_fleet):
    calls = {h: _calls(doctor_fleet, h) for h in HOSTS}
    run = doctor_fleet.playbook("quiesce.domino.doctor", check=True,
                                extra_vars={"quiesce_doctor_destination": SHARE, "quiesce_doctor_fail": False})
    assert run.rc == 0, run.stdout[-2000:]
    results = run.results("Check the host")
    for host in HOSTS:
        assert results[host]["remote_calls"] == 1
        assert _calls(doctor_fleet, host) == calls[host] + 1, host
    share = _checks(results["dom05"])["destination"]
    assert share["status"] == "warn" and "write test was skipped (check mode)" in share["found"]
    console = _checks(results["dom03"])["console"]
    assert console["status"] == "warn" and "not tried (check mode)" in console["found"]
    # what check mode can see still fails: the writer and the culture
    assert _checks(results["dom02"])["vss writer"]["status"] == "fail"
    assert _checks(results["dom04"])["ui culture"]["status"] == "fail"
    assert results["dom01"]["ready"] is True
    stopped = _checks(results["dom07"])["console"]
    assert stopped["status"] == "warn" and "does not answer" in stopped["reason"]
    tasks = doctor_fleet.state("dom03")["tasks"]
    assert not any("run\\" in name.lower() for name in tasks), tasks


def test_the_console_is_not_tried_while_a_run_holds_the_host_lock(doctor_fleet):
    """A doctor run during a backup: the probe sees the backups' host lock, so show server is not sent (the doctor's
    task has a name of its own anyway); the host stays ready, with a warning naming the lock's owner."""
    lock = Path(doctor_fleet.host_dir("dom01")) / "volumes" / "C" / "ProgramData" / "quiesce.domino" / "locks" / "backup"
    lock.mkdir(parents=True)
    (lock / "owner.json").write_text(json.dumps({"owner": "snapshot-run-42", "since_ms": 1}))
    try:
        run = doctor_fleet.playbook("quiesce.domino.doctor", limit="dom01")
        result = run.results("Check the host")["dom01"]
    finally:
        for f in lock.iterdir():
            f.unlink()
        lock.rmdir()
    assert run.rc == 0, run.stdout[-2000:]
    console = _checks(result)["console"]
    assert console["status"] == "warn" and "a run holds the host lock" in console["found"], console
    assert "snapshot-run-42" in console["found"] and result["ready"] is True
    assert result["remote_calls"] == 1  # nothing to try: no destination, no console


def _calls(fleet, host: str) -> int:
    log = Path(fleet.host_dir(host)) / "run" / "remote_calls.log"
    return len(log.read_text().splitlines()) if log.exists() else 0
