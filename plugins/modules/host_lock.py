#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_lock
short_description: Take or release the quiesce.domino host lock against concurrent runs
version_added: "0.1.0"
description:
  - The lock is the directory C(C:\ProgramData\quiesce.domino\locks\backup), created atomically, with the owner and
    the host time it was taken in C(owner.json). Of two runs that try at once, exactly one gets it; the other fails
    with a message naming the owner.
  - A lock older than O(stale_seconds) belongs to a run that died (a killed controller) and is taken over; the result
    says C(taken_over) and names the C(previous_owner). Only its owner can release it.
  - M(quiesce.domino.snapshot) (O(quiesce.domino.snapshot#module:lock=true)) takes the same lock as the first step
    of its remote call, before Domino is touched, and M(quiesce.domino.snapshot_copy)
    (O(quiesce.domino.snapshot_copy#module:release_lock=true)) releases it; the C(snapshot_backup) role does both.
author:
  - quiesce.domino contributors (@quiesce-domino)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - quiesce.domino.windows_action
options:
  state:
    description: V(present) takes the lock, V(absent) releases it (only when this owner holds it).
    type: str
    default: present
    choices: [present, absent]
  owner:
    description: Who takes the lock; default the controller's host name and the ansible-playbook process ID.
    type: str
  stale_seconds:
    description: A lock older than this (host clock) is taken over (60 to 604800).
    type: int
    default: 21600
attributes:
  async:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Make sure no other backup runs on this host
  quiesce.domino.host_lock:
    owner: maintenance-window-42

- name: Done
  quiesce.domino.host_lock:
    owner: maintenance-window-42
    state: absent
"""

RETURN = r"""
owner:
  description: The owner used.
  returned: always
  type: str
acquired:
  description: Whether the lock was taken.
  returned: state present
  type: bool
taken_over:
  description: Whether a stale lock of a dead run was taken over.
  returned: state present
  type: bool
previous_owner:
  description: The owner of the stale lock that was taken over.
  returned: when taken over
  type: str
released:
  description: Whether the lock was released.
  returned: state absent
  type: bool
"""
