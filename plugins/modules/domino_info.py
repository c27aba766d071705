#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: domino_info
short_description: Discover HCL Domino installations on a Windows host and how they can be quiesced
version_added: "0.1.0"
description:
  - Finds every Domino server on the host, partitioned servers included, from the Windows services whose binary is
    C(nservice.exe) (the service name embeds the data directory, so it is discovered, never assumed), the
    C(HKLM\SOFTWARE\Lotus\Domino) registry keys and each server's C(notes.ini).
  - Reports per installation the service name and state, program and data directories, C(notes.ini) path,
    transaction-log settings (C(TRANSLOG_Status), C(TRANSLOG_Style), C(TRANSLOG_Path)), version, the volumes
    its data lives on, whether the server answers console commands (C(nserver.exe -c "show server")), whether the
    C(backup) and C(backupvss) tasks run (C(show tasks)), which quiesce methods are possible and why not, the
    recommended one, and whether it is frozen now (by a watchdog task of M(quiesce.domino.backup_mode), a hold of
    the backup task hook, or a stopped service).
  - Discovery is one constant PowerShell command (CIM, registry, files; no user value is put into it) and one
    call that runs the console commands. Never changes anything; runs in check mode.
author:
  - quiesce.domino contributors (@quiesce-domino)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - quiesce.domino.windows_action
