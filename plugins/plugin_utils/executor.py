# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Choose the host executor for a connection and run a plan in one remote call.

Windows hosts (PowerShell shell family): ``executor.ps1`` beside this file, run through
``ansible.windows.win_powershell``.  POSIX hosts: the ``quiesce.domino.host_exec`` module.
Both return the same result shape (docs/executor-contract.md), normalised here.
"""

from __future__ import annotations

import json
import pathlib
import typing as t

from ansible.errors import AnsibleError

from ansible_collections.quiesce.domino.plugins.module_utils.plan import failure_message

_PS1 = pathlib.Path(__file__).with_name("executor.ps1")
POSIX_MODULE = "quiesce.domino.host_exec"
WINDOWS_MODULE = "ansible.windows.win_powershell"


def shell_family(action: t.Any) -> str:
    """The connection's shell family: ``powershell`` for Windows hosts, else ``sh``."""
    shell = getattr(getattr(action, "_connection", None), "_shell", None)
    return getattr(shell, "SHELL_FAMILY", "sh")


def platform_for(action: t.Any) -> str:
    """The plan platform (``windows`` or ``posix``) the host's executor runs."""
    return "windows" if shell_family(action) == "powershell" else "posix"


def executor_script() -> str:
    return _PS1.read_text(encoding="utf-8")


def module_call(plan: dict[str, t.Any]) -> tuple[str, dict[str, t.Any]]:
    """The module name and arguments that run ``plan`` on its platform."""
    if plan["platform"] == "windows":
        return WINDOWS_MODULE, {
            "script": executor_script(),
            "parameters": {"PlanJson": json.dumps(plan, separators=(",", ":"))},
            "error_action": "stop",
        }
    return POSIX_MODULE, {"plan": plan}


def normalise(raw: dict[str, t.Any], platform: str) -> dict[str, t.Any]:
    """One result shape from either executor; ``executor_error`` when no plan outcome came back."""
    if raw.get("unreachable"):
        return _executor_failure("host unreachable: %s" % raw.get("msg", ""), raw)
    if platform == "windows":
        payload = raw.get("result")
        if not isinstance(payload, str):
            return _executor_failure(raw.get("msg") or "the Windows executor returned no result", raw)
        try:
            body = json.loads(payload)
        except ValueError as exc:
            return _executor_failure("the Windows executor returned invalid JSON: %s" % exc, raw)
    else:
        body = raw
        if "steps" not in body:
            return _executor_failure(raw.get("msg") or "the POSIX executor returned no step records", raw)
    result = {
        "ok": bool(body.get("ok")) and not body.get("skipped"),
        "skipped": bool(body.get("skipped")),
        "failed_step": body.get("failed_step"),
        "guard": list(body.get("guard") or []),
        "steps": list(body.get("steps") or []),
        "rescue": list(body.get("rescue") or []),
        "finally": list(body.get("finally") or []),
        "started_ms": body.get("started_ms"),
        "ended_ms": body.get("ended_ms"),
        "executor_error": None,
    }
    if body.get("watchdog") is not None:
        result["watchdog"] = body["watchdog"]
    if body.get("skipped"):
        result["ok"] = True
        result["msg"] = body.get("msg", "")
    return result


def _executor_failure(msg: str, raw: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"ok": False, "skipped": False, "failed_step": None, "steps": [], "finally": [],
            "started_ms": None, "ended_ms": None, "executor_error": msg, "raw": raw}


def outcome_message(result: dict[str, t.Any]) -> str:
    """The ``msg`` for a failed run: the executor's own failure or the failed step and its reason."""
    if result.get("executor_error"):
        return "executor failed: %s" % result["executor_error"]
    return failure_message({"failed": result.get("failed_step")})


def step_summary(records: t.Iterable[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """The part of each step record a module returns: name, status, rc, duration_ms, error."""
    return [{k: r.get(k) for k in ("name", "status", "rc", "duration_ms", "error")} for r in records]


def run_plan(action: t.Any, plan: dict[str, t.Any], task_vars: dict[str, t.Any],
             wrap_async: bool = False) -> dict[str, t.Any]:
    """Run ``plan`` on the task's host in one remote call and return the normalised result.

    With ``wrap_async`` the module is started as an async job and the raw job result
    (``ansible_job_id`` ...) is returned for the task executor to poll.
    """
    if plan["platform"] != platform_for(action):
        raise AnsibleError("plan %r is for %s but the host runs the %s executor"
                           % (plan["name"], plan["platform"], platform_for(action)))
    module, args = module_call(plan)
    raw = action._execute_module(module_name=module, module_args=args, task_vars=task_vars,
                                 wrap_async=wrap_async)
    if wrap_async:
        return raw
    return normalise(raw, plan["platform"])
