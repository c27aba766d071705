# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery: the PowerShell inventory scripts (Domino services, notes.ini, processes, the host) and what
parse_inventory reads from them; choosing the installation a task means; what makes its backups incomplete."""

from __future__ import annotations

import json
import re
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import console
from ansible_collections.quiesce.domino.plugins.module_utils import hostlocale
from ansible_collections.quiesce.domino.plugins.module_utils import locations as locs
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.module_utils.errors import DominoError
from ansible_collections.quiesce.domino.plugins.module_utils.watchdog import parse_watchdog_description


# Constant discovery script (no user value in it): Domino services with their account (name and SID), registry, notes.ini
# files, Domino processes, per data directory the directory links, the hold records and whether the NRPC port
# accepts a connection; OS build, volumes and the collection's watchdog tasks, as one JSON document.
DOMINO_INVENTORY_SCRIPT = """# quiesce.domino:domino-inventory
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
function Get-Sid([string]$Account) {
    # the account's SID (built-in accounts have localized names); null when Windows cannot translate the name
    if (-not $Account) { return $null }
    try { return (New-Object System.Security.Principal.NTAccount($Account)).Translate([System.Security.Principal.SecurityIdentifier]).Value }
    catch { return $null }
}
$services = @(Get-CimInstance -ClassName Win32_Service | Where-Object { $_.PathName -match 'nservice\\.exe' } |
    Select-Object Name, DisplayName, State, PathName, ProcessId, StartName, @{ Name = 'StartSid'; Expression = { Get-Sid ([string]$_.StartName) } })
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
    registry = cli.as_list(doc.get("registry"))
    ini_files = {k.lower(): v for k, v in (doc.get("ini") or {}).items()}
    places = {k.lower(): v for k, v in (doc.get("places") or {}).items()}
    processes = [p for p in cli.as_list(doc.get("processes")) if isinstance(p, dict)]
    watchdogs = {}
    for task in cli.as_list(doc.get("watchdogs")):
        fields = parse_watchdog_description(task.get("description") or "")
        if fields.get("service"):
            watchdogs[fields["service"].lower()] = {"name": task.get("name"), "state": task.get("state"),
                                                    "deadline_local": task.get("start"),
                                                    "method": fields.get("method"),
                                                    "deadline_utc": fields.get("deadline_utc"),
                                                    "seconds": int(fields["seconds"]) if fields.get("seconds", "").isdigit() else None}
    installs = []
    for svc in cli.as_list(doc.get("services")):
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
        if not alive and len(cli.as_list(doc.get("services"))) == 1 and state == "RUNNING":
            # nserver.exe under nservice.exe is not documented: with one installation any nserver.exe is its server
            server = [p for p in processes if str(p.get("Name") or "").lower() == "nserver.exe"]
            alive = bool(server)
            task_names = sorted(str(p.get("Name") or "").lower() for p in processes
                                if server and p.get("ParentProcessId") == server[0].get("ProcessId"))
        port_open = bool(place.get("port_open"))
        links = [link for link in cli.as_list(place.get("links")) if isinstance(link, dict)]
        locations = locs.server_locations(data_dir, ini, ini_path, links)
        deferred = ini.get("daosdeferreddeleteinterval")
        installs.append({
            "service": name,
            "display_name": svc.get("DisplayName"),
            "state": state,
            "pid": svc.get("ProcessId") or None,
            "service_account": svc.get("StartName") or "LocalSystem",
            "service_sid": console.service_sid(svc.get("StartSid")),
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
            "drives_in_use": sorted({str(d).upper()[:2] for d in cli.as_list(doc.get("drives"))}),
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
