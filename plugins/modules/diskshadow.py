#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: diskshadow
short_description: Create, expose, unexpose and delete VSS shadow copies with diskshadow
version_added: "0.1.0"
description:
  - Drives C(diskshadow.exe), the Volume Shadow Copy Service (VSS) command interpreter of Windows Server, with a
    script file rendered on the controller from validated options and passed as C(diskshadow /s <file>).
  - Before changing anything it lists the existing shadow copies (as M(quiesce.domino.shadow_info) does), so that
    exposing, unexposing and deleting are idempotent and an occupied drive letter is refused before diskshadow runs.
  - The transcript is parsed into shadow set ID, shadow IDs, volumes, device objects and exposure. Success needs
    exit code 0 B(and) a transcript without a known failure (C(COM call "..." failed.), C(The drive letter is
    already in use.), C(VSS_E_*) errors, writer failures) B(and) the expected evidence, a shadow copy per volume (its
    ID, set and device, read by shape in any language), and what an expose, unexpose or delete left behind, read
    back from C(Win32_ShadowCopy) (C(ExposedName), C(ID)) and the drive letters in use at the end of the same remote
    call, not from diskshadow's sentences. The real diskshadow text is in C(msg) on failure.
  - V(state=present) creates a shadow copy set of O(volumes), optionally exposed; with O(expose_as) it is idempotent
    (a shadow copy of the same volume already exposed there is left alone), without it every run creates a new set.
  - V(state=exposed) exposes O(shadow_id) as O(expose_as); V(state=unexposed) removes the exposure of
    O(shadow_id) or of O(expose_as); V(state=absent) deletes by O(shadow_id), O(shadow_set_id), the shadow copy
    exposed as O(expose_as), or the collection's own (O(owned_only)) shadow copies of O(volumes) (with O(oldest)
    the oldest of them).
  - A shadow copy set created with V(state=present) is recorded in the host's ledger of the collection's own
    shadow copies (C(HKLM\SOFTWARE\quiesce.domino\Shadows)) in the same remote call, whatever the script's
    outcome; a user O(script) is not recorded.
  - In check mode the existing shadow copies are still listed (read-only) and the rendered script is returned
    (also as a diff); diskshadow is not run.
  - diskshadow exists on Windows Server only, needs local Administrators, prints in the UI language of the session
    (its English confirmations are only a hint, the only one when C(Win32_ShadowCopy) cannot be read, and a warning
    says so), and can expose only persistent shadow copies.
author:
  - quiesce.domino contributors (@quiesce-domino)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - quiesce.domino.windows_action
