"""executor.py: the executor is chosen by shell family and both results come back in one shape."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleError

from ansible_collections.quiesce.domino.plugins.module_utils import plan as p
from ansible_collections.quiesce.domino.plugins.plugin_utils import executor


class FakeAction:
    def __init__(self, windows, reply):
        self._connection = SimpleNamespace(_shell=SimpleNamespace(_IS_WINDOWS=windows))
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


def test_every_host_runs_its_executor_module_with_the_plan():
    """Windows connections run host_exec (PowerShell), POSIX ones posix_exec, with the same arguments."""
    for windows, platform, name in ((True, "windows", "quiesce.domino.host_exec"), (False, "posix", "quiesce.domino.posix_exec")):
        action = FakeAction(windows, dict(BODY, changed=True))
        result = executor.run_plan(action, plan_for(platform), {})
        [(module, args, wrap)] = action.calls
        assert module == name and args == {"plan": plan_for(platform)} and wrap is False
        assert result["ok"] is True and result["steps"][0]["rc"] == 0 and result["executor_error"] is None


def test_the_windows_flag_of_the_shell_decides_not_its_family():
    """Windows OpenSSH with the cmd shell: SHELL_FAMILY is 'cmd', _IS_WINDOWS is True (ansible-core shell/cmd.py)."""
    cmd_shell = SimpleNamespace(_connection=SimpleNamespace(_shell=SimpleNamespace(SHELL_FAMILY="cmd", _IS_WINDOWS=True)))
    assert executor.platform_for(cmd_shell) == "windows"
    sh_shell = SimpleNamespace(_connection=SimpleNamespace(_shell=SimpleNamespace(SHELL_FAMILY="sh")))
    assert executor.platform_for(sh_shell) == "posix"


def test_async_returns_the_job():
    action = FakeAction(False, {"ansible_job_id": "j1", "started": 1})
    assert executor.run_plan(action, plan_for("posix"), {}, wrap_async=True) == {"ansible_job_id": "j1", "started": 1}
    assert action.calls[0][2] is True


def test_platform_mismatch_is_refused():
    with pytest.raises(AnsibleError, match="is for windows but the host runs the posix executor"):
        executor.run_plan(FakeAction(False, {}), plan_for("windows"), {})


@pytest.mark.parametrize("raw, platform, words", [
    ({"unreachable": True, "msg": "ssh: timeout"}, "posix", "host unreachable: ssh: timeout"),
    ({"failed": True, "msg": "MODULE FAILURE"}, "posix", "MODULE FAILURE"),
    # Ansible.Basic's answer to an unhandled exception in host_exec.ps1 (ansible-core Ansible.Basic.cs:
    # "internal error: <message>" with the exception) and host_exec.ps1's own FailJson for an invalid plan
    ({"failed": True, "msg": "internal error: Cannot bind argument", "exception": "System.Management..."}, "windows",
     "internal error: Cannot bind argument"),
    ({"failed": True, "msg": "the Windows executor could not run the plan: invalid plan: version must be 1"}, "windows",
     "invalid plan: version must be 1"),
    ({"failed": True}, "windows", "the windows executor returned no step records"),
])
def test_executor_failures_are_reported_not_mistaken_for_success(raw, platform, words):
    result = executor.normalise(raw, platform)
    assert result["ok"] is False
    assert words in result["executor_error"]
    assert words in executor.outcome_message(result)


def test_a_failed_plan_keeps_its_records_and_names_the_step():
    """host_exec (both implementations) fails with msg and still returns every record."""
    failed = {"name": "copy", "section": "steps", "index": 2, "status": "failed", "rc": 16}
    raw = dict(BODY, ok=False, failed=True, msg="step 'copy' (steps) failed: exit code 16", failed_step=failed)
    result = executor.normalise(raw, "windows")
    assert result["ok"] is False and result["executor_error"] is None and result["failed_step"]["name"] == "copy"
    assert result["steps"] and "step 'copy' (steps) failed" in executor.outcome_message(result)


def test_check_mode_skip_is_not_a_failure():
    result = executor.normalise({"skipped": True, "ok": True, "steps": [], "msg": "check mode"}, "posix")
    assert result["ok"] is True and result["skipped"] is True
