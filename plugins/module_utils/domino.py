# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Domino knowledge: discover installations, decide quiesce methods, build freeze and thaw steps.

Pure functions, no I/O.  Facts relied on (tests/sim/README.md names their sources): the service name
embeds the data directory (discover it), ``nserver.exe -c`` runs console commands,
``nsd.exe -kill`` kills all Domino processes of an installation, the ``backupvss`` task needs
Domino 12.0.2+ on Windows Server 2019/2022, Domino Backup (12.0+) calls a "Snapshot start command".
"""

from __future__ import annotations

import datetime
import json
import re
import typing as t
from xml.sax.saxutils import escape as xml_escape

from ansible_collections.quiesce.domino.plugins.module_utils import console
from ansible_collections.quiesce.domino.plugins.module_utils import dominobackup as dbk
from ansible_collections.quiesce.domino.plugins.module_utils import hostlocale
from ansible_collections.quiesce.domino.plugins.module_utils import locations as locs
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import shadow_ledger as ledger
from ansible_collections.quiesce.domino.plugins.module_utils.robocopy import fs_step
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

METHODS = ("vss_writer", "backup_task", "shutdown", "none")
TASK_FOLDER = "quiesce.domino"
WINDOWS_2019_BUILD = 17763
# sc query's state line is "<label> : <code>  <NAME>": the label is translated on localized Windows (STATE,
# STATUS, ...), the numeric code (SERVICE_STATUS.dwCurrentState) and the constant name after it are not (the
# zh-CN capture prints both as on English Windows; tests/unit/data/locale/SOURCES.md).  The state is read by
# the code together with its name, so the type line ("1  KERNEL_DRIVER") and the exit codes ("1077  (0x435)")
# never match.  The patterns use only what .NET's and Python's regular expressions share: both executors
# search them (retry until_stdout).
SERVICE_STATES = {1: "STOPPED", 2: "START_PENDING", 3: "STOP_PENDING", 4: "RUNNING", 5: "CONTINUE_PENDING",
                  6: "PAUSE_PENDING", 7: "PAUSED"}


def sc_state_pattern(code: int) -> str:
    """The until_stdout pattern that holds when sc query reports the state ``code``, in any language."""
    return r":[ \t]*%d[ \t]+%s(?![A-Za-z0-9_])" % (code, SERVICE_STATES[code])


def sc_state(stdout: str) -> t.Optional[str]:
    """The state sc query reports (``RUNNING``, ``STOPPED``, ...), or None when the output shows none."""
    return next((name for code, name in SERVICE_STATES.items() if re.search(sc_state_pattern(code), stdout or "")), None)


STOPPED_RE = sc_state_pattern(1)
RUNNING_RE = sc_state_pattern(4)
STILL_RUNNING_STEP = "Domino is still running"
LETTERS_FREE_STEP = "the exposure drive letters are free"

# Constant discovery script (no user value in it): Domino services with their account, registry, notes.ini
# files, Domino processes, per data directory the directory links, the hold records and whether the NRPC port
# accepts a connection; OS build, volumes and the collection's watchdog tasks, as one JSON document.
DOMINO_INVENTORY_SCRIPT = """# quiesce.domino:domino-inventory
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$services = @(Get-CimInstance -ClassName Win32_Service | Where-Object { $_.PathName -match 'nservice\\.exe' } |
    Select-Object Name, DisplayName, State, PathName, ProcessId, StartName)
function Get-Prop($Object, [string]$Name) {
    $found = $Object.PSObject.Properties[$Name]
    if ($null -eq $found) { return $null }
    return $found.Value
}
$registry = @(Get-ChildItem -Path 'HKLM:\\SOFTWARE\\Lotus' -Recurse -ErrorAction SilentlyContinue |
    ForEach-Object { $p = Get-ItemProperty -LiteralPath $_.PSPath
        @{ key = $_.Name; path = (Get-Prop $p 'Path'); data_path = (Get-Prop $p 'DataPath'); version = (Get-Prop $p 'Version') } })
$ini = @{}
$places = @{}
foreach ($s in $services) {
    if ($s.PathName -notmatch '=([^"]+notes\\.ini)') { continue }
    $f = $Matches[1]
    if (-not (Test-Path -LiteralPath $f)) { continue }
    $text = Get-Content -LiteralPath $f -Raw
    $ini[$f] = $text
    if ($text -notmatch '(?im)^\\s*Directory\\s*=\\s*(.+?)\\s*$') { continue }
    $dir = $Matches[1]
    $hold = Join-Path (Join-Path $dir 'quiesce_domino') 'hold'
    $links = @(Get-ChildItem -LiteralPath $dir -Filter '*.dir' -File -Recurse -Depth 2 -ErrorAction SilentlyContinue |
        ForEach-Object { @{ path = $_.FullName; target = [string]([System.IO.File]::ReadAllLines($_.FullName) | Select-Object -First 1) } })
    $address = '127.0.0.1'; $port = 1352
    if ($text -match '(?im)^\\s*\\w+_TcpIpAddress\\s*=\\s*\\d+\\s*,\\s*([0-9.]+)\\s*(:\\s*(\\d+))?') {
        $address = $Matches[1]; if ($address -eq '0.0.0.0') { $address = '127.0.0.1' }
        if ($null -ne $Matches[3] -and [int]$Matches[3] -ne 0) { $port = [int]$Matches[3] } }
    $open = $false
    if ([string]$s.State -eq 'Running') {
        $client = New-Object System.Net.Sockets.TcpClient
        try { $open = $client.ConnectAsync($address, $port).Wait(1000) -and $client.Connected } catch { $open = $false }
        finally { $client.Dispose() }
    }
    $places[$f] = @{ data_dir = $dir; links = $links; port_open = $open;
        held = ((Test-Path -LiteralPath (Join-Path $hold 'held.json')) -and -not (Test-Path -LiteralPath (Join-Path $hold 'done.json')));
        console_log = (Test-Path -LiteralPath (Join-Path $dir 'IBM_TECHNICAL_SUPPORT\\console.log')) }
}
ConvertTo-Json -Compress -Depth 5 -InputObject @{ services = $services; registry = $registry; ini = $ini; places = $places }
"""
# The host around it: Domino processes, OS build, volumes, drive letters, the collection's tasks, the time, and
# its language: the installed and the session's UI culture, the format culture and the OEM code page
# (hostlocale.parse_culture).
HOST_INVENTORY_SCRIPT = """# quiesce.domino:host-inventory
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$processes = @(Get-CimInstance -ClassName Win32_Process | Where-Object { $_.Name -like 'n*.exe' } |
    Select-Object Name, ProcessId, ParentProcessId)
