# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Domino knowledge: discover installations, decide quiesce methods, build freeze and thaw steps.

Pure functions, no I/O.  Facts relied on are in shared/reference/domino.md: the service name
embeds the data directory (discover it), ``nserver.exe -c`` runs console commands,
``nsd.exe -kill`` kills all Domino processes of an installation, the ``backupvss`` task needs
Domino 12.0.2+ on Windows Server 2019/2022, Domino Backup (12.0+) calls a "Snapshot start command".
"""

from __future__ import annotations

import datetime
import re
import typing as t
from xml.sax.saxutils import escape as xml_escape

from ansible_collections.quiesce.domino.plugins.module_utils import dominobackup as dbk
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

METHODS = ("vss_writer", "backup_task", "shutdown", "none")
TASK_FOLDER = "quiesce.domino"
WINDOWS_2019_BUILD = 17763
STOPPED_RE = r"STATE\s*:\s*1\s+STOPPED"
RUNNING_RE = r"STATE\s*:\s*4\s+RUNNING"
ANSWERS_RE = r"Server name:"

# Constant discovery script (no user value in it): Domino services, registry, notes.ini files,
# OS build, volumes and the collection's watchdog tasks, as one JSON document.
DOMINO_INVENTORY_SCRIPT = (
    "# quiesce.domino:domino-inventory\n"
    "$ErrorActionPreference = 'Stop'\n"
    "$services = @(Get-CimInstance -ClassName Win32_Service | Where-Object { $_.PathName -match 'nservice\\.exe' } |"
    " Select-Object Name, DisplayName, State, PathName, ProcessId)\n"
    "$registry = @(Get-ChildItem -Path 'HKLM:\\SOFTWARE\\Lotus' -Recurse -ErrorAction SilentlyContinue |"
    " ForEach-Object { $p = Get-ItemProperty -LiteralPath $_.PSPath; @{ key = $_.Name; path = $p.Path;"
    " data_path = $p.DataPath; version = $p.Version } })\n"
    "$ini = @{}\n"
    "foreach ($s in $services) { if ($s.PathName -match '=([^\"]+notes\\.ini)') { $f = $Matches[1];"
    " if (Test-Path -LiteralPath $f) { $ini[$f] = Get-Content -LiteralPath $f -Raw } } }\n"
    "$os = Get-CimInstance -ClassName Win32_OperatingSystem | Select-Object Caption, Version, BuildNumber, ProductType\n"
    "$volumes = @(Get-CimInstance -ClassName Win32_Volume | Select-Object DriveLetter, DeviceID, FileSystem)\n"
    "$tasks = @(Get-ScheduledTask -TaskPath '\\quiesce.domino\\' -ErrorAction SilentlyContinue |"
    " ForEach-Object { @{ name = $_.TaskName; description = $_.Description; state = [string]$_.State;"
    " start = [string]($_.Triggers | Select-Object -First 1).StartBoundary } })\n"
    "$drives = @([System.IO.DriveInfo]::GetDrives() | ForEach-Object { $_.Name.Substring(0, 2) })\n"
    "$holds = @(foreach ($text in $ini.Values) { if ($text -match '(?im)^\\s*Directory\\s*=\\s*(.+?)\\s*$') {"
    " $h = Join-Path (Join-Path $Matches[1] 'quiesce_domino') 'hold';"
    " if ((Test-Path -LiteralPath (Join-Path $h 'held.json')) -and -not (Test-Path -LiteralPath (Join-Path $h 'done.json'))) {"
    " $Matches[1] } } })\n"
    "$now = [DateTime]::UtcNow.ToString(\"yyyy-MM-dd'T'HH:mm:ss'Z'\")\n"
    "ConvertTo-Json -Compress -Depth 4 -InputObject @{ services = $services; registry = $registry; ini = $ini;"
    " os = $os; volumes = $volumes; watchdogs = $tasks; holds = $holds; drives = $drives; now_utc = $now }\n"
)


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


def parse_show_server(text: str) -> dict[str, t.Any]:
    """The parts of ``show server`` the collection uses (English console output)."""
    info: dict[str, t.Any] = {"release": None, "server_name": None, "transactional_logging": None}
    match = re.search(r"\(Release\s+([0-9][^\s)]*(?:\s+FP\d+)?)", text or "")
    if match:
        info["release"] = match.group(1)
    match = re.search(r"^\s*Server name:\s*(.+?)\s*$", text or "", re.M)
    if match:
        info["server_name"] = match.group(1)
    match = re.search(r"^\s*Transactional Logging:\s*(\w+)", text or "", re.M)
    if match:
        info["transactional_logging"] = match.group(1).lower() == "enabled"
    return info


def parse_show_tasks(text: str) -> dict[str, bool]:
    lines = [ln.strip().lower() for ln in (text or "").replace("\r\n", "\n").split("\n")]
    return {"backup": any(re.match(r"^backup\s", ln) for ln in lines),
            "backupvss": any(re.match(r"^backupvss\s", ln) for ln in lines)}


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


def parse_inventory(text: str) -> dict[str, t.Any]:
    """The JSON of DOMINO_INVENTORY_SCRIPT -> os, installations (without console facts) and watchdogs."""
    doc = cli.parse_json_document(text)
    os_info = doc.get("os") or {}
    build = int(str(os_info.get("BuildNumber") or 0)) if str(os_info.get("BuildNumber") or "0").isdigit() else 0
    registry = _as_list(doc.get("registry"))
    ini_files = {k.lower(): v for k, v in (doc.get("ini") or {}).items()}
    watchdogs = {}
    for task in _as_list(doc.get("watchdogs")):
        fields = parse_watchdog_description(task.get("description") or "")
        if fields.get("service"):
            watchdogs[fields["service"].lower()] = {"name": task.get("name"), "state": task.get("state"),
                                                    "deadline_local": task.get("start"),
                                                    "method": fields.get("method"),
                                                    "deadline_utc": fields.get("deadline_utc"),
                                                    "seconds": int(fields["seconds"]) if fields.get("seconds", "").isdigit() else None}
    holds = {str(h).rstrip("\\").lower() for h in _as_list(doc.get("holds"))}
    installs = []
    for svc in _as_list(doc.get("services")):
        program, ini_path = _service_paths(svc.get("PathName") or "")
        ini = parse_ini(ini_files.get((ini_path or "").lower(), ""))
        data_dir = ini.get("directory")
        reg = next((r for r in registry if data_dir and (r.get("data_path") or "").lower() == data_dir.lower()), None)
        if reg is None:
            reg = next((r for r in registry if program and (r.get("path") or "").lower() == program.lower()), None)
        data_dir = data_dir or (reg or {}).get("data_path")
        name = svc.get("Name") or ""
        installs.append({
            "service": name,
            "display_name": svc.get("DisplayName"),
            "state": (svc.get("State") or "").upper().replace(" ", "_"),
            "pid": svc.get("ProcessId") or None,
            "program_dir": program,
            "data_dir": data_dir,
            "notes_ini": ini_path,
            "version": (reg or {}).get("version"),
            "server_name": ini.get("servername"),
            "translog": {"status": ini.get("translog_status"), "style": ini.get("translog_style"),
                         "path": ini.get("translog_path")},
            "volumes": sorted({p[0].upper() + ":" for p in (data_dir, ini.get("translog_path")) if p and re.match(r"^[A-Za-z]:", p)}),
            "data_volume": data_dir[0].upper() + ":" if data_dir and re.match(r"^[A-Za-z]:", data_dir) else None,
            "watchdog": watchdogs.get(name.lower()),
            # the backup_task hook holds the databases now (held.json without done.json in the data directory)
            "held": bool(data_dir) and data_dir.rstrip("\\").lower() in holds,
        })
    return {"os": {"caption": os_info.get("Caption"), "build": build, "version": os_info.get("Version")},
            "installations": installs, "partitioned": len(installs) > 1, "now_utc": doc.get("now_utc"),
            "drives_in_use": sorted({str(d).upper()[:2] for d in _as_list(doc.get("drives"))})}


def add_console_facts(inst: dict[str, t.Any], show_server: t.Optional[dict[str, t.Any]],
                      show_tasks: t.Optional[dict[str, t.Any]]) -> None:
    """Merge the console probe records (executor records) into an installation."""
    server_out = (show_server or {}).get("stdout") or ""
    answers = bool(show_server) and show_server.get("rc") == 0 and re.search(ANSWERS_RE, server_out) is not None
    inst["answers"] = answers
    facts = parse_show_server(server_out) if answers else {}
    if facts.get("release") and not inst.get("version"):
        inst["version"] = facts["release"]
    inst["server_name"] = facts.get("server_name") or inst.get("server_name")
    tasks = parse_show_tasks((show_tasks or {}).get("stdout") or "") if answers else {"backup": False, "backupvss": False}
    inst["tasks"] = tasks


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
    out["vss_writer"] = {"possible": not reasons, "why": "; ".join(reasons) or "backupvss VSS writer"}
    if version < (12, 0):
        out["backup_task"] = {"possible": False, "why": "needs Domino 12.0 or later (found %s)" % (inst.get("version") or "unknown")}
    else:
        why = "Domino Backup in snapshot mode with the quiesce.domino hook as Snapshot start command (see docs/backup-task.md)"
        out["backup_task"] = {"possible": True, "why": why}
    out["shutdown"] = {"possible": has_service, "why": "stop the service, snapshot, start" if has_service
                       else "no Domino Windows service found"}
    out["none"] = {"possible": True, "why": "crash-consistent snapshot, Domino is not quiesced"}
    return out


def recommended_method(methods: dict[str, dict[str, t.Any]]) -> str:
    """The least disruptive possible method.  backup_task needs the admin's Domino Backup
    configuration, which cannot be seen from outside, so auto prefers shutdown over it."""
    for method in ("vss_writer", "shutdown"):
        if methods[method]["possible"]:
            return method
    return "none"


def choose_method(requested: str, methods: dict[str, dict[str, t.Any]]) -> str:
    if requested == "auto":
        return recommended_method(methods)
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
    """What a thaw must undo: the recorded freeze, else what the server's state shows."""
    recorded = frozen_state(inst, now_utc)
    if recorded:
        return recorded
    if inst.get("held"):
        return "backup_task"
    if inst.get("state") in ("STOPPED", "STOP_PENDING"):
        return "shutdown"
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
        planlib.step(dbk.RELEASE_STEP, dbk.release_argv(tools, inst["data_dir"]), ok_rc=[0] if strict else "any",
                     timeout=60),
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


