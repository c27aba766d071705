#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: shadow_info
short_description: List VSS shadow copies on a Windows host
version_added: "0.1.0"
description:
  - Lists the Volume Shadow Copy Service (VSS) shadow copies on the host with their ID, shadow set ID, original
    volume (drive letter and volume GUID path), device object, creation time, exposure and persistence.
  - Reads C(Win32_ShadowCopy) and C(Win32_Volume) through CIM and returns them as JSON, which does not depend on the
    display language of Windows. When CIM cannot be queried, falls back to parsing C(vssadmin list shadows) by shape
    (IDs, volume, device and exposure in any language; the attributes by their English words only).
  - Says of each shadow copy whether quiesce.domino created it (C(owned)). VSS does not record which program asked
    for a shadow copy, so the collection keeps a ledger; every shadow copy it creates is recorded, in the same remote
    call, under C(HKLM\SOFTWARE\quiesce.domino\Shadows) (writable by administrators only); entries of shadow
    copies that are gone are dropped. Previous Versions, Windows Server Backup and other backup software's shadow
    copies are never C(owned). From C(vssadmin) nothing is C(owned) (the ledger is not read).
  - Also returns the volumes and the drive letters already in use, which M(quiesce.domino.diskshadow) uses to
    refuse an exposure to an occupied drive letter.
  - Runs one constant PowerShell command (no user value is put into it) through the collection's host executor,
    in one remote call.
  - This module is an action plugin; it never changes the host and runs in check mode.
author:
  - quiesce.domino contributors (@quiesce-domino)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - quiesce.domino.windows_action
options:
  volumes:
    description:
      - Only list shadow copies of these volumes.
      - Each is a drive letter such as C(D:) or a volume GUID path such as C(\\?\Volume{GUID}\).
    type: list
    elements: str
    default: []
  older_than:
    description:
      - Only list shadow copies older than this.
      - A number of seconds, or a number followed by C(s), C(m), C(h), C(d) or C(w), for example C(12h) or C(7d).
    type: str
  source:
    description:
      - Where to read the shadow copies from.
      - V(auto) reads CIM and falls back to C(vssadmin); V(cim) and V(vssadmin) use only that source.
    type: str
    default: auto
    choices: [auto, cim, vssadmin]
  owned_only:
    description:
      - Only list the shadow copies quiesce.domino created (C(owned)), which the cleanup may delete.
    type: bool
    default: false
attributes:
  async:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: none
seealso:
  - module: quiesce.domino.diskshadow
"""

EXAMPLES = r"""
- name: List the shadow copies of the Domino data volume
  quiesce.domino.shadow_info:
    volumes: ["D:"]
  register: shadows

- name: Find shadow copies older than a week
  quiesce.domino.shadow_info:
    older_than: 7d
  register: old_shadows

- name: Show their IDs
  ansible.builtin.debug:
    msg: "{{ old_shadows.shadows | map(attribute='id') | list }}"
"""

RETURN = r"""
shadows:
  description: The shadow copies that match, oldest first.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Shadow copy ID, lower case in braces.
      type: str
      sample: "{b15008d8-0c63-468c-aed7-ed4db0cfd082}"
    set_id:
      description: Shadow copy set ID.
      type: str
    volume:
      description: Drive letter of the original volume, such as C(D:), or null when it has none.
      type: str
    volume_guid:
      description: Volume GUID path of the original volume.
      type: str
    device_object:
      description: The shadow copy device, such as C(\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy6).
      type: str
    created:
      description: Creation time, ISO 8601 (UTC from CIM; host local time from vssadmin).
      type: str
    exposed_as:
      description: Drive letter or folder the shadow copy is exposed as, or null.
      type: str
    persistent:
      description: Whether the shadow copy survives the process that created it.
      type: bool
    no_writers:
      description: Whether the shadow copy was made without VSS writers (crash-consistent for applications).
      type: bool
    owned:
      description: Whether quiesce.domino created this shadow copy (it is in the host's ledger).
      type: bool
volumes:
  description: Volumes of the host (drive, guid_path, filesystem, capacity, free, label); empty with vssadmin.
  returned: success
  type: list
  elements: dict
drives_in_use:
  description: Drive letters in use on the host, such as C(["C:", "D:"]); empty with vssadmin.
  returned: success
  type: list
  elements: str
source:
  description: Where the list came from, C(cim) or C(vssadmin).
  returned: success
  type: str
"""