options:
  state:
    description: What should be true afterwards.
    type: str
    default: present
    choices: [present, exposed, unexposed, absent]
  volumes:
    description:
      - Volumes to shadow (V(state=present)) or whose shadow copies to delete (V(state=absent)).
      - Each is a drive letter such as C(D:) or a volume GUID path such as C(\\?\Volume{GUID}\).
    type: list
    elements: str
    default: []
  context:
    description:
      - V(persistent) shadow copies outlive diskshadow and can be exposed; V(volatile) ones vanish when it exits.
    type: str
    default: persistent
    choices: [persistent, volatile]
  writers:
    description:
      - Involve VSS writers (application-consistent for applications with a writer, such as Domino 12.0.2+ with the
        C(backupvss) task). V(false) renders C(set context ... nowriters) (crash-consistent).
    type: bool
    default: false
  writer_verify:
    description:
      - Writers that must take part (C(writer verify)); creation fails when one is missing. A writer ID C({GUID}) or
        a name without spaces. Needs O(writers=true).
    type: list
    elements: str
    default: []
  writer_exclude:
    description: Writers to leave out (C(writer exclude)). Needs O(writers=true).
    type: list
    elements: str
    default: []
  backup_type:
    description:
      - V(copy) (diskshadow's default) leaves the writers' backup history alone; V(full) wraps the creation in
        C(begin backup)/C(end backup) so writers are told BackupComplete (they may, for example, truncate logs).
        Needs O(writers=true).
    type: str
    default: copy
    choices: [copy, full]
  client_accessible:
    description: Add C(clientaccessible) to the context (shadow copies visible to Previous Versions).
    type: bool
    default: false
  metadata:
    description: Path of the writer metadata C(.cab) file (C(set metadata)); absolute, no spaces.
    type: str
  verbose:
    description: C(set verbose on) for a more detailed transcript.
    type: bool
    default: false
  expose_as:
    description:
      - Drive letter such as C(Z:) or an absolute empty mount folder (no spaces) on an NTFS volume.
      - A drive letter already in use on the host is refused before anything runs.
    type: str
  shadow_id:
    description: Shadow copy ID C({GUID}) for V(state=exposed), V(state=unexposed) and V(state=absent).
    type: str
  shadow_set_id:
    description: Shadow copy set ID C({GUID}) whose shadow copies V(state=absent) deletes.
    type: str
  oldest:
    description: With V(state=absent) and one volume, delete only its oldest shadow copy.
    type: bool
    default: false
  owned_only:
    description:
      - With V(state=absent) and O(volumes), delete only the shadow copies quiesce.domino created (those in the
        host's ledger, see M(quiesce.domino.shadow_info)), each by its ID; with O(oldest), the oldest of those.
        Previous Versions, Windows Server Backup and other backup software keep theirs.
      - V(false) deletes every shadow copy of the volumes (C(delete shadows volume)), or the oldest of any owner
        (C(delete shadows oldest)).
      - A shadow copy named by O(shadow_id), O(shadow_set_id) or O(expose_as) is deleted whoever made it.
    type: bool
    default: true
  script:
    description:
      - Run this diskshadow script instead of one rendered from options, and still parse the result.
      - Allowed commands are set, begin, end, add, writer, create, expose, unexpose, delete, list, reset and exit;
        C(exec), quotes, C(&), C(|) and C(%) other than C(%alias%) tokens are refused.
    type: str
  timeout:
    description: Seconds diskshadow may run before it is killed with its process tree (10 to 86400).
    type: int
    default: 600
attributes:
  async:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The rendered diskshadow script is the diff.
notes:
  - For application-consistent Domino snapshots use M(quiesce.domino.snapshot), which freezes Domino, creates the
    shadow copy and releases Domino in one remote call.
seealso:
  - module: quiesce.domino.shadow_info
  - name: diskshadow
    description: Microsoft's diskshadow command reference.
    link: https://learn.microsoft.com/windows-server/administration/windows-commands/diskshadow
"""

EXAMPLES = r"""
- name: Create a persistent crash-consistent shadow copy of D and expose it as Z
  quiesce.domino.diskshadow:
    volumes: ["D:"]
    expose_as: "Z:"
  register: shadow

- name: Remove the exposure
  quiesce.domino.diskshadow:
    state: unexposed
    expose_as: "Z:"

- name: Delete that shadow copy
  quiesce.domino.diskshadow:
    state: absent
    shadow_id: "{{ shadow.shadows[0].id }}"

- name: Shadow copy with writers, making sure the Domino writer takes part
  quiesce.domino.diskshadow:
    volumes: ["D:"]
    writers: true
    writer_verify: ["{6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}"]

- name: Delete the oldest shadow copy of D
  quiesce.domino.diskshadow:
    state: absent
    volumes: ["D:"]
    oldest: true
"""

RETURN = r"""
shadow_set_id:
  description: The shadow copy set ID created (or of the shadow copy acted on).
  returned: success
  type: str
  sample: "{12b5d80f-4368-4727-a02b-1b22f5e020ef}"
shadows:
  description: The shadow copies created or acted on.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Shadow copy ID.
      type: str
    set_id:
      description: Shadow copy set ID.
      type: str
    volume:
      description: Drive letter of the original volume.
      type: str
    volume_guid:
      description: Volume GUID path of the original volume.
      type: str
    device_object:
      description: Shadow copy device name.
      type: str
    exposed_as:
      description: Drive letter or folder the shadow copy is exposed as, or null.
      type: str
    created:
      description: Creation time (host local time, ISO 8601) when diskshadow printed it.
      type: str
script:
  description: The diskshadow script that was (or in check mode would be) run; empty when nothing had to change.
  returned: always
  type: str
transcript:
  description: diskshadow's output.
  returned: when diskshadow ran
  type: str
rc:
  description: diskshadow's exit code.
  returned: when diskshadow ran
  type: int
errors:
  description: Failure lines recognised in the transcript, each with C(line) (the real text) and C(reason).
  returned: when diskshadow ran
  type: list
  elements: dict
"""