$os = Get-CimInstance -ClassName Win32_OperatingSystem | Select-Object Caption, Version, BuildNumber, ProductType
$volumes = @(Get-CimInstance -ClassName Win32_Volume | Select-Object DriveLetter, DeviceID, FileSystem)
$tasks = @(Get-ScheduledTask -TaskPath '\\quiesce.domino\\' -ErrorAction SilentlyContinue |
    ForEach-Object { $first = @($_.Triggers) | Select-Object -First 1
        $start = ''; if ($null -ne $first) { $start = [string]$first.StartBoundary }
        @{ name = $_.TaskName; description = $_.Description; state = [string]$_.State; start = $start } })
$drives = @([System.IO.DriveInfo]::GetDrives() | ForEach-Object { $_.Name.Substring(0, 2) })
$now = [DateTime]::UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", [System.Globalization.CultureInfo]::InvariantCulture)
$nls = Get-ItemProperty -LiteralPath 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Nls\\CodePage' -ErrorAction SilentlyContinue
$oemcp = $null
if ($null -ne $nls -and $null -ne $nls.PSObject.Properties['OEMCP']) { $oemcp = [string]$nls.PSObject.Properties['OEMCP'].Value }
$culture = @{ installed_ui = [System.Globalization.CultureInfo]::InstalledUICulture.Name; ui = (Get-UICulture).Name;
    format = (Get-Culture).Name; oem_code_page = $oemcp }
ConvertTo-Json -Compress -Depth 4 -InputObject @{ processes = $processes; os = $os; volumes = $volumes; watchdogs = $tasks;
    drives = $drives; now_utc = $now; culture = $culture }
"""


class DominoError(ValueError):
    """Discovery or a method decision cannot go on; the message says why."""


# ------------------------------------------------------------------ parsing

def parse_ini(text: str) -> dict[str, str]:
    """notes.ini -> {lower-case key: value}; section headers are ignored."""
    values: dict[str, str] = {}
    for raw in (text or "").replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line or line.startswith((";", "[")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values.setdefault(key.strip().lower(), value.strip())
    return values


def version_tuple(text: t.Optional[str]) -> tuple[int, ...]:
    """``12.0.2 FP1`` -> (12, 0, 2); unknown -> ()."""
    match = re.search(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", text or "")
    if not match:
        return ()
    return tuple(int(part) for part in match.groups() if part is not None)


def _service_paths(path_name: str) -> tuple[t.Optional[str], t.Optional[str]]:
    """``"C:\\...\\nservice.exe" "=D:\\data\\notes.ini"`` -> (program dir, notes.ini path)."""
    program = None
    match = re.search(r'"?([A-Za-z]:\\[^"]*?)\\nservice\.exe"?', path_name or "", re.I)
    if match:
        program = match.group(1)
    ini = None
    match = re.search(r'=\s*"?([A-Za-z]:\\[^"]+?notes\.ini)"?', path_name or "", re.I)
    if match:
        ini = match.group(1)
    return program, ini


def _as_list(value: t.Any) -> list[t.Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def slug(service: str) -> str:
    """A registry- and task-name-safe id of a Domino service: letters and digits only."""
    text = re.sub(r"[^A-Za-z0-9]", "", service)[:60]
    if not text:
        raise DominoError("service name %r has no letters or digits" % service)
    return text


def parse_watchdog_description(text: str) -> dict[str, str]:
    """``quiesce.domino watchdog; method=shutdown; seconds=300; service=...`` -> fields."""
    fields = {}
    for part in (text or "").split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            fields[key.strip()] = value.strip()
    return fields


def _process_tree(processes: list[dict[str, t.Any]], service_pid: t.Optional[int]) -> tuple[bool, list[str]]:
    """Whether nserver.exe runs under the service's nservice.exe, and the names of its task processes."""
    if not service_pid:
        return False, []
    server = next((p for p in processes if p.get("ParentProcessId") == service_pid
                   and str(p.get("Name") or "").lower() == "nserver.exe"), None)
    if server is None:
        return False, []
    return True, sorted(str(p.get("Name") or "").lower() for p in processes if p.get("ParentProcessId") == server.get("ProcessId"))


