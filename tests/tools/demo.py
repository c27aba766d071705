"""`make demo`: a simulated fleet of Windows Domino hosts, driven by the real collection.

Creates six simulated hosts (mixed Domino versions), injects one fault, runs a playbook
through ansible-playbook, checks every exposed shadow copy for torn Domino transactions,
and prints a table.  The fleet is left in build/demo-fleet for a look and stopped.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "sim"))
sys.path.insert(0, str(REPO / "tests" / "tools"))

from quiesce_sim import domino, fleet  # noqa: E402
from stage_collection import stage  # noqa: E402

PLAYBOOK = """
- name: Quiesced shadow copy of the Domino data volume on every host
  hosts: domino_servers
  gather_facts: false
  vars:
    # The admin's choice per host: backup_task where Domino Backup has the hook configured,
    # otherwise what domino_info recommends (vss_writer or shutdown).
    method: "{{ 'backup_task' if quiesce_sim_profile == 'backup_task' else 'auto' }}"
  tasks:
    - name: Discover Domino
      quiesce.domino.domino_info:
      register: info
    - name: Quiesce, snapshot, release
      block:
        - name: Freeze Domino
          quiesce.domino.backup_mode:
            state: frozen
            method: "{{ method }}"
            shutdown_timeout: 30
            watchdog_seconds: 120
          register: frozen
        - name: Create and expose a shadow copy of D
          quiesce.domino.diskshadow:
            volumes: ["D:"]
            expose_as: "S:"
            writers: "{{ frozen.method == 'vss_writer' }}"
          register: shadow
      always:
        - name: Release Domino
          quiesce.domino.backup_mode:
            state: thawed
          register: thawed
"""


def main() -> int:
    build = REPO / "build"
    root = build / "demo-fleet"
    if root.exists():
        fleet.down(root)
        shutil.rmtree(root)
    stage_root = build / "demo-collections"
    stage(stage_root)
    hosts = fleet.create(root, 6, "mixed")
    fleet.set_fault(root / "hosts" / "dom04", "fail", {"diskshadow": "com_failure"})
    print("Simulated fleet: %d hosts in %s (dom04 has an injected diskshadow failure)" % (len(hosts), root))
    fleet.up(root)
    try:
        (root / "demo.yml").write_text(PLAYBOOK)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(stage_root), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
                   ANSIBLE_NOCOLOR="1", ANSIBLE_FORKS="6")
        started = time.time()
        proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(root / "inventory.yml"),
                               str(root / "demo.yml")], capture_output=True, text=True, env=env, check=False)
        wall = time.time() - started
        try:
            data = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError:
            print(proc.stdout[-4000:], proc.stderr[-4000:])
            return 1
        results = {}
        for task in data["plays"][0]["tasks"]:
            for host, res in task["hosts"].items():
                results.setdefault(host, {})[task["task"]["name"]] = res
        print()
        header = ("host", "profile", "domino", "method", "held ms", "shadow copy (exposed S:)", "snapshot data", "result")
        print("%-6s %-12s %-7s %-12s %-8s %-40s %-28s %s" % header)
        print("-" * 130)
        for host in hosts:
            name = host["name"]
            res = results.get(name, {})
            cfg = json.loads((root / "hosts" / name / "sim.json").read_text())
            version = cfg["dominos"][0]["version"]
            frozen = res.get("Freeze Domino", {})
            shot = res.get("Create and expose a shadow copy of D", {})
            thawed = res.get("Release Domino", {})
            method = frozen.get("method") or "-"
            held = thawed.get("held_ms")
            failed = next((r for r in (frozen, shot, thawed) if r.get("failed")), None)
            if failed:
                print("%-6s %-12s %-7s %-12s %-8s %-40s %-28s FAILED: %s" % (
                    name, host["profile"], version, method, held or "-", "-", "-", failed.get("msg")))
                continue
            shadow = shot["shadows"][0]
            torn = domino.torn_transactions(root / "hosts" / name / "volumes" / "S" / "Domino" / "data")
            if frozen.get("crash_consistent"):
                verdict = "crash-consistent (%d torn)" % len(torn)
            else:
                verdict = "consistent" if not torn else "TORN: %d transactions" % len(torn)
            print("%-6s %-12s %-7s %-12s %-8s %-40s %-28s ok" % (name, host["profile"], version, method,
                                                                 held if held is not None else "-", shadow["id"], verdict))
        stats = data["stats"]
        failed = sorted(h for h, s in stats.items() if s.get("failures") or s.get("ignored"))
        print()
        print("ansible-playbook: %d hosts in %.1f s; failed hosts: %s" % (len(stats), wall, ", ".join(failed) or "none"))
        print("held ms: how long Domino was frozen, measured on the host clock (vss_writer: VSS holds it only")
        print("during the shadow copy creation). Fleet left in %s for a look." % root)
        return 0
    finally:
        fleet.down(root)


if __name__ == "__main__":
    sys.exit(main())