def console_step(name: str, tools: dict[str, str], command: str, **kw: t.Any) -> dict[str, t.Any]:
    return planlib.step(name, [tools["nserver"], "-c", command], **kw)


def freeze_steps(inst: dict[str, t.Any], method: str, tools: dict[str, str], shutdown_timeout: int,
                 hold_timeout: int) -> list[dict[str, t.Any]]:
    svc = inst["service"]
    if method == "shutdown":
        query = [tools["sc"], "query", svc]
        return [
            planlib.step("stop Domino service", [tools["sc"], "stop", svc], ok_rc="any", timeout=60),
            planlib.step("wait until stopped", query, ok_rc="any", allow_failure=True,
                         retry=planlib.retry_until(shutdown_timeout, 0.5, until_stdout=STOPPED_RE)),
            planlib.step("nsd -kill after the deadline", [tools["nsd"], "-kill"], ok_rc="any", timeout=300,
                         only_if_failed="wait until stopped"),
            planlib.step("wait until stopped after kill", query, ok_rc="any", only_if_failed="wait until stopped",
                         retry=planlib.retry_until(60, 1.0, until_stdout=STOPPED_RE)),
        ]
    if method == "backup_task":
        # Snapshot mode (-s): without it Domino Backup copies database by database and never runs the hook.
        return [
            dbk.hold_step(dbk.RESET_STEP, tools, inst["data_dir"], "reset"),
            console_step("start Domino Backup", tools, dbk.LOAD_COMMAND, timeout=60),
            dbk.hold_step(HELD_STEP, tools, inst["data_dir"], "wait_held", hold_timeout),
        ]
    if method == "vss_writer":
        steps = []
        if not (inst.get("tasks") or {}).get("backupvss"):
            steps.append(console_step("load backupvss", tools, "load backupvss", timeout=60))
        steps.append(console_step("wait until backupvss runs", tools, "show tasks", ok_rc="any",
                                  retry=planlib.retry_until(60, 1.0, until_rc=[0], until_stdout=r"(?im)^\s*BackupVSS\s")))
        return steps
    return []


