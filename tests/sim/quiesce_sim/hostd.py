"""hostd: one simulated Windows Domino host.

Plays the service control manager, the task scheduler, VSS (shadow copies of the
volume directories) and the Domino server (a writer thread that keeps committing
multi-step transactions and honours backup mode).  Fake tools reach it over loopback
TCP with one JSON request per connection: {"tool", "argv", "stdin"} -> {"rc", "stdout", "stderr"}.

Run: python -m quiesce_sim.hostd HOST_DIR
"""
from __future__ import annotations

import datetime
import json
import os
import random
import select
import shutil
import socket
import socketserver
import sys
import threading
import time
import typing as t
import xml.etree.ElementTree as ET
from pathlib import Path

from . import domino
from .paths import to_host_path

SERVICE_STATES = {1: "STOPPED", 2: "START_PENDING", 3: "STOP_PENDING", 4: "RUNNING"}
DOMINO_TASKS = ["nserver.exe", "ntaskldr.exe", "nevent.exe", "nreplica.exe", "nrouter.exe",
                "namgr.exe", "nadminp.exe", "nsched.exe", "ncalconn.exe", "nupdate.exe"]


def now_ms() -> int:
    return int(time.time() * 1000)


# Who runs a tool.  A tool started by the POSIX executor runs as the connection's user (a WinRM administrator);
# a Task Scheduler action as its principal.  Names are compared in this normal form.
CONNECTION_USER = "SIM\\ansible"
_ACCOUNTS = {"localsystem": "system", "nt authority\\system": "system", "s-1-5-18": "system",
             "nt authority\\localservice": "localservice", "nt authority\\local service": "localservice",
             "s-1-5-19": "localservice", "nt authority\\networkservice": "networkservice", "s-1-5-20": "networkservice"}


def account(name: t.Optional[str]) -> str:
    text = (name or CONNECTION_USER).strip().lower()
    return _ACCOUNTS.get(text, text)


