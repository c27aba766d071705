#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: restore
short_description: Bring Domino data back from a copy or from a restore point
version_added: "0.1.0"
description:
  - From a B(copy) made by M(quiesce.domino.snapshot_copy) (O(copy)), restores the whole data directory, single
    databases or folders (O(databases)) into the data directory or into a restore folder (O(restore_to)), in one
    remote call. Each database comes with its C(.DELTA) file from the copy (method C(backup_task)) placed beside it,
    as Domino Backup's snapshot restore flow requires, so that Domino's restore applies the change info and
    recovers the database (C(docs/restore.md)). A C(.DELTA) left in the target by an earlier restore is removed
    first. Such databases are not consistent until Domino's restore has applied their change info; restoring them
    into the data directory is refused unless O(allow_unapplied_deltas) is set. Restoring into the data directory
    requires Domino to be stopped (checked with C(sc.exe query) first;
    nothing is touched otherwise); a restore folder (for example C(D:\Domino\data\restore)) works while Domino runs.
    Files are copied with C(robocopy /B) (never C(/MIR), so nothing in the target is deleted) and verified with
    C(robocopy /L).
  - From a B(restore point) (O(restore_point), M(quiesce.domino.restore_point)) restores the data directory from its
    shadow copy. Domino must be stopped; the shadow copy is exposed as O(expose_as), mirrored back with
    C(robocopy /MIR /B) (files created after the restore point are removed), verified with C(robocopy /L) and
    unexposed again whatever happened.
  - Use either between M(quiesce.domino.backup_mode) V(state=frozen) V(method=shutdown) and V(state=thawed), as the
    C(rollback) entry point of the C(quiesce.domino.preupgrade_snapshot) role does.
author:
  - quiesce.domino contributors (@quiesce-domino)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - quiesce.domino.windows_action
