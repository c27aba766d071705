"""diskshadow and shadow_info against the simulated fleet through ansible-playbook."""
from __future__ import annotations

import pytest

LIFECYCLE = """
- name: Shadow copy lifecycle
  hosts: dom01
  gather_facts: false
  tasks:
    - name: Create and expose
      quiesce.domino.diskshadow:
        volumes: ["D:"]
        expose_as: "Z:"
      register: created
    - name: Create and expose again
      quiesce.domino.diskshadow:
        volumes: ["D:"]
        expose_as: "Z:"
    - name: List
      quiesce.domino.shadow_info:
        volumes: ["D:"]
    - name: Unexpose
      quiesce.domino.diskshadow:
        state: unexposed
        expose_as: "Z:"
    - name: Unexpose again
      quiesce.domino.diskshadow:
        state: unexposed
        shadow_id: "{{ created.shadows[0].id }}"
    - name: Expose as Y
      quiesce.domino.diskshadow:
        state: exposed
        shadow_id: "{{ created.shadows[0].id }}"
        expose_as: "y:"
    - name: Expose as Y again
      quiesce.domino.diskshadow:
        state: exposed
        shadow_id: "{{ created.shadows[0].id }}"
        expose_as: "Y"
    - name: Delete
      quiesce.domino.diskshadow:
        state: absent
        shadow_id: "{{ created.shadows[0].id }}"
    - name: Delete again
      quiesce.domino.diskshadow:
        state: absent
        shadow_id: "{{ created.shadows[0].id }}"
    - name: List after
      quiesce.domino.shadow_info:
"""


def test_create_expose_list_unexpose_delete_idempotently(fleet):
    run = fleet.playbook(LIFECYCLE)
    assert run.rc == 0, run.stdout[-4000:]
    created = run.result("Create and expose", "dom01")
    assert created["changed"] is True
    [shadow] = created["shadows"]
    assert shadow["volume"] == "D:" and shadow["exposed_as"] == "Z:"
    assert shadow["device_object"].startswith("\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy")
    assert created["shadow_set_id"] == shadow["set_id"]
    assert "set context persistent nowriters" in created["script"]
    assert "The shadow copy was successfully exposed as z:\\." in created["transcript"]
    again = run.result("Create and expose again", "dom01")
    assert again["changed"] is False and again["shadows"][0]["id"] == shadow["id"]
    listed = run.result("List", "dom01")
    assert listed["source"] == "cim"
    assert [s["id"] for s in listed["shadows"]] == [shadow["id"]]
    assert listed["shadows"][0]["exposed_as"] == "Z:" and listed["shadows"][0]["persistent"] is True
    assert "Z:" in listed["drives_in_use"]
    assert run.result("Unexpose", "dom01")["changed"] is True
    assert run.result("Unexpose again", "dom01")["changed"] is False
    exposed = run.result("Expose as Y", "dom01")
    assert exposed["changed"] is True and exposed["shadows"][0]["exposed_as"] == "Y:"
    assert run.result("Expose as Y again", "dom01")["changed"] is False
    assert run.result("Delete", "dom01")["changed"] is True
    assert run.result("Delete again", "dom01")["changed"] is False
    assert run.result("List after", "dom01")["shadows"] == []
    assert fleet.state("dom01")["shadows"] == {}


def test_check_mode_returns_script_and_changes_nothing(fleet):
    run = fleet.playbook("""
- hosts: dom02
  gather_facts: false
  tasks:
    - name: Would create
      quiesce.domino.diskshadow:
        volumes: ["D:"]
        expose_as: "X:"
""", check=True)
    assert run.rc == 0, run.stdout[-3000:]
    res = run.result("Would create", "dom02")
    assert res["changed"] is True
    assert "expose %vol_d% X:" in res["script"]
    assert res["diff"]["after"] == res["script"]
    assert fleet.state("dom02")["shadows"] == {}


def test_occupied_drive_letter_is_refused_before_diskshadow_runs(fleet):
    run = fleet.playbook("""
- hosts: dom03
  gather_facts: false
  tasks:
    - name: Expose onto E
      quiesce.domino.diskshadow:
        volumes: ["D:"]
        expose_as: "E:"
      ignore_errors: true
""")
    res = run.result("Expose onto E", "dom03")
    assert res["failed"] is True
    assert res["msg"].startswith("expose_as: drive letter E: is already in use on the host")
    assert fleet.state("dom03")["shadows"] == {}


