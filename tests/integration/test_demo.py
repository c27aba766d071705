"""`make demo` as a new user meets it: progress as it goes, and printed commands that work when copied.

The demo runs into a build directory of its own; then the commands it prints for a second run (make
fleet-up, the exports, ansible-playbook, make fleet-down) run through bash exactly as printed, except
that `make` is told which virtual environment to use (this test's, not a .venv of its own).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
HOSTS = ["dom%02d" % i for i in range(1, 7)]


def clean_env() -> dict[str, str]:
    """The environment of a new shell: nothing of the test's collection path or report settings."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("ANSIBLE_", "QUIESCE_", "PYTEST_", "MAKE", "MFLAGS")) and k != "PYTHONPATH"}


def printed_block(out: str, after: str) -> list[str]:
    """The indented lines of the first command block printed after the line containing ``after``."""
    tail = out[out.index(after):].split("\n\n", 2)[1]
    lines = tail.splitlines()
    assert lines and all(line.startswith("  ") for line in lines), tail
    return [line[2:] for line in lines]


def complete_copies(share: Path, host: str) -> list[Path]:
    folder = share / host
    return sorted(p for p in folder.iterdir() if p.is_dir() and "." not in p.name) if folder.exists() else []


def test_demo_streams_progress_and_prints_commands_that_work(tmp_path):
    build = tmp_path / "build"
    fleet_dir = build / "demo-fleet"
    share = fleet_dir / "shares" / "backupsrv" / "domino"
    sys.path.insert(0, str(REPO / "tests" / "sim"))
    from quiesce_sim import fleet as simfleet
    try:
        demo = subprocess.run([sys.executable, str(REPO / "tests" / "tools" / "demo.py"), "--build", str(build)],
                              capture_output=True, text=True, env=clean_env(), cwd=str(REPO), timeout=600, check=False)
        out = demo.stdout
        assert demo.returncode == 0, out[-3000:] + demo.stderr[-3000:]
        # a line per host as its backup finishes, before the summary
        summary_at = out.index("quiesce.domino backup report")
        for host in HOSTS:
            found = re.search(r"^quiesce\.domino +[\d.]+ s  %s: (backed up|FAILED) \(" % host, out, re.M)
            assert found and found.start() < summary_at, host
        assert re.search(r"^quiesce\.domino +[\d.]+ s  dom04: FAILED \(vss_writer; in .*InitializeForBackup", out, re.M)
        # the command the demo ran is the one it printed: the share path reached Ansible intact
        ran = printed_block(out, "The run, as you would type it:")
        assert [line[:2] for line in ran] == ["$ "] * 3
        assert """-e '{"snapshot_backup_destination": "\\\\\\\\backupsrv\\\\domino",""" in ran[2]
        first = {h: complete_copies(share, h) for h in HOSTS}
        assert all(len(first[h]) == 1 for h in HOSTS if h != "dom04") and first["dom04"] == []
        report = json.loads((build / "reports" / "backup-report-latest.json").read_text())
        assert {h["host"]: h["copy"]["destination"].rsplit("\\", 1)[0] for h in report["hosts"] if h["copy"]} == {
            h: "\\\\backupsrv\\domino\\%s" % h for h in HOSTS if h != "dom04"}
        assert not list((fleet_dir / "hosts").glob("*/run/hostd.pid")), "the demo left the fleet running"

        # the second run, from what the demo printed
        again = printed_block(out, "Run it again yourself")
        assert again[0] == "cd %s" % REPO and again[1].startswith("make fleet-up") and again[-1].startswith("make fleet-down")
        assert any(line.startswith("export ANSIBLE_COLLECTIONS_PATH=") for line in again)
        script = "set -e\n" + "\n".join(re.sub(r"^make ", "make VENV=%s " % VENV, line) for line in again)
        second = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=clean_env(), timeout=600,
                                check=False)
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
        assert "6 hosts: 6 backed up, 0 failed, 6 verified copies" in second.stdout  # the fault was cleared
        for host in HOSTS:
            assert len(complete_copies(share, host)) == len(first[host]) + 1, host
        runs = sorted(p.name for p in (build / "reports").glob("backup-report-2*.json"))
        assert len(runs) == 2 and "backup-report-%s" % runs[1][len("backup-report-"):-5] in (
            build / "reports" / "index.html").read_text()
        assert "The simulated fleet in" in second.stdout and "is stopped" in second.stdout
        assert not list((fleet_dir / "hosts").glob("*/run/hostd.pid")), "make fleet-down left the fleet running"

        # the printed way to inject the fault again
        [inject] = printed_block(out, "To inject the fault again")
        subprocess.run(["bash", "-c", inject], env=clean_env(), check=True, timeout=60)
        cfg = json.loads((fleet_dir / "hosts" / "dom04" / "sim.json").read_text())
        assert cfg["faults"] == {"fail": {"diskshadow": "com_failure"}}
    finally:
        if (fleet_dir / "hosts").exists():
            simfleet.down(fleet_dir)
