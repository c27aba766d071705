# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Domino console in the server's own security context, and the evidence that a server answers.
Pure functions, no I/O.

Facts, with their published sources:
- Since Domino 11.0.1 FP3 / 12.0 a process running as another OS user than the server cannot use the
  console (``nserver -c``) or start server tasks; HCL's own Windows scripts run ``nserver -c`` as SYSTEM
  with the data directory as working directory (HCL-TECH-SOFTWARE/domino-backup
  ``backup-providers/veeam/domino/windows/backup_domino_snapshot.cmd``: ``psexec -w <data> -d -s``).
  A WinRM administrator is another user than a server running as SYSTEM or Local Service (Domino 14).
  So console commands and ``nsd -kill`` run through a one-shot Task Scheduler task whose principal is the
  account the Domino service runs as (Win32_Service.StartName), with the partition's data directory as
  working directory (Microsoft Task Scheduler schema: Principal UserId/LogonType, Exec WorkingDirectory).
- ``nserver -c`` is not known to print the server's reply on its own stdout (Nashcom's start script reads
  the console log instead): a reply is read from ``IBM_TECHNICAL_SUPPORT\\console.log`` in the data
  directory when Domino writes one, and "the server answers" is decided by independent signals: the
  service state from the service control manager, the server process (nserver.exe under the service's
  nservice.exe) alive, and the NRPC port (1352 unless notes.ini ``<port>_TcpIpAddress`` says otherwise)
  accepting a TCP connection.
"""

from __future__ import annotations

import json
import re
import typing as t
from xml.sax.saxutils import escape as xml_escape

from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

NRPC_PORT = 1352
CONSOLE_LOG = "IBM_TECHNICAL_SUPPORT\\console.log"
# Win32_Service.StartName of the built-in service accounts -> Task Scheduler principal (SID, logon type)
_BUILTIN = {
    "localsystem": ("S-1-5-18", "ServiceAccount"),
    "nt authority\\system": ("S-1-5-18", "ServiceAccount"),
    "nt authority\\localservice": ("S-1-5-19", "ServiceAccount"),
    "nt authority\\local service": ("S-1-5-19", "ServiceAccount"),
    "nt authority\\networkservice": ("S-1-5-20", "ServiceAccount"),
    "nt authority\\network service": ("S-1-5-20", "ServiceAccount"),
}
_ACCOUNT_RE = re.compile(r"^(?:[A-Za-z0-9._-]{1,64}|\.)\\[A-Za-z0-9._ -]{1,64}\$?$|^[A-Za-z0-9._-]{1,64}\$?@[A-Za-z0-9.-]{1,253}$")
# The built-in service accounts by SID, whatever their localized names (Microsoft SQL Server docs "Configure Windows
# Service Accounts and Permissions": NT-AUTORITÄT\LOKALER DIENST, AUTORITE NT\SERVICE RÉSEAU, NT AUTHORITY\СИСТЕМА).
_BUILTIN_SIDS = {"S-1-5-18": "SYSTEM", "S-1-5-19": "Local Service", "S-1-5-20": "Network Service"}
# A SID in its string form (Microsoft "SID Components": S-R-I-S-S...): revision 1, an authority, 1-15 sub-authorities.
_SID_RE = re.compile(r"^S-1-\d{1,13}(?:-\d{1,10}){1,15}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


class ConsoleError(ValueError):
    """The console cannot be reached in the server's context; the message says why."""


def service_sid(value: t.Any) -> t.Optional[str]:
    """The service account's SID as the inventory read it (NTAccount.Translate), or None when it is not one."""
    text = value.strip().upper() if isinstance(value, str) else ""
    return text if _SID_RE.fullmatch(text) else None


def principal(start_name: t.Optional[str], sid: t.Optional[str] = None) -> dict[str, str]:
    """The Task Scheduler principal that runs as the Domino service's own account.  A user account runs with
    LogonType S4U (no stored password; it needs the "Log on as a batch job" right and has no network access,
    which console commands do not need).

    ``sid`` is the account's SID read on the host (inventory: ``StartSid``).  SYSTEM, Local Service and Network
    Service are known by it whatever the name says (Windows localizes their names); an account whose name is not
    plain ASCII (a localized domain, an accented user name) runs by its SID as the task's UserId, so no name the
    collection cannot check goes into the task."""
    name = (start_name or "LocalSystem").strip()
    known = service_sid(sid)
    if known in _BUILTIN_SIDS:
        return {"user_id": known, "logon_type": "ServiceAccount", "account": name}
    builtin = _BUILTIN.get(name.lower())
    if builtin:
        return {"user_id": builtin[0], "logon_type": builtin[1], "account": name}
    if _ACCOUNT_RE.fullmatch(name):
        return {"user_id": name, "logon_type": "S4U", "account": name}
    if known and name and len(name) <= 256 and not _CONTROL_RE.search(name):
        return {"user_id": known, "logon_type": "S4U", "account": name}
    raise ConsoleError("the Domino service runs as %r%s, which is not an account name the collection can use" % (
        name, "" if known else " (its SID could not be read)"))


