"""`make demo`: the fleet backup playbook on a simulated fleet of Windows Domino hosts.

  demo.py [--build DIR] [--backend robocopy|restic] [demo]    the demo (default)
  demo.py [--build DIR] fleet-up  start the simulated fleet again (create it first if needed): `make fleet-up`
  demo.py [--build DIR] fleet-down  stop it: `make fleet-down`

The demo creates six simulated hosts (Domino 9.0.1 to 12.0.2, so every quiesce method shows up), injects
one fault (dom04: diskshadow fails with the real COM error), and runs `ansible-playbook
quiesce.domino.fleet_backup` with the backup_report callback exactly as it prints it, through the shell,
so the printed command is one that works when copied.  Ansible's output streams as it goes, with a line
per host as its backup finishes.  Then every copy is checked by restoring it (the .DELTA files of
backup_task applied, recovery run) and looking for torn Domino transactions; the JSON, JUnit and HTML
reports stay in DIR/reports (default build/).  At the end it stops the fleet, clears the fault and prints
the commands that bring the fleet back and run the playbook again.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "sim"))
sys.path.insert(0, str(REPO / "tests" / "tools"))

from quiesce_sim import domino, fleet  # noqa: E402
from stage_collection import stage  # noqa: E402

HOSTS = 6
FAULTY = "dom04"
EXTRA_VARS = {"snapshot_backup_destination": "\\\\backupsrv\\domino", "snapshot_backup_shutdown_timeout": 30}
# backend restic: one repository per host on the share (restic check locks a repository exclusively), created by the
# first run; the password comes from the demo inventory's group_vars (a vaulted variable in real life)
RESTIC_VARS = {"snapshot_backup_backend": "restic", "snapshot_backup_restic_init": True,
               "snapshot_backup_restic_repository": "\\\\backupsrv\\domino\\restic\\{{ inventory_hostname }}"}
DEMO_PASSWORD = "demo only, not a secret"


class Demo:
    """Where the demo keeps its fleet, staged collection and reports, and the commands that use them."""

    def __init__(self, build: Path, backend: str = "robocopy") -> None:
        self.backend = backend
        self.build = build.resolve()
        self.root = self.build / "demo-fleet"
        self.reports = self.build / "reports"
        self.collections = self.build / "demo-collections"
        self.bin = Path(sys.executable).parent  # the venv's bin (not resolved: .venv/bin/python is a link)

    @staticmethod
    def shown(path: Path) -> str:
        """A path as the printed commands give it: relative to the repository when inside it (the commands
        start with ``cd`` to it), else absolute."""
        try:
            return shlex.quote(str(path.relative_to(REPO)))
        except ValueError:
            return shlex.quote(str(path))

    def exported(self, path: Path) -> str:
        """A path for an environment variable: absolute, so that it holds wherever the shell goes next."""
        shown = self.shown(path)
        return shown if shown.startswith("/") or shown.startswith("'/") else "$PWD/" + shown

    def make(self, target: str) -> str:
        default = self.build == (REPO / "build").resolve()
        return "make %s%s%s" % (target, "" if default else " DEMO_BUILD=%s" % shlex.quote(str(self.build)),
                                " DEMO_BACKEND=restic" if self.backend == "restic" and target == "demo" else "")

    def extra_vars(self) -> dict:
        return dict(EXTRA_VARS, **(RESTIC_VARS if self.backend == "restic" else {}))

    def env_lines(self) -> list[str]:
        return ["export ANSIBLE_COLLECTIONS_PATH=%s" % self.exported(self.collections),
                "export ANSIBLE_CALLBACKS_ENABLED=quiesce.domino.backup_report QUIESCE_REPORT_DIR=%s"
                % self.exported(self.reports)]

    def playbook_line(self, check: bool = False) -> str:
        argv = [self.shown(self.bin / "ansible-playbook"), "-i", self.shown(self.root / "inventory.yml"),
                "quiesce.domino.fleet_backup", "-f", str(HOSTS), "-e", shlex.quote(json.dumps(self.extra_vars()))]
        if check:
            argv.append("--check")
        return " ".join(argv)

    def fault_line(self) -> str:
        return "PYTHONPATH=%s %s -m quiesce_sim.fleet fault %s %s %s" % (
            self.shown(REPO / "tests" / "sim"), self.shown(Path(sys.executable)), self.shown(self.root),
            FAULTY, shlex.quote("fail=" + json.dumps({"diskshadow": "com_failure"})))

    def again(self) -> str:
        """The commands that run the collection against the simulated fleet again, as the user types them."""
        lines = ["cd %s" % shlex.quote(str(REPO)), self.make("fleet-up")] + self.env_lines() + [
            self.playbook_line(), self.make("fleet-down")]
        return "\n".join("  " + line for line in lines)

    def create(self) -> list[dict]:
        """A fresh fleet: six hosts, the admins' per-host settings, and the collection staged for Ansible."""
        if self.root.exists():
            fleet.down(self.root)
            shutil.rmtree(self.root)
        stage(self.collections)
        hosts = fleet.create(self.root, HOSTS, "mixed")
        (self.root / "host_vars").mkdir()
        (self.root / "group_vars").mkdir()
        (self.root / "group_vars" / "all.yml").write_text(
            "---\n# The restic repositories' password (backend restic); in real life a vaulted variable.\n"
            "snapshot_backup_restic_password: %s\n" % json.dumps(DEMO_PASSWORD))
        for host in hosts:
            if host["profile"] == "backup_task":
                # The admins of the Domino 12.0.1 hosts configured Domino Backup with the hook: use it there.
                (self.root / "host_vars" / ("%s.yml" % host["name"])).write_text("---\nsnapshot_backup_method: backup_task\n")
            elif host["profile"] in ("shutdown", "legacy"):
                # The admins of the Domino 9 and 11 hosts (no online method) allowed a short downtime.
                (self.root / "host_vars" / ("%s.yml" % host["name"])).write_text("---\nsnapshot_backup_allow_downtime: true\n")
        return hosts

    def up(self) -> None:
        if not (self.root / "fleet.json").exists():
            self.create()
        else:
            stage(self.collections)  # the collection as it is now in the working tree
        fleet.down(self.root)
        fleet.up(self.root)