def answers_by(state: str, alive: bool, port_open: bool) -> str:
    """Which signals decided whether the server answers."""
    if state == "RUNNING" and alive and port_open:
        return "service running, server process alive, NRPC port accepting"
    missing = [label for label, ok in (("service %s" % (state or "unknown"), state == "RUNNING"),
                                       ("no server process", alive), ("NRPC port closed", port_open)) if not ok]
    return "not answering: " + ", ".join(missing)


def parse_inventory(text: str) -> dict[str, t.Any]:
    """The JSON of DOMINO_INVENTORY_SCRIPT -> os, installations (with the evidence that each answers) and watchdogs."""
    doc = cli.parse_json_document(text)
    os_info = doc.get("os") or {}
    build = int(str(os_info.get("BuildNumber") or 0)) if str(os_info.get("BuildNumber") or "0").isdigit() else 0
    registry = _as_list(doc.get("registry"))
    ini_files = {k.lower(): v for k, v in (doc.get("ini") or {}).items()}
    places = {k.lower(): v for k, v in (doc.get("places") or {}).items()}
    processes = [p for p in _as_list(doc.get("processes")) if isinstance(p, dict)]
    watchdogs = {}
    for task in _as_list(doc.get("watchdogs")):
        fields = parse_watchdog_description(task.get("description") or "")
        if fields.get("service"):
            watchdogs[fields["service"].lower()] = {"name": task.get("name"), "state": task.get("state"),
                                                    "deadline_local": task.get("start"),
                                                    "method": fields.get("method"),
                                                    "deadline_utc": fields.get("deadline_utc"),
                                                    "seconds": int(fields["seconds"]) if fields.get("seconds", "").isdigit() else None}
    installs = []
    for svc in _as_list(doc.get("services")):
        program, ini_path = _service_paths(svc.get("PathName") or "")
        ini = parse_ini(ini_files.get((ini_path or "").lower(), ""))
        place = places.get((ini_path or "").lower()) or {}
        data_dir = ini.get("directory")
        reg = next((r for r in registry if data_dir and (r.get("data_path") or "").lower() == data_dir.lower()), None)
        if reg is None:
            reg = next((r for r in registry if program and (r.get("path") or "").lower() == program.lower()), None)
        data_dir = data_dir or (reg or {}).get("data_path")
        name = svc.get("Name") or ""
        state = (svc.get("State") or "").upper().replace(" ", "_")
        alive, task_names = _process_tree(processes, svc.get("ProcessId") or None)
        if not alive and len(_as_list(doc.get("services"))) == 1 and state == "RUNNING":
            # nserver.exe under nservice.exe is not documented: with one installation any nserver.exe is its server
            server = [p for p in processes if str(p.get("Name") or "").lower() == "nserver.exe"]
            alive = bool(server)
            task_names = sorted(str(p.get("Name") or "").lower() for p in processes
                                if server and p.get("ParentProcessId") == server[0].get("ProcessId"))
        port_open = bool(place.get("port_open"))
        links = [link for link in _as_list(place.get("links")) if isinstance(link, dict)]
        locations = locs.server_locations(data_dir, ini, ini_path, links)
        deferred = ini.get("daosdeferreddeleteinterval")
        installs.append({
            "service": name,
            "display_name": svc.get("DisplayName"),
            "state": state,
            "pid": svc.get("ProcessId") or None,
            "service_account": svc.get("StartName") or "LocalSystem",
            "program_dir": program,
            "data_dir": data_dir,
            "notes_ini": ini_path,
            "version": (reg or {}).get("version"),
            "server_name": ini.get("servername"),
            "translog": {"status": ini.get("translog_status"), "style": ini.get("translog_style"),
                         "style_name": {"0": "circular", "1": "archive", "2": "linear"}.get(ini.get("translog_style") or "")
                         if ini.get("translog_status") == "1" else None,
                         "path": locs.absolute(ini.get("translog_path"), data_dir)},
            "daos": {"enabled": ini.get("daosenable") == "1",
                     "base_path": locs.absolute(ini.get("daosbasepath") or "DAOS", data_dir) if ini.get("daosenable") == "1" else None,
                     "deferred_delete_days": int(deferred) if (deferred or "").isdigit() else None},
            "directory_links": links,
            "server_id": locs.absolute(ini.get("serverkeyfilename"), data_dir),
            "locations": locations,
            "volumes": sorted({loc["path"][0].upper() + ":" for loc in locations if re.match(r"^[A-Za-z]:", loc["path"])}),
            "data_volume": data_dir[0].upper() + ":" if data_dir and re.match(r"^[A-Za-z]:", data_dir) else None,
            "nrpc": list(console.nrpc_endpoint(ini)),
            "console_log": bool(place.get("console_log")),
            "server_process": alive,
            "port_open": port_open,
            "answers": state == "RUNNING" and alive and port_open,
            "answers_by": answers_by(state, alive, port_open),
            "tasks": {"backup": "nbackup.exe" in task_names, "backupvss": "nbackupvss.exe" in task_names},
            "watchdog": watchdogs.get(name.lower()),
            # the backup_task hook holds the databases now (held.json without done.json in the data directory)
            "held": bool(place.get("held")),
        })
    for inst in installs:
        inst["partitioned"] = len(installs) > 1
    return {"os": {"caption": os_info.get("Caption"), "build": build, "version": os_info.get("Version")},
            "installations": installs, "partitioned": len(installs) > 1, "now_utc": doc.get("now_utc"),
            "drives_in_use": sorted({str(d).upper()[:2] for d in _as_list(doc.get("drives"))}),
            "culture": hostlocale.parse_culture(doc.get("culture"))}


