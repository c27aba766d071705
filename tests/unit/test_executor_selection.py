"""executor.py: the executor is chosen by shell family and both results come back in one shape."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleError

from ansible_collections.quiesce.domino.plugins.module_utils import plan as p
from ansible_collections.quiesce.domino.plugins.plugin_utils import executor


class FakeAction:
    def __init__(self, family, reply):
        self._connection = SimpleNamespace(_shell=SimpleNamespace(SHELL_FAMILY=family))
        self.reply = reply
        self.calls = []

    def _execute_module(self, module_name, module_args, task_vars, wrap_async=False):
        self.calls.append((module_name, module_args, wrap_async))
        return self.reply


def plan_for(platform):
    exe = "C:\\Windows\\System32\\sc.exe" if platform == "windows" else "/bin/true"
    return p.build_plan("t", platform, [p.step("one", [exe])])


BODY = {"ok": True, "failed_step": None, "steps": [{"name": "one", "status": "ok", "rc": 0}], "finally": [],
        "started_ms": 1, "ended_ms": 2}


def test_windows_hosts_run_executor_ps1_through_win_powershell():
    action = FakeAction("powershell", {"changed": True, "result": json.dumps(BODY)})
    result = executor.run_plan(action, plan_for("windows"), {})
    [(module, args, wrap)] = action.calls
    assert module == "ansible.windows.win_powershell"
    assert args["script"].startswith("# Copyright") and "function Invoke-QuiescePlan" in args["script"]
    assert json.loads(args["parameters"]["PlanJson"])["steps"][0]["name"] == "one"
    assert wrap is False
    assert result["ok"] is True and result["steps"][0]["rc"] == 0 and result["executor_error"] is None


def test_posix_hosts_run_host_exec():
    action = FakeAction("sh", dict(BODY, changed=True))
    result = executor.run_plan(action, plan_for("posix"), {})
    assert action.calls[0][0] == "quiesce.domino.host_exec"
    assert action.calls[0][1] == {"plan": plan_for("posix")}
    assert result["ok"] is True


def test_async_returns_the_job():
    action = FakeAction("sh", {"ansible_job_id": "j1", "started": 1})
    assert executor.run_plan(action, plan_for("posix"), {}, wrap_async=True) == {"ansible_job_id": "j1", "started": 1}
    assert action.calls[0][2] is True


def test_platform_mismatch_is_refused():
    with pytest.raises(AnsibleError, match="is for windows but the host runs the posix executor"):
        executor.run_plan(FakeAction("sh", {}), plan_for("windows"), {})


@pytest.mark.parametrize("raw, platform, words", [
    ({"unreachable": True, "msg": "ssh: timeout"}, "posix", "host unreachable: ssh: timeout"),
    ({"failed": True, "msg": "MODULE FAILURE"}, "posix", "MODULE FAILURE"),
    ({"failed": True, "msg": "boom"}, "windows", "boom"),
    ({"result": "{not json"}, "windows", "invalid JSON"),
])
def test_executor_failures_are_reported_not_mistaken_for_success(raw, platform, words):
    result = executor.normalise(raw, platform)
    assert result["ok"] is False
    assert words in result["executor_error"]
    assert words in executor.outcome_message(result)


def test_check_mode_skip_is_not_a_failure():
    result = executor.normalise({"skipped": True, "ok": True, "steps": [], "msg": "check mode"}, "posix")
    assert result["ok"] is True and result["skipped"] is True