class _Folder:
    """Stands in for a simulated host whose every path is one folder (for the twin's arrange step)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, _win_path: str) -> Path:
        return self.folder


def restic_check(demo: Demo, hosts: list[dict]) -> None:
    """Backend restic: each host's snapshots, and the newest restored with the real restic, arranged as a copy by
    the layout it holds (what quiesce.domino.restore with restic_snapshot does) and judged like a copy."""
    print("\nrestic snapshots per host (real restic 0.14 on the share's repositories), the newest restored and\n"
          "checked: the data directory, the transaction log and DAOS put back from it, the twin's Domino restore run.")
    scratch = demo.build / "demo-restore-check"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(scratch)}
    for host in hosts:
        name = host["name"]
        repo = demo.root / "shares" / "backupsrv" / "domino" / "restic" / name
        if not (repo / "config").exists():
            print("  %-6s no restic repository" % name)
            continue
        listed = subprocess.run(["restic", "--repo", str(repo), "--quiet", "snapshots", "--json"], input=DEMO_PASSWORD + "\n",
                                capture_output=True, text=True, env=env, check=False)
        snaps = json.loads(listed.stdout or "[]")
        if not snaps:
            print("  %-6s no snapshot" % name)
            continue
        newest = sorted(snaps, key=lambda x: x["time"])[-1]
        target = scratch / name
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(["restic", "--repo", str(repo), "--quiet", "restore", newest["id"], "--target", str(target / ".restic")],
                       input=DEMO_PASSWORD + "\n", capture_output=True, text=True, env=env, check=False)
        # the restore module's arrange step, as the twin runs it (plugins/module_utils/restic.py restic_arrange)
        from quiesce_sim.tools import _fs_restic_arrange
        rc, _out, err = _fs_restic_arrange(_Folder(target), {
            "copy": "X:\\copy", "layout_rel": "C\\ProgramData\\quiesce.domino\\restic\\%s\\quiesce_domino.json" % name})
        if rc != 0:
            print("  %-6s %d snapshots, newest %s: %s" % (name, len(snaps), newest["short_id"], err.strip()))
            continue
        verdict = domino.restore_check(target, scratch / (name + "-check"))
        tags = ", ".join(t for t in newest.get("tags") or [] if t.startswith(("method:", "version:")))
        print("  %-6s %d snapshots, newest %s (%s): %s"
              % (name, len(snaps), newest["short_id"], tags, domino.verdict_text(verdict)))
    shutil.rmtree(scratch, ignore_errors=True)


def restore_check(demo: Demo, hosts: list[dict]) -> None:
    print("\nRestore check of every copy: the copy restored the way docs/restore.md says (each .DELTA beside its\n"
          "database) into a scratch folder, then the twin's Domino restore (apply the deltas, recover); the\n"
          "simulator's Domino kept committing 3-step transactions throughout every freeze.")
    latest = demo.reports / "backup-report-latest.json"
    report = json.loads(latest.read_text()) if latest.exists() else {}
    methods = {h["host"]: h.get("method") or "-" for h in report.get("hosts", [])}
    share = demo.root / "shares" / "backupsrv" / "domino"
    scratch = demo.build / "demo-restore-check"
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


def run_demo(demo: Demo) -> int:
    print("Creating a simulated fleet of %d Windows Domino hosts in %s ..." % (HOSTS, demo.shown(demo.root)))
    shutil.rmtree(demo.reports, ignore_errors=True)
    hosts = demo.create()
    fleet.set_fault(demo.root / "hosts" / FAULTY, "fail", {"diskshadow": "com_failure"})
    print("%s has an injected fault: its diskshadow fails with the real COM error. Starting the hosts ..." % FAULTY)
    fleet.up(demo.root)
    try:
        script = "\n".join(demo.env_lines() + [demo.playbook_line()])
        print("\nThe run, as you would type it:\n\n%s\n" % "\n".join("  $ " + line for line in script.splitlines()))
        # The printed lines are what runs (through the shell), so a copied command behaves the same.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_COLLECTIONS_PATH", "QUIESCE_REPORT"))}
        proc = subprocess.run(["bash", "-c", script], env=env, cwd=str(REPO), check=False)
        print("\nansible-playbook exited with %d (%s)." % (
            proc.returncode, "every host backed up" if proc.returncode == 0 else
            "2 means a host failed: %s, as injected" % FAULTY if proc.returncode == 2 else "see above"))
        if demo.backend == "restic":
            restic_check(demo, hosts)
        else:
            restore_check(demo, hosts)
    finally:
        fleet.down(demo.root)
    fleet.set_fault(demo.root / "hosts" / FAULTY, "fail", None)
    latest = demo.reports / "backup-report-latest.html"
    print("\nReports: %s (every run: %s)" % (demo.shown(latest), demo.shown(demo.reports / "index.html")))
    print("\nThe simulated fleet is stopped and %s's fault is cleared. Run it again yourself, against the same\n"
          "fleet (add --check to the ansible-playbook line for a preview that changes nothing):\n\n%s\n"
          % (FAULTY, demo.again()))
    print("To inject the fault again before a run:\n\n  %s\n" % demo.fault_line())
    return 0 if latest.exists() else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="demo.py", description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=str(REPO / "build"),
                        help="where the fleet, the staged collection and the reports live (default: build/)")
    parser.add_argument("--backend", default="robocopy", choices=["robocopy", "restic"],
                        help="the copy backend of the fleet backup (make demo DEMO_BACKEND=restic)")
    parser.add_argument("action", nargs="?", default="demo", choices=["demo", "fleet-up", "fleet-down"])
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    demo = Demo(Path(args.build), args.backend)
    if args.action == "demo":
        return run_demo(demo)
    if args.action == "fleet-up":
        demo.up()
        print("The simulated fleet runs (%d hosts, inventory %s). Run the playbook against it:\n\n%s\n\n"
              "Stop it with: %s" % (len(fleet.host_dirs(demo.root)), demo.shown(demo.root / "inventory.yml"),
                                    "\n".join("  " + line for line in demo.env_lines() + [demo.playbook_line()]),
                                    demo.make("fleet-down")))
        return 0
    if (demo.root / "fleet.json").exists():
        fleet.down(demo.root)
        print("The simulated fleet in %s is stopped." % demo.shown(demo.root))
    else:
        print("No simulated fleet in %s (make demo or make fleet-up creates it)." % demo.shown(demo.root))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