def runas_xml(who: dict[str, str], argv: t.Sequence[str], working_dir: str, description: str,
              limit_seconds: int) -> str:
    """Task Scheduler XML: run ``argv`` once, when started on demand, as ``who``, in ``working_dir``."""
    return (
        '<?xml version="1.0" encoding="UTF-16"?>\r\n'
        '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">'
        "<RegistrationInfo><Description>%s</Description></RegistrationInfo>"
        "<Triggers /><Principals><Principal id=\"Author\"><UserId>%s</UserId><LogonType>%s</LogonType>"
        "<RunLevel>HighestAvailable</RunLevel></Principal></Principals>"
        "<Settings><MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>"
        "<DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries><StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>"
        "<AllowStartOnDemand>true</AllowStartOnDemand><ExecutionTimeLimit>PT%dS</ExecutionTimeLimit><Enabled>true</Enabled>"
        "</Settings>"
        '<Actions Context="Author"><Exec><Command>%s</Command><Arguments>%s</Arguments>'
        "<WorkingDirectory>%s</WorkingDirectory></Exec></Actions></Task>\r\n"
        % (xml_escape(description), xml_escape(who["user_id"]), xml_escape(who["logon_type"]), int(limit_seconds),
           xml_escape(argv[0]), xml_escape(cli.windows_cmdline(argv[1:])), xml_escape(working_dir)))


# Constant script: register the task, start it, wait until it ended (or the time is up), unregister it,
# and print its result.  The task's XML and name arrive as JSON on standard input, never as code.
RUNAS_SCRIPT = """# quiesce.domino:runas
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$in = [Console]::In.ReadToEnd() | ConvertFrom-Json
$path = '\\quiesce.domino\\run\\'
$started = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
$registered = [DateTime]::Now.AddSeconds(-1)
[void](Register-ScheduledTask -TaskName $in.name -TaskPath $path -Xml $in.xml -Force)
$state = 'Unknown'
try {
    Start-ScheduledTask -TaskName $in.name -TaskPath $path
    $deadline = [DateTime]::UtcNow.AddSeconds([double]$in.seconds)
    do {
        Start-Sleep -Milliseconds 100
        $state = [string](Get-ScheduledTask -TaskName $in.name -TaskPath $path).State
        $info = Get-ScheduledTaskInfo -TaskName $in.name -TaskPath $path
        # Queued or not yet started counts as running: the result is only read once the task has run.
        $pending = ($state -eq 'Running') -or ($state -eq 'Queued') -or ($info.LastRunTime -lt $registered)
    } while ($pending -and [DateTime]::UtcNow -lt $deadline)
    $out = @{ state = $state; last_result = [int64]$info.LastTaskResult; started_ms = $started;
              ended_ms = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds(); timed_out = $pending }
}
finally {
    # ExecutionTimeLimit does not apply to a task started on demand (Microsoft, ITaskSettings): stop it here.
    Stop-ScheduledTask -TaskName $in.name -TaskPath $path -ErrorAction SilentlyContinue
    Unregister-ScheduledTask -TaskName $in.name -TaskPath $path -Confirm:$false -ErrorAction SilentlyContinue
}
ConvertTo-Json -Compress -InputObject $out
if ($out.timed_out) { exit 124 }
if ($out.last_result -ne 0) { exit 1 }
"""


_TASK_SUFFIX_RE = re.compile(r"^[A-Za-z0-9]{1,40}$")


def task_slug(inst: dict[str, t.Any]) -> str:
    """The service name's letters and digits (a task name part)."""
    return re.sub(r"[^A-Za-z0-9]", "", inst["service"])[:60] or "domino"


