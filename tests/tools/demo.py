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
- name: Shadow copy of the Domino data volume on every host
  hosts: domino_servers
  gather_facts: false
  tasks:
    - name: Shadow copies before
      quiesce.domino.shadow_info:
        volumes: ["D:"]
      register: before
    - name: Create and expose a shadow copy of D
      quiesce.domino.diskshadow:
        volumes: ["D:"]
        expose_as: "S:"
      register: shadow
      ignore_errors: true
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
        print("%-6s %-12s %-8s %-40s %-6s %-26s %s" % ("host", "profile", "domino", "shadow copy", "expose",
                                                      "snapshot data", "result"))
        print("-" * 118)
        for host in hosts:
            name = host["name"]
            res = results.get(name, {}).get("Create and expose a shadow copy of D", {})
            cfg = json.loads((root / "hosts" / name / "sim.json").read_text())
            version = cfg["dominos"][0]["version"]
            if res.get("failed"):
                print("%-6s %-12s %-8s %-40s %-6s %-26s FAILED: %s" % (name, host["profile"], version, "-", "-", "-",
                                                                     res.get("msg")))
                continue
            shadow = res["shadows"][0]
            data_dir = root / "hosts" / name / "volumes" / "S" / "Domino" / "data"
            torn = domino.torn_transactions(data_dir)
            verdict = "consistent" if not torn else "%d torn (crash-consistent)" % len(torn)
            print("%-6s %-12s %-8s %-40s %-6s %-26s ok" % (name, host["profile"], version, shadow["id"],
                                                           shadow["exposed_as"], verdict))
        stats = data["stats"]
        failed = sorted(h for h, s in stats.items() if s.get("failures") or s.get("ignored"))
        print()
        print("ansible-playbook: %d hosts in %.1f s; failed hosts: %s" % (len(stats), wall, ", ".join(failed) or "none"))
        print("These shadow copies were taken WITHOUT quiescing Domino (writers off): torn transactions are")
        print("what crash-consistent means. Fleet left in %s for a look." % root)
        return 0
    finally:
        fleet.down(root)


if __name__ == "__main__":
    sys.exit(main())
