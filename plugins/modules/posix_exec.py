#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: posix_exec
short_description: Run a quiesce.domino plan on a POSIX host
version_added: "0.1.0"
description:
  - The POSIX host executor of the collection. It runs a I(plan) built by the collection's action plugins
    (C(quiesce.domino.diskshadow), C(quiesce.domino.snapshot) and the others) and returns every step's
    return code, output and host-clock timings.
  - A plan is an ordered list of steps, each an absolute executable and an argument list (never a shell
    string), with a timeout and the return codes that count as success; a C(finally) list that always runs;
    optional temporary files; C(guard) steps that must pass before anything else runs (a failed guard runs only the
    C(rescue) steps); and an optional watchdog whose C(arm) steps run before the critical section
    and whose C(disarm) steps run after it.
  - Steps stop at the first failure; C(finally) steps always run; the watchdog is disarmed only when every
    C(finally) step succeeded, so a failed release leaves the watchdog armed to release Domino at its
    deadline.
  - A step that outlives its timeout is killed together with its whole process tree.
  - On Windows hosts the same contract is implemented by M(quiesce.domino.host_exec) (PowerShell, on Ansible.Basic).
    The two are separate modules because Ansible picks a module file by the connection's preferred suffixes, and a
    POSIX connection accepts any suffix, so one name with a C(.py) and a C(.ps1) implementation would be ambiguous.
    The contract is in C(docs/executor-contract.md) of the collection.
  - Normally used by the collection's action plugins, not called from playbooks directly.
author:
  - quiesce.domino contributors (@quiesce-domino)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  plan:
    description:
      - The plan to run, as produced by the collection's plan builder.
      - It is validated again on the host before anything runs.
    type: dict
    required: true
attributes:
  check_mode:
    support: partial
    details: A plan runs in check mode only when it is marked C(check_mode_safe) (read-only plans).
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
notes:
  - Returns C(failed) with a C(msg) naming the failed step when any step fails; the step records are
    returned all the same.
"""

EXAMPLES = r"""
- name: Run a one-step plan (normally built by an action plugin)
  quiesce.domino.posix_exec:
    plan:
      version: 1
      name: list shadows
      platform: posix
      check_mode_safe: true
      steps:
        - name: list
          argv: ["/usr/bin/true"]
  register: run
"""

RETURN = r"""
ok:
  description: Whether every step that ran succeeded.
  returned: always
  type: bool
failed_step:
  description: The first step that failed (section, index, name, status, rc, error), or null.
  returned: always
  type: dict
steps:
  description:
    - One record per main step, in order; steps after a failure are C(skipped).
    - Each record has C(name), C(status) (ok, failed, timeout, error, skipped), C(rc), C(stdout), C(stderr),
      C(stdout_bytes), C(stderr_bytes), C(truncated), C(start_ms), C(end_ms), C(duration_ms), C(error).
  returned: always
  type: list
  elements: dict
finally:
  description: One record per C(finally) step; these always run.
  returned: always
  type: list
  elements: dict
watchdog:
  description: C(armed), C(left_armed), C(deadline_local), C(deadline_utc) and the C(arm)/C(disarm) records.
  returned: when the plan has a watchdog
  type: dict
started_ms:
  description: Host clock (epoch milliseconds) when the executor started.
  returned: always
  type: int
ended_ms:
  description: Host clock (epoch milliseconds) when the executor finished.
  returned: always
  type: int