def runas_step(name: str, tools: dict[str, str], inst: dict[str, t.Any], argv: t.Sequence[str], purpose: str,
               seconds: int = 60, task_suffix: t.Optional[str] = None, **kw: t.Any) -> dict[str, t.Any]:
    """One step: ``argv`` run once as the Domino service's account, in its data directory.  The task is
    ``\\quiesce.domino\\run\\<purpose>-<service>``; RUNAS_SCRIPT registers it with -Force and removes it at the
    end, so a caller that may run while a backup runs (the doctor) passes a ``task_suffix`` of its own (letters
    and digits, such as a random hex string) and never touches the backup's task."""
    if not inst.get("data_dir"):
        raise ConsoleError("the data directory of %s is unknown; its console cannot be used" % inst.get("service"))
    if task_suffix is not None and not _TASK_SUFFIX_RE.fullmatch(task_suffix):
        raise ConsoleError("task suffix %r is not 1-40 letters and digits" % task_suffix)
    who = principal(inst.get("service_account"), inst.get("service_sid"))
    xml = runas_xml(who, argv, inst["data_dir"], "quiesce.domino %s for %s" % (purpose, inst["service"]), seconds + 30)
    task = "%s-%s" % (purpose, task_slug(inst)) + ("-%s" % task_suffix if task_suffix else "")
    data = {"name": task, "xml": xml, "seconds": seconds}
    kw.setdefault("timeout", seconds + 60)
    return planlib.step(name, cli.powershell_argv(tools, RUNAS_SCRIPT), stdin=json.dumps(data), **kw)


def console_command_step(name: str, tools: dict[str, str], inst: dict[str, t.Any], command: str,
                         purpose: str = "console", **kw: t.Any) -> dict[str, t.Any]:
    """``nserver -c "<command>"`` as the server's own account in its data directory.  The command is handed
    to the server; nothing is read from nserver's stdout (the reply, if any, goes to the console log).
    ``purpose`` and ``task_suffix`` name the one-shot task (runas_step)."""
    if any(ch in command for ch in '"\r\n\x00'):
        raise ConsoleError("console command %r holds a quote or a line break" % command)
    return runas_step(name, tools, inst, [tools["nserver"], "-c", command], purpose, **kw)


def nsd_kill_step(name: str, tools: dict[str, str], inst: dict[str, t.Any], **kw: t.Any) -> dict[str, t.Any]:
    """``nsd -kill`` in the partition's data directory, as the server's account: only that partition."""
    return runas_step(name, tools, inst, [tools["nsd"], "-kill"], "nsd", seconds=300, **kw)


# Constant script: end the process tree of one Domino service (its nservice.exe and everything under it), for a
# partitioned server where nsd -kill would end the other partitions too.
KILL_TREE_SCRIPT = """# quiesce.domino:kill-tree
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$in = [Console]::In.ReadToEnd() | ConvertFrom-Json
$svc = @(Get-CimInstance -ClassName Win32_Service | Where-Object { $_.Name -eq $in.service }) | Select-Object -First 1
$killed = @()
if ($null -ne $svc -and [int]$svc.ProcessId -ne 0) {
    $all = @(Get-CimInstance -ClassName Win32_Process | Select-Object ProcessId, ParentProcessId)
    $tree = New-Object System.Collections.ArrayList
    [void]$tree.Add([int]$svc.ProcessId)
    $i = 0
    while ($i -lt $tree.Count) {
        foreach ($p in $all) { if ([int]$p.ParentProcessId -eq $tree[$i] -and -not $tree.Contains([int]$p.ProcessId)) { [void]$tree.Add([int]$p.ProcessId) } }
        $i++
    }
    for ($j = $tree.Count - 1; $j -ge 0; $j--) {
        try { Stop-Process -Id $tree[$j] -Force; $killed += $tree[$j] } catch { }
    }
}
ConvertTo-Json -Compress -InputObject @{ killed = $killed }
"""


def kill_tree_step(name: str, tools: dict[str, str], inst: dict[str, t.Any], **kw: t.Any) -> dict[str, t.Any]:
    kw.setdefault("timeout", 300)
    return planlib.step(name, cli.powershell_argv(tools, KILL_TREE_SCRIPT), stdin=json.dumps({"service": inst["service"]}), **kw)


# ------------------------------------------------------------- evidence