def thaw_steps(inst: dict[str, t.Any], method: str, tools: dict[str, str], start_timeout: int) -> list[dict[str, t.Any]]:
    svc = inst["service"]
    if method == "shutdown":
        return [
            planlib.step("start Domino service", [tools["sc"], "start", svc], ok_rc="any", timeout=60),
            planlib.step("wait until running", [tools["sc"], "query", svc], ok_rc="any",
                         retry=planlib.retry_until(start_timeout, 0.5, until_stdout=RUNNING_RE)),
            console_step("wait until the server answers", tools, "show server", ok_rc="any",
                         retry=planlib.retry_until(start_timeout, 0.5, until_rc=[0], until_stdout=ANSWERS_RE)),
        ]
    if method == "backup_task":
        return backup_task_end_steps(inst, tools, 120, strict=True)
    return []


def freeze_plan(inst: dict[str, t.Any], method: str, tools: dict[str, str], platform: str, watchdog_seconds: int,
                shutdown_timeout: int, hold_timeout: int) -> dict[str, t.Any]:
    """One call: arm the watchdog, freeze; on failure release and disarm; the watchdog stays armed
    (no disarm) until the thaw plan removes it."""
    if method not in ("shutdown", "backup_task", "vss_writer"):
        raise DominoError("method %s has nothing to freeze" % method)
    steps = freeze_steps(inst, method, tools, shutdown_timeout, hold_timeout)
    if method == "vss_writer":
        return planlib.build_plan("prepare vss writer", platform, steps)
    rescue = [planlib.step("release after a failed freeze", argv, ok_rc="any", timeout=120)
              for argv in release_argvs(inst, method, tools)] + [disarm_step(inst, tools)]
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
    return planlib.build_plan("domino inventory", platform,
                              [planlib.step("discover Domino", cli.powershell_argv(tools, DOMINO_INVENTORY_SCRIPT),
                                            timeout=120)], check_mode_safe=True)


