"""diskshadow and shadow_info action plugins with the executor mocked (a Windows host)."""
from __future__ import annotations

import base64
import json
from pathlib import Path
from unittest.mock import MagicMock

import pytest

from ansible_collections.quiesce.domino.plugins.action import diskshadow as diskshadow_action
from ansible_collections.quiesce.domino.plugins.action import shadow_info as shadow_info_action

SAMPLES = Path(__file__).with_name("samples")
SID = "{eef6f0be-3c60-4e69-985d-3bc400a24ff1}"
D_GUID = "\\\\?\\Volume{351b4712-0000-0000-0000-602200000000}\\"


def inventory(shadows=(), drives=("C:\\", "D:\\")):
    return json.dumps({"shadows": list(shadows), "drives": list(drives),
                       "volumes": [{"DriveLetter": "D:", "DeviceID": D_GUID, "FileSystem": "NTFS",
                                    "Capacity": 10, "FreeSpace": 5, "Label": ""}]})


def cim_shadow(exposed=None):
    return {"ID": SID.upper(), "SetID": "{12B5D80F-4368-4727-A02B-1B22F5E020EF}", "VolumeName": D_GUID,
            "DeviceObject": "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1", "InstallDate": "/Date(1600000000000)/",
            "Count": 1, "Persistent": True, "NoWriters": True, "ExposedName": exposed}


def ok_run(stdout, rc=0):
    status = "ok" if rc == 0 else "failed"
    record = {"name": "x", "status": status, "rc": rc, "stdout": stdout, "stderr": ""}
    return {"ok": rc == 0, "skipped": False, "failed_step": None if rc == 0 else dict(record, section="steps"),
            "steps": [record], "finally": [], "executor_error": None}


def run_action(module, args, check_mode=False):
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    task.diff = False
    connection = MagicMock()
    connection._shell.SHELL_FAMILY = "powershell"
    connection._shell.tmpdir = "C:\\tmp"
    templar = MagicMock()
    templar.template.side_effect = lambda value, **kw: value
    action = module.ActionModule(task, connection, MagicMock(), MagicMock(), templar, None)
    return action.run(task_vars={})


def decoded_script(plan):
    argv = plan["steps"][0]["argv"]
    return base64.b64decode(argv[argv.index("-EncodedCommand") + 1]).decode("utf-16-le")


def test_present_with_expose_looks_up_then_runs_rendered_script(host):
    transcript = (SAMPLES / "ds_create_nowriters.txt").read_text().split("-> exec")[0].replace("noraj", "vol_d")
    host["replies"] = [ok_run(inventory()), ok_run(transcript)]
    result = run_action(diskshadow_action, {"volumes": ["d:"], "expose_as": "z"})
    assert result.get("failed") is not True, result
    lookup, create = host["plans"]
    assert lookup["check_mode_safe"] is True
    assert lookup["steps"][0]["argv"][0] == "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    assert "Get-CimInstance -ClassName Win32_ShadowCopy" in decoded_script(lookup)
    assert create["steps"][0]["argv"] == ["C:\\Windows\\System32\\diskshadow.exe", "/s", {"file": "script.dsh"}]
    script = create["files"]["script.dsh"]
    assert script["encoding"] == "ascii"
    expected = ["set context persistent nowriters", "add volume D: alias vol_d", "create", "expose %vol_d% Z:"]
    assert script["content"].split("\r\n")[1:5] == expected
    assert result["changed"] is True
    assert result["shadows"][0]["id"] == SID and result["shadows"][0]["exposed_as"] == "Z:"
    assert result["shadow_set_id"] == "{12b5d80f-4368-4727-a02b-1b22f5e020ef}"


def test_check_mode_only_looks_up(host):
    host["replies"] = [ok_run(inventory())]
    result = run_action(diskshadow_action, {"volumes": ["D:"], "expose_as": "Z:"}, check_mode=True)
    assert len(host["plans"]) == 1
    assert result["changed"] is True and "expose %vol_d% Z:" in result["script"]
    assert result["diff"]["after"] == result["script"]


def test_present_is_idempotent_when_already_exposed(host):
    host["replies"] = [ok_run(inventory([cim_shadow("Z:\\")], ["C:\\", "D:\\", "Z:\\"]))]
    result = run_action(diskshadow_action, {"volumes": ["D:"], "expose_as": "Z:"})
    assert len(host["plans"]) == 1
    assert result["changed"] is False and result["shadows"][0]["id"] == SID


def test_occupied_drive_letter_refused_before_diskshadow(host):
    host["replies"] = [ok_run(inventory(drives=["C:\\", "D:\\", "Z:\\"]))]
    result = run_action(diskshadow_action, {"volumes": ["D:"], "expose_as": "Z:"})
    assert len(host["plans"]) == 1
    assert result["failed"] is True
    assert result["msg"] == "expose_as: drive letter Z: is already in use on the host; choose a free letter (in use: C:, D:, Z:)"


def test_rc_zero_with_failure_text_is_a_failure(host):
    host["replies"] = [ok_run(inventory([cim_shadow()])), ok_run((SAMPLES / "ds_expose_in_use.txt").read_text())]
    result = run_action(diskshadow_action, {"state": "exposed", "shadow_id": SID, "expose_as": "Z:"})
    assert result["failed"] is True
    assert result["msg"] == "diskshadow expose failed: the drive letter is already in use: The drive letter is already in use."
    assert result["rc"] == 0 and "already in use" in result["transcript"]


