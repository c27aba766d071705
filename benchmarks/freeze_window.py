"""Freeze window on one simulated host, three ways, with latency per remote call.

  .venv/bin/python benchmarks/freeze_window.py [--runs 5] [--latency-ms 300]

Prints a table: median Domino freeze window (host clock), the median bare shadow copy creation (a plain
diskshadow create of the same volume, no freeze, timed as one step), the difference, and the remote calls
made while Domino was frozen.  The one-call backup_task window runs from the hook's hold until Domino had
taken every database out of backup mode and written its .DELTA files (the integration's records); the twin's
Domino measures the same span itself (its log: "from the hook's hold until every database left it: N ms";
printed as a check).
  snapshot      quiesce.domino.snapshot: freeze, create, thaw in one remote call (method shutdown)
  three tasks   backup_mode frozen; diskshadow; backup_mode thawed (method shutdown)
  classic       the VMware pre-freeze style as separate remote calls: stop the service, wait,
                kill leftover n*.exe, diskshadow, start the service, wait until it answers
"""
from __future__ import annotations

import argparse
import json
import re
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "sim"))
sys.path.insert(0, str(REPO / "tests" / "tools"))
from quiesce_sim import fleet as simfleet  # noqa: E402
from stage_collection import stage  # noqa: E402

SERVICE = "HCL Domino Server (DDominodata)"
SNAPSHOT = """
- hosts: dom01
  gather_facts: false
  tasks:
    - name: snapshot
      quiesce.domino.snapshot: {method: METHOD, shutdown_timeout: 30, create_timeout: 60}
    - name: cleanup
      quiesce.domino.diskshadow: {state: absent, volumes: ["D:"]}
"""
THREE = """
- hosts: dom01
  gather_facts: false
  tasks:
    - name: freeze
      quiesce.domino.backup_mode: {state: frozen, method: METHOD, shutdown_timeout: 30, watchdog_seconds: 900}
    - name: create
      quiesce.domino.diskshadow: {volumes: ["D:"]}
    - name: thaw
      quiesce.domino.backup_mode: {state: thawed}
    - name: cleanup
      quiesce.domino.diskshadow: {state: absent, volumes: ["D:"]}
"""


def classic(tools: dict) -> str:
    def plan(name, argv, **extra):
        step = dict({"name": name, "argv": argv, "timeout": 120, "ok_rc": "any"}, **extra)
        return json.dumps({"version": 1, "name": name, "platform": "posix", "steps": [step]})
    script = "set context persistent nowriters\r\nadd volume D:\r\ncreate\r\n"
    create = json.dumps({"version": 1, "name": "create", "platform": "posix",
                         "files": {"c.dsh": {"content": script.replace("\\\\r\\\\n", "\\r\\n")}},
                         "steps": [{"name": "create", "argv": [tools["diskshadow"], "/s", {"file": "c.dsh"}], "timeout": 120}]})
    wait_stopped = {"retry": {"within": 60, "interval": 0.5, "until_stdout": r"STATE\s*:\s*1\s+STOPPED"}}
    wait_answers = {"retry": {"within": 60, "interval": 0.5, "until_rc": [0], "until_stdout": "Server name:"}}
    tasks = [("stop", plan("stop", [tools["sc"], "stop", SERVICE])),
             ("wait", plan("wait", [tools["sc"], "query", SERVICE], **wait_stopped)),
             ("kill leftovers", plan("kill", [tools["taskkill"], "/F", "/IM", "n*.exe"])),
             ("create", create),
             ("start", plan("start", [tools["sc"], "start", SERVICE])),
             ("answers", plan("answers", [tools["nserver"], "-c", "show server"], **wait_answers))]
    lines = ["- hosts: dom01", "  gather_facts: false", "  tasks:"]
    for name, body in tasks:
        lines += ["    - name: %s" % name, "      quiesce.domino.posix_exec:", "        plan: %s" % body]
    lines += ["    - name: cleanup", "      quiesce.domino.diskshadow: {state: absent, volumes: [\"D:\"]}"]
    return "\n".join(lines) + "\n"