# Constant script: every signal that says whether a Domino server answers, for one service.
STATE_SCRIPT = """# quiesce.domino:domino-state
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$in = [Console]::In.ReadToEnd() | ConvertFrom-Json
$svc = @(Get-CimInstance -ClassName Win32_Service | Where-Object { $_.Name -eq $in.service }) | Select-Object -First 1
$state = $null; $svcPid = 0
if ($null -ne $svc) { $state = [string]$svc.State; $svcPid = [int]$svc.ProcessId }
$procs = @(Get-CimInstance -ClassName Win32_Process | Select-Object Name, ProcessId, ParentProcessId)
$server = @($procs | Where-Object { $_.ParentProcessId -eq $svcPid -and $svcPid -ne 0 -and $_.Name -eq 'nserver.exe' })
$tasks = @()
if ($server.Count -gt 0) {
    $tasks = @($procs | Where-Object { $_.ParentProcessId -eq $server[0].ProcessId } | ForEach-Object { $_.Name })
}
$portOpen = $false
if ($server.Count -gt 0) {
    $client = New-Object System.Net.Sockets.TcpClient
    try { $portOpen = $client.ConnectAsync($in.address, [int]$in.port).Wait(2000) -and $client.Connected } catch { $portOpen = $false }
    finally { $client.Dispose() }
}
$log = Join-Path $in.data_dir $in.console_log
$tail = ''; $size = [int64]-1
if (Test-Path -LiteralPath $log) {
    $size = (Get-Item -LiteralPath $log).Length
    if ($size -gt [int64]$in.offset) {
        $fs = [System.IO.File]::Open($log, 'Open', 'Read', 'ReadWrite')
        try { [void]$fs.Seek([int64]$in.offset, 'Begin'); $tail = (New-Object System.IO.StreamReader($fs)).ReadToEnd() }
        finally { $fs.Dispose() }
        if ($tail.Length -gt 4000) { $tail = $tail.Substring($tail.Length - 4000) }
    }
}
$answers = ($state -eq 'Running') -and ($server.Count -gt 0) -and $portOpen
ConvertTo-Json -Compress -Depth 3 -InputObject @{ service_state = $state; server_process = ($server.Count -gt 0);
    tasks = $tasks; port_open = $portOpen; console_log_size = $size; console_tail = $tail; answers = $answers }
"""
ANSWERS_STDOUT = r'"answers":\s*true'


def nrpc_endpoint(ini: dict[str, str]) -> tuple[str, int]:
    """Where the server listens for NRPC: notes.ini ``<port>_TcpIpAddress=0,<ip>[:<port>]`` of the first port in
    ``Ports=`` (partitioned servers bind their own addresses; HCL admin help "Binding an NRPC port to an IP
    address"; IPv6 as ``[addr]``), else the loopback address and 1352.  0.0.0.0 (every address) is probed on
    the loopback address."""
    ports = [p.strip().lower() for p in (ini.get("ports") or "TCPIP").split(",") if p.strip()]
    for name in ports + sorted(k[: -len("_tcpipaddress")] for k in ini if k.endswith("_tcpipaddress")):
        value = ini.get(name + "_tcpipaddress") or ""
        match = re.fullmatch(r"\s*\d+\s*,\s*(\[[0-9A-Fa-f:.]+\]|[0-9.]{7,15})\s*(?::\s*(\d{1,5}))?\s*", value)
        if match:
            address = match.group(1).strip("[]")
            port = int(match.group(2) or 0) or NRPC_PORT
            return ("127.0.0.1" if address == "0.0.0.0" else address), port
    return "127.0.0.1", NRPC_PORT


def state_step(name: str, tools: dict[str, str], inst: dict[str, t.Any], offset: int = 0, **kw: t.Any) -> dict[str, t.Any]:
    address, port = inst.get("nrpc") or ("127.0.0.1", NRPC_PORT)
    data = {"service": inst["service"], "data_dir": inst.get("data_dir") or "C:\\", "address": address, "port": port,
            "console_log": CONSOLE_LOG, "offset": offset}
    kw.setdefault("timeout", 60)
    return planlib.step(name, cli.powershell_argv(tools, STATE_SCRIPT), stdin=json.dumps(data), **kw)


def parse_state(stdout: t.Optional[str]) -> dict[str, t.Any]:
    """The signals the state script printed, and which of them decided."""
    try:
        doc = cli.parse_json_document(stdout or "")
    except ValueError:
        return {"answers": False, "decided_by": "no readable state"}
    if not isinstance(doc, dict):
        return {"answers": False, "decided_by": "no readable state"}
    tasks = doc.get("tasks") or []
    if isinstance(tasks, str):
        tasks = [tasks]
    out = {"service_state": doc.get("service_state"), "server_process": bool(doc.get("server_process")),
           "port_open": bool(doc.get("port_open")), "tasks": [str(x).lower() for x in tasks],
           "console_log": (doc.get("console_log_size") or -1) >= 0, "console_tail": doc.get("console_tail") or "",
           "answers": bool(doc.get("answers"))}
    missing = [label for label, ok in (("service running", out["service_state"] == "Running"),
                                       ("server process alive", out["server_process"]),
                                       ("NRPC port accepting", out["port_open"])) if not ok]
    out["decided_by"] = ("service running, server process alive, NRPC port accepting" if not missing
                         else "not answering: no " + ", no ".join(missing))
    return out
