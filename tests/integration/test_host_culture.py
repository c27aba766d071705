"""A host whose tools print a language the collection cannot read yet (issue 15): domino_info says so, and a
snapshot is refused before anything is touched, whether Domino is running or already stopped."""
from __future__ import annotations

import json

SNAP = """
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Facts
      quiesce.domino.domino_info:
      register: facts
    - name: Snapshot
      quiesce.domino.snapshot:
        method: auto
        expose_as: "S:"
      ignore_errors: true
"""


def _german(fleet) -> None:
    path = fleet.host_dir("dom01") / "sim.json"
    cfg = json.loads(path.read_text())
    cfg.setdefault("windows", {})["culture"] = {"installed_ui": "de-DE", "ui": "de-DE", "format": "de-DE",
                                                "oem_code_page": "850"}
    path.write_text(json.dumps(cfg))


def test_a_german_host_is_reported_and_refused_running_or_stopped(solo_fleet):
    _german(solo_fleet)
    run = solo_fleet.playbook(SNAP)
    facts = run.result("Facts", "dom01")
    assert facts["culture"]["ui_culture"] == "de-DE" and facts["culture"]["oem_code_page"] == 850
    assert facts["culture"]["supported"] is False
    refused = run.result("Snapshot", "dom01")
    assert refused["failed"] is True and "UI culture de-DE" in refused["msg"], refused["msg"]
    state = solo_fleet.state("dom01")
    assert state["shadows"] == {} and state["tasks"] == {}
    assert state["dominos"][0]["state"] == "RUNNING" and not state["dominos"][0]["backup_mode"]

    service = facts["installations"][0]["service"]
    stopped = solo_fleet.run_tool("dom01", "sc", "stop", service)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    run = solo_fleet.playbook(SNAP)
    refused = run.result("Snapshot", "dom01")
    assert refused["failed"] is True and "UI culture de-DE" in refused["msg"], refused["msg"]
    assert "nothing was touched" in refused["msg"]
    state = solo_fleet.state("dom01")
    assert state["shadows"] == {} and state["dominos"][0]["state"] == "STOPPED"