def _json_file(path: Path, value: dict[str, t.Any]) -> None:
    """As the hook writes its records: to a temporary name, then moved into place."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, separators=(",", ":")))
    os.replace(tmp, path)


def win_time(ts: float | None = None) -> str:
    """English Windows short date and long time: 9/21/2020 12:12:51 AM."""
    d = datetime.datetime.fromtimestamp(ts if ts is not None else time.time())
    half = "AM" if d.hour < 12 else "PM"
    return "%d/%d/%d %d:%02d:%02d %s" % (d.month, d.day, d.year, (d.hour % 12) or 12, d.minute, d.second, half)


class DominoServer:
    """One Domino server installation (one partition) on the host."""

    def __init__(self, host: "Host", cfg: dict[str, t.Any]) -> None:
        self.host = host
        self.cfg = cfg
        self.service = cfg["service"]
        self.data_path = host.path(cfg["data_dir"])
        self.dbs = sorted(self.data_path.glob("*.nsf"))
        translog = cfg.get("translog") or {}
        self.translog_dir = self._server_path(translog.get("path") or "logdir") if str(translog.get("status")) == "1" else None
        self.daos_dir = self._server_path(cfg["daos"]["path"]) if (cfg.get("daos") or {}).get("path") else None
        self.state = "STOPPED"
        self.pid = 0
        self.ready_at = 0.0
        self.backup_mode = False          # databases in backup mode: writes go on, change info is kept
        self.backup_mode_since: float | None = None
        self.backup_id: str | None = None
        self.backup_base: dict[Path, int] = {}   # database -> its size when backup mode began
        self.in_txn = False
        self.stop_requested = False
        self.killed = False
        self.generation = 0               # a writer only writes while its generation is current
        self.tasks: set[str] = set()      # extra server tasks: "backup", "backupvss"
        self.cond = threading.Condition(host.io_lock)
        self.txn = domino.last_transaction(self.data_path)
        self.writer: threading.Thread | None = None
        self.rng = random.Random(cfg.get("seed", 1))
        self.events: list[tuple[int, str]] = []

    def _server_path(self, win: str) -> Path:
        """A folder notes.ini names (absolute, or relative to the data directory) on this host."""
        return self.host.path(domino.absolute(win, self.cfg["data_dir"]))

    # --- lifecycle -------------------------------------------------------
    def log(self, text: str) -> None:
        """Record a transition and publish the new state (state.json) at once."""
        self.events.append((now_ms(), text))
        self.host.log("%s: %s" % (self.service, text))
        self.host.save_state()

    def console_log(self, lines: t.Sequence[str]) -> None:
        """What Domino writes to IBM_TECHNICAL_SUPPORT\\console.log (console logging on, the twin's default)."""
        if not self.cfg.get("console_log", True):
            return
        path = self.data_path / "IBM_TECHNICAL_SUPPORT" / "console.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now().strftime("[%H:%M:%S]")
        with open(path, "a", encoding="utf-8") as handle:
            handle.writelines("%s %s\n" % (stamp, line) for line in lines)

    @property
    def service_account(self) -> str:
        return self.cfg.get("service_account", "LocalSystem")

    def start(self) -> None:
        """Service start: START_PENDING, then RUNNING; console answers after ready_seconds more."""
        if self.state != "STOPPED":
            return
        self.state = "START_PENDING"
        self.pid = self.host.new_pid()
        self.stop_requested = False
        self.killed = False
        repaired = domino.repair(self.data_path)
        if repaired:
            self.log("recovery removed %d torn transactions" % len(repaired))
        self.txn = max(self.txn, domino.last_transaction(self.data_path))
        delay = float(self.cfg.get("start_seconds", 0.5))

        def running() -> None:
            with self.host.io_lock:
                if self.state != "START_PENDING":
                    return
                self.state = "RUNNING"
                ready = float(self.cfg.get("ready_seconds", 0.5))
                self.ready_at = time.time() + ready
                self.generation += 1
                self.writer = threading.Thread(target=self._write_loop, args=(self.generation,), daemon=True)
                self.writer.start()
                self.log("started")
                self.console_log(["Server started on physical node %s" % self.host.cfg.get("hostname", "").upper()])  # [I]
            threading.Timer(ready + 0.01, self.host.save_state).start()
        threading.Timer(delay, running).start()

    def stop(self) -> None:
        """Service stop / 'quit': finish the open transaction, then stop (slow or hung by fault)."""
        if self.state in ("STOPPED", "STOP_PENDING"):
            return
        self.state = "STOP_PENDING"
        self.stop_requested = True
        self.cond.notify_all()
        if self.host.fault("domino_shutdown_hangs"):
            self.log("shutdown hangs (fault)")
            return
        delay = float(self.host.fault("domino_slow_shutdown_seconds") or self.cfg.get("shutdown_seconds", 0.5))

        def stopped() -> None:
            with self.host.io_lock:
                while self.in_txn:
                    self.cond.wait(0.05)
                if self.state == "STOP_PENDING":
                    self._down("stopped")
        threading.Timer(delay, stopped).start()

    def kill(self, how: str = "nsd -kill") -> None:
        """nsd -kill (or its process tree ended): every process dies at once, mid-transaction or not."""
        if self.state == "STOPPED":
            return
        self.killed = True
        self._down("killed by %s" % how)

    def _down(self, why: str) -> None:
        self.generation += 1
        self.state = "STOPPED"
        self.pid = 0
        self.tasks.clear()
        self.backup_mode = False
        self.backup_mode_since = None
        self.backup_id = None
        self.backup_base = {}
        self.cond.notify_all()
        self.log(why)

    def answers(self) -> bool:
        return self.state == "RUNNING" and time.time() >= self.ready_at

    def enter_backup_mode(self) -> bool:
        """Every database into backup mode (caller holds the I/O lock).  Writes go on (HCL: backup mode
        does not freeze writes); each database's size is remembered, and its first write from now on
        marks its header (its file alone is no longer a consistent backup)."""
        if self.host.fault("domino_refuses_backup_mode"):
            return False
        self.backup_mode = True
        self.backup_mode_since = time.time()
        self.backup_id = "B%d" % now_ms()
        self.backup_base = {db: db.stat().st_size for db in self.dbs}
        self.log("databases in backup mode (%s)" % self.backup_id)
        return True

    def leave_backup_mode(self, into: t.Optional[Path] = None, gap_s: float = 0.003) -> list[Path]:
        """Take the databases out of backup mode one after another, writes going on in between.  Each
        changed database gets its change info: by default a ``<db>.DELTA`` file beside it (Domino Backup in
        snapshot mode); with ``into`` (a shadow copy's root for this volume: VSS auto-recovery) the change
        info is applied to the database's image in the shadow copy instead.  Returns the delta files."""
        if not self.backup_mode:
            return []
        written: list[Path] = []
        backup_id, bases = self.backup_id or "B0", dict(self.backup_base)
        for db in list(self.dbs):
            with self.host.io_lock:
                delta = domino.write_delta(db, backup_id, bases.get(db, domino.HEADER_LEN))
                if delta is not None and into is not None:
                    image = into / db.relative_to(self.host.volume_dir(self.cfg["data_dir"][0]))
                    if image.exists():
                        domino.apply_delta(image, delta)
                    delta.unlink()
                elif delta is not None:
                    written.append(delta)
                if domino.backup_mark(db) is not None:
                    domino.set_mark(db, None)
                self.backup_base.pop(db, None)
            if gap_s:
                with self.host.io_lock:  # waits without the lock, whoever holds it: the writers go on
                    self.cond.wait(gap_s)
        with self.host.io_lock:
            held = int((time.time() - (self.backup_mode_since or time.time())) * 1000)
            self.backup_mode = False
            self.backup_mode_since = None
            self.backup_id = None
            self.cond.notify_all()
            self.log("databases released from backup mode after %d ms (%d delta files%s)"
                     % (held, len(written), ", applied into the shadow copy" if into is not None else ""))
        return written

    # --- the writer ------------------------------------------------------
    def _write_loop(self, generation: int) -> None:
        txn_gap = self.cfg.get("txn_interval_ms", 15) / 1000.0
        step_gap = self.cfg.get("step_interval_ms", 4) / 1000.0
        while True:
            with self.host.io_lock:
                if self.state != "RUNNING" or self.stop_requested or len(self.dbs) < 2 or generation != self.generation:
                    return
                self.txn += 1
                txn = self.txn
                first, second = self.rng.sample(self.dbs, 2)
                self.in_txn = True
            for step, db in ((1, first), (2, second), (3, first)):
                time.sleep(step_gap)
                with self.host.io_lock:
                    if self.killed or self.state == "STOPPED" or generation != self.generation:
                        self.in_txn = False
                        self.cond.notify_all()
                        return
                    if self.backup_mode and db in self.backup_base and domino.backup_mark(db) is None:
                        domino.set_mark(db, self.backup_id)
                    self._write_step(txn, step, db)
            with self.host.io_lock:
                self.in_txn = False
                self.cond.notify_all()
            time.sleep(txn_gap)

    def _write_step(self, txn: int, step: int, db: Path) -> None:
        """One write of a transaction (the caller holds the I/O lock).  At the commit with DAOS on, the
        attachment object first (it exists before any note refers to it, and is never changed); with
        transaction logging on, the log record before the database write (write-ahead); then the database."""
        payload = "doc-%06d" % txn
        if step == domino.STEPS and self.daos_dir is not None:
            domino.write_nlo(self.daos_dir, txn)
            payload += " nlo=%012d" % txn
        if self.translog_dir is not None:
            domino.log_step(self.translog_dir, txn, step, db.name)
        domino.write_step(db, txn, step, payload)

    # --- Domino Backup ------------------------------------------------------
    def run_backup_task(self, args: str) -> str:
        """``load backup [-s]``.  Snapshot mode needs ``-s`` or "Enforce snapshot backup mode" (HCL help
        "Running backup"); without it Domino Backup copies database by database and runs no snapshot
        command.  In snapshot mode: every database into backup mode, the Snapshot start command, out of
        backup mode one by one with .DELTA files, the Backup snapshot command with a file list."""
        conf = self.cfg.get("backup_config") or {}
        snapshot = "-s" in args.lower().split() or bool(conf.get("enforce_snapshot"))
        self.tasks.add("backup")
        if not snapshot:
            self.log("Backup: database backup started (not in snapshot mode)")
            threading.Timer(1.0, self._end_backup_task).start()
            return "Backup: Started"
        threading.Thread(target=self._snapshot_backup, args=(conf,), daemon=True).start()
        return "Backup: Started"

    def _end_backup_task(self) -> None:
        with self.host.io_lock:
            self.tasks.discard("backup")
            self.host.save_state()

    def _snapshot_backup(self, conf: dict[str, t.Any]) -> None:
        # Domino Backup takes a while to start, and then to put every database into backup mode, before it
        # runs the Snapshot start command; the writers go on all the while.
        start_s = self.cfg.get("backup_start_ms", 500) / 1000.0
        time.sleep(start_s * 0.2)
        with self.host.io_lock:
            if self.state != "RUNNING" or not self.enter_backup_mode():
                self.log("Backup: databases could not be put into backup mode")
                self.tasks.discard("backup")
                return
        time.sleep(start_s * 0.8)
        start = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d%H%M%S")
        ok = True
        if conf.get("snapshot_start_command") == "quiesce":
            ok = self._hook_start(conf, self._command_args(start, ""))
        elif conf.get("snapshot_start_command"):
            self.log("Backup: Snapshot start command %r is not simulated" % conf["snapshot_start_command"])
            ok = False
        # HCL's sources disagree on the order (tests/sim/README.md): by default the twin runs the Backup snapshot
        # command while the databases are still in backup mode and writes the deltas after it (the Veeam
        # concept); backup_config.order "deltas_first" takes them out of backup mode before it (the admin help).
        deltas_first = conf.get("order") == "deltas_first"
        deltas: list[Path] = []
        if deltas_first:
            deltas = self._leave(start)
        if ok and conf.get("backup_snapshot_command") == "quiesce":
            listing = self._file_list(conf, start)
            self._hook_snapshot(self._command_args(start, str(listing) if listing else ""))
        if not deltas_first:
            deltas = self._leave(start)
        if ok:
            for delta in deltas:  # every .DELTA goes through the Backup DB command (docs/interface.md)
                if conf.get("backup_db_command") == "quiesce":
                    rel = str(delta.relative_to(self.data_path)).replace("/", "\\")
                    physical = self.cfg["data_dir"].rstrip("\\") + "\\" + rel
                    self._hook_delta(self._command_args(start, physical, rel[: -len(".DELTA")]))
            if conf.get("post_backup_command") == "quiesce":
                self._hook_post(self._command_args(start, ""))
        if conf.get("delete_deltas", True):
            # Pessimistic: Domino treats the .DELTA files as temporary once the integration had them.
            for delta in deltas:
                delta.unlink(missing_ok=True)
        with self.host.io_lock:
            self.tasks.discard("backup")
            self.log("Backup: snapshot backup %s %s" % (start, "done" if ok else "failed (Snapshot start command error)"))

    def _leave(self, start: str) -> list[Path]:
        deltas = self.leave_backup_mode()
        held = self._held_ms()
        if held is not None:
            self.log("backup mode from the hook's hold until every database left it: %d ms" % (now_ms() - held))
        return deltas

    def _command_args(self, start: str, first: str, name: str = "") -> list[str]:
        """The positional arguments Domino Backup appends to every command (domino-backup scripts)."""
        node = (self.cfg.get("server_name") or "server").split("/")[0].replace(" ", "_")
        return [first, name, "", node, "", "FULL", start, "", "7"]

    def _file_list(self, conf: dict[str, t.Any], start: str) -> t.Optional[Path]:
        style = conf.get("file_list", "physical")
        if style == "disabled":
            return None
        data_win = self.cfg["data_dir"].rstrip("\\")
        lines = []
        for db in self.dbs:
            rel = str(db.relative_to(self.data_path)).replace("/", "\\")
            physical = data_win + "\\" + rel
            lines.append(physical if style == "physical" else "%s;%s" % (physical, rel))
        listing = self.host.path("C:\\Windows\\Temp\\dominobackup_%s.lst" % start)
        listing.parent.mkdir(parents=True, exist_ok=True)
        listing.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
        return listing

    # The quiesce.domino integration script (files/quiesce_domino_backup.ps1) as Domino Backup runs it:
    # the twin cannot run PowerShell, so these mirror its two phases step by step.
    def _hook_paths(self) -> tuple[Path, Path]:
        state = self.data_path / "quiesce_domino"
        return state, state / "hold"

    def _held_ms(self) -> t.Optional[int]:
        try:
            return int(json.loads((self._hook_paths()[1] / "held.json").read_text())["held_ms"])
        except (OSError, ValueError, KeyError):
            return None

    def _hook_start(self, conf: dict[str, t.Any], args: list[str]) -> bool:
        start = args[6]
        _state, hold = self._hook_paths()
        hold.mkdir(parents=True, exist_ok=True)
        request = hold / "request"
        if not request.exists():  # as the real hook: only a snapshot quiesce.domino asked for is held
            self.log("hook: QUIESCE_SNAPSHOT_ERROR: no snapshot was requested by quiesce.domino")
            return False
        release = hold / "release"
        if release.exists() and release.stat().st_mtime < request.stat().st_mtime:
            release.unlink()  # a release of an earlier snapshot
        request.unlink()
        tag = "dominobackup_%s.tag" % start
        (self.data_path / tag).write_text(start)
        _json_file(hold / "held.json", {"held_ms": now_ms(), "backup_start": start, "pid": self.pid + 300, "tag": tag})
        self.log("hook: databases held (backup %s)" % start)
        deadline = time.time() + float(conf.get("timeout_seconds", 120))
        released = False
        while time.time() < deadline:
            if (hold / "release").exists():
                released = True
                break
            if self.state != "RUNNING":
                break
            time.sleep(0.02)  # as the real hook
        _json_file(hold / "done.json", {"done_ms": now_ms(), "released": released})
        self.log("hook: %s" % ("released" if released else "hold timed out; QUIESCE_SNAPSHOT_ERROR"))
        return released

    def _deltas_target(self, start: str) -> Path:
        target = self._hook_paths()[0] / "deltas" / start
        target.mkdir(parents=True, exist_ok=True)
        return target

    def _hook_snapshot(self, args: list[str]) -> None:
        """Phase snapshot: keep the .DELTA of each listed database that has one already, delete the file list."""
        start = args[6]
        target = self._deltas_target(start)
        if args[0] and Path(args[0]).is_file():
            for line in Path(args[0]).read_text(encoding="utf-8").splitlines():
                fields = line.split(";")
                physical = fields[0].strip()
                if not physical:
                    continue
                delta = self.host.path(physical + ".DELTA")
                if delta.is_file():
                    rel = delta.relative_to(self.data_path)
                    (target / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(delta, target / rel)
            Path(args[0]).unlink()
        (self.data_path / ("dominobackup_%s.tag" % start)).unlink(missing_ok=True)
        self.log("hook: snapshot phase of backup %s" % start)

    def _hook_delta(self, args: list[str]) -> None:
        """Phase delta (Backup DB command): keep the .DELTA file Domino hands over."""
        name = args[1] if args[1].upper().endswith(".DELTA") else args[1] + ".DELTA"
        dest = self._deltas_target(args[6]) / name.replace("\\", "/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.host.path(args[0]), dest)

    def _hook_post(self, args: list[str]) -> None:
        """Phase post (Post-Backup command): the backup is over; collected.json lists the kept deltas."""
        started = now_ms()
        start = args[6]
        target = self._deltas_target(start)
        (self.data_path / ("dominobackup_%s.tag" % start)).unlink(missing_ok=True)
        rows = [{"path": str(p.relative_to(target)).replace("/", "\\"), "size": p.stat().st_size}
                for p in sorted(target.rglob("*.DELTA"))]
        held = self._held_ms()
        kept = {r["path"].lower() for r in rows}
        missed = [p for p in self.data_path.rglob("*.DELTA") if self._hook_paths()[0] not in p.parents
                  and held is not None and p.stat().st_mtime * 1000 >= held - 1000
                  and str(p.relative_to(self.data_path)).replace("/", "\\").lower() not in kept]
        if list(target.glob("failed-*.json")) or missed:
            self.log("hook: QUIESCE_SNAPSHOT_ERROR: %d delta files of backup %s were not kept" % (len(missed), start))
            return
        _json_file(target / "collected.json", {"started_ms": started, "ended_ms": now_ms(), "backup_start": start,
                                               "deltas": rows})
        self.log("hook: %d delta files kept for backup %s" % (len(rows), start))

    def processes(self) -> list[tuple[str, int]]:
        if self.state == "STOPPED":
            return []
        procs = [(name, self.pid + i * 4) for i, name in enumerate(DOMINO_TASKS)]
        if "backup" in self.tasks:
            procs.append(("nbackup.exe", self.pid + 200))
        if "backupvss" in self.tasks:
            procs.append(("nbackupvss.exe", self.pid + 204))
        return procs


def boundary_time(text: str) -> float:
    """A Task Scheduler StartBoundary as epoch seconds: ``Z`` or ``+hh:mm`` is an instant; none is local time."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    return datetime.datetime.fromisoformat(value).timestamp()


class Host:
    def __init__(self, host_dir: Path) -> None:
        self.dir = host_dir
        self.cfg = json.loads((host_dir / "sim.json").read_text())
        self.fleet_dir = Path(self.cfg["fleet_dir"])
        self.io_lock = threading.RLock()
        self._pid = 4000 + random.Random(self.cfg["hostname"]).randint(0, 2000) * 4
        self.shadows: dict[str, dict[str, t.Any]] = {}
        self.shadow_numbers = 0
        self.tasks: dict[str, dict[str, t.Any]] = {}
        self.registry: dict[str, dict[str, t.Any]] = {}   # keys written with reg add
        self.services: dict[str, dict[str, t.Any]] = {}
        self.dominos = [DominoServer(self, d) for d in self.cfg["dominos"]]
        for srv in self.dominos:
            self.services[srv.service.lower()] = {"name": srv.service, "domino": srv}
        for name in self.cfg.get("other_services", ["Spooler", "W32Time"]):
            self.services[name.lower()] = {"name": name, "state": "RUNNING", "pid": self.new_pid()}
        self.load_state()

    # --- helpers ---------------------------------------------------------
    def log(self, text: str) -> None:
        with open(self.dir / "run" / "hostd.log", "a") as handle:
            handle.write("%s %s\n" % (datetime.datetime.now().isoformat(timespec="milliseconds"), text))

    def new_pid(self) -> int:
        self._pid += 8
        return self._pid

    def config(self) -> dict[str, t.Any]:
        try:
            self.cfg = json.loads((self.dir / "sim.json").read_text())
        except (OSError, ValueError):
            pass
        return self.cfg

    def fault(self, name: str) -> t.Any:
        return self.config().get("faults", {}).get(name)

    def path(self, win_path: str) -> Path:
        numbers = {s["number"]: Path(s["dir"]) for s in self.shadows.values()}
        return to_host_path(self.dir, self.fleet_dir, win_path, numbers)

    def volume_dir(self, letter: str) -> Path:
        return self.dir / "volumes" / letter.upper()

    def volume_guid(self, letter: str) -> str:
        return self.cfg["volumes"][letter.upper()]["guid"]

    def real_volumes(self) -> list[str]:
        return sorted(self.cfg["volumes"])

    def domino_for_volume(self, letter: str) -> list[DominoServer]:
        return [d for d in self.dominos if d.cfg["data_dir"][0].upper() == letter.upper()]

    # --- persistence (for people and tests to look at) --------------------
    def load_state(self) -> None:
        path = self.dir / "state.json"
        if not path.exists():
            return
        data = json.loads(path.read_text())
        self.shadows = data.get("shadows", {})
        self.shadow_numbers = data.get("shadow_numbers", 0)
        self.tasks = data.get("tasks", {})
        self.registry = data.get("registry", {})

    def save_state(self) -> None:
        with self.io_lock:
            self._save_state()

    def _save_state(self) -> None:
        data = {
            "shadows": self.shadows,
            "shadow_numbers": self.shadow_numbers,
            "tasks": self.tasks,
            "registry": self.registry,
            "dominos": [{"service": d.service, "state": d.state, "pid": d.pid, "answers": d.answers(),
                         "backup_mode": d.backup_mode, "tasks": sorted(d.tasks), "last_txn": d.txn,
                         "backup_mode_since_ms": int(d.backup_mode_since * 1000) if d.backup_mode_since else None}
                        for d in self.dominos],
            "saved_ms": now_ms(),
        }
        tmp = self.dir / "state.json.tmp"
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, self.dir / "state.json")

    # --- VSS ---------------------------------------------------------------
    def create_shadow(self, letter: str, set_id: str, shadow_id: str, attributes: list[str], context: str) -> dict[str, t.Any]:
        """Point-in-time copy of a volume: taken under the I/O lock, so between two writes."""
        self.shadow_numbers += 1
        number = self.shadow_numbers
        target = self.dir / "shadows" / shadow_id.strip("{}")
        with self.io_lock:
            shutil.copytree(self.volume_dir(letter), target, symlinks=True)
        shadow = {
            "id": shadow_id, "set_id": shadow_id if not set_id else set_id, "volume": letter.upper(),
            "volume_guid": self.volume_guid(letter), "number": number, "dir": str(target),
            "created": win_time(),
            "created_iso": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "created_ms": now_ms(), "attributes": attributes, "context": context,
            "exposed_as": None, "count": 1,
        }
        self.shadows[shadow_id.lower()] = shadow
        return shadow

    def delete_shadow(self, shadow_id: str) -> None:
        shadow = self.shadows.pop(shadow_id.lower())
        if shadow.get("exposed_as"):
            self.unexpose(shadow)
        shutil.rmtree(shadow["dir"], ignore_errors=True)

    def expose(self, shadow: dict[str, t.Any], where: str) -> Path:
        link = self.path(where)
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() and not link.exists():
            link.unlink()
        os.symlink(shadow["dir"], link)
        shadow["exposed_as"] = where
        return link

    def unexpose(self, shadow: dict[str, t.Any]) -> None:
        link = self.path(shadow["exposed_as"])
        if link.is_symlink():
            link.unlink()
        shadow["exposed_as"] = None

    # --- task scheduler ----------------------------------------------------
    @staticmethod
    def boundary_time(text: str) -> float:
        """A trigger's StartBoundary as epoch seconds: with ``Z`` or an offset it is that instant (UTC), without
        one it is the host's local wall-clock time (Microsoft ITrigger::StartBoundary)."""
        return boundary_time(text)

    def create_task(self, name: str, xml_text: str) -> None:
        root = ET.fromstring(xml_text)
        ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
        boundary = root.find(".//t:TimeTrigger/t:StartBoundary", ns)
        description = root.findtext(".//t:RegistrationInfo/t:Description", default="", namespaces=ns)
        actions = [{"command": (e.findtext("t:Command", default="", namespaces=ns) or "").strip(),
                    "arguments": (e.findtext("t:Arguments", default="", namespaces=ns) or "").strip(),
                    "workdir": (e.findtext("t:WorkingDirectory", default="", namespaces=ns) or "").strip() or None}
                   for e in root.findall(".//t:Actions/t:Exec", ns)]
        user = (root.findtext(".//t:Principals/t:Principal/t:UserId", default="", namespaces=ns) or "S-1-5-18").strip()
        if boundary is None or not actions:
            raise ValueError("The task XML is missing a required element or attribute.")
        self.tasks[name.lower()] = {"name": name, "start_boundary": boundary.text.strip(), "actions": actions,
                                    "description": description, "status": "Ready", "fired": False, "user": user,
                                    "last_result": 267011, "runs": []}

    def scheduler_loop(self) -> None:
        from .tools import run_tool, split_windows_args  # late import: tools imports hostd types
        while True:
            time.sleep(0.2)
            due = []
            with self.io_lock:
                now = datetime.datetime.now()
                for task in self.tasks.values():
                    if task["status"] != "Ready" or task.get("fired"):
                        continue
                    if boundary_time(task["start_boundary"]) <= now.timestamp():
                        task["status"] = "Running"
                        due.append(task)
            for task in due:
                results = []
                for action in task["actions"]:
                    tool = Path(action["command"].replace("\\", "/")).name.lower().removesuffix(".exe")
                    program_dir = action["command"].rsplit("\\", 1)[0] if "\\" in action["command"] else None
                    rc, out, err = run_tool(self, tool, split_windows_args(action["arguments"]), None, program_dir,
                                            task.get("user") or "S-1-5-18", action.get("workdir"))
                    results.append(rc)
                    self.log("task %s ran %s -> rc %d %s" % (task["name"], action["command"], rc, (out + err).strip()[:200]))
                with self.io_lock:
                    # A one-time trigger that fired leaves the task Ready with no next run, as on Windows.
                    task["status"] = "Ready"
                    task["fired"] = True
                    task["last_result"] = max(results) if results else 0
                    task["runs"].append({"at_ms": now_ms(), "results": results})
                    self.save_state()


def caller_gone() -> bool:
    """True when the process that called the running tool has died (its connection closed): on Windows the
    tool's process would be gone with it, and VSS aborts a shadow copy whose requester is gone."""
    # kept on the thread: hostd runs as __main__, so the tools see another copy of this module's globals
    sock = getattr(threading.current_thread(), "caller_sock", None)
    if sock is None:  # the scheduler runs a task's action: nobody waits for it
        return False
    try:
        readable, _w, _x = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        from .tools import run_tool
        host: Host = self.server.host  # type: ignore[attr-defined]
        request = json.loads(self.rfile.readline())
        threading.current_thread().caller_sock = self.connection  # type: ignore[attr-defined]
        threading.current_thread().caller_ppid = request.get("ppid")  # type: ignore[attr-defined]
        try:
            rc, out, err = run_tool(host, request["tool"], request["argv"], request.get("stdin"),
                                    request.get("program_dir"))
        except Exception as exc:  # a simulator bug must show, not hang the client
            import traceback
            rc, out, err = 250, "", "simulator error: %s\n%s" % (exc, traceback.format_exc())
        with host.io_lock:
            host.save_state()
        self.wfile.write(json.dumps({"rc": rc, "stdout": out, "stderr": err}).encode() + b"\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(host_dir: Path) -> None:
    host = Host(host_dir)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.host = host  # type: ignore[attr-defined]
    run = host_dir / "run"
    (run / "hostd.pid").write_text(str(os.getpid()))
    with host.io_lock:
        for srv in host.dominos:
            if srv.cfg.get("autostart", True):
                srv.start()
        host.save_state()
    threading.Thread(target=host.scheduler_loop, daemon=True).start()
    tmp = run / "hostd.port.tmp"
    tmp.write_text(str(server.server_address[1]))
    os.replace(tmp, run / "hostd.port")
    host.log("hostd listening on %d" % server.server_address[1])
    server.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    serve(Path(sys.argv[1]).resolve())