def console_plan(installs: list[dict[str, t.Any]], tools_for: t.Callable[[dict[str, t.Any]], dict[str, str]],
                 platform: str) -> t.Optional[dict[str, t.Any]]:
    """Ask every installation's console (show server, show tasks); failures are facts, not errors."""
    steps = []
    for index, inst in enumerate(installs):
        if inst.get("state") != "RUNNING" or not inst.get("program_dir"):
            continue
        tools = tools_for(inst)
        for what in ("show server", "show tasks"):
            steps.append(console_step("%s %d" % (what, index), tools, what, ok_rc="any", timeout=30))
    if not steps:
        return None
    return planlib.build_plan("domino console", platform, steps, check_mode_safe=True)


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
                  create_timeout: int, stale_script: t.Optional[str] = None,
                  lock_steps: t.Optional[tuple[dict[str, t.Any], dict[str, t.Any]]] = None,
                  preflight: t.Sequence[dict[str, t.Any]] = ()) -> dict[str, t.Any]:
    """One remote call: arm the watchdog, freeze, create the shadow copy, thaw (finally), disarm.
    With ``stale_script`` a shadow copy left exposed by an earlier run is deleted first (before any freeze)."""
    steps = ([lock_steps[0]] if lock_steps else []) + list(preflight)  # nothing is frozen before these pass
    rescue = [lock_steps[1]] if lock_steps else []  # a failed snapshot frees its own lock (owner checked)
    files = {"create.dsh": planlib.plan_file(script, encoding="ascii")}
    if stale_script:
        files["stale.dsh"] = planlib.plan_file(stale_script, encoding="ascii")
        steps.append(planlib.step(STALE_STEP, [tools["diskshadow"], "/s", planlib.file_ref("stale.dsh")], ok_rc="any",
                                  timeout=create_timeout))
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
    if method not in ("shutdown", "backup_task"):
        return planlib.build_plan("snapshot %s" % method, platform, steps, files=files, rescue=rescue)
    files["watchdog.xml"] = planlib.plan_file(watchdog_xml(inst, method, watchdog_seconds, release_argvs(inst, method, tools)),
                                              encoding="utf-16le-bom", template=True)
    return planlib.build_plan(
        "snapshot %s" % method, platform, steps, rescue=rescue,
        finally_steps=release_cleanup_steps(inst, method, tools, start_timeout), files=files,
        watchdog={"seconds": watchdog_seconds, "arm": arm_steps(inst, tools), "disarm": [disarm_step(inst, tools)]})


def freeze_window(result: dict[str, t.Any], method: str) -> dict[str, t.Any]:
    """frozen_ms and its breakdown from the host-clock step records of a snapshot plan."""
    steps = [r for r in result.get("steps", []) if r.get("start_ms") is not None]
    create = next((r for r in steps if r["name"] == CREATE_STEP), None)
    freeze = [r for r in steps if r["name"] not in (CREATE_STEP, STALE_STEP, PREFLIGHT_STEP, "take the host lock")]
    thaw = [r for r in result.get("finally", []) if r.get("start_ms") is not None]
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
        record = {}
        for name in (DONE_STEP, DELTAS_STEP):
            rec = next((r for r in thaw if r["name"] == name and r.get("status") == "ok"), None)
            if rec is not None:
                record.update(dbk.parse_hold_record(rec.get("stdout")))
        hold = dbk.window(record)
        end = hold["left_ms"] or hold["done_ms"]
        if hold["held_ms"] is not None and end is not None and end >= hold["held_ms"]:
            out.update(frozen_ms=end - hold["held_ms"], frozen_at=iso_ms(hold["held_ms"]), thawed_at=iso_ms(end),
                       hook_released_at=iso_ms(hold["done_ms"]), left_backup_mode=hold["left_ms"] is not None)
        out["backup_start"] = hold["backup_start"]
        out["deltas"] = dbk.delta_list(record)
    return out
