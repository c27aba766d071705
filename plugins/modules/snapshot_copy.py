#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: snapshot_copy
short_description: Copy the data of an exposed shadow copy off the host with robocopy, verified
version_added: "0.1.0"
description:
  - Copies the data directory (O(source), a folder of an exposed shadow copy such as C(S:\Domino\data)) and every
    other place the server keeps data (O(locations), that is the transaction log, the DAOS store, directory-link
    targets, notes.ini and the server ID outside the data directory) to O(destination) (a local folder or a UNC share) with
    C(robocopy) in backup mode (C(/B)), with explicit C(/R) and C(/W), C(/MT), C(/J) for large files, C(/COPY:DAT)
    C(/DCOPY:DAT), C(/BYTES) and a Unicode log (C(/UNILOG)) beside the copy.
  - A copy is one backup folder, with C(data\) (the data directory), C(translog\), C(daos\), C(links\<name>\) and
    C(files\) for the places outside the data directory that were copied, and C(quiesce_domino.json), which
    records every place and the path it came from, so that M(quiesce.domino.restore) puts each one back
    (C(docs/restore.md) describes the layout).
  - V(mode=versioned) writes a new C(<destination>\<host>\<UTC timestamp>) each run and keeps the newest O(keep);
    the data goes into C(<timestamp>.partial) first and is renamed only after verification.
    V(mode=mirror) keeps one rolling copy C(<destination>\<host>\current) (C(/MIR), only changed files move) and
    marks it with C(current.INCOMPLETE) until it is verified.
  - Before copying, the free space of the destination is checked against the size of the source times
    O(space_margin); a copy that cannot fit is refused with a clear message and nothing is written.
  - Verification happens on the host, in the same remote call, before the copy is marked complete and before
    any older copy is removed. C(robocopy /L) runs for every place (nothing left to copy, no extras, no
    mismatches); then a listing of the sources and of the copy (relative path, size, modification time, with
    O(sha256) the SHA-256) are compared on the host, and only a summary with at most 20 differences comes back.
    The copy's listing is kept beside it as C(<timestamp>.manifest.json). C(verified) is true only when every
    check passed.
  - Junctions and symbolic links inside a place are not followed (robocopy C(/XJ)) and are reported in
    C(links_skipped) with a warning (what they point to is not in the copy). C(System Volume Information),
    C($RECYCLE.BIN) and the DAOS index files C(daoscat.nsf), C(daos.cfg) and C(daos.cf2) are never copied (HCL
    says not to back up the DAOS index files; Domino rebuilds them, then run C(tell daosmgr resync)).
  - Retention runs only after a verified finalize and never removes the copy just made; a failed retention
    leaves the new copy complete and says so in a warning.
  - A failed copy is never marked complete, versioned copies are removed again (their C(.partial) name is kept
    only when the removal itself is interrupted), a failed mirror keeps its C(INCOMPLETE) marker.
  - The robocopy summary is read by position (labels are translated on non-English Windows) and the exit code
    by its bits (8 and above are failures).
  - Works with C(async) for long copies (robocopy backend); V(state=progress) reports the bytes copied so far while
    it runs, and V(state=report) turns the finished job's result into this module's result (C(verified), counts,
    warnings) without contacting the host.
  - V(backend=restic) backs up the same places into a restic repository instead (deduplicated and encrypted,
    so a second night writes only what changed); see O(backend) and C(docs/restic.md).
author:
  - quiesce.domino contributors (@quiesce-domino)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - quiesce.domino.windows_action