def backup_warnings(inst: dict[str, t.Any], interval_days: float = 1.0) -> list[str]:
    """What makes backups of this server incomplete or unsafe, as the admin help warns."""
    out = []
    translog = inst.get("translog") or {}
    if translog.get("status") == "1" and translog.get("style") == "1":
        out.append("archive-style transaction logging is on: nothing in quiesce.domino backs up or frees the archived "
                   "log extents; without a transaction log backup (Domino Backup with -t, or your backup software) the "
                   "log disk fills and the server panics")
    daos = inst.get("daos") or {}
    days = daos.get("deferred_delete_days")
    if daos.get("enabled") and (days is None or days < interval_days):
        out.append("DAOS deferred deletion interval is %s days, shorter than the backup interval (%g days): a restored "
                   "database can reference attachments (.nlo) already deleted"
                   % (days if days is not None else "not set (0)", interval_days))
    return out


# ------------------------------------------------------------------ methods

def possible_methods(inst: dict[str, t.Any], os_build: int, partitioned: bool) -> dict[str, dict[str, t.Any]]:
    """Each method -> {possible, why}; ``why`` says what is missing when it is not possible."""
    version = version_tuple(inst.get("version"))
    has_service = bool(inst.get("service"))
    out: dict[str, dict[str, t.Any]] = {}
    reasons = []
    if version < (12, 0, 2):
        reasons.append("needs Domino 12.0.2 or later (found %s)" % (inst.get("version") or "unknown"))
    if os_build < WINDOWS_2019_BUILD:
        reasons.append("needs Windows Server 2019 or 2022 (build %d)" % os_build)
    if partitioned:
        reasons.append("partitioned server: the VSS writer serves only one partition; choose another method")
    if not inst.get("data_volume"):
        reasons.append("data directory not found")
    # HCL's limit is about databases: all on one disk, no links to other disks.  The transaction log and the DAOS
    # store (no databases) may live elsewhere; their volumes join the shadow copy set.
    database_volumes = sorted({str(loc["path"])[:2].upper() for loc in inst.get("locations") or []
                               if loc.get("kind") in ("data", "link") and re.match(r"^[A-Za-z]:", str(loc.get("path") or ""))})
    if len(database_volumes) > 1:
        reasons.append("the server keeps databases on several volumes (%s, through directory links); the VSS writer "
                       "supports all databases on one disk, no links to other disks" % ", ".join(database_volumes))
    out["vss_writer"] = {"possible": not reasons, "why": "; ".join(reasons) or "backupvss VSS writer"}
    if version < (12, 0):
        out["backup_task"] = {"possible": False, "why": "needs Domino 12.0 or later (found %s)" % (inst.get("version") or "unknown")}
    else:
        why = ("Domino Backup in snapshot mode with the collection's integration as Snapshot start and Backup snapshot "
               "command (docs/backup-task.md)")
        out["backup_task"] = {"possible": True, "why": why}
    out["shutdown"] = {"possible": has_service, "why": "stop the service, snapshot, start" if has_service
                       else "no Domino Windows service found"}
    out["none"] = {"possible": True, "why": "crash-consistent snapshot, Domino is not quiesced"}
    return out


ONLINE_METHODS = ("vss_writer", "backup_task")


def recommended_method(methods: dict[str, dict[str, t.Any]], allow_downtime: bool = False) -> t.Optional[str]:
    """The least disruptive possible method that keeps Domino serving users: vss_writer.  backup_task needs the
    admin's Domino Backup configuration, which cannot be seen from outside, so auto never guesses it; shutdown
    only when downtime is allowed.  None: no method auto may choose."""
    if methods["vss_writer"]["possible"]:
        return "vss_writer"
    if allow_downtime and methods["shutdown"]["possible"]:
        return "shutdown"
    return None


def choose_method(requested: str, methods: dict[str, dict[str, t.Any]], allow_downtime: bool = False) -> str:
    if requested == "auto":
        chosen = recommended_method(methods, allow_downtime)
        if chosen is None:
            raise DominoError(
                "method: auto found no method that keeps Domino online (vss_writer: %s); choose one: method=backup_task "
                "when Domino Backup is configured with the collection's integration (docs/backup-task.md), "
                "allow_downtime=true to let auto stop and start Domino (method shutdown), or method=none for a "
                "crash-consistent snapshot" % methods["vss_writer"]["why"])
        return chosen
    if requested not in methods:
        raise DominoError("method: %r is not one of auto, %s" % (requested, ", ".join(METHODS)))
    if not methods[requested]["possible"]:
        raise DominoError("method: %s is not possible on this server: %s" % (requested, methods[requested]["why"]))
    return requested


def frozen_state(inst: dict[str, t.Any], now_utc: t.Optional[str]) -> t.Optional[str]:
    """The method that holds this server now, or None.  A freeze is recorded by its watchdog task;
    one whose deadline has passed has fired (or is firing) and no longer holds Domino."""
    watchdog = inst.get("watchdog") or {}
    if not watchdog.get("method") or (watchdog.get("state") or "").lower() not in ("ready", "running"):
        return None
    if now_utc and watchdog.get("deadline_utc") and watchdog["deadline_utc"] <= now_utc:
        return None
    return watchdog["method"]


