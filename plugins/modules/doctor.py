#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: doctor
short_description: Check every assumption quiesce.domino makes on a Windows Domino host and say what to fix
version_added: "0.3.0"
description:
  - Looks at the host in one read-only remote call and returns a readiness verdict per assumption (C(checks)), each
    V(ok), V(warn) or V(fail) with what was found, the reason and the fix, and C(ready) (no check failed).
  - "Not read-only outside check mode: it then makes B(two) remote calls, B(registers and removes a one-shot scheduled
    task) per Domino server that answers (it sends C(show server)), and B(writes and deletes a test file) at the
    destination (a share). In check mode it makes B(one) read-only call and changes nothing."
  - "Checked: the Windows edition (C(diskshadow.exe) runs), the UI culture (the tools' language), the connection
    account and whether Administrators (C(S-1-5-32-544)) is enabled in its token, each Domino server (version,
    service account, partitions), its console in the server's own context and how a reply was read, the Domino VSS
    writer in C(vssadmin list writers) (name, ID, state), the backup_task hook (installed, who may change it, an
    open hold), the data, transaction log and DAOS volumes (free space, shadow storage), the host lock folder's and
    the shadow ledger key's ACL (only SYSTEM and Administrators may write them), and the destination (reachable, and
    writable by the account that copies)."
  - "Two transient changes, both skipped in check mode: O(console_test) sends C(show server) to each server that
    answers through a one-shot scheduled task like the one every console command of the collection uses but with a
    name of its own (C(\\quiesce.domino\\run\\doctor-<service>-<random>), registered, run as the service's account in
    its data directory, removed; never a running backup's task), and O(destination) is written to: a file with a
    unique name (C(quiesce-doctor-<random>.tmp)) is created and deleted. They need what the first call found, so
    they are a second remote call. A stopped server's console, and any console while a run holds the host lock,
    is not tried (a warning). Nothing else is changed: no freeze, no shadow copy, no service state."
author:
  - quiesce.domino contributors (@quiesce-domino)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - quiesce.domino.windows_action
options:
  destination:
    description:
      - Where the copies go (a local folder such as C(E:\Backups) or a share such as C(\\backupsrv\domino)), checked as
        the connection's account, which is the account M(quiesce.domino.snapshot_copy) copies as; run the doctor with
        the same C(become) settings as the backup.
      - Without it the destination is not checked.
    type: str
  save_transcripts:
    description:
      - A folder on the controller. Every raw output the doctor read (each step's stdout and stderr, exit code,
        the host's culture and the checks) is written to C(doctor-<host>.json) in it, the name made of the
        inventory name's letters, digits and C(._-). Attach it to a bug report; it is what the test samples are made of.
      - Also in check mode (it writes on the controller only).
    type: str
  console_test:
    description:
      - Whether to send C(show server) to each Domino server that answers, as its service account (not in check
        mode; not while a run holds the host lock).
    type: bool
    default: true
attributes:
  async:
    support: none
  check_mode:
    support: full
    details: Runs every read-only probe; skips the console test and the destination's write test and says so.
  diff_mode:
    support: none
notes:
  - V(warn) does not make a host unready; V(fail) does. A server that is stopped now, a Domino writer not registered
    because C(backupvss) is not loaded (the snapshot loads it), a host whose tools do not print English without the
    writer's ID set (the warning names it), a missing backup_task hook, little free space or shadow storage, and a
    console not tried because a run holds the host lock are warnings.
  - The connection account's membership is read by SID from its own token (C(WindowsPrincipal.IsInRole) with the
    Administrators SID, which is Windows' C(CheckTokenMembership)), so it does not depend on the language.
  - The writers are read by shape (a label, a colon and a name in single or double quotes, guillemets or corner
    brackets, two GUIDs, a state number in brackets), in any language.
seealso:
  - module: quiesce.domino.domino_info
"""

EXAMPLES = r"""
- name: Check the host
  quiesce.domino.doctor:
    destination: '\\backupsrv\domino'
    save_transcripts: ./doctor
  register: doctor

- name: Print the readiness table
  ansible.builtin.debug:
    msg: "{{ doctor.table }}"
"""

RETURN = r"""
ready:
  description: Whether no check failed.
  returned: success
  type: bool
checks:
  description: One verdict per assumption, in a fixed order (per Domino server for console, writer, hook and volumes).
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The check, such as C(ui culture) or C(vss writer <service>).
      type: str
    status:
      description: V(ok), V(warn) or V(fail).
      type: str
    found:
      description: What the doctor found.
      type: str
    reason:
      description: Why the status is not V(ok) (empty when it is).
      type: str
    fix:
      description: What the administrator does (empty when nothing is to be done).
      type: str
not_ready:
  description: The names of the failed checks.
  returned: success
  type: list
  elements: str
summary:
  description: "One line: C(<host>: ready) or C(<host>: not ready (<failed checks>))."
  returned: success
  type: str
table:
  description: The readiness table of the host as lines (what the doctor playbook prints).
  returned: success
  type: list
  elements: str
culture:
  description: The host's culture as M(quiesce.domino.domino_info) reports it (empty when it could not be read).
  returned: success
  type: dict
remote_calls:
  description: How many remote calls the doctor made (1 in check mode, 2 with the console or destination test).
  returned: success
  type: int
transcripts:
  description: The absolute path of the transcript file written on the controller.
  returned: when O(save_transcripts) is set
  type: str
"""