options:
  source:
    description:
      - The data directory to copy, normally inside an exposed shadow copy, such as C(S:\Domino\data).
      - With V(state=present), O(source) or O(locations) (with its C(data) place) is required; ignored otherwise.
    type: str
  locations:
    description:
      - The places of the whole server to copy, as M(quiesce.domino.snapshot) returns them in C(copy_locations)
        (the data directory and the places outside it, each read from its volume's exposed shadow copy).
      - Each item has C(name) (its folder in the copy, V(data), V(translog), V(daos), V(files) or
        C(links\<name>)), C(kind) (V(data), V(translog), V(daos), V(link), V(notes_ini), V(server_id)), C(source)
        (where it is read, a folder, or a file for the C(files) kinds) and C(path) (where it is on the server,
        recorded in C(quiesce_domino.json) for the restore). Every path is validated like O(source).
      - The DAOS store (a C(daos) place, or the data place's C(daos) key when the store is inside the data
        directory) is topped up from the live store after the databases are copied, because change info applied
        after the snapshot (the C(.DELTA) files of C(backup_task), the VSS writer's auto-recovery in the shadow copy)
        may reference DAOS objects written after it (HCL says to back up the C(.nsf) files before the C(.nlo)
        files; DAOS objects never change once written). Only missing C(.nlo) files that no process is writing are
        copied (each opened denying writers), none is overwritten, one in use is skipped with a warning; they are
        not counted as differences.
    type: list
    elements: dict
    default: []
  destination:
    description:
      - Local folder (C(E:\Backups)) or share (C(\\backupsrv\domino)) under which C(<host>) is created.
      - Required with V(state=present), V(state=progress) and V(state=pruned).
    type: str
  state:
    description:
      - V(present) copies; V(progress) reports the bytes in copies that are being written; V(pruned) applies
        retention only (O(keep), O(older_than)) to the host's copies under O(destination).
      - V(report) judges the result of a finished async copy (O(job)) as a copy without async is judged (C(verified),
        the robocopy counts, C(links_skipped), the shadow copy's release, retention warnings), and fails with the
        reason when the copy failed. Nothing is sent to the host.
    type: str
    default: present
    choices: [present, progress, pruned, report]
  job:
    description:
      - With V(state=report), the registered result of a V(state=present) copy run with C(async), that is the task's
        own result when C(poll) was above 0, or the result of M(ansible.builtin.async_status) once C(finished)
        (give the async_status task C(failed_when) false so that a failed copy reaches this report).
      - The copy's plan carries what the report needs (the copy's paths, places and release options), and the
        executor returns it unchanged with the job's result; a result of another host or module is refused.
    type: dict
  older_than:
    description:
      - With V(state=pruned), remove complete copies older than this (never the newest one) and partial copies
        older than this. Seconds, or a number with C(s), C(m), C(h), C(d) or C(w).
    type: str
  mode:
    description:
      - V(versioned) (a new folder each run) or V(mirror) (one rolling copy).
      - V(mirror) rewrites the one copy in place, so while it runs, and after a run that failed, there is no good
        copy (its C(INCOMPLETE) marker says so) until a run completes and is verified. Keep V(versioned) where the
        last good copy must survive a failed run.
    type: str
    default: versioned
    choices: [versioned, mirror]
  keep:
    description: With V(mode=versioned), how many complete copies to keep (0 keeps all).
    type: int
    default: 7
  host_folder:
    description: Name of the per-host folder; default the inventory hostname.
    type: str
  retries:
    description: robocopy C(/R), retries per file (0 to 100; robocopy's own default is a million).
    type: int
    default: 2
  wait:
    description: robocopy C(/W), seconds between retries (0 to 600; robocopy's own default is 30).
    type: int
    default: 5
  threads:
    description: robocopy C(/MT), copy threads (1 to 128).
    type: int
    default: 8
  unbuffered:
    description: robocopy C(/J), unbuffered I/O, recommended for large files such as NSF databases.
    type: bool
    default: true
  sha256:
    description: Add SHA-256 hashes to the manifests and compare them (reads every file twice more).
    type: bool
    default: false
  skip_links:
    description:
      - robocopy does not follow junctions, volume mount points or symbolic links (C(/XJ)), and the listing of the
        sources does not either. By default one inside a place fails the copy before it is finalized, naming the
        links, because what it leads to (a volume mounted in the data directory, a folder elsewhere) would be
        missing from a copy marked verified. V(true) copies without them and reports them as a warning.
      - Folders a place holds by a Domino directory link (C(.dir) file) outside the data directory are places of
        their own (O(locations)), read from the shadow copy.
    type: bool
    default: false
  space_margin:
    description: The destination must have this factor times the source size free (1.0 to 10.0).
    type: float
    default: 1.1
  timeout:
    description: Seconds the copy and each verification step may take (60 to 86400, the longest a plan step may run).
    type: int
    default: 21600
  delete_exposed_shadow:
    description:
      - Drive letters of the exposed shadow copies the places are read from (the snapshot's C(exposed_letters));
        they are deleted after the copy, whatever the copy's outcome, in the same remote call
        (C(diskshadow delete shadows exposed)). A single letter is accepted too.
    type: list
    elements: str
    default: []
  delete_shadow_set:
    description:
      - ID of the shadow copy set the places are read from (the snapshot's C(shadow_set_id)); every shadow copy of
        the set is deleted after the copy, whatever its outcome, in the same remote call
        (C(diskshadow delete shadows set)), exposed or not. Mutually exclusive with O(delete_exposed_shadow).
    type: str
  unexpose_shadow:
    description:
      - Drive letters (or mount folders) of the exposed shadow copies the places are read from (the snapshot's
        C(exposed_letters)); they are unexposed after the copy, whatever its outcome, in the same remote call
        (C(diskshadow unexpose)), and the shadow copies are kept. The next run's O(quiesce.domino.snapshot#module:replace_stale)
        would otherwise delete the kept shadow copy exposed at its letter (keeping only the latest);
        the C(snapshot_cleanup) role ages kept shadow copies out. Mutually exclusive with O(delete_exposed_shadow)
        and O(delete_shadow_set).
    type: list
    elements: str
    default: []
  release_lock:
    description:
      - Release the host lock taken by M(quiesce.domino.snapshot), whatever the copy's outcome.
      - Before copying, the lock is taken again as its owner, which renews it and records the copy's worst case
        (the sum of every step's limit) as the time it is held, so that no other run takes it over as stale during
        the copy. When another run holds the lock by then (the snapshot's lock went stale), nothing is copied.
    type: bool
    default: false
  lock_owner:
    description:
      - Owner of the lock; default the controller's host name and the ansible-playbook process ID.
      - V(state=pruned) takes the lock for itself only and removes nothing while another owner holds it, as that
        run may be writing a copy.
    type: str
  lock_stale_seconds:
    description:
      - With O(release_lock), how old another run's lock must be before this run takes it over (the renewal
        above finds another owner only when the snapshot's lock was taken over). 60 to 604800.
      - With V(state=pruned), how old another run's lock must be to be ignored.
    type: int
    default: 21600
  deltas_from:
    description:
      - Method C(backup_task) only. The folder where the collection's Domino Backup integration
        (C(files/quiesce_domino_backup.ps1) as Backup snapshot command) keeps the C(.DELTA) files of this backup,
        the C(deltas_folder) that M(quiesce.domino.snapshot) returned, C(<data dir>\quiesce_domino\deltas\<backup start>).
      - Domino keeps writing to its databases in backup mode and writes the change info of every database that
        changed as a C(.DELTA) file when it takes it out of backup mode; the snapshot alone is not consistent.
        The copy first waits (O(delta_timeout)) until the integration recorded C(collected.json), copies the data
        without the C(quiesce_domino) folder, then puts every C(.DELTA) beside its database in the copy, so that
        Domino's restore applies it (C(docs/restore.md)). The manifests include the deltas.
      - Deltas that do not arrive fail the copy; it is never marked complete. After a complete copy the delta
        folders of earlier backups are removed from the data directory.
    type: str
  delta_timeout:
    description: Seconds to wait for the kept C(.DELTA) files with O(deltas_from) (10 to 3600).
    type: int
    default: 300
  backend:
    description:
      - V(robocopy) copies folders as described above.
      - V(restic) backs up every place (the data directory, the transaction log, the DAOS store, notes.ini and the
        IDs) straight from the exposed shadow copy into the restic repository O(repository) as one snapshot, with
        the host name (O(host_folder) or the inventory name), the backup start time and the tags
        C(quiesce.domino), C(run:<UTC timestamp>), C(version:<collection version>) and O(tags).
      - Verification, in the same remote call, before anything is forgotten; the snapshot's file list (C(restic
        ls)) with the size and modification time of every file against a manifest of the sources taken on the
        host, then C(restic check) reading O(verify_read_fraction) of the data. A snapshot that fails the
        verification is forgotten again and the task fails.
      - Retention with O(keep_daily), O(keep_weekly) and O(keep_monthly) (C(restic forget --prune)), guarded; the
        snapshot just made and any snapshot younger than O(forget_min_age) are never forgotten.
      - restic must be installed on the host (C(C:\Program Files\restic\restic.exe) unless the
        C(quiesce_domino_tools) variable names another path). V(backend=restic) supports V(state=present) only;
        O(mode), O(keep), O(sha256), O(space_margin), O(retries), O(wait), O(threads) and O(unbuffered) do not
        apply to it, and it runs without async.
    type: str
    choices: [robocopy, restic]
    default: robocopy
  repository:
    description:
      - With V(backend=restic), the repository; a local folder (C(E:\restic)), a share (C(\\server\share\restic)),
        C(rest:https://host:8000/path) or C(sftp:user@host:/path) (no credentials in the address). Default O(destination).
    type: str
  repository_password:
    description:
      - With V(backend=restic), the repository password. It reaches restic on its standard input only (never a
        command line), the module call that carries it runs with C(no_log), and it is shown as C(********) in a
        check-mode plan. Exactly one of O(repository_password) and O(repository_password_file) is required.
    type: str
  repository_password_file:
    description: With V(backend=restic), a file on the host that holds the repository password (restic C(--password-file)).
    type: str
  repository_init:
    description: With V(backend=restic), create the repository (C(restic init)) when it cannot be opened.
    type: bool
    default: false
  verify_read_fraction:
    description:
      - With V(backend=restic), the fraction of the repository's data that C(restic check --read-data-subset)
        reads and verifies after each backup (0 to 1; 0 checks the structure only).
    type: float
    default: 0.05
  keep_daily:
    description: With V(backend=restic), keep the newest snapshot of this many days (C(restic forget --keep-daily)).
    type: int
  keep_weekly:
    description: With V(backend=restic), keep the newest snapshot of this many weeks.
    type: int
  keep_monthly:
    description: With V(backend=restic), keep the newest snapshot of this many months.
    type: int
  forget_min_age:
    description:
      - With V(backend=restic), snapshots younger than this are never forgotten, whatever the keep rules say
        (seconds, or a number with s, m, h, d or w).
    type: str
    default: 1d
  tags:
    description: With V(backend=restic), more tags for the snapshot, such as C(method:vss_writer) (letters, digits and C(._:@+-)).
    type: list
    elements: str
    default: []
attributes:
  async:
    support: full
    details:
      - With async the task result is the record of the executor module M(quiesce.domino.host_exec) (steps, C(ok),
        C(failed_step)), on Windows as on POSIX, because Ansible replaces an async task's result with the job's;
        it is C(failed) with a C(msg) naming the failed step when the copy failed or differed from its sources.
        Pass it to V(state=report) for C(verified), the counts and the warnings (see EXAMPLES). Use
        V(state=progress) meanwhile. Only V(state=present) with the robocopy backend runs as a job, and only
        with an async limit longer than the copy's worst case.
  check_mode:
    support: full
  diff_mode:
    support: none
seealso:
  - module: quiesce.domino.snapshot
"""

EXAMPLES = r"""
- name: Snapshot Domino and expose the shadow copy
  quiesce.domino.snapshot:
    expose_as: "S:"
  register: snap

- name: Copy the frozen data directory to the backup share
  quiesce.domino.snapshot_copy:
    source: 'S:\Domino\data'
    destination: '\\backupsrv\domino'
    keep: 14
  register: copy

- name: Copy the whole server (data directory, transaction log, DAOS store, ...) and delete the shadow copies
  quiesce.domino.snapshot_copy:
    locations: "{{ snap.copy_locations }}"
    destination: '\\backupsrv\domino'
    delete_shadow_set: "{{ snap.shadow_set_id }}"

- name: With method backup_task, put the .DELTA files Domino wrote into the copy too
  quiesce.domino.snapshot_copy:
    source: 'S:\Domino\data'
    destination: '\\backupsrv\domino'
    deltas_from: "{{ snap.deltas_folder }}"
  when: snap.method == 'backup_task'

- name: Back up the whole server into a restic repository on the backup share, keeping 14 days and 8 weeks
  quiesce.domino.snapshot_copy:
    backend: restic
    locations: "{{ snap.copy_locations }}"
    destination: '\\backupsrv\restic\domino'
    repository_password: "{{ vault_restic_password }}"
    keep_daily: 14
    keep_weekly: 8
    tags: ["method:{{ snap.method }}"]
    delete_shadow_set: "{{ snap.shadow_set_id }}"

- name: Keep one rolling copy on the backup volume instead
  quiesce.domino.snapshot_copy:
    source: 'S:\Domino\data'
    destination: 'E:\Backups'
    mode: mirror

- name: A long copy as an async job, judged when it has finished
  quiesce.domino.snapshot_copy:
    locations: "{{ snap.copy_locations }}"
    destination: '\\backupsrv\domino'
    delete_shadow_set: "{{ snap.shadow_set_id }}"
  async: 43200
  poll: 0
  register: copy_job

- name: Wait for the copy (a failed copy is judged by the report below)
  ansible.builtin.async_status:
    jid: "{{ copy_job.ansible_job_id }}"
  register: copy_done
  until: copy_done.finished
  retries: 720
  delay: 60
  failed_when: false

- name: Judge the finished copy (verified, counts, warnings; failed when the copy failed)
  quiesce.domino.snapshot_copy:
    state: report
    job: "{{ copy_done }}"
  register: copy
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
destination:
  description: The folder of the complete copy (the data directory is its C(data) folder).
  returned: always
  type: str
job_id:
  description: With V(state=report), the async job whose result was judged.
  returned: state report
  type: str
layout:
  description: Each place in the copy (its folder, or C(files\<name>) for a single file) and where it was on the server.
  returned: state present
  type: dict
  sample: {"data": "D:\\Domino\\data", "translog": "L:\\translog", "daos": "N:\\DAOS"}
manifest:
  description: Path of the manifest written beside the copy.
  returned: always
  type: str
verified:
  description: True only when robocopy found no difference in any place and the manifests of the sources and the copy agree.
  returned: always
  type: bool
files:
  description: Files in the sources (robocopy summaries of every place, added up).
  returned: when robocopy ran
  type: int
files_copied:
  description: Files copied by this run (mirror runs copy only what changed).
  returned: when robocopy ran
  type: int
files_failed:
  description: Files robocopy could not copy.
  returned: when robocopy ran
  type: int
bytes:
  description: Bytes in the sources (every place).
  returned: when robocopy ran
  type: int
bytes_copied:
  description: Bytes copied by this run.
  returned: when robocopy ran
  type: int
duration_ms:
  description: Milliseconds robocopy ran.
  returned: when robocopy ran
  type: int
started_at:
  description: When robocopy started (UTC, host clock).
  returned: when robocopy ran
  type: str
ended_at:
  description: When robocopy ended (UTC, host clock).
  returned: when robocopy ran
  type: str
throughput_bytes_per_second:
  description: Bytes copied per second.
  returned: when robocopy ran
  type: int
robocopy_rc:
  description: The highest robocopy exit code of the places copied (0 to 7 are success; named so that Ansible does not read it as a failed rc).
  returned: when robocopy ran
  type: int
rc_meanings:
  description: The meaning of each bit of the exit code.
  returned: when robocopy ran
  type: list
  elements: str
errors:
  description: robocopy C(ERROR n (0x...)) lines with their message.
  returned: when robocopy ran
  type: list
  elements: str
source_bytes:
  description: Size of the source measured before copying.
  returned: when the space check ran
  type: int
free_bytes:
  description: Free bytes at the destination before copying.
  returned: when the space check ran
  type: int
removed:
  description:
    - Copies removed by V(state=pruned). In check mode the copies the same run would remove (a read-only dry run
      of the same choice), and C(changed) is what the real run would report.
  returned: state pruned
  type: list
  elements: str
partials_removed:
  description: Unfinished copies (C(.partial)) older than O(older_than) removed by V(state=pruned) (check mode, would be).
  returned: state pruned
  type: list
  elements: str
removed_by_retention:
  description: Copies removed because more than O(keep) existed.
  returned: with mode versioned
  type: list
  elements: str
steps:
  description: Every host step (name, status, rc, duration_ms, error).
  returned: when the plan ran
  type: list
  elements: dict
shadow_deleted:
  description: Whether the exposed shadow copies were deleted (with O(delete_exposed_shadow)).
  returned: with delete_exposed_shadow
  type: bool
shadow_unexposed:
  description: Whether the kept shadow copies were unexposed (with O(unexpose_shadow)).
  returned: with unexpose_shadow
  type: bool
bytes_so_far:
  description: With V(state=progress), the bytes in copies being written.
  returned: state progress
  type: int
links_skipped:
  description: Junctions and symbolic links in the sources that were not followed (at most 20).
  returned: when there were any
  type: list
  elements: str
daos_topped_up:
  description: DAOS objects copied from the live store after the databases.
  returned: when the server has a DAOS store
  type: int
manifest_files:
  description: Files in the copy that were compared with the sources.
  returned: when the comparison ran
  type: int
deltas:
  description: The C(.DELTA) files put into the copy, by their path relative to the data directory (beside their databases in C(data\)).
  returned: with deltas_from
  type: list
  elements: str
  sample: ['mail\jdoe.nsf.DELTA']
backend:
  description: The backend that made the backup.
  returned: with backend=restic
  type: str
snapshot_id:
  description: With V(backend=restic), the ID of the restic snapshot (64 hexadecimal digits).
  returned: with backend=restic, when restic made a snapshot
  type: str
data_added:
  description: With V(backend=restic), the bytes restic added to the repository for this snapshot (after deduplication).
  returned: with backend=restic, when restic made a snapshot
  type: int
files_new:
  description: With V(backend=restic), files restic had not seen in the parent snapshot (also C(files_changed), C(files_unmodified)).
  returned: with backend=restic, when restic made a snapshot
  type: int
read_data_subset:
  description: With V(backend=restic), the part of the data C(restic check) read (C(5%)), or null.
  returned: with backend=restic
  type: str
forgotten:
  description: With V(backend=restic) and keep rules, the snapshots C(restic forget --prune) removed.
  returned: with keep_daily, keep_weekly or keep_monthly
  type: list
  elements: str
kept_by_guard:
  description: Snapshots the keep rules would have removed but the guards kept, with the reason.
  returned: with keep_daily, keep_weekly or keep_monthly
  type: list
  elements: dict
"""