options:
  restore_point:
    description:
      - Name of the restore point to restore from. Exactly one of O(restore_point) and O(copy) is required.
      - Every place the restore point recorded (its C(Place) values) is put back from the shadow copy of its volume,
        one after another through O(expose_as) - the data directory, link targets and the transaction log
        mirrored (the server as it was), the DAOS store without deleting anything. A restore point recorded with
        only C(ShadowId) and C(DataDir) puts back the data directory.
    type: str
  copy:
    description:
      - A complete copy made by M(quiesce.domino.snapshot_copy), such as C(\\backupsrv\domino\dom01\20261122T020000Z)
        (never a C(.partial) folder or a mirror with C(current.INCOMPLETE) beside it).
      - The copy's C(quiesce_domino.json) says where the data directory (C(data\)) and the other places are; a copy
        without it (made before 0.2.0) is the data directory itself. Reading it is one more remote call.
    type: str
  databases:
    description:
      - With O(copy), what to restore, relative to the data directory; empty restores the whole data directory.
      - A name ending in C(.nsf), C(.ntf) or C(.box) is one database (with its C(.DELTA)); anything else is a folder,
        restored with everything in it.
    type: list
    elements: str
    default: []
  restore_to:
    description:
      - With O(copy), the folder to restore into, keeping the paths relative to the data directory; default the data
        directory itself (Domino must be stopped).
    type: str
  service:
    description: With O(copy), the Domino service whose data directory is meant; needed only on partitioned hosts.
    type: str
  expose_as:
    description: Free drive letter to expose the shadow copy as during a restore from O(restore_point).
    type: str
    default: "R:"
  timeout:
    description:
      - Seconds each restore copy and its verification may take (60 to 86400, the longest a plan step may run).
      - When the service was stopped by O(quiesce.domino.backup_mode#module:state=frozen) (method C(shutdown)), its
        watchdog starts Domino at its deadline. The restore then runs only if its worst case ends 60 s before that
        deadline (host clock); otherwise it is refused before anything is touched, with the timeouts that make the
        worst case up. The worst case counts every step at its timeout, per place put back an exposure (600 s, from
        a restore point), a copy and a verification (O(timeout) each) and an unexposure (600 s), so pass a
        O(timeout) that fits the freeze's C(watchdog_seconds). A server stopped otherwise is not limited.
    type: int
    default: 21600
  allow_unapplied_deltas:
    description:
      - With O(copy) into the data directory, put back databases that have a C(.DELTA) in the copy (method
        C(backup_task)) anyway. Off by default, such a restore is refused before anything is copied, because no
        source documents Domino applying a C(.DELTA) that lies beside a database when it starts or opens it; only
        Domino's own restore does (C(docs/restore.md)).
    type: bool
    default: false
  other_locations:
    description:
      - With O(copy), the whole data directory (no O(databases)) and no O(restore_to), also put back every other
        place the copy holds (transaction log, DAOS store, directory-link targets, and notes.ini and the server ID
        when they are outside the data directory, so those are rolled back too), each to where the server keeps it
        now. Link targets are copied without deleting anything; the DAOS store only gets the objects it is missing
        (an NLO never changes, an existing one is never replaced; C(daoscat.nsf) and C(daos.cfg) are not in copies,
        run C(tell daosmgr resync) after the restore).
      - "The transaction log, wherever it is (also inside the data directory): the current log folder is set aside
        (renamed to C(<name>.before-restore-<UTC time>), beside the data directory when it is inside it; nothing is
        deleted; a restore that fails renames it back) and the backup's log is put back, so that the log and the
        databases are from the same moment for restart recovery (a file-level restore keeps the databases' DBIIDs).
        With archive-style logging this needs O(allow_archive_log); a log at a volume root cannot be set aside: both
        are refused before anything is touched. A backup without a log leaves the current one, with a warning. The
        result's C(translog) says what happened. The same rules apply to O(restore_point)."
      - A place the copy's layout records at a path the server does not use now is refused, before anything is
        copied (the layout file lies with the copy, often on a share).
      - V(false) restores the data directory only.
    type: bool
    default: true
  restic_snapshot:
    description:
      - Restore from a restic snapshot made by M(quiesce.domino.snapshot_copy) with V(backend=restic); its ID (8 or 64
        hexadecimal digits) or V(latest) (the newest snapshot of this host with the tag C(quiesce.domino)).
      - The snapshot (with O(databases), only those databases with their C(.DELTA) files) is first restored into O(copy),
        which must be a new folder, and arranged there as a copy of the robocopy backend has it (C(data\), C(translog\),
        C(daos\), C(files\), C(quiesce_domino.json)); then the restore goes on from that copy exactly as with O(copy).
        The folder stays afterwards; delete it when it is no longer needed.
    type: str
  repository:
    description: With O(restic_snapshot), the restic repository (a folder, a share, C(rest:) or C(sftp:) address).
    type: str
  repository_password:
    description:
      - With O(restic_snapshot), the repository password; it reaches restic on standard input only. Exactly one of
        O(repository_password) and O(repository_password_file) is required.
    type: str
  repository_password_file:
    description: With O(restic_snapshot), a file on the host that holds the repository password.
    type: str
  allow_archive_log:
    description:
      - With archive-style transaction logging, let a whole restore in place set the current log aside and put the
        backup's log back (refused by default, because unarchived extents are set aside with it). Then archive the
        set-aside extents and take a new full backup as soon as the server runs.
    type: bool
    default: false
  allow_other_host:
    description:
      - With O(copy) in place, restore a copy that another host made (its C(quiesce_domino.json) names the host);
        refused by default, because its notes.ini and server ID would come along.
    type: bool
    default: false
  lock:
    description:
      - Take the host lock before anything is touched; when another run holds it, nothing is restored and the task
        fails naming that run. Taken as its owner after M(quiesce.domino.backup_mode) V(state=frozen) with O(lock),
        it is renewed for the restore's worst case.
      - Without it the restore takes the lock for itself only, is refused while another run holds it, given back at
        its end (left as it is when this owner held it already).
    type: bool
    default: false
  release_lock:
    description: With O(lock), give the lock back when the restore ends, whatever happened; V(false) keeps it for a
      following M(quiesce.domino.backup_mode) V(state=thawed) with O(lock).
    type: bool
    default: true
  lock_owner:
    description: Owner of the lock; default the controller's host name and the ansible-playbook process ID.
    type: str
  lock_stale_seconds:
    description: How old another run's lock must be before this run takes it over (60 to 604800).
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
    watchdog_seconds: 28800

- name: Restore the data directory from the restore point (each copy and verification at most 50 minutes)
  quiesce.domino.restore:
    restore_point: before-12.0.2-FP5
    timeout: 3000

- name: Start Domino and wait until it answers
  quiesce.domino.backup_mode:
    state: thawed

- name: Restore one mail database from last night's copy into the restore folder (Domino keeps running)
  quiesce.domino.restore:
    copy: '\\backupsrv\domino\dom01\20261122T020000Z'
    databases: ['mail\jdoe.nsf']
    restore_to: 'D:\Domino\data\restore'
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
restore_point:
  description: The restore point used.
  returned: with restore_point
  type: dict
restored_to:
  description: The folder the copy was restored into.
  returned: with copy
  type: str
in_place:
  description: Whether the copy was restored into the data directory itself.
  returned: with copy
  type: bool
deltas_restored:
  description: The C(.DELTA) files placed beside their databases; Domino's restore applies them.
  returned: with copy
  type: list
  elements: str
translog:
  description: What a whole restore in place did with the transaction log (action C(replace) with the folder it was set aside to, or C(keep) with why).
  returned: when transaction logging is on and the whole data directory was restored in place
  type: dict
locations_restored:
  description: The places that were put back (C(data), C(translog), C(daos), C(links\<name>), C(files\<name>)).
  returned: always
  type: list
  elements: str
  sample: ['data', 'translog', 'daos']
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
