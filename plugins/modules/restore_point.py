#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: restore_point
short_description: Record, list and remove restore points (kept shadow copies) of a Domino server
version_added: "0.1.0"
description:
  - A restore point is a persistent shadow copy taken before a change (an upgrade, a patch), recorded on the host
    under C(HKLM\SOFTWARE\quiesce.domino\RestorePoints\<name>) with its shadow copy ID, the Domino service, the
    data directory, the creation time and a note, so that M(quiesce.domino.restore) can bring the data back.
  - V(state=present) records one (idempotent), V(state=absent) deletes the shadow copy and the record in one remote
    call, V(state=query) lists them. The result of V(present) carries C(quiesce_restore_point), which the
    C(quiesce.domino.backup_report) callback puts into the report.
  - Registry values are written with C(reg.exe add); every value is validated first.
  - Record shadow copies taken by M(quiesce.domino.snapshot) with V(vss_writer), V(shutdown) or V(none). One taken with
    V(backup_task) holds the databases in backup mode and is consistent only with the C(.DELTA) files Domino wrote
    after it, which a restore from the restore point does not apply (the C(preupgrade_snapshot) role never offers it).
author:
  - quiesce.domino contributors (@quiesce-domino)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - quiesce.domino.windows_action
options:
  state:
    description: V(present), V(absent) or V(query).
    type: str
    default: present
    choices: [present, absent, query]
  name:
    description: Name of the restore point, 1-64 characters of letters, digits and C(_.-).
    type: str
  shadow_id:
    description: ID of the kept shadow copy (V(state=present)).
    type: str
  service:
    description: The Domino service the restore point belongs to (V(state=present)).
    type: str
  data_dir:
    description: The Domino data directory it protects (V(state=present)).
    type: str
  note:
    description: Free text, such as the change it guards (no quotes, C(%), C(&) or newlines).
    type: str
    default: ""
  places:
    description:
      - Every place of the server and the shadow copy of its volume, as M(quiesce.domino.snapshot) returns them in
        C(shadow_places) (V(state=present)). Recorded as C(Place1) .. C(PlaceN) values, so that
        M(quiesce.domino.restore) puts back the transaction log, the DAOS store, directory-link targets and files
        outside the data directory too, and V(state=absent) deletes every shadow copy of the set.
      - Empty records the data directory alone (O(data_dir) from O(shadow_id)).
    type: list
    elements: dict
    default: []
attributes:
  async:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: none
seealso:
  - module: quiesce.domino.restore
  - module: quiesce.domino.snapshot
"""

EXAMPLES = r"""
- name: Record the shadow copy taken before the upgrade
  quiesce.domino.restore_point:
    name: before-12.0.2-FP5
    shadow_id: "{{ snap.shadows[0].id }}"
    service: "{{ snap.service }}"
    data_dir: 'D:\Domino\data'
    places: "{{ snap.shadow_places }}"
    note: FP5 upgrade

- name: The upgrade went well, remove the restore point
  quiesce.domino.restore_point:
    name: before-12.0.2-FP5
    state: absent
"""

RETURN = r"""
quiesce_restore_point:
  description:
    - The recorded restore point, in snake_case keys as every module returns them.
    - C(name), C(shadow_id) (of the data directory's volume), C(service), C(data_dir), C(created) (UTC),
      C(note), C(places) (each with C(kind), C(name), C(path), C(shadow_id)) and C(shadow_ids) (every shadow
      copy it keeps). A record that cannot be read back carries C(problem) and empty C(places).
    - Snake case like every other module's return values; the registry keeps its own value names (Name, ShadowId, Service, DataDir, Created, Note).
  returned: state present
  type: dict
restore_points:
  description: All restore points on the host, by name, each with the keys of RV(quiesce_restore_point).
  returned: state query, state absent when nothing was deleted
  type: dict
kept_shadow_ids:
  description: Every shadow copy the restore points keep (lower case IDs, every volume of each point's set).
  returned: state query
  type: list
  elements: str
deleted:
  description: The restore point deleted (name, shadow_id and shadow_ids, every shadow copy of its set).
  returned: state absent when it existed
  type: dict
"""
