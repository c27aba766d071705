#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is the documentation of the module; the implementation is host_exec.ps1 (Windows PowerShell 5.1,
# Ansible.Basic) with the module util QuiesceExecutor.psm1.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_exec
short_description: Run a quiesce.domino plan on a Windows host
version_added: "0.2.0"
description:
  - The Windows host executor of the collection. It runs a I(plan) built by the collection's action plugins
    (C(quiesce.domino.diskshadow), C(quiesce.domino.snapshot) and the others) and returns every step's
    return code, output and host-clock timings (Windows PowerShell 5.1, on Ansible.Basic).
  - A plan is an ordered list of steps, each an absolute executable and an argument list (never a shell
    string), with a timeout and the return codes that count as success; a C(finally) list that always runs;
    optional temporary files; C(guard) steps that must pass before anything else runs (a failed guard runs only the
    C(rescue) steps); and an optional watchdog (a Task Scheduler task) whose C(arm) steps run before the critical
    section and whose C(disarm) steps run after it.
  - Each argument is quoted by the CommandLineToArgvW rules, so a program receives exactly the planned list; a step
    that outlives its timeout is ended together with its whole process tree.
  - Runs on every Windows connection (WinRM, PSRP, SSH with the powershell or cmd shell). On POSIX hosts the same
    contract is implemented by M(quiesce.domino.posix_exec). The contract is in C(docs/executor-contract.md) of the
    collection.
  - Normally used by the collection's action plugins, not called from playbooks directly.
author:
  - quiesce.domino contributors (@quiesce-domino)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  plan:
    description:
      - The plan to run, as produced by the collection's plan builder.
      - It is checked again on the host before anything runs (version, platform, absolute executables, no newline
        or NUL in an argument).
    type: dict
    required: true
attributes:
  check_mode:
    support: partial
    details:
      - A plan runs in check mode only when it is marked C(check_mode_safe) (read-only plans); it then runs for real,
        nothing runs with C(-WhatIf). Any other plan is returned as C(skipped) without running.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: windows
notes:
  - Returns C(failed) with a C(msg) naming the failed step when any step fails; the step records are
    returned all the same. With C(async) the final result is this module's, so a failed plan is a failed task.
seealso:
  - module: quiesce.domino.posix_exec
"""

EXAMPLES = r"""
- name: Run a one-step plan (normally built by an action plugin)
  quiesce.domino.host_exec:
    plan:
      version: 1
      name: list shadows
      platform: windows
      check_mode_safe: true
      steps:
        - name: list
          argv: ['C:\Windows\System32\vssadmin.exe', 'list', 'shadows']
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