def test_diskshadow_failure_text_reaches_msg(solo_fleet):
    solo_fleet.fault("dom01", "fail", {"diskshadow": "com_failure"})
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Create
      quiesce.domino.diskshadow:
        volumes: ["D:"]
      ignore_errors: true
""")
    res = run.result("Create", "dom01")
    assert res["failed"] is True
    assert res["msg"] == ('diskshadow create failed: a VSS COM call failed: '
                          'COM call "(*vssObject)->InitializeForBackup" failed.')


def test_shadow_info_falls_back_to_vssadmin(solo_fleet):
    solo_fleet.run_tool("dom01", "diskshadow", "/s", "/dev/stdin")
    solo_fleet.fault("dom01", "fail", {"powershell": "cim_unavailable"})
    created = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Create
      quiesce.domino.diskshadow:
        volumes: ["D:"]
        expose_as: "Q:"
""")
    # The lookup before create needs CIM or vssadmin: vssadmin serves, so create works.
    assert created.rc == 0, created.stdout[-3000:]
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: List
      quiesce.domino.shadow_info:
""")
    res = run.result("List", "dom01")
    assert res["source"] == "vssadmin"
    assert res["shadows"][0]["volume"] == "D:" and res["shadows"][0]["exposed_as"] == "Q:"
    assert any("CIM query failed" in w for w in res.get("warnings", []))


BAD_INPUTS = [
    ({"volumes": ["D: & calc"]}, "volumes[0]: 'D: & calc' is not valid; it may not contain '&'"),
    ({"volumes": ["D:"], "expose_as": "Z:\nexec x"}, "expose_as: "),
    ({"volumes": ["D:"], "expose_as": "%TEMP%"}, "may not contain '%'"),
    ({"volumes": ["D:"], "expose_as": "E:\\mnt\\..\\x"}, "'.' and '..' are not allowed"),
    ({"volumes": ["D:"], "expose_as": "E:\\my mount"}, "mount folders may not contain spaces"),
    ({"volumes": ["D:"], "metadata": "C:\\x\"y.cab"}, "metadata: "),
    ({"state": "exposed", "shadow_id": "{bad}", "expose_as": "Z:"}, "shadow_id: '{bad}' is not valid; use a GUID"),
    ({"state": "frozen"}, "value of state must be one of: present, exposed, unexposed, absent"),
    ({"volumes": ["D:"], "context": "forever"}, "value of context must be one of: persistent, volatile"),
    ({"volumes": ["D:"], "writer_verify": ["DominoWriter"]}, "writer_verify, writer_exclude and backup_type=full need writers=true"),
    ({"volumes": ["D:"], "writers": True, "writer_verify": ["a\"b"]}, "writer_verify[0]: "),
    ({"script": "exec c:\\evil.cmd"}, "script: line 1: 'exec' is not an allowed diskshadow command"),
    ({"script": "add volume d: | calc"}, "may not contain '|'"),
    ({"volumes": ["D:"], "timeout": 1}, "timeout: 1 is not valid; an integer from 10 to 86400"),
    ({"state": "absent"}, "state=absent needs one of them"),
    ({"volumes": "D:", "expose_as": ["Z:"]}, "expose_as"),
]


@pytest.mark.parametrize("args, words", BAD_INPUTS, ids=[str(i) for i in range(len(BAD_INPUTS))])
def test_bad_input_is_refused_before_anything_runs(fleet, args, words):
    calls_log = fleet.host_dir("dom03") / "run" / "remote_calls.log"
    before = calls_log.read_text().count("\n") if calls_log.exists() else 0
    import json
    run = fleet.playbook("""
- hosts: dom03
  gather_facts: false
  tasks:
    - name: Bad
      quiesce.domino.diskshadow: "{{ bad_args }}"
      ignore_errors: true
""", extra_vars={"bad_args": args})
    res = run.result("Bad", "dom03")
    assert res["failed"] is True
    assert words in res["msg"], json.dumps(res)[:500]
    after = calls_log.read_text().count("\n") if calls_log.exists() else 0
    assert after == before, "a remote call ran for bad input"
