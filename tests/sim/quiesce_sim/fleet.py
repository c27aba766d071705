"""Create, start, stop and inspect a simulated fleet of Windows Domino hosts.

  python -m quiesce_sim.fleet create DIR --hosts N [--profile mixed|vss|backup_task|shutdown] [--start]
  python -m quiesce_sim.fleet up DIR | down DIR | status DIR
  python -m quiesce_sim.fleet fault DIR HOST NAME=JSON ...   (NAME= with nothing clears it)
  python -m quiesce_sim.fleet check PATH                      (a copy restored and judged: domino.restore_check)
  python -m quiesce_sim.fleet faults                          (the fault catalogue)
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import typing as t
import uuid
from pathlib import Path

from . import domino

SIM_ROOT = Path(__file__).resolve().parent
CLIENT = SIM_ROOT / "client.py"
SYSTEM32 = "C:\\Windows\\System32"
SYSTEM_TOOLS = ["diskshadow", "vssadmin", "robocopy", "sc", "tasklist", "taskkill", "schtasks", "reg", "fsutil"]
POWERSHELL = SYSTEM32 + "\\WindowsPowerShell\\v1.0\\powershell.exe"
RESTIC = "C:\\Program Files\\restic\\restic.exe"

FAULTS = {
    "fail": 'per tool canned failure with the real error text, e.g. {"diskshadow": "com_failure"}, '
            '{"restic": "locked" | "disk_full"}, '
            '{"robocopy": "rc8" | "share_unreachable"}, {"schtasks": "access_denied"}, {"sc": "access_denied"}, '
            '{"powershell": "cim_unavailable" | "ledger_denied"}, {"nsd": "access_denied"}, '
            '{"diskshadow": "expose_not_applied"} (prints the English confirmation, exposes nothing), '
            '{"diskshadow": "delete_failure"} (delete shadows fails)',
    "hang": 'per tool seconds to hang before answering, e.g. {"diskshadow": 30, "sc": 5}',
    "latency_ms": "added to every remote call (module run) on the host",
    "vss_timeout": "a VSS writer times out during diskshadow create (VSS_E_WRITERERROR_TIMEOUT)",
    "hang_after_expose": "seconds diskshadow waits after exposing a shadow copy at a drive letter, before its next "
                         "command: a test kills the run there (cut off before its record step)",
    "stray_release": "true: a release file appears right after the snapshot asks the backup_task hook to hold "
                     "(another run's watchdog, a stray file); the snapshot must not be taken",
    "hang_in_create": "seconds diskshadow create stalls after the writers froze (a slow provider); VSS aborts it "
                      "when diskshadow dies, and times the writers out after vss_freeze_limit_s (60) in sim.json",
    "domino_refuses_backup_mode": "Domino does not enter backup mode",
    "domino_slow_shutdown_seconds": "Domino takes this long to stop",
    "domino_shutdown_hangs": "Domino never stops by itself (only nsd -kill stops it)",
    "robocopy_fail_pattern": "with fail.robocopy=rc8: which files fail (default *.nsf)",
    # Switches for behaviour that no source settles (the twin's default is the pessimistic case):
    "console_other_user": '"allow": nserver -c accepts other OS users than the server\'s (default: refused, as '
                          'since Domino 11.0.1 FP3 / 12.0)',
    "console_refused": "true: nserver -c refuses every OS user, the server's own account too (the doctor's "
                       "'console refused'; text inferred)",
    "share_access": '"read_only": a share (\\\\server\\share) can be listed but not written; "unreachable": it '
                    'cannot be reached (the doctor\'s probes; robocopy has fail.robocopy=share_unreachable)',
    "console_stdout": "true: nserver -c prints the server's reply on its stdout (default: nothing; the reply is in "
                      "IBM_TECHNICAL_SUPPORT\\console.log)",
}

PROFILES = {
    # Domino 14.0 on Server 2022 (the service runs as Local Service by default): backupvss possible.
    "domino14": {"version": "14.0", "product": "HCL Domino Server", "vss_writer_capable": True,
                 "service_account": "NT AUTHORITY\\LocalService",
                 "windows": {"product": "Windows Server 2022 Standard", "build": 20348}},
    # Domino 12.0.2 on Server 2022: backupvss VSS writer possible.
    "vss": {"version": "12.0.2", "product": "HCL Domino Server", "vss_writer_capable": True,
            "windows": {"product": "Windows Server 2022 Standard", "build": 20348}},
    # Domino 12.0.1: Backup task with snapshot mode, no VSS writer.
    "backup_task": {"version": "12.0.1", "product": "HCL Domino Server", "vss_writer_capable": False,
                    "windows": {"product": "Windows Server 2019 Standard", "build": 17763}},
    # Domino 11: shutdown only.
    "shutdown": {"version": "11.0.1", "product": "HCL Domino Server", "vss_writer_capable": False,
                 "windows": {"product": "Windows Server 2016 Standard", "build": 14393}},
    # Domino 9.0.1 (Lotus): shutdown only, old service name.
    "legacy": {"version": "9.0.1", "product": "Lotus Domino Server", "vss_writer_capable": False,
               "windows": {"product": "Windows Server 2012 R2 Standard", "build": 9600}},
}
MIXED = ["vss", "backup_task", "shutdown", "vss", "legacy", "backup_task"]


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _write_exe(path: Path, host_dir: Path, tool: str, program_dir: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # -I -S: the client needs only the standard library; without site-packages a tool starts in about
    # 30 ms instead of 80 (closer to a real reg.exe or sc.exe, and lighter for a large simulated fleet)
    path.write_text("#!/bin/sh\nexec %s -I -S %s %s %s %s \"$@\"\n" % (
        _sh_quote(sys.executable), _sh_quote(str(CLIENT)), _sh_quote(str(host_dir)), tool, _sh_quote(program_dir)))
    path.chmod(0o755)


def _win_to_host(host_dir: Path, win: str) -> Path:
    return host_dir / "volumes" / win[0].upper() / win[3:].replace("\\", "/")


def _guid(host: str, letter: str) -> str:
    return "\\\\?\\Volume{%s}\\" % uuid.uuid5(uuid.NAMESPACE_DNS, "%s-%s" % (host, letter))


def _service_name(product: str, data_dir: str) -> str:
    return "%s (%s)" % (product, "".join(ch for ch in data_dir if ch.isalnum()))


def _partition_dir(path: t.Optional[str], number: int) -> t.Optional[str]:
    """A folder given for the server: the first partition's as given, the others' with ``-p<n>`` appended."""
    if not path:
        return None
    return path.rstrip("\\") + ("" if number == 0 else "-p%d" % (number + 1))


def create_host(fleet_dir: Path, name: str, profile: str, index: int, databases: int = 6, db_kb: int = 64,
                txn_interval_ms: int = 15, data_dirs: t.Sequence[str] = ("D:\\Domino\\data",),
                service_account: t.Optional[str] = None, translog_dir: t.Optional[str] = None,
                daos_dir: t.Optional[str] = None) -> dict:
    """One simulated host.  ``txn_interval_ms`` paces its Domino's writer (a large benchmark fleet uses
    a slower writer so that 200 idle hosts fit on two cores; the consistency checks work the same).
    ``data_dirs``: one data directory per Domino server; two or more make a partitioned server (one program
    directory, one service, notes.ini and data directory per partition).  ``service_account``: the account
    the Domino services run as (default the profile's: LocalSystem, Local Service for Domino 14).
    ``translog_dir``: the transaction log folder (Windows path; default ``<data dir parent>\\translog``);
    ``daos_dir``: the DAOS store (Windows path such as ``N:\\DAOS``; None: DAOS off).  Their volumes are
    created like the others; with several data directories the second partition's folders get ``-p2`` and so on."""
    host_dir = fleet_dir / "hosts" / name
    prof = PROFILES[profile]
    program_dir = "C:\\Program Files\\HCL\\Domino" if prof["product"].startswith("HCL") else "C:\\Lotus\\Domino"
    letters = sorted({"C", "D", "E"} | {d[0].upper() for d in data_dirs}
                     | {p[0].upper() for p in (translog_dir, daos_dir) if p})
    labels = {"C": "System", "D": "Domino", "E": "Backup"}
    for path, label in ((daos_dir, "DAOS"), (translog_dir, "Translog")):
        if path:
            labels.setdefault(path[0].upper(), label)
    dominos = []
    for number, data_dir in enumerate(data_dirs):
        ini = data_dir + "\\notes.ini"
        dominos.append({
            "service": _service_name(prof["product"], data_dir), "version": prof["version"], "program_dir": program_dir,
            "data_dir": data_dir, "notes_ini": ini, "image_path": '"%s\\nservice.exe" "=%s"' % (program_dir, ini),
            "server_name": "%s%s/SIM" % (name, "" if number == 0 else "-p%d" % (number + 1)),
            "vss_writer_capable": prof["vss_writer_capable"],
            "service_account": service_account or prof.get("service_account", "LocalSystem"),
            "translog": {"status": "1", "style": "0",
                         "path": _partition_dir(translog_dir, number) or data_dir.rsplit("\\", 1)[0] + "\\translog"},
            "seed": index + 1 + 100 * number, "start_seconds": 0.3, "ready_seconds": 0.4, "shutdown_seconds": 0.3,
            "txn_interval_ms": txn_interval_ms,
            # Domino Backup (12.0+) configured as docs/backup-task.md says: the collection's script as Snapshot
            # start, Backup snapshot, Backup DB and Post-Backup command, file list with physical paths.
            "backup_config": {"snapshot_start_command": "quiesce", "backup_snapshot_command": "quiesce",
                              "backup_db_command": "quiesce", "post_backup_command": "quiesce",
                              "file_list": "physical", "enforce_snapshot": False, "timeout_seconds": 120,
                              "order": "deltas_after", "delete_deltas": True}
            if int(prof["version"].split(".")[0]) >= 12 else None,
        })
        if daos_dir:
            dominos[-1]["daos"] = {"path": _partition_dir(daos_dir, number)}
        if len(data_dirs) > 1:
            dominos[-1]["partition"] = str(number + 1)
    cfg = {
        "hostname": name, "fqdn": "%s.sim.example" % name, "fleet_dir": str(fleet_dir), "profile": profile,
        "diskshadow_indent": "tabs" if index % 2 else "spaces",
        "windows": prof["windows"],
        "volumes": {letter: {"guid": _guid(name, letter), "size_mb": 4096 if letter == "C" else 2048, "fs": "NTFS",
                             "label": labels.get(letter, "Data%s" % letter)} for letter in letters},
        "dominos": dominos,
        "faults": {},
    }
    for letter in cfg["volumes"]:
        (host_dir / "volumes" / letter).mkdir(parents=True, exist_ok=True)
    for sub in ("run", "shadows"):
        (host_dir / sub).mkdir(parents=True, exist_ok=True)
    tools = {}
    for tool in SYSTEM_TOOLS:
        exe = _win_to_host(host_dir, "%s\\%s.exe" % (SYSTEM32, tool))
        _write_exe(exe, host_dir, tool, "")
        tools[tool] = str(exe)
    exe = _win_to_host(host_dir, POWERSHELL)
    _write_exe(exe, host_dir, "powershell", "")
    tools["powershell"] = str(exe)
    # restic (snapshot_copy backend=restic): the real /usr/bin/restic behind the host's folders
    exe = _win_to_host(host_dir, RESTIC)
    _write_exe(exe, host_dir, "restic", "")
    tools["restic"] = str(exe)
    for tool in ("nserver", "nsd"):
        exe = _win_to_host(host_dir, "%s\\%s.exe" % (program_dir, tool))
        _write_exe(exe, host_dir, tool, program_dir)
        tools[tool] = str(exe)
    for dom_cfg in dominos:
        data = _win_to_host(host_dir, dom_cfg["data_dir"])
        data.mkdir(parents=True, exist_ok=True)
        tl = dom_cfg["translog"]
        _win_to_host(host_dir, tl["path"]).mkdir(parents=True, exist_ok=True)
        daos = ""
        if dom_cfg.get("daos"):
            _win_to_host(host_dir, dom_cfg["daos"]["path"]).mkdir(parents=True, exist_ok=True)
            daos = "DAOSEnable=1\r\nDAOSBasePath=%s\r\n" % dom_cfg["daos"]["path"]
        (data / "notes.ini").write_bytes((
            "[Notes]\r\nDirectory=%s\r\nKitType=2\r\nServerName=%s\r\nTRANSLOG_Status=%s\r\nTRANSLOG_Style=%s\r\n"
            "TRANSLOG_Path=%s\r\n%sServerTasks=Replica,Router,Update,AMgr,AdminP,CalConn,Sched\r\n"
            % (dom_cfg["data_dir"], dom_cfg["server_name"], tl["status"], tl["style"], tl["path"], daos)).encode())
        names = ["names", "log", "admin4", "events4", "catalog"] + ["mail%d" % i for i in range(1, max(databases - 4, 2))]
        for db in names[:max(databases, 2)]:
            domino.create_db(data / (db + ".nsf"), ("PAD %s %06d %s\n" % (db, i, "." * 48) for i in range(db_kb * 1024 // 64)))
    (host_dir / "run" / "latency_ms").write_text("0")
    python = host_dir / "bin" / "python"
    python.parent.mkdir(exist_ok=True)
    python.write_text(
        "#!/bin/sh\n"
        "d=%s\n"
        "echo \"$(date +%%s%%3N)\" >> \"$d/run/remote_calls.log\"\n"
        "ms=$(cat \"$d/run/latency_ms\" 2>/dev/null || echo 0)\n"
        "if [ \"$ms\" -gt 0 ]; then sleep \"$(printf '%%d.%%03d' $((ms / 1000)) $((ms %% 1000)))\"; fi\n"
        "%s -S \"$@\"\n"
        "rc=$?\n"
        "# CPU of this remote call on the (simulated) host, so benchmarks can tell it from the controller's\n"
        "times >> \"$d/run/host_cpu.log\"\n"
        "exit $rc\n" % (_sh_quote(str(host_dir)), _sh_quote(sys.executable)))
    python.chmod(0o755)
    (host_dir / "sim.json").write_text(json.dumps(cfg, indent=2))
    return {"name": name, "dir": str(host_dir), "profile": profile, "tools": tools, "python": str(python)}


def create(fleet_dir: Path, hosts: int, profile: str = "mixed", prefix: str = "dom", **kw) -> list[dict]:
    fleet_dir.mkdir(parents=True, exist_ok=True)
    (fleet_dir / "shares" / "backupsrv" / "domino").mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(hosts):
        prof = MIXED[i % len(MIXED)] if profile == "mixed" else profile
        made.append(create_host(fleet_dir, "%s%02d" % (prefix, i + 1), prof, i, **kw))
    write_inventory(fleet_dir, made)
    return made


def write_inventory(fleet_dir: Path, hosts: list[dict]) -> Path:
    lines = ["# Simulated Windows Domino fleet (quiesce.domino test twin). Generated; do not edit.", "---",
             "all:", "  children:", "    domino_servers:", "      hosts:"]
    for host in hosts:
        lines.append("        %s:" % host["name"])
        lines.append("          ansible_connection: local")
        # WinRM/PSRP always pipe a module through one PowerShell exec wrapper (no temp files per task);
        # pipelining makes the local twin do the same instead of mkdir/put/chmod/rm shells per module.
        lines.append("          ansible_pipelining: true")
        lines.append("          ansible_python_interpreter: %s" % json.dumps(host["python"]))
        lines.append("          quiesce_sim_host_dir: %s" % json.dumps(host["dir"]))
        lines.append("          quiesce_sim_profile: %s" % host["profile"])
        lines.append("          quiesce_domino_tools:")
        for tool, path in sorted(host["tools"].items()):
            lines.append("            %s: %s" % (tool, json.dumps(path)))
    path = fleet_dir / "inventory.yml"
    path.write_text("\n".join(lines) + "\n")
    (fleet_dir / "fleet.json").write_text(json.dumps(hosts, indent=2))
    return path


def host_dirs(fleet_dir: Path) -> list[Path]:
    return sorted(p for p in (fleet_dir / "hosts").iterdir() if (p / "sim.json").exists())


def up(fleet_dir: Path, timeout: float = 20.0) -> None:
    for host_dir in host_dirs(fleet_dir):
        (host_dir / "run" / "hostd.port").unlink(missing_ok=True)
        log = open(host_dir / "run" / "hostd.out", "ab")
        subprocess.Popen([sys.executable, "-m", "quiesce_sim.hostd", str(host_dir)], cwd=str(SIM_ROOT.parent),
                         stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + timeout
    for host_dir in host_dirs(fleet_dir):
        while not (host_dir / "run" / "hostd.port").exists() or not _settled(host_dir):
            if time.time() > deadline:
                raise RuntimeError("hostd of %s did not start: %s" % (
                    host_dir.name, (host_dir / "run" / "hostd.out").read_text()[-2000:]))
            time.sleep(0.05)


def _settled(host_dir: Path) -> bool:
    """Every Domino that starts with the host answers its console."""
    try:
        data = state(host_dir)
    except (OSError, ValueError):
        return False
    return all(d["answers"] for d in data.get("dominos", []))


def down(fleet_dir: Path) -> None:
    for host_dir in host_dirs(fleet_dir):
        pid_file = host_dir / "run" / "hostd.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
            pid_file.unlink(missing_ok=True)
        (host_dir / "run" / "hostd.port").unlink(missing_ok=True)


def set_fault(host_dir: Path, name: str, value) -> None:
    if name not in FAULTS:
        raise SystemExit("unknown fault %r; known: %s" % (name, ", ".join(sorted(FAULTS))))
    cfg = json.loads((host_dir / "sim.json").read_text())
    if value is None:
        cfg["faults"].pop(name, None)
    else:
        cfg["faults"][name] = value
    tmp = host_dir / "sim.json.tmp"
    tmp.write_text(json.dumps(cfg, indent=2))
    os.replace(tmp, host_dir / "sim.json")
    if name == "latency_ms":
        (host_dir / "run" / "latency_ms").write_text(str(int(value or 0)))


def _host_up(host_dir: Path) -> bool:
    """Whether the host's daemon runs (its PID file names a live process)."""
    pid_file = host_dir / "run" / "hostd.pid"
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def state(host_dir: Path) -> dict:
    return json.loads((host_dir / "state.json").read_text())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="quiesce_sim.fleet")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("create")
    p.add_argument("dir")
    p.add_argument("--hosts", type=int, default=6)
    p.add_argument("--profile", default="mixed", choices=["mixed"] + sorted(PROFILES))
    p.add_argument("--start", action="store_true")
    for name in ("up", "down", "status"):
        sub.add_parser(name).add_argument("dir")
    p = sub.add_parser("fault")
    p.add_argument("dir")
    p.add_argument("host")
    p.add_argument("settings", nargs="+")
    sub.add_parser("check").add_argument("path")
    sub.add_parser("faults")
    args = parser.parse_args(argv)
    if args.cmd == "create":
        hosts = create(Path(args.dir).resolve(), args.hosts, args.profile)
        if args.start:
            up(Path(args.dir).resolve())
        print("%d hosts; inventory %s" % (len(hosts), Path(args.dir).resolve() / "inventory.yml"))
    elif args.cmd == "up":
        up(Path(args.dir).resolve())
    elif args.cmd == "down":
        down(Path(args.dir).resolve())
    elif args.cmd == "status":
        for host_dir in host_dirs(Path(args.dir).resolve()):
            st = state(host_dir) if (host_dir / "state.json").exists() else {}
            if not _host_up(host_dir):
                # the stored state is what the host had when it went down: not a running service
                print("%-8s down (make fleet-up starts it; last state: %s)" % (
                    host_dir.name, ", ".join("%s %s" % (d["service"], d["state"]) for d in st.get("dominos", [])) or "none"))
                continue
            for d in st.get("dominos", []):
                print("%-8s %-40s %-13s backup_mode=%s shadows=%d" % (
                    host_dir.name, d["service"], d["state"], d["backup_mode"], len(st.get("shadows", {}))))
    elif args.cmd == "fault":
        host_dir = Path(args.dir).resolve() / "hosts" / args.host
        for setting in args.settings:
            name, _sep, raw = setting.partition("=")
            set_fault(host_dir, name, json.loads(raw) if raw else None)
    elif args.cmd == "check":
        verdict = domino.check_copy(Path(args.path))
        print(domino.verdict_text(verdict))
        return 0 if verdict["consistent"] else 1
    elif args.cmd == "faults":
        for name, text in FAULTS.items():
            print("%-30s %s" % (name, text))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
