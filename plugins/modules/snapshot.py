#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: snapshot
short_description: Application-consistent VSS shadow copy of a Domino server with seconds of freeze
version_added: "0.1.0"
description:
  - Takes a VSS shadow copy of the Domino data volume while Domino is quiesced, in B(one remote call), so the
    freeze never waits for the controller or the network. The host runs one plan that arms the watchdog, freezes
    Domino (the method of M(quiesce.domino.backup_mode)), creates the persistent shadow copy with C(diskshadow),
    thaws Domino in a C(finally) section that runs whatever failed, and disarms the watchdog only when the thaw
    succeeded.
  - V(vss_writer) creates the shadow copy B(with) VSS writers, so Domino's C(backupvss) writer puts the databases
    into backup mode for the creation and, with VSS auto-recovery (diskshadow's default; the collection never
    sets C(noautorecover)), writes its change info into the shadow copy itself. With O(domino_writer_id) diskshadow
    C(writer verify)s the writer, which fails the creation when the writer is missing, in any language; without it
    the transcript's (English) writer lines must name a writer matching O(domino_writer_match), so on a host whose
    tools do not print English (C(culture.sentences) of M(quiesce.domino.domino_info)) V(vss_writer) needs
    O(domino_writer_id). Other methods create it with C(nowriters).
  - Whether the shadow copies are exposed where asked is judged by C(Win32_ShadowCopy) read back at the end of the
    same call (its C(ExposedName)), not by diskshadow's confirmation.
  - V(backup_task) runs C(load backup -s) (Domino Backup in snapshot mode) and diskshadow in the same call;
    diskshadow waits until the collection's integration (the Snapshot start command, C(docs/backup-task.md))
    holds the databases in backup mode, creates the shadow copy and releases the hold. Domino keeps writing in
    backup mode and writes the change info as C(.DELTA) files when it leaves it; the integration (the Backup
    snapshot command) keeps them in C(deltas_folder), and M(quiesce.domino.snapshot_copy) O(quiesce.domino.snapshot_copy#module:deltas_from)
    puts them into the copy. The shadow copy alone is not a consistent backup.
  - Returns the shadow copies, their exposure, the method and the freeze window measured on the host clock
    (C(frozen_ms)) with its breakdown (C(freeze_ms), C(create_ms), C(thaw_ms)).
  - Discovery (M(quiesce.domino.domino_info)) runs first, in its own read-only calls. In check mode only the
    discovery runs and the plan and diskshadow script are returned.
author:
  - quiesce.domino contributors (@quiesce-domino)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - quiesce.domino.windows_action
options:
  method:
    description:
      - How to quiesce Domino. V(auto) takes V(vss_writer) where Domino's VSS writer is possible, V(shutdown) only
        with O(allow_downtime), and fails otherwise; V(backup_task) needs the Domino Backup configuration of
        C(docs/backup-task.md), which cannot be seen from outside, so it is never chosen by V(auto).
      - A server that is STOPPED (by someone else, not by a freeze of this collection) is snapshotted as it is and
        stays stopped (V(auto) or V(shutdown); C(server_was_stopped) is true).
    type: str
    default: auto
    choices: [auto, vss_writer, backup_task, shutdown, none]
  allow_downtime:
    description:
      - Let V(auto) choose V(shutdown) (Domino stops, users are disconnected, and after O(shutdown_timeout) C(nsd -kill)
        ends it) when no method keeps Domino online. Off by default, V(auto) then takes only V(vss_writer) and fails
        otherwise, with a message naming the choices (V(backup_task), this option, or V(none)).
    type: bool
    default: false
  service:
    description: The Domino service; needed only when the host runs several (partitions).
    type: str
  volumes:
    description:
      - Volumes to shadow, in one shadow copy set. Default every volume where the server keeps data
        (C(locations) of M(quiesce.domino.domino_info)), the volume of the data directory first (O(expose_as)
        exposes the first volume).
    type: list
    elements: str
    default: []
  expose_as:
    description:
      - Expose the data volume's shadow copy as this free drive letter or empty mount folder.
      - When the server keeps data on other volumes too (transaction log, DAOS store, link targets), their shadow
        copies are exposed as well, at free drive letters from C(Z:) downwards (never a letter in use), so that
        M(quiesce.domino.snapshot_copy) reads every place from the same point in time; C(exposed_letters) and
        C(copy_locations) tell where.
    type: str
  watchdog_seconds:
    description:
      - Seconds after which the watchdog releases Domino if the plan did not (30 to 7200).
      - It must outlive every step that runs from arming it until the shadow copy exists, each at its worst case (a
        step's timeout; a polling step's O(shutdown_timeout) or other limit plus one attempt's timeout), plus 30 s.
        With V(shutdown) these are the arming (60), C(sc stop) (60), the wait for the stop (O(shutdown_timeout) + 15),
        C(nsd -kill) (360), the wait after it (75) and the creation (O(create_timeout)); with V(backup_task) the
        arming (60), the hold reset (60), starting Domino Backup (120) and the creation (O(create_timeout) +
        O(hold_timeout)).
      - A shorter value is refused before anything is sent to the host, with the minimum and the timeouts that make it
        up. V(auto) with O(allow_downtime=true) is held to the rule of V(shutdown).
    type: int
    default: 1200
  shutdown_timeout:
    description: Seconds to wait for a graceful stop before C(nsd -kill) (V(shutdown)).
    type: int
    default: 120
  start_timeout:
    description: Seconds to wait until Domino runs and answers again after the start (V(shutdown)).
    type: int
    default: 300
  hold_timeout:
    description: Seconds to wait for the backup task hook to hold the databases (V(backup_task)).
    type: int
    default: 60
  create_timeout:
    description: Seconds diskshadow may take to create the shadow copy.
    type: int
    default: 300
  domino_writer_id:
    description:
      - The ID C({GUID}) of Domino's VSS writer (its C(Writer Id) in C(vssadmin list writers)), to C(writer verify) it
        (V(vss_writer)). Needed for V(vss_writer) on a host whose tools do not print English.
    type: str
  domino_writer_match:
    description:
      - Regular expression a writer included in the creation must match for V(vss_writer) to succeed, read from
        diskshadow's English writer lines. Not used with O(domino_writer_id) (the writer verification decides).
    type: str
    default: (?i)domino
  domino_info:
    description:
      - The registered result of a M(quiesce.domino.domino_info) task run just before; saves the discovery calls
        (a backup cycle then needs three remote calls in all).
    type: dict
  replace_stale:
    description:
      - Delete a shadow copy still exposed as O(expose_as) by an earlier run before freezing (in the same remote
        call), instead of refusing the occupied drive letter. Use only with a letter reserved for these backups.
      - Only a shadow copy quiesce.domino created (in the host's ledger, see M(quiesce.domino.shadow_info)) is
        replaced; one made by other software is refused before anything is touched.
      - Every shadow copy set this module creates is recorded in that ledger in the same remote call, first in its
        C(finally) (before Domino is started again), whatever the outcome (so a shadow copy left by a failure is
        cleaned up later).
    type: bool
    default: false
  preflight_destination:
    description:
      - Before anything is frozen, check that this copy destination (folder or share) has room for the Domino data
        directory times O(space_margin); when it has not, the snapshot is refused and Domino is not touched.
      - An empty value is an error (a destination variable that was never set); omit the option to skip the check.
    type: str
  preflight_host_folder:
    description: The per-host folder under O(preflight_destination); default the inventory hostname.
    type: str
  space_margin:
    description: Factor of the data size that must be free at O(preflight_destination) (1.0 to 10.0).
    type: float
    default: 1.1
  lock:
    description:
      - Take the host lock (M(quiesce.domino.host_lock)) as the first step, before Domino is touched; a run that finds
        it held fails without freezing. A failed snapshot releases it; M(quiesce.domino.snapshot_copy) with
        O(quiesce.domino.snapshot_copy#module:release_lock=true) releases it after the copy.
      - A failed snapshot gives it back in a call of its own after the plan, once Domino is thawed and the watchdog
        task removed on the host (never earlier, so another run cannot freeze Domino while this one thaws it).
      - Without it the snapshot takes the lock for itself only, is refused while another run holds it, given back after
        it (left as it is when this owner held it already).
    type: bool
    default: false
  lock_owner:
    description: Owner of the lock; default the controller's host name and the ansible-playbook process ID.
    type: str
  lock_stale_seconds:
    description: A lock older than this is taken over (it belongs to a run that died).
    type: int
    default: 21600
attributes:
  async:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diskshadow script is the diff.
notes:
  - A snapshot with V(none), or one where C(nsd -kill) had to end Domino, is crash-consistent; C(crash_consistent)
    says so.
seealso:
  - module: quiesce.domino.backup_mode
  - module: quiesce.domino.diskshadow
  - module: quiesce.domino.domino_info
"""

EXAMPLES = r"""
- name: Snapshot the Domino data volume and expose it for copying
  quiesce.domino.snapshot:
    expose_as: "S:"
  register: snap

- name: Report the freeze window
  ansible.builtin.debug:
    msg: "{{ snap.method }} froze Domino for {{ snap.frozen_ms }} ms"

- name: Snapshot with the Domino VSS writer, verifying it by ID
  quiesce.domino.snapshot:
    method: vss_writer
    domino_writer_id: "{6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}"
"""

RETURN = r"""
preview:
  description:
    - In check mode, what the run would do, in order, in words (the same sentences joined make C(msg)); for example
      that Domino will be stopped and for how long at most, which volumes are shadow copied and where they are exposed.
    - The times are the limits the options set, not a forecast.
  returned: check mode
  type: list
  elements: str
service:
  description: The Domino service.
  returned: always
  type: str
method:
  description: The quiesce method used.
  returned: always
  type: str
crash_consistent:
  description: True when the snapshot is only crash-consistent (method none, or nsd -kill was needed).
  returned: always
  type: bool
shadow_set_id:
  description: The shadow copy set ID.
  returned: when diskshadow ran
  type: str
adopted_shadow_ids:
  description:
    - Shadow copies an earlier run created and exposed at this run's target but was cut off before it recorded
      them (a lost connection). Before anything else, this run found its note (the target and the window it ran
      in) under C(HKLM\SOFTWARE\quiesce.domino\Shadows\Pending) and recorded them as the collection's own, so
      O(replace_stale) could replace them.
  returned: when there were any
  type: list
  elements: str
shadows:
  description: The shadow copies (id, set_id, volume, volume_guid, device_object, exposed_as, created).
  returned: when diskshadow ran
  type: list
  elements: dict
exposed_as:
  description: Where the data volume's shadow copy is exposed, or null.
  returned: when diskshadow ran
  type: str
exposed:
  description: Each volume of the set and the drive letter (or mount folder) its shadow copy is exposed at.
  returned: with expose_as
  type: dict
  sample: {"D:": "S:", "L:": "Z:"}
exposed_letters:
  description: The drive letters (or mount folder) of the exposed shadow copies, for the O(quiesce.domino.snapshot_copy#module:delete_exposed_shadow) option.
  returned: with expose_as
  type: list
  elements: str
copy_source:
  description: The data directory inside the exposed shadow copy, such as C(S:\Domino\data).
  returned: with expose_as
  type: str
shadow_places:
  description:
    - Every place of the server with the ID of the shadow copy of its volume, for the
      O(quiesce.domino.restore_point#module:places) option (a restore point that puts the whole server back).
  returned: when diskshadow ran
  type: list
  elements: dict
  sample: [{"name": "data", "kind": "data", "path": "D:\\Domino\\data", "shadow_id": "{6a7c...}"}]
copy_locations:
  description:
    - Every place of the server that the exposed shadow copies hold, for the O(quiesce.domino.snapshot_copy#module:locations)
      option; each has C(name) (its folder in the copy), C(kind), C(path) (on the server) and C(source) (in the shadow copy).
  returned: with expose_as
  type: list
  elements: dict
  sample: [{"name": "data", "kind": "data", "path": "D:\\Domino\\data", "source": "S:\\Domino\\data"},
           {"name": "translog", "kind": "translog", "path": "L:\\translog", "source": "Z:\\translog"}]
discarded_shadow_set:
  description: ID of the shadow copy set a failed snapshot created anyway and deleted again (for example when the expose was refused).
  returned: on failure, when diskshadow had created shadow copies
  type: str
data_dir:
  description: The data directory of the Domino server that was snapshotted (its path on the original volume).
  returned: success
  type: str
  sample: 'D:\Domino\data'
frozen_ms:
  description:
    - Milliseconds Domino was frozen (host clock; 0 for none).
    - For backup_task the hook's own records, from its hold (every database in backup mode) until Domino had taken
      every database out of backup mode again and written the C(.DELTA) files (the Backup snapshot command
      started); when that did not happen within 20 s, until the hook let go (C(left_backup_mode) false).
    - For shutdown from the stop to the console answering again; for vss_writer the creation bounds it.
  returned: when the plan ran
  type: int
freeze_ms:
  description: Milliseconds the freeze took.
  returned: when the plan ran
  type: int
create_ms:
  description:
    - Milliseconds the diskshadow run that creates the shadow copy took.
    - For backup_task it includes diskshadow waiting for Domino Backup to hold the databases.
  returned: when the plan ran
  type: int
thaw_ms:
  description: Milliseconds the thaw took (until Domino answered again).
  returned: when the plan ran
  type: int
frozen_at:
  description: Start of the freeze (UTC, host clock).
  returned: when the plan ran
  type: str
thawed_at:
  description: End of the thaw (UTC, host clock).
  returned: when the plan ran
  type: str
create_started_at:
  description: Start of the shadow copy creation (UTC, host clock).
  returned: when diskshadow ran
  type: str
create_ended_at:
  description: End of the shadow copy creation (UTC, host clock).
  returned: when diskshadow ran
  type: str
watchdog:
  description: armed, left_armed, deadline_utc and deadline_local of the watchdog.
  returned: with shutdown and backup_task
  type: dict
left_backup_mode:
  description: With backup_task, whether Domino was seen leaving backup mode (the delta files kept) before the call ended.
  returned: with backup_task
  type: bool
hook_released_at:
  description: With backup_task, when the integration let go of the hold (UTC, host clock).
  returned: with backup_task
  type: str
backup_start:
  description: With backup_task, Domino Backup's C(BackupStartDT) of this backup, as the integration recorded it.
  returned: with backup_task
  type: str
  sample: '20261123141921'
deltas_folder:
  description:
    - With backup_task, where the integration keeps this backup's C(.DELTA) files; pass it to
      M(quiesce.domino.snapshot_copy) as O(quiesce.domino.snapshot_copy#module:deltas_from).
  returned: with backup_task
  type: str
  sample: 'D:\Domino\data\quiesce_domino\deltas\20261123141921'
deltas:
  description: With backup_task, the C(.DELTA) files kept so far (path relative to the data directory, size).
  returned: with backup_task
  type: list
  elements: dict
locations:
  description: Every place the server keeps data (see M(quiesce.domino.domino_info)); their volumes are in the shadow copy set.
  returned: always
  type: list
  elements: dict
server_was_stopped:
  description: The server was STOPPED (not by quiesce.domino) and was snapshotted as it is; it stays stopped.
  returned: always
  type: bool
writers_included:
  description: VSS writers that took part in the creation.
  returned: when diskshadow ran
  type: list
  elements: str
script:
  description: The diskshadow script.
  returned: always
  type: str
transcript:
  description: diskshadow's output.
  returned: when diskshadow ran
  type: str
steps:
  description: Every host step (name, status, rc, duration_ms, error).
  returned: when the plan ran
  type: list
  elements: dict
"""
