"""playbooks/fleet_backup.yml with the backup_report callback, on a mixed fleet with one failure."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from quiesce_sim import domino


def test_fleet_backup_reports_every_host_and_the_failure(tmp_path):
    from conftest import make_fleet, simfleet
    fleet = make_fleet(tmp_path / "fleet", 4)
    fleet.fault("dom04", "fail", {"robocopy": "rc8"})
    reports = tmp_path / "reports"
    try:
        run = fleet.playbook("quiesce.domino.fleet_backup",
                             extra_vars={"snapshot_backup_destination": "\\\\backupsrv\\domino",
                                         "snapshot_backup_copy_retries": 0, "snapshot_backup_copy_wait": 0,
                                         "snapshot_backup_shutdown_timeout": 30,
                                         "snapshot_backup_allow_downtime": True},
                             env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
                                  "ANSIBLE_CALLBACKS_ENABLED": "quiesce.domino.backup_report",
                                  "QUIESCE_REPORT_DIR": str(reports)})
        assert run.rc == 2, run.stdout[-3000:]  # one host failed
        assert "quiesce.domino backup report" in run.stdout
        assert "4 hosts: 3 backed up, 1 failed, 3 verified copies" in run.stdout
        data = json.loads((reports / "backup-report-latest.json").read_text())
        hosts = {h["host"]: h for h in data["hosts"]}
        assert data["summary"]["backed_up"] == 3 and data["summary"]["failed"] == 1
        for name in ("dom01", "dom02", "dom03"):
            rec = hosts[name]
            assert rec["status"] == "ok" and rec["copy"]["verified"] is True and rec["frozen_ms"] > 0
            copy_dir = fleet.root / "shares" / "backupsrv" / "domino" / name
            [stamp] = [p for p in copy_dir.iterdir() if p.is_dir()]
            assert domino.restore_check(stamp, tmp_path / ("restore-" + name))["consistent"]
        failed = hosts["dom04"]
        assert failed["status"] == "failed" and failed["failed_task"].endswith(": Copy and verify the frozen data")
        assert "robocopy rc 9" in failed["error"] and "ERROR 32 (0x00000020)" in failed["error"]
        assert failed["failed_step"] == "copy"
        suite = ET.parse(reports / "backup-report-latest.junit.xml").getroot()
        assert suite.get("tests") == "4" and suite.get("failures") == "1"
        failure = next(c for c in suite if c.get("name") == "dom04").find("failure")
        assert "robocopy rc 9" in failure.get("message")
        page = (reports / "backup-report-latest.html").read_text()
        # every host was frozen and copied (dom04's copy ran and failed), so every row has both bars
        assert page.count("class='bar freeze'") == 4 and page.count("class='bar copy'") == 4
        assert page.count("NOT verified") == 1 and "robocopy rc 9" in page
        for name in ("dom01", "dom02", "dom03", "dom04"):
            state = fleet.state(name)
            dom = state["dominos"][0]
            assert dom["state"] == "RUNNING" and dom["answers"] and not dom["backup_mode"]
            assert state["shadows"] == {}, "shadow left behind on %s" % name
        assert not (fleet.root / "shares" / "backupsrv" / "domino" / "dom04").exists() or not [
            p for p in (fleet.root / "shares" / "backupsrv" / "domino" / "dom04").iterdir() if p.is_dir()]
        calls = {h: (Path(fleet.host_dir(h)) / "run" / "remote_calls.log").read_text().count("\n") for h in hosts}
        assert all(n == 3 for n in calls.values()), calls
    finally:
        simfleet.down(tmp_path / "fleet")


def test_fleet_backup_without_destination_stops_before_the_freeze(solo_fleet):
    run = solo_fleet.playbook("quiesce.domino.fleet_backup")
    assert run.rc == 2
    failed = run.result("The copy destination is set", "dom01")
    assert "snapshot_backup_destination is not set" in failed["msg"] and "Nothing was done on dom01" in failed["msg"]
    # refused once, before anything reached the host (not after discovery, and not again by the rescue)
    assert run.stdout.count("snapshot_backup_destination is not set") == 1, run.stdout[-3000:]
    log = Path(solo_fleet.host_dir("dom01")) / "run" / "remote_calls.log"
    assert not log.exists() or log.read_text().count("\n") == 0
    state = solo_fleet.state("dom01")
    assert state["shadows"] == {} and state["tasks"] == {} and state["dominos"][0]["state"] == "RUNNING"
