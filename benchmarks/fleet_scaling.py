"""Fleet backup at scale on simulated hosts: wall time, CPU per host, remote calls per host.

  .venv/bin/python benchmarks/fleet_scaling.py [--hosts 10 50 200] [--forks 50]

CPU is measured with getrusage over ansible-playbook and everything it ran, minus the CPU the simulated
hosts spent in their remote calls (each host's interpreter wrapper records it), which on a real fleet is
spent on the Windows hosts. Remote calls are counted by the same wrapper.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "sim"))
sys.path.insert(0, str(REPO / "tests" / "tools"))
from quiesce_sim import fleet as simfleet  # noqa: E402
from stage_collection import stage  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def host_seconds(log: Path) -> float:
    """Sum the "0m1.234s 0m0.567s" lines (user, system of the module and what it ran) the wrapper wrote."""
    total = 0.0
    for line in log.read_text().splitlines() if log.exists() else []:
        for part in line.split():
            minutes, _m, secs = part.rstrip("s").partition("m")
            total += int(minutes) * 60 + float(secs)
    return total


def one(size: int, forks: int, coll: Path) -> dict:
    work = Path(tempfile.mkdtemp(prefix="quiesce-scale-"))
    # Writers commit every 250 ms instead of 15 ms: 200 busy writers alone would saturate two cores.
    hosts = simfleet.create(work / "fleet", size, "mixed", db_kb=16, txn_interval_ms=250)
    simfleet.up(work / "fleet", timeout=120)
    try:
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(coll), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
                   ANSIBLE_FORKS=str(forks))
        before, started = cpu(), time.time()
        extra = json.dumps({"snapshot_backup_destination": "E:\\Backups", "snapshot_backup_shutdown_timeout": 60})
        proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(work / "fleet" / "inventory.yml"),
                               "quiesce.domino.fleet_backup", "-e", extra], capture_output=True, text=True, env=env, check=False)
        wall, used = time.time() - started, cpu() - before
        stats = json.loads(proc.stdout[proc.stdout.index("{"):])["stats"]
        calls = [(Path(h["dir"]) / "run" / "remote_calls.log").read_text().count("\n") for h in hosts]
        host_cpu = sum(host_seconds(Path(h["dir"]) / "run" / "host_cpu.log") for h in hosts)
        return {"hosts": size, "ok": sum(1 for s in stats.values() if not s["failures"] and not s["unreachable"]),
                "wall_s": wall, "cpu_per_host_s": (used - host_cpu) / size, "host_cpu_per_host_s": host_cpu / size,
                "calls_max": max(calls), "calls_mean": sum(calls) / size}
    finally:
        simfleet.down(work / "fleet")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--forks", type=int, default=50)
    args = parser.parse_args()
    coll = Path(tempfile.mkdtemp(prefix="quiesce-coll-"))
    stage(coll)
    rows = [one(n, args.forks, coll) for n in args.hosts]
    print("Fleet backup (quiesce.domino.fleet_backup), simulated mixed fleet, forks %d" % args.forks)
    print("%6s %6s %9s %26s %22s %18s" % ("hosts", "ok", "wall s", "controller CPU/host s", "host CPU/host s",
                                          "remote calls/host"))
    for r in rows:
        print("%6d %6d %9.1f %26.2f %22.2f %12.1f (max %d)" % (
            r["hosts"], r["ok"], r["wall_s"], r["cpu_per_host_s"], r["host_cpu_per_host_s"], r["calls_mean"], r["calls_max"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