options:
  allow_downtime:
    description: Whether C(recommended_method) may be V(shutdown) (see M(quiesce.domino.snapshot) O(quiesce.domino.snapshot#module:allow_downtime)).
    type: bool
    default: false
attributes:
  async:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Methods, from least to most disruptive, V(vss_writer) (Domino 12.0.2+ on Windows Server 2019/2022, not for
    partitioned servers), V(backup_task) (Domino 12.0+, needs the Domino Backup configuration in
    C(docs/backup-task.md)), V(shutdown) (any version), V(none) (crash-consistent). The recommendation never picks
    V(backup_task), whose configuration cannot be seen from outside; choose it explicitly.
  - Console output is parsed in English.
seealso:
  - module: quiesce.domino.backup_mode
"""

EXAMPLES = r"""
- name: Discover Domino
  quiesce.domino.domino_info:
  register: domino

- name: Show the recommended quiesce method of each server
  ansible.builtin.debug:
    msg: "{{ domino.installations | map(attribute='recommended_method') | list }}"
"""

RETURN = r"""
installed:
  description: Whether any Domino server was found.
  returned: success
  type: bool
drives_in_use:
  description: Drive letters in use on the host.
  returned: success
  type: list
  elements: str
partitioned:
  description: Whether the host runs more than one Domino server (partitions).
  returned: success
  type: bool
os:
  description: C(caption), C(build) and C(version) of Windows.
  returned: success
  type: dict
culture:
  description:
    - The host's language as the collection's readers see it. Windows tools print in the UI language of the session
      that runs them, in the OEM code page; every outcome is judged by evidence that does not depend on the language
      (C(sc) by state code, C(robocopy) by position and error code, shadow copies by shape and by C(Win32_ShadowCopy)
      read back after diskshadow, Domino's VSS writer by its ID).
    - When C(supported) is false every method in C(installations[].methods) is impossible with C(reason), so
      M(quiesce.domino.backup_mode) and M(quiesce.domino.snapshot) refuse the host before anything is frozen.
  returned: success
  type: dict
  contains:
    installed_ui_culture:
      description: The language Windows was installed in (C(CultureInfo.InstalledUICulture)), such as C(de-DE).
      type: str
    ui_culture:
      description: The UI culture of the session that runs the tools (C(Get-UICulture)); this decides C(supported).
      type: str
    format_culture:
      description: The format culture for dates and numbers (C(Get-Culture)).
      type: str
    oem_code_page:
      description: The system's OEM code page (registry C(Nls\CodePage\OEMCP)), in which console tools write, such as C(437) or C(850).
      type: int
    supported:
      description:
        - Whether the collection can judge what the tools did on this host. False when the UI culture is unknown, or
          when it is not English and the OEM code page is unknown (the output could not be decoded).
      type: bool
    sentences:
      description:
        - Whether diskshadow prints English here, so that its sentences are read as a hint besides the evidence. When
          false, method V(vss_writer) needs O(quiesce.domino.snapshot#module:domino_writer_id).
      type: bool
    language:
      description: The language part of the UI culture, such as C(en).
      type: str
    reason:
      description: Why the host is supported or not, and what to do.
      type: str
installations:
  description: One entry per Domino server.
  returned: success
  type: list
  elements: dict
  contains:
    service:
      description: Windows service name, such as C(HCL Domino Server (DDominodata)).
      type: str
    state:
      description: Service state (RUNNING, STOPPED, START_PENDING, STOP_PENDING).
      type: str
    program_dir:
      description: Domino program directory (where C(nserver.exe) and C(nsd.exe) are).
      type: str
    data_dir:
      description: Domino data directory.
      type: str
    notes_ini:
      description: Path of the server's C(notes.ini).
      type: str
    version:
      description: Domino version from the registry (or the console).
      type: str
    server_name:
      description: Domino server name.
      type: str
    translog:
      description: C(status), C(style) and C(path) from C(TRANSLOG_Status), C(TRANSLOG_Style), C(TRANSLOG_Path).
      type: dict
    volumes:
      description: Drive letters of every location of the server (C(locations)).
      type: list
      elements: str
    data_volume:
      description: Drive letter of the data directory.
      type: str
    service_account:
      description: The account the Domino service runs as (C(Win32_Service.StartName)); console commands run as it.
      type: str
    service_sid:
      description:
        - The SID of C(service_account) as the host translated it (C(NTAccount.Translate)), or null when it cannot be
          translated. SYSTEM (C(S-1-5-18)), Local Service (C(S-1-5-19)) and Network Service (C(S-1-5-20)) are known by
          it whatever their localized names (C(NT-AUTORITÄT\SYSTEM)); an account whose name is not plain ASCII runs
          console tasks by this SID.
      type: str
      sample: S-1-5-18
    answers:
      description:
        - Whether the server answers, from independent signals (no console command is used, the console refuses other
          OS users), namely the service is Running, C(nserver.exe) runs under the service's C(nservice.exe), and the NRPC
          port (C(nrpc)) accepts a TCP connection.
      type: bool
    answers_by:
      description: Which signals decided C(answers).
      type: str
    nrpc:
      description: Address and port the server listens on for NRPC (notes.ini C(<port>_TcpIpAddress), else 127.0.0.1 and 1352).
      type: list
      elements: raw
    console_log:
      description: Whether Domino writes C(IBM_TECHNICAL_SUPPORT\console.log) in the data directory (where replies to console commands can be read).
      type: bool
    tasks:
      description: C(backup) and C(backupvss), whether those server tasks run (their processes under C(nserver.exe)).
      type: dict
    daos:
      description: C(enabled), C(base_path) (absolute) and C(deferred_delete_days) from notes.ini.
      type: dict
    directory_links:
      description: Directory links (C(.dir) files) in the data directory, with their C(path) and C(target).
      type: list
      elements: dict
    server_id:
      description: The server ID file (notes.ini C(ServerKeyFileName), made absolute).
      type: str
    locations:
      description:
        - Every place the server's data lives, as C(kind) (data, translog, daos, link, notes_ini, server_id), C(path) and
          C(name) (its folder in a copy), that is the data directory, and the transaction log, the DAOS store, directory-link
          targets, notes.ini and the server ID where they lie outside it. The snapshot covers all their volumes.
      type: list
      elements: dict
    warnings:
      description:
        - What makes backups incomplete or unsafe, such as archive-style logging without log backups, or a DAOS
          deferred deletion interval shorter than the backup interval.
      type: list
      elements: str
    methods:
      description: For each of vss_writer, backup_task, shutdown, none, C(possible) and C(why).
      type: dict
    recommended_method:
      description: What method V(auto) takes (vss_writer; shutdown only with O(allow_downtime)), or null when it would fail.
      type: str
    frozen_by:
      description: The method that holds the server now, or null.
      type: str
    watchdog:
      description: The watchdog task of a freeze (name, state, method, seconds, deadline_local, deadline_utc), or null.
      type: dict
    held:
      description: Whether the backup_task integration holds the databases in backup mode now.
      type: bool
    backup_task_setup:
      description:
        - Domino 12.0+, the values to enter in the Snapshot and Restore tabs of the Domino backup configuration
          for this server, with the scripts of the collection's C(files/) copied into C(<program dir>\quiesce)
          (C(docs/backup-task.md)); null for older versions.
      type: dict
"""