def test_absent_by_id_and_nothing_to_delete(host):
    host["replies"] = [ok_run(inventory([cim_shadow()])),
                       ok_run("-> delete shadows id %s\nDeleting shadow copy %s...\n1 shadow copy deleted.\n" % (SID, SID))]
    result = run_action(diskshadow_action, {"state": "absent", "shadow_id": SID})
    assert result["changed"] is True
    assert "delete shadows id %s" % SID in host["plans"][1]["files"]["script.dsh"]["content"]
    host["plans"].clear()
    host["replies"] = [ok_run(inventory())]
    result = run_action(diskshadow_action, {"state": "absent", "shadow_id": SID})
    assert result["changed"] is False and len(host["plans"]) == 1


@pytest.mark.parametrize("args, words", [
    ({"volumes": ["D:\n"], "expose_as": "Z:"}, "volumes[0]: "),
    ({"volumes": ["D:"], "expose_as": "Z: & calc"}, "expose_as: "),
    ({"state": "exposed", "shadow_id": SID}, "state=exposed needs both"),
    ({"volumes": ["D:", "E:"], "expose_as": "Z:"}, "exposing needs exactly one volume"),
    ({"volumes": ["D:"], "expose_as": "Z:", "context": "volatile"}, "only persistent shadow copies can be exposed"),
    ({"script": "create", "volumes": ["D:"]}, "parameters are mutually exclusive: script|volumes"),
])
def test_bad_input_sends_nothing(host, args, words):
    result = run_action(diskshadow_action, args)
    assert result["failed"] is True and words in result["msg"]
    assert host["plans"] == []


def test_shadow_info_filters_and_falls_back(host):
    failed = ok_run("", rc=1)
    failed["steps"][0]["stderr"] = "Get-CimInstance : Invalid class"
    host["replies"] = [failed, ok_run((SAMPLES / "vssadmin_list.txt").read_text())]
    result = run_action(shadow_info_action, {"volumes": ["C:"]})
    assert result["source"] == "vssadmin"
    assert [s["id"] for s in result["shadows"]] == ["{eef18c41-c6bc-40bb-9863-5491249d2458}"]
    assert host["plans"][1]["steps"][0]["argv"] == ["C:\\Windows\\System32\\vssadmin.exe", "list", "shadows"]
    assert all(plan["check_mode_safe"] for plan in host["plans"])
    host["plans"].clear()
    host["replies"] = [ok_run(inventory([cim_shadow()]))]
    assert run_action(shadow_info_action, {"volumes": ["E:"]})["shadows"] == []
    host["replies"] = [ok_run(inventory([cim_shadow()]))]
    assert run_action(shadow_info_action, {"older_than": "1d"}, check_mode=True)["shadows"][0]["id"] == SID
    result = run_action(shadow_info_action, {"older_than": "soon"})
    assert result["failed"] is True and result["msg"].startswith("older_than: 'soon' is not valid")


def test_mount_folder_must_be_on_an_ntfs_volume(host):
    refat = json.loads(inventory())
    refat["volumes"][0]["FileSystem"] = "FAT32"
    host["replies"] = [ok_run(json.dumps(refat))]
    result = run_action(diskshadow_action, {"volumes": ["D:"], "expose_as": "D:\\mnt\\snap"})
    assert result["failed"] is True and result["msg"] == "expose_as: mount folders must be on an NTFS volume; D: is FAT32"
    host["replies"] = [ok_run(inventory())]
    result = run_action(diskshadow_action, {"volumes": ["D:"], "expose_as": "Q:\\mnt\\snap"})
    assert result["failed"] is True and result["msg"] == "expose_as: Q:\\mnt\\snap is not on a volume of this host"
    assert len(host["plans"]) == 2  # only the two look-ups ran


@pytest.mark.parametrize("stdout", ["", "Get-CimInstance : Access denied", '{"shadows": [', "WARNING: x\r\n{oops}"])
def test_an_unreadable_answer_of_the_host_is_a_message_not_a_traceback(host, stdout):
    """A script whose output is not the JSON document it promises (an error text, a cut-off document) fails the
    task with a message that quotes what the host printed."""
    from ansible_collections.quiesce.domino.plugins.action import snapshot_copy as copy_action
    host["replies"] = [ok_run(stdout)]
    result = run_action(copy_action, {"state": "pruned", "destination": "\\\\backupsrv\\domino", "host_folder": "dom01",
                                      "keep": 2})
    assert result["failed"] is True
    assert "the host printed" in result["msg"] and "JSON document" in result["msg"], result["msg"]
    assert "Traceback" not in result["msg"]


@pytest.mark.parametrize("job", [
    # what ansible.windows async_status returns for a job it cannot read, or one Ansible's async watchdog killed
    {"ansible_job_id": "j1.2", "finished": 1, "started": 1, "failed": True, "msg": "Could not parse job output: "},
    {"ansible_job_id": "j1.3", "finished": 1, "failed": True, "msg": "Job reached maximum time limit of 60 seconds."},
])
def test_an_async_job_without_a_copy_result_is_not_verified_and_names_the_leftovers(host, job):
    from ansible_collections.quiesce.domino.plugins.action import snapshot_copy as copy_action
    result = run_action(copy_action, {"state": "report", "job": job})
    assert result["failed"] is True and result["verified"] is False
    assert "ended without a copy result (%s)" % job["msg"] in result["msg"], result["msg"]
    assert "host lock may not have been released" in result["msg"]
    assert host["plans"] == []  # nothing was sent to the host
