#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_mode
short_description: Put an HCL Domino server into backup mode and release it, with a watchdog
version_added: "0.1.0"
description:
  - Freezes (V(state=frozen)) or releases (V(state=thawed)) a Domino server on Windows so that a VSS shadow copy
    taken in between is application-consistent, by one of the methods of C(docs/methods.md).
  - V(shutdown) stops the Domino service (C(sc.exe stop)), waits up to O(shutdown_timeout) for STOPPED, and only
    after that deadline runs C(nsd.exe -kill); thawing starts the service and waits until the server answers
    C(nserver.exe -c "show server"), not just until the service says RUNNING.
  - V(backup_task) starts Domino Backup in snapshot mode (C(load backup -s)); its "Snapshot start command" is the
    collection's C(files/quiesce_domino_backup.ps1), which records the hold in the data directory
    (C(quiesce_domino\hold)) and keeps the databases in backup mode until released or until its own timeout.
    Freezing waits for the hold; thawing releases it, waits until the hook let go and follows Domino out of backup
    mode, and returns where the C(.DELTA) files of the backup are kept (C(deltas_folder)). Domino keeps writing in
    backup mode, so a snapshot taken meanwhile is consistent only with those deltas. The Domino Backup configuration
    to set is in C(docs/backup-task.md).
  - V(vss_writer) makes sure the C(backupvss) task runs; VSS itself freezes Domino while a shadow copy is created
    with writers (M(quiesce.domino.diskshadow) with O(quiesce.domino.diskshadow#module:writers=true), or
    M(quiesce.domino.snapshot)). There is nothing to thaw.
  - V(none) does nothing and reports the snapshot as crash-consistent. V(auto) picks the recommendation of
    M(quiesce.domino.domino_info).
  - B(The watchdog.) Freezing by V(shutdown) or V(backup_task) first registers a scheduled task (Task Scheduler
    XML, run as SYSTEM) that releases Domino at now + O(watchdog_seconds) on the host clock, so a controller crash
    or a dropped connection cannot leave Domino frozen or stopped. Thawing removes it after Domino is back; a failed
    thaw leaves it armed. A failed freeze releases Domino and removes the watchdog in the same remote call.
  - Freezing a frozen server and thawing a running one change nothing (idempotent); the thaw uses the method that
    froze. Check mode returns the plan without running it.
author:
  - quiesce.domino contributors (@quiesce-domino)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - quiesce.domino.windows_action
options:
  state:
    description: V(frozen) to quiesce Domino, V(thawed) to release it.
    type: str
    required: true
    choices: [frozen, thawed]
  method:
    description:
      - How to quiesce. V(auto) takes V(vss_writer) where Domino's VSS writer is possible, V(shutdown) only with
        O(allow_downtime), and fails otherwise; V(backup_task) needs the Domino Backup configuration of
        C(docs/backup-task.md), which cannot be seen from outside, so it is never chosen by V(auto).
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
    description: The Domino service to act on; needed only when the host runs several (partitions).
    type: str
  watchdog_seconds:
    description:
      - Seconds after which the watchdog releases Domino if nothing thawed it (30 to 86400).
      - It must outlive every step of the freeze, each at its worst case (a step's timeout; a polling step's limit
        plus one attempt's timeout), plus 30 s, and leave time for the work done while Domino is frozen. With
        V(shutdown) the freeze is the arming (60), C(sc stop) (60), the wait for the stop (O(shutdown_timeout) + 15),
        C(nsd -kill) (360) and the wait after it (75); with V(backup_task) the arming (60), the hold reset (60),
        starting Domino Backup (120) and the wait for the hold (O(hold_timeout) + 30, at least 60).
      - A shorter value is refused before anything is sent to the host, with the minimum and the timeouts that make it
        up. V(auto) with O(allow_downtime=true) is held to the rule of V(shutdown).
    type: int
    default: 1200
  shutdown_timeout:
    description: Seconds to wait for a graceful stop before C(nsd -kill) (10 to 3600).
    type: int
    default: 180
  start_timeout:
    description: Seconds to wait for the service to run and the server to answer after a start (10 to 3600).
    type: int
    default: 300
  hold_timeout:
    description: Seconds to wait for the backup task hook to hold the databases (5 to 600).
    type: int
    default: 60
  lock:
    description:
      - Take the host lock (the one M(quiesce.domino.snapshot) and M(quiesce.domino.host_lock) take) before touching
        Domino. When another run holds it, nothing is touched and the task fails naming that run.
      - V(state=frozen) (methods C(shutdown) and C(backup_task)) keeps it while Domino is frozen; after the task
        only O(lock_stale_seconds) protects it from a takeover, so it must be longer than O(watchdog_seconds) plus
        300 s (refused otherwise). A failed freeze gives it back once Domino is confirmed released.
        V(state=thawed) takes it as its owner (so another run's frozen Domino is never thawed) and gives it back
        after a successful thaw.
      - V(state=frozen) on a Domino that is frozen already answers "already frozen" only to the owner of the lock
        (its own freeze); another run's freeze, with or without the lock, is refused.
      - Without it the task takes the lock for itself only, is refused while another run holds it, given back at its
        end (left as it is when this owner held it already), so the freeze it leaves is not protected by it.
    type: bool
    default: false
  lock_owner:
    description: Owner of the lock; default the controller's host name and the ansible-playbook process ID (the same for
      every task of one run).
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
notes:
  - For production backups use M(quiesce.domino.snapshot), which freezes, creates the shadow copy and thaws in one
    remote call, so the freeze never waits for the controller.
  - Stopping Domino with V(shutdown) ends user sessions; C(nsd -kill) leaves databases to be recovered at the
    next start (the snapshot is then crash-consistent; the result has C(killed=true)).
seealso:
  - module: quiesce.domino.domino_info
  - module: quiesce.domino.diskshadow
"""

EXAMPLES = r"""
- name: Freeze Domino by stopping it, with a 30 minute watchdog
  quiesce.domino.backup_mode:
    state: frozen
    method: shutdown
    watchdog_seconds: 1800
  register: frozen

- name: Take the shadow copy
  quiesce.domino.diskshadow:
    volumes: ["D:"]

- name: Release Domino
  quiesce.domino.backup_mode:
    state: thawed
  register: thawed

- name: Report the hold time
  ansible.builtin.debug:
    msg: "Domino was held {{ thawed.held_ms }} ms"
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
released:
  description:
    - After a failed freeze, whether Domino is released by the evidence the rescue checked (the service RUNNING again
      for V(shutdown), the hook no longer holding the databases for V(backup_task)). When false the watchdog stays
      armed and releases Domino by its deadline.
  returned: when a freeze failed
  type: bool
service:
  description: The Domino service acted on.
  returned: success
  type: str
method:
  description: The method used (null when nothing was frozen).
  returned: always
  type: str
frozen_at:
  description: When Domino was frozen (UTC, host clock).
  returned: always
  type: str
thawed_at:
  description: When Domino answered again after the thaw (UTC, host clock).
  returned: always
  type: str
held_ms:
  description: Milliseconds between the freeze and the end of the thaw, on the host clock.
  returned: always
  type: int
backup_start:
  description: With backup_task (thawed), Domino Backup's C(BackupStartDT) of the backup.
  returned: thawing backup_task
  type: str
deltas:
  description: With backup_task (thawed), the C(.DELTA) files kept for the backup (path, size).
  returned: thawing backup_task
  type: list
  elements: dict
deltas_folder:
  description:
    - With backup_task (thawed), where the C(.DELTA) files of the backup are kept; a copy of the snapshot needs them
      (M(quiesce.domino.snapshot_copy) O(quiesce.domino.snapshot_copy#module:deltas_from)).
  returned: thawing backup_task
  type: str
watchdog:
  description: The armed watchdog (task, deadline_utc, deadline_local, seconds), or null.
  returned: always
  type: dict
crash_consistent:
  description: True when the method is V(none), so a snapshot is only crash-consistent.
  returned: always
  type: bool
killed:
  description: True when Domino did not stop within O(shutdown_timeout) and C(nsd -kill) ended it.
  returned: when it happened
  type: bool
steps:
  description: The host steps that ran (name, status, rc, duration_ms, error).
  returned: when a plan ran
  type: list
  elements: dict
plan:
  description: In check mode, the plan that would run.
  returned: check mode
  type: dict
"""
