# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a plan on the task's host in one remote call: the executor module of its platform.

Windows connections run ``quiesce.domino.host_exec`` (host_exec.ps1 on Ansible.Basic, with
module_utils/QuiesceExecutor.psm1), POSIX ones ``quiesce.domino.posix_exec``; both return the same result
shape (docs/executor-contract.md), normalised here.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleError

from ansible_collections.quiesce.domino.plugins.module_utils.plan import failure_message

WINDOWS_MODULE = "quiesce.domino.host_exec"
POSIX_MODULE = "quiesce.domino.posix_exec"


def is_windows(action: t.Any) -> bool:
    """Whether the connection's shell is a Windows one (powershell, or cmd over SSH): the shell plugins' own flag,
    which also decides that Ansible runs the module's .ps1 implementation."""
    shell = getattr(getattr(action, "_connection", None), "_shell", None)
    return bool(getattr(shell, "_IS_WINDOWS", False))


def platform_for(action: t.Any) -> str:
    """The plan platform (``windows`` or ``posix``) the host's executor runs."""
    return "windows" if is_windows(action) else "posix"


def module_call(plan: dict[str, t.Any]) -> tuple[str, dict[str, t.Any]]:
    """The module name and arguments that run ``plan``.  Two names, not one with a .py and a .ps1: a POSIX
    connection accepts any module suffix, so Ansible could pick the PowerShell file there."""
    return (WINDOWS_MODULE if plan["platform"] == "windows" else POSIX_MODULE), {"plan": plan}


def normalise(raw: dict[str, t.Any], platform: str) -> dict[str, t.Any]:
    """One result shape from either executor; ``executor_error`` when no plan outcome came back."""
    if raw.get("unreachable"):
        return _executor_failure("host unreachable: %s" % raw.get("msg", ""), raw)
    body = raw
    if "steps" not in body:
        # the module did not get to run the plan: Ansible.Basic (an unhandled exception: "internal error: ..."),
        # AnsibleModule, or the connection reported why in msg (with the exception when verbose)
        why = raw.get("msg") or "the %s executor returned no step records" % platform
        if raw.get("exception") and "\n" not in why:
            why += " (%s)" % str(raw["exception"]).strip().splitlines()[0][:300]
        return _executor_failure(why, raw)
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