def run(root: Path, text: str, env: dict) -> dict:
    book = root / "bench.yml"
    book.write_text(text)
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(root / "inventory.yml"),
                           str(book)], capture_output=True, text=True, env=env, check=False)
    data = json.loads(proc.stdout[proc.stdout.index("{"):])
    if proc.returncode:
        raise SystemExit(proc.stdout[-3000:])
    return {t["task"]["name"]: t["hosts"]["dom01"] for t in data["plays"][0]["tasks"]}


def calls_between(log: Path, start_ms: int, end_ms: int) -> int:
    return sum(1 for line in log.read_text().split() if start_ms < int(line) < end_ms)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--method", default="shutdown", choices=["shutdown", "backup_task"],
                        help="method of the snapshot and three-task rows (classic always stops the service)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="quiesce-bench-"))
    hosts = simfleet.create(work / "fleet", 1, "backup_task" if args.method == "backup_task" else "shutdown")
    coll = work / "coll"
    stage(coll)
    simfleet.up(work / "fleet")
    simfleet.set_fault(work / "fleet" / "hosts" / "dom01", "latency_ms", args.latency_ms)
    log = work / "fleet" / "hosts" / "dom01" / "run" / "remote_calls.log"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(coll), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    rows = {"snapshot (one call)": [], "three tasks": [], "classic pre-freeze": []}
    hostd_log = work / "fleet" / "hosts" / "dom01" / "run" / "hostd.log"
    twin_truth: list[int] = []
    try:
        for _run in range(args.runs):
            r = run(work / "fleet", SNAPSHOT.replace("METHOD", args.method), env)["snapshot"]
            start = int(__import__("datetime").datetime.fromisoformat(r["frozen_at"].replace("Z", "+00:00")).timestamp() * 1000)
            rows["snapshot (one call)"].append((r["frozen_ms"], None, calls_between(log, start, start + r["frozen_ms"])))
            held = re.findall(r"from the hook's hold until every database left it: (\d+) ms", hostd_log.read_text())
            if args.method == "backup_task" and held:
                twin_truth.append(int(held[-1]))
            r = run(work / "fleet", THREE.replace("METHOD", args.method), env)
            frozen_steps = r["freeze"]["steps"]
            thaw = r["thaw"]
            start = int(__import__("datetime").datetime.fromisoformat(r["freeze"]["frozen_at"].replace("Z", "+00:00")).timestamp() * 1000) \
                - sum(s["duration_ms"] or 0 for s in frozen_steps if s["name"] != "disarm watchdog")
            held = thaw["held_ms"]
            rows["three tasks"].append((held, None, calls_between(log, start + 1000, start + held)))
            r = run(work / "fleet", classic(hosts[0]["tools"]), env)
            stop = r["stop"]["steps"][0]
            answers = r["answers"]["steps"][0]
            create_rec = r["create"]["steps"][0]
            window = answers["end_ms"] - stop["start_ms"]
            rows["classic pre-freeze"].append((window, create_rec["duration_ms"],
                                               calls_between(log, stop["start_ms"] + 1, answers["end_ms"])))
    finally:
        simfleet.down(work / "fleet")
    bare = statistics.median(x[1] for x in rows["classic pre-freeze"])
    print("Freeze window, one simulated host, method %s, %d ms latency per remote call, %d runs (medians, host clock)"
          % (args.method, args.latency_ms, args.runs))
    print("%-22s %12s %16s %18s %22s" % ("approach", "frozen ms", "bare create ms", "frozen - bare", "remote calls frozen"))
    for name, values in rows.items():
        frozen = statistics.median(v[0] for v in values)
        calls = statistics.median(v[2] for v in values)
        print("%-22s %12.0f %16.0f %18.0f %22.0f" % (name, frozen, bare, frozen - bare, calls))
    print("(bare create: the classic row's plain `diskshadow /s` create step, the same volume without a freeze)")
    if twin_truth:
        print("twin's Domino, from the hook's hold until every database left backup mode (one-call rows): median %d ms"
              % statistics.median(twin_truth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
