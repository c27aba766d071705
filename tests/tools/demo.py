"""`make demo`: the fleet backup playbook on a simulated fleet of Windows Domino hosts.

Creates six simulated hosts (Domino 9.0.1 to 12.0.2, so every quiesce method shows up),
injects one fault (dom04: diskshadow fails with the real COM error), runs
`ansible-playbook quiesce.domino.fleet_backup` with the backup_report callback, checks every copy by
restoring it (the .DELTA files of backup_task applied, recovery run) and looking for torn Domino
transactions, and leaves the JSON, JUnit and HTML reports in build/reports.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "sim"))
sys.path.insert(0, str(REPO / "tests" / "tools"))

from quiesce_sim import domino, fleet  # noqa: E402
from stage_collection import stage  # noqa: E402


def main() -> int:
    build = REPO / "build"
    root = build / "demo-fleet"
    reports = build / "reports"
    if root.exists():
        fleet.down(root)
        shutil.rmtree(root)
    shutil.rmtree(reports, ignore_errors=True)
    stage_root = build / "demo-collections"
    stage(stage_root)
    hosts = fleet.create(root, 6, "mixed")
    # The admins of the Domino 12.0.1 hosts configured Domino Backup with the hook: use it there.
    (root / "host_vars").mkdir()
    # The admins of the Domino 9 and 11 hosts (no online method) allowed a short downtime for the backup.
    for host in hosts:
        if host["profile"] == "backup_task":
            (root / "host_vars" / ("%s.yml" % host["name"])).write_text("---\nsnapshot_backup_method: backup_task\n")
        elif host["profile"] in ("shutdown", "legacy"):
            (root / "host_vars" / ("%s.yml" % host["name"])).write_text("---\nsnapshot_backup_allow_downtime: true\n")
    fleet.set_fault(root / "hosts" / "dom04", "fail", {"diskshadow": "com_failure"})
    print("Simulated fleet: %d Windows Domino hosts in %s; dom04 has an injected diskshadow failure.\n"
          % (len(hosts), root))
    fleet.up(root)
    try:
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(stage_root), ANSIBLE_NOCOLOR="1", ANSIBLE_FORKS="6",
                   ANSIBLE_CALLBACKS_ENABLED="quiesce.domino.backup_report", QUIESCE_REPORT_DIR=str(reports),
                   ANSIBLE_DISPLAY_OK_HOSTS="false", ANSIBLE_DISPLAY_SKIPPED_HOSTS="false")
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(root / "inventory.yml"),
               "quiesce.domino.fleet_backup", "-e", json.dumps({"snapshot_backup_destination": "\\\\backupsrv\\domino",
                                                                "snapshot_backup_shutdown_timeout": 30})]
        print("$ ansible-playbook -i %s quiesce.domino.fleet_backup -e snapshot_backup_destination='\\\\backupsrv\\domino'"
              % (root / "inventory.yml"))
        proc = subprocess.run(cmd, env=env, check=False, text=True, capture_output=True)
        out = proc.stdout
        print(out[out.find("PLAY RECAP"):] if "PLAY RECAP" in out else out[-6000:])
        if proc.stderr.strip():
            print(proc.stderr[-3000:])
        print("Restore check of every copy: the copy restored the way docs/restore.md says (each .DELTA beside its\n"
              "database) into a scratch folder, then the twin's Domino restore (apply the deltas, recover); the\n"
              "simulator's Domino kept committing 3-step transactions throughout every freeze.")
        report = json.loads((reports / "backup-report.json").read_text()) if (reports / "backup-report.json").exists() else {}
        methods = {h["host"]: h.get("method") or "-" for h in report.get("hosts", [])}
        share = root / "shares" / "backupsrv" / "domino"
        scratch = build / "demo-restore-check"
        for host in hosts:
            name = host["name"]
            folder = share / name
            copies = sorted(p for p in folder.glob("*") if p.is_dir() and not p.name.endswith(".partial")) if folder.exists() else []
            if not copies:
                print("  %-6s %-12s no complete copy" % (name, methods.get(name, "-")))
                continue
            deltas = sorted(str(p.relative_to(copies[-1])) for p in copies[-1].rglob("*.DELTA"))
            tags = sorted(p.name for p in copies[-1].glob("dominobackup_*.tag"))
            verdict = domino.restore_check(copies[-1], scratch / name)
            extra = ""
            if deltas or tags:
                extra = "; %d .DELTA files saved (%s)%s" % (len(deltas), ", ".join(deltas[:3]) + (", ..." if len(deltas) > 3 else ""),
                                                            ", tag " + tags[0] if tags else "")
            print("  %-6s %-12s %s: %s%s" % (name, methods.get(name, "-"), copies[-1].name, domino.verdict_text(verdict), extra))
        shutil.rmtree(scratch, ignore_errors=True)
        print("\nOpen the HTML report: %s" % (reports / "backup-report.html"))
        return 0 if (reports / "backup-report.html").exists() else 1
    finally:
        fleet.down(root)


if __name__ == "__main__":
    sys.exit(main())
