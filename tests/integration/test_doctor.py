"""quiesce.domino.doctor (issue 15, item 3): `ansible-playbook quiesce.domino.doctor` on a simulated fleet prints a
readiness table per host; a host made unready in each way (no Domino writer, console refused, unsupported culture,
share not writable) is reported with the reason and the fix; check mode writes nothing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import make_fleet
from quiesce_sim import fleet as simfleet

SHARE = "\\\\backupsrv\\domino"
HOSTS = {"dom01": "ready", "dom02": "no writer", "dom03": "console refused", "dom04": "german", "dom05": "read-only share"}


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
        assert tables[host]["msg"][0] == "%s: %s" % (host, "READY" if host == "dom01" else "NOT READY")
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
    assert culture["status"] == "fail" and "UI culture de-DE" in culture["reason"] and "English" in culture["fix"]

    share = _checks(results["dom05"])["destination"]
    assert share["status"] == "fail" and "is denied" in share["found"] and "Modify" in share["fix"]
    assert len(results["dom05"]["not_ready"]) == 1

    # the play fails at the end, naming every host that is not ready and why
    assert run.rc != 0
    final = run.result("Hosts not ready", "dom01")
    assert final["failed"] is True
    for host in ("dom02", "dom03", "dom04", "dom05"):
        assert "%s: not ready (" % host in final["msg"], final["msg"]
    assert "dom01" not in final["msg"]

    saved = json.loads((tmp_path / "transcripts" / "doctor-dom04.json").read_text())
    assert saved["host"] == "dom04" and saved["culture"]["ui_culture"] == "de-DE"
    writers = next(s for s in saved["steps"] if s["name"] == "vssadmin list writers")
    assert "Writer name: 'System Writer'" in writers["stdout"] and writers["argv"][1:] == ["list", "writers"]
    assert results["dom04"]["transcripts"] == str(tmp_path / "transcripts" / "doctor-dom04.json")
    # nothing of the write test is left on the share
    assert not list((doctor_fleet.root / "shares" / "backupsrv" / "domino").glob("quiesce-doctor-*"))


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
    tasks = doctor_fleet.state("dom03")["tasks"]
    assert not any("run\\" in name.lower() for name in tasks), tasks


def _calls(fleet, host: str) -> int:
    log = Path(fleet.host_dir(host)) / "run" / "remote_calls.log"
    return len(log.read_text().splitlines()) if log.exists() else 0