def thaw_method(inst: dict[str, t.Any], now_utc: t.Optional[str]) -> t.Optional[str]:
    """What a thaw must undo: the recorded freeze (the watchdog task), or a hold of the backup_task hook."""
    recorded = frozen_state(inst, now_utc)
    if recorded:
        return recorded
    if inst.get("held"):
        return "backup_task"
    watchdog = inst.get("watchdog") or {}
    if watchdog.get("method") == "shutdown" and inst.get("state") in ("STOPPED", "STOP_PENDING"):
        # Our own freeze, whose watchdog fired (its deadline passed) and did not bring Domino back: ours to start.
        return "shutdown"
    # A stopped server without a record of our freeze was stopped by someone else (an administrator, on
    # purpose): it is not ours to start.
    return None


def select_installation(installs: list[dict[str, t.Any]], service: t.Optional[str]) -> dict[str, t.Any]:
    if not installs:
        raise DominoError("no Domino server is installed on this host (no Windows service runs nservice.exe)")
    if service is None:
        if len(installs) > 1:
            raise DominoError("service: this host has %d Domino servers (%s); name one"
                              % (len(installs), ", ".join(i["service"] for i in installs)))
        return installs[0]
    for inst in installs:
        if inst["service"].lower() == service.lower():
            return inst
    raise DominoError("service: %r is not a Domino service on this host; found %s"
                      % (service, ", ".join(i["service"] for i in installs)))


# --------------------------------------------------------------- watchdog

def task_name(inst: dict[str, t.Any]) -> str:
    return "\\%s\\watchdog-%s" % (TASK_FOLDER, slug(inst["service"]))


def watchdog_xml(inst: dict[str, t.Any], method: str, seconds: int, actions: t.Sequence[t.Sequence[str]]) -> str:
    """Task Scheduler XML: run ``actions`` (argv lists) as SYSTEM at the deadline (host local time,
    substituted by the executor), so no locale-dependent /SD /ST arguments are needed."""
    execs = "".join(
        "<Exec><Command>%s</Command><Arguments>%s</Arguments></Exec>" % (xml_escape(a[0]), xml_escape(cli.windows_cmdline(a[1:])))
        for a in actions)
    description = "quiesce.domino watchdog; method=%s; seconds=%d; deadline_utc=%s; service=%s" % (
        method, seconds, planlib.DEADLINE_UTC_TOKEN, inst["service"])
    return (
        '<?xml version="1.0" encoding="UTF-16"?>\r\n'
        '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">'
        "<RegistrationInfo><Description>%s</Description></RegistrationInfo>"
        "<Triggers><TimeTrigger><StartBoundary>%s</StartBoundary><Enabled>true</Enabled></TimeTrigger></Triggers>"
        '<Principals><Principal id="Author"><UserId>S-1-5-18</UserId><RunLevel>HighestAvailable</RunLevel>'
        "</Principal></Principals>"
        "<Settings><MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy><StartWhenAvailable>true</StartWhenAvailable>"
        "<DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries><StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>"
        "<ExecutionTimeLimit>PT30M</ExecutionTimeLimit><Enabled>true</Enabled></Settings>"
        '<Actions Context="Author">%s</Actions></Task>\r\n'
        % (xml_escape(description), planlib.DEADLINE_LOCAL_TOKEN, execs))


# ------------------------------------------------------------- freeze / thaw

def release_argvs(inst: dict[str, t.Any], method: str, tools: dict[str, str]) -> list[list[str]]:
    """What releases Domino: the thaw's core, the rescue of a failed freeze, the watchdog's action."""
    if method == "shutdown":
        return [[tools["sc"], "start", inst["service"]]]
    if method == "backup_task":
        return [dbk.release_argv(tools, inst["data_dir"])]
    return []


def arm_steps(inst: dict[str, t.Any], tools: dict[str, str]) -> list[dict[str, t.Any]]:
    return [planlib.step("arm watchdog", [tools["schtasks"], "/Create", "/TN", task_name(inst), "/XML",
                                          planlib.file_ref("watchdog.xml"), "/F"], timeout=60)]


def disarm_step(inst: dict[str, t.Any], tools: dict[str, str]) -> dict[str, t.Any]:
    # A task that already fired and is gone is fine: the exit code does not decide.
    return planlib.step("disarm watchdog", [tools["schtasks"], "/Delete", "/TN", task_name(inst), "/F"],
                        timeout=60, ok_rc="any")


ANSWERS_STEP = "wait until the server answers"
KILL_STEP = "nsd -kill after the deadline"
HELD_STEP = dbk.HELD_STEP
DONE_STEP = dbk.DONE_STEP
DELTAS_STEP = dbk.DELTAS_STEP
# How long a thaw follows Domino Backup, after the hook let go, taking every database out of backup mode,
# writing the .DELTA files and starting the Backup snapshot command: only to measure the freeze window and
# report the deltas.  snapshot_copy waits for the deltas itself (delta_timeout) and fails without them.
LEAVE_SECONDS = 20


def backup_task_end_steps(inst: dict[str, t.Any], tools: dict[str, str], within: int, strict: bool) -> list[dict[str, t.Any]]:
    """Release the hold and follow Domino out of backup mode: the hook let go (done.json), then the
    collector kept the delta files (collected.json).  ``strict``: a hook that does not let go fails."""
    return [
        # fsutil fails when the release file exists (the watchdog or diskshadow's release.cmd came first): the hook's
        # done.json, not this exit code, says whether Domino was released.
        planlib.step(dbk.RELEASE_STEP, dbk.release_argv(tools, inst["data_dir"]), ok_rc="any", timeout=60),
        dbk.hold_step(DONE_STEP, tools, inst["data_dir"], "wait_done", within, allow_failure=not strict),
        dbk.hold_step(DELTAS_STEP, tools, inst["data_dir"], "wait_deltas", LEAVE_SECONDS, allow_failure=True),
    ]


