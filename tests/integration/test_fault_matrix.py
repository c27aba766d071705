"""Every simulator fault against every quiesce method, through the fleet backup playbook.

After each run: Domino runs and is not in backup mode (by the end of the run), no shadow copy is left,
no watchdog stays armed, no copy is marked complete unless it was verified, and the report names the
failed task (and step) with the real reason. The matrix is printed as a table with counts.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

METHODS = {"vss_writer": ("dom01", "vss"), "backup_task": ("dom02", "backup_task"), "shutdown": ("dom03", "shutdown")}
# fault -> (settings, whether the backup must fail, words the report must contain)
FAULTS = {
    "none": ({}, False, None),
    "diskshadow COM error": ({"fail": {"diskshadow": "com_failure"}}, True, 'COM call "(*vssObject)->InitializeForBackup" failed.'),
    "robocopy rc 8": ({"fail": {"robocopy": "rc8"}}, True, "ERROR 32 (0x00000020)"),
    "share unreachable": ({"fail": {"robocopy": "share_unreachable"}}, True, "robocopy rc 16"),
    "disk full": ({"disk_mb": 0.2}, True, "destination has"),
    "drive letter in use": ({"drive_in_use": "S"}, True, "drive letter is already in use"),
    "Domino refuses backup mode": ({"domino_refuses_backup_mode": True}, None, None),
    "slow shutdown": ({"domino_slow_shutdown_seconds": 2}, False, None),
    "hung shutdown": ({"domino_shutdown_hangs": True}, None, None),
    "VSS writer timeout": ({"vss_timeout": True}, None, None),
    "latency 300 ms": ({"latency_ms": 300}, False, None),
}
MATRIX: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def matrix_fleet(tmp_path_factory):
    from conftest import make_fleet, simfleet
    root = tmp_path_factory.mktemp("matrix")
    fleet = make_fleet(root / "fleet", 3)
    yield fleet
    simfleet.down(root / "fleet")
    # Each pytest-xdist worker writes its cells; conftest's terminal summary prints the whole table.
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / ("fault-matrix-%s.json" % os.environ.get("PYTEST_XDIST_WORKER", "main"))).write_text(
        json.dumps([[f, m, v] for (f, m), v in MATRIX.items()]))


OUT = Path(__file__).resolve().parents[1] / "output"


def render_matrix(cells: dict[tuple[str, str], str]) -> str:
    lines = ["Fault matrix (fleet_backup; ok = backed up and verified, failed = refused or failed cleanly)",
             "%-28s" % "fault" + "".join("%-14s" % m for m in METHODS)]
    for fault in FAULTS:
        lines.append("%-28s" % fault + "".join("%-14s" % cells.get((fault, m), "-")[:13] for m in METHODS))
    values = list(cells.values())
    lines.append("%d runs: %d ok, %d failed cleanly, %d broken" % (
        len(values), values.count("ok"), values.count("failed"), sum(1 for v in values if v.startswith("BROKEN"))))
    return "\n".join(lines)


def reset(fleet, host):
    cfg_path = fleet.host_dir(host) / "sim.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["faults"] = {}
    cfg["volumes"]["E"]["size_mb"] = 2048
    cfg_path.write_text(json.dumps(cfg))
    (fleet.host_dir(host) / "run" / "latency_ms").write_text("0")
    if (fleet.host_dir(host) / "volumes" / "S" / "data").is_dir():
        shutil.rmtree(fleet.host_dir(host) / "volumes" / "S")


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("method", list(METHODS))
def test_fault_matrix(matrix_fleet, tmp_path, fault, method):
    fleet = matrix_fleet
    host, _profile = METHODS[method]
    settings, must_fail, words = FAULTS[fault]
    reset(fleet, host)
    for name, value in settings.items():
        if name == "drive_in_use":  # a real volume already holds the letter the role exposes the shadow as
            (Path(fleet.host_dir(host)) / "volumes" / value / "data").mkdir(parents=True, exist_ok=True)
        elif name == "disk_mb":
            cfg_path = fleet.host_dir(host) / "sim.json"
            cfg = json.loads(cfg_path.read_text())
            cfg["volumes"]["E"]["size_mb"] = value
            cfg_path.write_text(json.dumps(cfg))
        else:
            fleet.fault(host, name, value)
    reports = tmp_path / "reports"
    run = fleet.playbook("quiesce.domino.fleet_backup", limit=host, extra_vars={
        "snapshot_backup_destination": "\\\\backupsrv\\domino" if "share" in fault else "E:\\Backups",
        "snapshot_backup_method": method, "snapshot_backup_shutdown_timeout": 10,
        "snapshot_backup_copy_retries": 0, "snapshot_backup_copy_wait": 0},
        env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default", "ANSIBLE_CALLBACKS_ENABLED": "quiesce.domino.backup_report",
             "QUIESCE_REPORT_DIR": str(reports)})
    reset(fleet, host)
    record = json.loads((reports / "backup-report.json").read_text())["hosts"][0]
    state = fleet.state(host)
    dom = state["dominos"][0]
    problems = []
    if not (dom["state"] == "RUNNING" and dom["answers"] and not dom["backup_mode"]):
        problems.append("Domino left %s backup_mode=%s" % (dom["state"], dom["backup_mode"]))
    if state["shadows"]:
        problems.append("%d shadow copies left" % len(state["shadows"]))
    if [t for t in state["tasks"].values() if not t.get("fired")]:
        problems.append("watchdog left armed")
    base = (fleet.root / "shares" / "backupsrv" / "domino" / host) if "share" in fault else \
        (Path(fleet.host_dir(host)) / "volumes" / "E" / "Backups" / host)
    complete = sorted(p for p in base.glob("*") if p.is_dir() and "." not in p.name) if base.exists() else []
    if record["status"] == "ok":
        if not (record.get("copy") or {}).get("verified"):
            problems.append("ok without a verified copy")
    else:
        if not record.get("error") or not record.get("failed_task"):
            problems.append("failure without a task and reason in the report")
        if words and words not in record["error"]:
            problems.append("report lacks %r: %s" % (words, record["error"][:200]))
        newest = complete[-1].name if complete else None
        if newest and newest == (record.get("copy") or {}).get("destination", "").rsplit("\\", 1)[-1]:
            problems.append("a failed copy is marked complete")
    if must_fail is True and record["status"] == "ok":
        problems.append("fault had no effect")
    if must_fail is False and record["status"] != "ok":
        problems.append("unexpected failure: %s" % record.get("error"))
    MATRIX[(fault, method)] = ("BROKEN: " + "; ".join(problems)) if problems else (
        "ok" if record["status"] == "ok" else "failed")
    assert not problems, "%s / %s: %s\n%s" % (fault, method, problems, run.stdout[-2000:])
