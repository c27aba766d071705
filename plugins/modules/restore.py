#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: restore
short_description: Bring a Domino data directory back from a restore point
version_added: "0.1.0"
description:
  - Restores the data directory recorded with a restore point (M(quiesce.domino.restore_point)) from its shadow
    copy, in one remote call. Domino must be stopped (checked with C(sc.exe query) first; nothing is touched
    otherwise); the shadow copy is exposed as O(expose_as), mirrored back with C(robocopy /MIR /B) (files created
    after the restore point are removed), verified with C(robocopy /L) and unexposed again whatever happened.
  - Use it between M(quiesce.domino.backup_mode) V(state=frozen) V(method=shutdown) and V(state=thawed), as the
    C(rollback) entry point of the C(quiesce.domino.preupgrade_snapshot) role does.
author:
  - quiesce.domino contributors (@quiesce-domino)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - quiesce.domino.windows_action
options:
  restore_point:
    description: Name of the restore point to restore from.
    type: str
    required: true
  expose_as:
    description: Free drive letter to expose the shadow copy as during the restore.
    type: str
    default: "R:"
  timeout:
    description: Seconds the restore copy and its verification may take each.
    type: int
    default: 21600
attributes:
  async:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: none
seealso:
  - module: quiesce.domino.restore_point
  - module: quiesce.domino.backup_mode
"""

EXAMPLES = r"""
- name: Stop Domino for the restore
  quiesce.domino.backup_mode:
    state: frozen
    method: shutdown
    watchdog_seconds: 7200

- name: Restore the data directory from the restore point
  quiesce.domino.restore:
    restore_point: before-12.0.2-FP5

- name: Start Domino and wait until it answers
  quiesce.domino.backup_mode:
    state: thawed
"""

RETURN = r"""
restore_point:
  description: The restore point used.
  returned: always
  type: dict
files_restored:
  description: Files copied back from the shadow copy.
  returned: when the copy ran
  type: int
files_removed:
  description: Files that did not exist at the restore point and were removed.
  returned: when the copy ran
  type: int
bytes_restored:
  description: Bytes copied back.
  returned: when the copy ran
  type: int
steps:
  description: Every host step (name, status, rc, duration_ms, error).
  returned: when the plan ran
  type: list
  elements: dict
"""