# backup_task inside one diskshadow run: diskshadow starts (VSS initialised) while Domino Backup is still
# starting, runs wait.cmd until the hook holds the databases, creates at once, and runs release.cmd the
# moment the shadow copies exist (before expose, before it exits). The thaw's release is the fallback.
WAIT_CMD = "wait.cmd"
RELEASE_CMD = "release.cmd"
WAIT_CMD_PATH = planlib.PLAN_DIR_TOKEN + "\\" + WAIT_CMD
RELEASE_CMD_PATH = planlib.PLAN_DIR_TOKEN + "\\" + RELEASE_CMD


def freeze_steps(inst: dict[str, t.Any], method: str, tools: dict[str, str], shutdown_timeout: int,
                 hold_timeout: int) -> list[dict[str, t.Any]]:
    svc = inst["service"]
    if method == "shutdown":
        query = [tools["sc"], "query", svc]
        return [
            planlib.step("stop Domino service", [tools["sc"], "stop", svc], ok_rc="any", timeout=60),
            planlib.step("wait until stopped", query, ok_rc="any", allow_failure=True,
                         retry=planlib.retry_until(shutdown_timeout, 0.5, until_stdout=STOPPED_RE)),
            # nsd -kill ends every Domino process of the installation; no source limits it to one partition, so
            # on a partitioned host only this service's own process tree is ended.
            (console.kill_tree_step if inst.get("partitioned") else console.nsd_kill_step)(
                KILL_STEP, tools, inst, ok_rc="any", only_if_failed="wait until stopped"),
            planlib.step("wait until stopped after kill", query, ok_rc="any", only_if_failed="wait until stopped",
                         retry=planlib.retry_until(60, 1.0, until_stdout=STOPPED_RE)),
        ]
    if method == "backup_task":
        # Snapshot mode (-s): without it Domino Backup copies database by database and never runs the hook.
        return [
            dbk.hold_step(dbk.RESET_STEP, tools, inst["data_dir"], "reset"),
            console.console_command_step("start Domino Backup", tools, inst, dbk.LOAD_COMMAND),
            dbk.hold_step(HELD_STEP, tools, inst["data_dir"], "wait_held", hold_timeout),
        ]
    if method == "vss_writer":
        steps = []
        if not (inst.get("tasks") or {}).get("backupvss"):
            steps.append(console.console_command_step("load backupvss", tools, inst, "load backupvss"))
        # the task's process under the server's nserver.exe; its image name is inferred, so not finding it is not
        # fatal: the shadow copy creation itself must show the Domino writer (writer verify / the transcript)
        steps.append(console.state_step("wait until backupvss runs", tools, inst, ok_rc="any", allow_failure=True,
                                        retry=planlib.retry_until(60, 1.0, until_rc=[0],
                                                                  until_stdout=r'(?i)"nbackupvss\.exe"')))
        return steps
    return []


def thaw_steps(inst: dict[str, t.Any], method: str, tools: dict[str, str], start_timeout: int) -> list[dict[str, t.Any]]:
    svc = inst["service"]
    if method == "shutdown":
        return [
            planlib.step("start Domino service", [tools["sc"], "start", svc], ok_rc="any", timeout=60),
            planlib.step("wait until running", [tools["sc"], "query", svc], ok_rc="any",
                         retry=planlib.retry_until(start_timeout, 0.5, until_stdout=RUNNING_RE)),
            console.state_step(ANSWERS_STEP, tools, inst, ok_rc="any",
                               retry=planlib.retry_until(start_timeout, 0.5, until_rc=[0], until_stdout=console.ANSWERS_STDOUT)),
        ]
    if method == "backup_task":
        return backup_task_end_steps(inst, tools, 120, strict=True)
    return []


RESCUE_RELEASE_STEP = "release after a failed freeze"
RESCUE_EVIDENCE_STEP = "Domino is released"


def freeze_plan(inst: dict[str, t.Any], method: str, tools: dict[str, str], platform: str, watchdog_seconds: int,
                shutdown_timeout: int, hold_timeout: int, start_timeout: int = 300) -> dict[str, t.Any]:
    """One call: arm the watchdog, freeze; on failure release and disarm; the watchdog stays armed
    (no disarm) until the thaw plan removes it."""
    if method not in ("shutdown", "backup_task", "vss_writer"):
        raise DominoError("method %s has nothing to freeze" % method)
    steps = freeze_steps(inst, method, tools, shutdown_timeout, hold_timeout)
    if method == "vss_writer":
        return planlib.build_plan("prepare vss writer", platform, steps)
    rescue = [planlib.step(RESCUE_RELEASE_STEP, argv, ok_rc="any", timeout=120) for argv in release_argvs(inst, method, tools)]
    # The watchdog is disarmed only on evidence that Domino was released: the service RUNNING again (shutdown),
    # the hook's done.json (backup_task).  Without it the watchdog stays armed and releases Domino by its deadline.
    if method == "shutdown":
        rescue.append(planlib.step(RESCUE_EVIDENCE_STEP, [tools["sc"], "query", inst["service"]], ok_rc="any",
                                   retry=planlib.retry_until(start_timeout, 0.5, until_stdout=RUNNING_RE)))
    else:
        # the hook does not hold the databases: it never took them (no held.json) or it let go (done.json)
        rescue.append(dict(fs_step(RESCUE_EVIDENCE_STEP, tools, "taken_in_backup_mode", {"root": inst["data_dir"]}),
                           retry=planlib.retry_until(120, 1.0, until_rc=[0])))
    rescue.append(dict(disarm_step(inst, tools), only_if_ok=RESCUE_EVIDENCE_STEP))
    xml = watchdog_xml(inst, method, watchdog_seconds, release_argvs(inst, method, tools))
    return planlib.build_plan(
        "freeze %s" % method, platform, steps, rescue=rescue,
        files={"watchdog.xml": planlib.plan_file(xml, encoding="utf-16le-bom", template=True)},
        watchdog={"seconds": watchdog_seconds, "arm": arm_steps(inst, tools), "disarm": []})