"""

import datetime
import os
import shutil
import tempfile
import time
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.quiesce.domino.plugins.module_utils.plan import (
    PlanError,
    failure_message,
    render_template,
    validate_plan,
)
from ansible_collections.quiesce.domino.plugins.module_utils.process import new_record, now_ms, run_step_with_retry


def _deadline_strings(seconds: int) -> tuple[str, str]:
    now = time.time() + seconds
    local = datetime.datetime.fromtimestamp(now).strftime("%Y-%m-%dT%H:%M:%S")
    utc = datetime.datetime.fromtimestamp(now, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return local, utc


def _write_files(plan: dict[str, t.Any], tmpdir: str, deadline: tuple[str, str], templates: bool) -> dict[str, str]:
    """Write the plan's plain files (``templates`` false) or its template files (true)."""
    paths: dict[str, str] = {}
    for name, spec in plan["files"].items():
        if bool(spec["template"]) != templates:
            continue
        content = spec["content"]
        if spec["template"]:
            content = render_template(content, deadline[0], deadline[1], tmpdir)
        if spec["encoding"] == "utf-16le-bom":
            data = b"\xff\xfe" + content.encode("utf-16-le")
        else:
            data = content.encode(spec["encoding"])
        path = os.path.join(tmpdir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        paths[name] = path
    return paths


def execute_plan(plan: dict[str, t.Any]) -> dict[str, t.Any]:
    """Run a validated plan; the contract of docs/executor-contract.md."""
    started = now_ms()
    limit = plan["max_output_bytes"]
    watchdog = plan.get("watchdog")
    failed: t.Optional[dict[str, t.Any]] = None
    result: dict[str, t.Any] = {"guard": [], "steps": [], "rescue": [], "finally": []}
    wd_result: dict[str, t.Any] = {"armed": False, "left_armed": False, "arm": [], "disarm": [],
                                   "deadline_local": "", "deadline_utc": ""}

    # What each step of the steps section printed, for a later step's stdin_from.
    outputs: dict[str, str] = {}

    def note_failure(section: str, index: int, record: dict[str, t.Any]) -> None:
        nonlocal failed
        if failed is None and record["status"] != "ok":
            failed = dict(record, section=section, index=index)

    def run_section(section: str, steps: list[dict[str, t.Any]], records: list[dict[str, t.Any]],
                    stop_on_failure: bool, paths: dict[str, str]) -> bool:
        all_ok = True
        step_failed: dict[str, bool] = {}
        for index, step in enumerate(steps):
            if stop_on_failure and not all_ok:
                records.append(new_record(step["name"], "skipped", error="skipped after an earlier failure"))
                continue
            if step["only_if_failed"] is not None and not step_failed.get(step["only_if_failed"]):
                records.append(new_record(step["name"], "skipped",
                                          error="runs only if '%s' failed" % step["only_if_failed"]))
                continue
            if step.get("only_if_ok") is not None and step_failed.get(step["only_if_ok"], True):
                records.append(new_record(step["name"], "skipped",
                                          error="runs only if '%s' succeeded" % step["only_if_ok"]))
                continue
            if step.get("stdin_from") is not None:
                step = dict(step, stdin=outputs.get(step["stdin_from"], ""))
            record = run_step_with_retry(step, paths, limit)
            records.append(record)
            if section == "steps":
                outputs[step["name"]] = record.get("stdout") or ""
            step_failed[step["name"]] = record["status"] != "ok"
            if record["status"] != "ok":
                if step["allow_failure"]:
                    record["allowed_failure"] = True
                    continue
                all_ok = False
                note_failure(section, index, record)
        return all_ok

    def skip_all(sections: t.Sequence[str], error: str) -> None:
        for section in sections:
            result[section] = [new_record(s["name"], "skipped", error=error) for s in plan[section]]

    tmpdir = tempfile.mkdtemp(prefix="quiesce-plan-")
    try:
        paths: t.Optional[dict[str, str]] = None
        try:
            paths = _write_files(plan, tmpdir, ("", ""), templates=False)
        except OSError as exc:
            error = "cannot write plan files in %s: %s" % (tmpdir, exc)
            skip_all(("guard", "steps", "rescue", "finally"), error)
            failed = new_record("write plan files", "error", error=error, section="files", index=0)
        guard_ok = paths is not None and run_section("guard", plan["guard"], result["guard"], True, paths)
        if paths is not None and not guard_ok:
            # A guard failed (another run holds the host lock, a preflight check): nothing is armed, frozen or
            # released; only the rescue (for example giving back a lock this plan took) runs.
            skip_all(("steps", "finally"), "a guard step failed")
            run_section("rescue", plan["rescue"], result["rescue"], False, paths)
            if watchdog:
                wd_result["arm"] = [new_record(s["name"], "skipped", error="a guard step failed") for s in watchdog["arm"]]
                wd_result["disarm"] = [new_record(s["name"], "skipped", error="a guard step failed")
                                       for s in watchdog["disarm"]]
        if paths is not None and guard_ok:
            # The watchdog's deadline counts from here, after the guards: they may take long (a free-space check).
            deadline = _deadline_strings(watchdog["seconds"]) if watchdog else ("", "")
            wd_result.update(deadline_local=deadline[0], deadline_utc=deadline[1])
            try:
                paths.update(_write_files(plan, tmpdir, deadline, templates=True))
            except OSError as exc:
                error = "cannot write plan files in %s: %s" % (tmpdir, exc)
                skip_all(("steps", "rescue", "finally"), error)
                failed = new_record("write plan files", "error", error=error, section="files", index=0)
                paths = None
        if paths is not None and guard_ok:
            main_may_run = True
            if watchdog:
                wd_result["armed"] = True
                main_may_run = run_section("arm", watchdog["arm"], wd_result["arm"], True, paths)
            main_ok = False
            if main_may_run:
                main_ok = run_section("steps", plan["steps"], result["steps"], True, paths)
            else:
                result["steps"] = [new_record(s["name"], "skipped", error="watchdog could not be armed")
                                   for s in plan["steps"]]
            if main_ok:
                result["rescue"] = [new_record(s["name"], "skipped", error="no failure to rescue")
                                    for s in plan["rescue"]]
            else:
                run_section("rescue", plan["rescue"], result["rescue"], False, paths)
            finally_ok = run_section("finally", plan["finally"], result["finally"], False, paths)
            if watchdog:
                if finally_ok:
                    run_section("disarm", watchdog["disarm"], wd_result["disarm"], False, paths)
                    # No disarm steps: the watchdog is left armed on purpose for a later plan.
                    wd_result["left_armed"] = not watchdog["disarm"] or any(
                        r["status"] != "ok" for r in wd_result["disarm"])
                else:
                    wd_result["left_armed"] = True
                    wd_result["disarm"] = [new_record(s["name"], "skipped", error="left armed: a finally step failed")
                                           for s in watchdog["disarm"]]
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    if watchdog:
        result["watchdog"] = wd_result
    result.update(ok=failed is None, failed=failed, started_ms=started, ended_ms=now_ms(),
                  tmpdir_removed=not os.path.exists(tmpdir))
    return result


def main() -> None:
    module = AnsibleModule(argument_spec={"plan": {"type": "dict", "required": True}}, supports_check_mode=True)
    try:
        plan = validate_plan(module.params["plan"])
    except PlanError as exc:
        module.fail_json(msg="invalid plan: %s" % exc, ok=False, failed_step=None, steps=[], **{"finally": []})
    if plan["platform"] != "posix":
        module.fail_json(msg="plan platform is %r; posix_exec runs posix plans only" % plan["platform"])
    if module.check_mode and not plan["check_mode_safe"]:
        module.exit_json(changed=False, skipped=True, ok=True, failed_step=None, steps=[], started_ms=None,
                         ended_ms=None, msg="check mode: plan %r changes the host and was not run" % plan["name"],
                         **{"finally": []})
    result = execute_plan(plan)
    if "context" in plan:
        result["context"] = plan["context"]  # returned unchanged, for the controller (plan.build_plan)
    failed = result.pop("failed")
    result["failed_step"] = failed
    changed = not plan["check_mode_safe"]
    if failed is not None:
        module.fail_json(msg=failure_message({"failed": failed}), changed=changed, **result)
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