def thaw_plan(inst: dict[str, t.Any], method: str, tools: dict[str, str], platform: str,
              start_timeout: int) -> dict[str, t.Any]:
    """Release, wait until Domino is really back, then disarm (a failed thaw keeps the watchdog)."""
    steps = thaw_steps(inst, method, tools, start_timeout) + [disarm_step(inst, tools)]
    return planlib.build_plan("thaw %s" % method, platform, steps)


def info_plan(tools: dict[str, str], platform: str) -> dict[str, t.Any]:
    return planlib.build_plan("domino inventory", platform, [
        planlib.step("discover Domino", cli.powershell_argv(tools, DOMINO_INVENTORY_SCRIPT), timeout=120),
        planlib.step("discover the host", cli.powershell_argv(tools, HOST_INVENTORY_SCRIPT), timeout=120)],
        check_mode_safe=True)


def inventory_text(domino_stdout: str, host_stdout: str) -> str:
    """The two inventory documents as one (what parse_inventory reads)."""
    doc = dict(cli.parse_json_document(domino_stdout))
    doc.update(cli.parse_json_document(host_stdout))
    return json.dumps(doc)


def frozen_ms(watchdog: t.Optional[dict[str, t.Any]]) -> t.Optional[int]:
    """When the freeze armed its watchdog: the UTC deadline in the task description minus its seconds
    (both written on the host clock, so controller clock and time zone do not matter)."""
    if not watchdog or not watchdog.get("deadline_utc") or not watchdog.get("seconds"):
        return None
    try:
        deadline = datetime.datetime.strptime(watchdog["deadline_utc"], "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    deadline = deadline.replace(tzinfo=datetime.timezone.utc)
    return int((deadline.timestamp() - int(watchdog["seconds"])) * 1000)


def iso_ms(ms: t.Optional[int]) -> t.Optional[str]:
    if ms is None:
        return None
    return datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ---------------------------------------------------------------- snapshot

CREATE_STEP = "create shadow copy"
STALE_STEP = "delete a stale exposed shadow copy"
PREFLIGHT_STEP = "check free space"


def release_cleanup_steps(inst: dict[str, t.Any], method: str, tools: dict[str, str],
                          start_timeout: int) -> list[dict[str, t.Any]]:
    """The thaw of a one-call snapshot, safe to run whatever the freeze reached (finally)."""
    if method == "backup_task":
        return backup_task_end_steps(inst, tools, 60, strict=False)
    return thaw_steps(inst, method, tools, start_timeout)


def snapshot_plan(inst: dict[str, t.Any], method: str, tools: dict[str, str], platform: str, script: str,
                  watchdog_seconds: int, shutdown_timeout: int, start_timeout: int, hold_timeout: int,
                  create_timeout: int, stale_script: t.Optional[str] = None, stale_at: t.Optional[str] = None,
                  lock_steps: t.Optional[tuple[dict[str, t.Any], dict[str, t.Any]]] = None,
                  preflight: t.Sequence[dict[str, t.Any]] = (), expose_letters: t.Sequence[str] = ()) -> dict[str, t.Any]:
    """One remote call: arm the watchdog, freeze, create the shadow copy, thaw (finally), disarm.
    With ``stale_script`` a shadow copy left exposed at ``stale_at`` by an earlier run is deleted first (before any
    freeze), only when the ledger says it is the collection's own: another program's is never deleted."""
    # Guards: the host lock first, then the checks that may take long.  A run refused by the lock (or a failed
    # check) arms no watchdog, freezes nothing and releases nothing: only its rescue (giving back a lock it
    # took; the release checks the owner) runs.  The watchdog's deadline counts from after the guards.
    guard = [lock_steps[0]] if lock_steps else []
    if method in ("shutdown", "backup_task", "vss_writer"):
        # The facts may be older than this call (a registered domino_info): a server its administrator stopped
        # meanwhile is not ours to stop, hold or start; the plan is refused before anything is touched.
        guard.append(planlib.step(STILL_RUNNING_STEP, [tools["sc"], "query", inst["service"]], ok_rc="any",
                                  retry=planlib.retry_until(3, 1.0, until_stdout=RUNNING_RE), timeout=30))
    guard += list(preflight)
    steps: list[dict[str, t.Any]] = []
    rescue = [lock_steps[1]] if lock_steps else []  # a failed snapshot frees its own lock (owner checked)
    files = {"create.dsh": planlib.plan_file(script, encoding="ascii")}
    if stale_script:
        if not stale_at:
            raise DominoError("a stale exposure is replaced only where its owner was checked: stale_at is missing")
        guard.append(ledger.exposure_owner_step(tools, stale_at))
        files["stale.dsh"] = planlib.plan_file(stale_script, encoding="ascii")
        guard.append(planlib.step(STALE_STEP, [tools["diskshadow"], "/s", planlib.file_ref("stale.dsh")], ok_rc="any",
                                  timeout=create_timeout))
    if expose_letters:
        # The letters were free when the facts were read; one taken since (a mapped drive, another tool's exposure)
        # would fail the expose after the freeze: refused before anything is touched instead.
        guard.append(fs_step(LETTERS_FREE_STEP, tools, "letters_free", {"letters": list(expose_letters)}, timeout=60))
    if method == "backup_task":
        # diskshadow itself waits for the hold (wait.cmd) and releases it (release.cmd): see WAIT_CMD.
        if WAIT_CMD_PATH not in script or RELEASE_CMD_PATH not in script:
            raise DominoError("a backup_task snapshot script must exec %s and %s" % (WAIT_CMD_PATH, RELEASE_CMD_PATH))
        steps += [step for step in freeze_steps(inst, method, tools, shutdown_timeout, hold_timeout) if step["name"] != HELD_STEP]
        files["create.dsh"]["template"] = True
        wait, hold_input = dbk.wait_cmd_file(tools, inst["data_dir"], hold_timeout)
        files[WAIT_CMD] = planlib.plan_file(wait, encoding="ascii", template=True)
        files[dbk.HOLD_INPUT] = planlib.plan_file(hold_input, encoding="ascii")
        files[RELEASE_CMD] = planlib.plan_file(dbk.release_cmd_file(tools, inst["data_dir"]), encoding="ascii")
        create_timeout += hold_timeout
    elif method != "none":
        steps += freeze_steps(inst, method, tools, shutdown_timeout, hold_timeout)
    steps.append(planlib.step(CREATE_STEP, [tools["diskshadow"], "/s", planlib.file_ref("create.dsh")],
                              timeout=create_timeout))
    # First in finally (a second or two, before the thaw, whose Domino start can take minutes: a connection lost
    # during it must not leave the shadow copies unrecorded): the shadow copies the create step made go into the
    # host's ledger, even when the step failed after creating them, so cleanup can tell them from other
    # software's (shadow_ledger.py).
    own = [ledger.record_step(tools, CREATE_STEP)]
    if method not in ("shutdown", "backup_task"):
        return planlib.build_plan("snapshot %s" % method, platform, steps, files=files, rescue=rescue, guard=guard,
                                  finally_steps=own)
    files["watchdog.xml"] = planlib.plan_file(watchdog_xml(inst, method, watchdog_seconds, release_argvs(inst, method, tools)),
                                              encoding="utf-16le-bom", template=True)
    return planlib.build_plan(
        "snapshot %s" % method, platform, steps, rescue=rescue, guard=guard,
        finally_steps=own + release_cleanup_steps(inst, method, tools, start_timeout), files=files,
        watchdog={"seconds": watchdog_seconds, "arm": arm_steps(inst, tools), "disarm": [disarm_step(inst, tools)]})


def freeze_window(result: dict[str, t.Any], method: str) -> dict[str, t.Any]:
    """frozen_ms and its breakdown from the host-clock step records of a snapshot plan."""
    steps = [r for r in result.get("steps", []) if r.get("start_ms") is not None]
    create = next((r for r in steps if r["name"] == CREATE_STEP), None)
    freeze = [r for r in steps if r["name"] not in (CREATE_STEP, STALE_STEP, PREFLIGHT_STEP, "take the host lock")]
    thaw = [r for r in result.get("finally", []) if r.get("start_ms") is not None and r["name"] != ledger.RECORD_STEP]
    out: dict[str, t.Any] = {"freeze_ms": None, "create_ms": None, "thaw_ms": None, "frozen_ms": None,
                             "frozen_at": None, "thawed_at": None}
    if create is not None:
        out["create_ms"] = create["end_ms"] - create["start_ms"]
        out["create_started_at"] = iso_ms(create["start_ms"])
        out["create_ended_at"] = iso_ms(create["end_ms"])
    if method == "none":
        out["frozen_ms"] = 0
        return out
    if method == "vss_writer":
        # VSS freezes the writer inside the creation; the creation bounds the window.
        if create is not None:
            out.update(frozen_ms=out["create_ms"], frozen_at=iso_ms(create["start_ms"]), thawed_at=iso_ms(create["end_ms"]))
        return out
    if freeze:
        out["freeze_ms"] = max(r["end_ms"] for r in freeze) - freeze[0]["start_ms"]
        out["frozen_at"] = iso_ms(freeze[0]["start_ms"])
    if thaw:
        out["thaw_ms"] = max(r["end_ms"] for r in thaw) - thaw[0]["start_ms"]
        out["thawed_at"] = iso_ms(max(r["end_ms"] for r in thaw))
    if freeze and thaw:
        out["frozen_ms"] = max(r["end_ms"] for r in thaw) - freeze[0]["start_ms"]
    if method == "backup_task":
        # The hook's own record is the hold: the databases were in backup mode when it recorded held_ms,
        # and they stayed in backup mode until Domino had written every delta and started the Backup
        # snapshot command (left_ms); done_ms (the hook let go) bounds it when that never came.
        record = dbk.hold_record(thaw)
        hold = dbk.window(record)
        end = hold["left_ms"] or hold["done_ms"]
        if hold["held_ms"] is not None and end is not None and end >= hold["held_ms"]:
            out.update(frozen_ms=end - hold["held_ms"], frozen_at=iso_ms(hold["held_ms"]), thawed_at=iso_ms(end),
                       hook_released_at=iso_ms(hold["done_ms"]), left_backup_mode=hold["left_ms"] is not None)
        out["backup_start"] = hold["backup_start"]
        out["deltas"] = dbk.delta_list(record)
    return out
