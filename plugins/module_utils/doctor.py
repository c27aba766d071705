# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""quiesce.domino.doctor: the plans that look at a host, what their output says, and a verdict per assumption.

Pure functions, no I/O.  Two plans:

- the **look** (``look_plan``, ``check_mode_safe``, every step read-only, ``ok_rc: any`` and ``allow_failure`` so
  one failed probe hides no other): the Domino and host inventories of ``inventory`` (the same scripts as
  domino_info), diskshadow started and ended (is it there at all: Windows Server editions only),
  ``vssadmin list writers``, and one constant probe script (the account's token, the lock folder's and the
  shadow ledger's ACL, the backup_task hook files and their ACL, the volumes' free space and shadow storage, the
  destination reachable);
- the **try** (``try_plan``, never in check mode): per Domino installation that answers now ``show server``
  through a one-shot task like every console command's (the server's account, its data directory) but with a
  name of its own (``doctor-<service>-<random>``: the backup's ``console-<service>`` task is never registered over
  or removed), with the console log's size before and after, and the destination written: a uniquely named file
  created and deleted.  It needs the services, accounts and data directories the look found, so it is a second
  remote call.  The console is not tried while a run holds the host lock (the look reads it).

Each check is ``{name, status (ok | warn | fail), found, reason, fix}``; a host is ready when no check failed.
"""

from __future__ import annotations

import json
import re
import typing as t
import uuid

from ansible_collections.quiesce.domino.plugins.module_utils import console
from ansible_collections.quiesce.domino.plugins.module_utils import dominobackup as dbk
from ansible_collections.quiesce.domino.plugins.module_utils import hostlocale
from ansible_collections.quiesce.domino.plugins.module_utils import hostlock
from ansible_collections.quiesce.domino.plugins.module_utils import inventory
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

OK, WARN, FAIL = "ok", "warn", "fail"
STATUSES = (OK, WARN, FAIL)

DOMINO_STEP = "discover Domino"
HOST_STEP = "discover the host"
DISKSHADOW_STEP = "diskshadow is present"
WRITERS_STEP = "vssadmin list writers"
PROBE_STEP = "probe the host"
# Read-only outputs the checks do not need, read for save_transcripts: samples of this host's language for the
# parsers (sc's labels, vssadmin's and diskshadow's shadow listings)
SC_SAMPLE_STEP = "sc query EventLog (sample)"
SHADOWS_SAMPLE_STEP = "vssadmin list shadows (sample)"
DS_SAMPLE_STEP = "diskshadow list shadows all (sample)"
SHARE_STEP = "write a test file at the destination"

ADMINISTRATORS_SID = "S-1-5-32-544"
SYSTEM_SID = "S-1-5-18"
TRUSTED_INSTALLER_SID = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
# Who may write the files and keys the collection trusts: anything these accounts can write, only an
# administrator could have changed.
TRUSTED_WRITERS = (SYSTEM_SID, ADMINISTRATORS_SID, TRUSTED_INSTALLER_SID)
SID_NAMES = {SYSTEM_SID: "SYSTEM", ADMINISTRATORS_SID: "Administrators", "S-1-5-32-545": "Users",
             "S-1-5-11": "Authenticated Users", "S-1-1-0": "Everyone", "S-1-5-32-551": "Backup Operators",
             "S-1-3-0": "CREATOR OWNER", TRUSTED_INSTALLER_SID: "TrustedInstaller"}
# Below this much free space a volume is reported (a shadow copy's diff area and the copy's working room); the
# same fraction of a shadow storage limit left free is reported too.
LOW_FREE_FRACTION = 0.10
# The host lock every backup run takes (quiesce.domino.snapshot, host_lock, snapshot_copy use this name).
BACKUP_LOCK = "backup"
# The rights that let an account change a file, folder or key (FileSystemRights / RegistryRights bits): write data
# (0x2), append data (0x4), delete child (0x40: FILE_DELETE_CHILD deletes or replaces what is in a folder whatever
# the item's own ACL), delete (0x10000), change permissions (0x40000), take ownership (0x80000); and generic
# all / generic write (0x50000000).  Microsoft "File Security and Access Rights", "Access Mask".
WRITE_RIGHTS = 0xD0046
GENERIC_WRITE_RIGHTS = 0x50000000
LOW_FREE_BYTES = 1024 ** 3
SHADOW_LEDGER_KEY = cli.SHADOW_LEDGER_KEY
_GUID = r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}"

# Constant script: data on stdin, never code.  Read-only: ACLs are read with Get-Acl, the registry and files are
# only tested, the token is the process's own.  IsInRole with a SID asks Windows whether that SID is enabled in the
# token (CheckTokenMembership): a UAC-filtered administrator, whose Administrators SID is deny-only, is not one.
PROBE_SCRIPT = r"""# quiesce.domino:doctor-probe
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$in = [Console]::In.ReadToEnd() | ConvertFrom-Json
function Get-Writers($Acl) {
  # write data, append data (registry: set value, create subkey), delete child, delete, change permissions, take
  # ownership; generic all and generic write.  Entries that only pass to children (InheritOnly) do not apply to the item.
  $out = @()
  foreach ($r in @($Acl.Access)) {
    if ([string]$r.AccessControlType -ne 'Allow') { continue }
    if (([int]$r.PropagationFlags -band 2) -ne 0) { continue }
    $rights = [int64]0
    foreach ($p in 'FileSystemRights', 'RegistryRights') { if ($null -ne $r.PSObject.Properties[$p]) { $rights = [int64]$r.$p } }
    if (($rights -band 0xD0046) -eq 0 -and ($rights -band 0x50000000) -eq 0) { continue }
    try { $sid = $r.IdentityReference.Translate([Security.Principal.SecurityIdentifier]).Value } catch { $sid = [string]$r.IdentityReference }
    $out += $sid }
  return @($out | Sort-Object -Unique) }
function Get-AclFacts([string]$Path) {
  if (-not (Test-Path -LiteralPath $Path)) { return @{ path = $Path; exists = $false } }
  $acl = Get-Acl -LiteralPath $Path
  return @{ path = $Path; exists = $true; protected = [bool]$acl.AreAccessRulesProtected; writers = @(Get-Writers $acl) } }
$id = [Security.Principal.WindowsIdentity]::GetCurrent()
$principal = New-Object Security.Principal.WindowsPrincipal($id)
$adminSid = New-Object Security.Principal.SecurityIdentifier('S-1-5-32-544')
$account = @{ name = $id.Name; sid = $id.User.Value; admin = $principal.IsInRole($adminSid);
  groups = @($id.Groups | ForEach-Object { $_.Value }) }
$hooks = @()
foreach ($s in @(Get-CimInstance -ClassName Win32_Service | Where-Object { $_.PathName -match 'nservice\.exe' })) {
  if ([string]$s.PathName -notmatch '^"?([A-Za-z]:\\[^"]*?)\\nservice\.exe') { continue }
  $folder = Join-Path $Matches[1] 'quiesce'
  $hooks += @{ service = $s.Name; folder = (Get-AclFacts $folder); script = (Get-AclFacts (Join-Path $folder $in.hook_file)) } }
$volumes = @(Get-CimInstance -ClassName Win32_Volume | Where-Object { $null -ne $_.DriveLetter } |
  Select-Object DriveLetter, DeviceID, Capacity, FreeSpace)
$storage = @(Get-CimInstance -ClassName Win32_ShadowStorage -ErrorAction SilentlyContinue | ForEach-Object {
  @{ volume = [string]$_.Volume.DeviceID; diff_volume = [string]$_.DiffVolume.DeviceID; max = [string]$_.MaxSpace;
     allocated = [string]$_.AllocatedSpace; used = [string]$_.UsedSpace } })
# the host lock of the backups: a run holds it while its directory exists (hostlock.LOCK_SCRIPT)
$lockDir = Join-Path $in.lock_root $in.lock_name
$held = $null
if (Test-Path -LiteralPath $lockDir -PathType Container) {
  $owner = $null; $since = $null
  try { $o = [IO.File]::ReadAllText((Join-Path $lockDir 'owner.json')) | ConvertFrom-Json; $owner = [string]$o.owner; $since = $o.since_ms } catch { }
  $held = @{ path = $lockDir; owner = $owner; since_ms = $since } }
# Win32 long paths (Windows Server 2016 and later, off by default): without them the listing of a path longer
# than 260 characters fails (robocopy copies it; the manifest cannot read it), so such a copy never verifies
$longPaths = $null
$fsKey = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\FileSystem' -ErrorAction SilentlyContinue
if ($null -ne $fsKey -and $null -ne $fsKey.PSObject.Properties['LongPathsEnabled']) { $longPaths = [int]$fsKey.LongPathsEnabled }
$destination = $null
if ($in.destination) { $destination = @{ path = $in.destination; reachable = (Test-Path -LiteralPath $in.destination -PathType Container) } }
ConvertTo-Json -Compress -Depth 5 -InputObject @{ account = $account; lock = (Get-AclFacts $in.lock_root);
  ledger = (Get-AclFacts $in.ledger_key); hooks = $hooks; volumes = $volumes; shadow_storage = $storage;
  destination = $destination; host_lock = $held; long_paths_enabled = $longPaths }
"""

# Constant script: the one write of the doctor.  A new file with a unique name (CreateNew: never an existing file),
# a few bytes, then deleted.  Run as the connection's account, the one the copy runs as.
SHARE_SCRIPT = r"""# quiesce.domino:doctor-share
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$in = [Console]::In.ReadToEnd() | ConvertFrom-Json
$file = Join-Path $in.destination $in.name
$out = @{ path = $file; created = $false; deleted = $false; error = $null }
try {
  $fs = New-Object IO.FileStream($file, [IO.FileMode]::CreateNew, [IO.FileAccess]::Write)
  try { $bytes = [Text.Encoding]::ASCII.GetBytes('quiesce.domino doctor'); $fs.Write($bytes, 0, $bytes.Length) } finally { $fs.Dispose() }
  $out.created = $true
  [IO.File]::Delete($file)
  $out.deleted = -not [IO.File]::Exists($file)
} catch { $out.error = $_.Exception.Message }
ConvertTo-Json -Compress -InputObject $out
if (-not $out.deleted) { exit 1 }
"""


# ------------------------------------------------------------------ plans

def look_plan(tools: dict[str, str], platform: str, destination: t.Optional[str]) -> dict[str, t.Any]:
    """Every read-only probe in one call; none stops the others."""
    probe = {"lock_root": hostlock.LOCK_ROOT, "lock_name": BACKUP_LOCK, "ledger_key": SHADOW_LEDGER_KEY,
             "hook_file": dbk.HOOK_FILE, "destination": destination}
    soft = {"ok_rc": planlib.ANY_RC, "allow_failure": True}
    return planlib.build_plan("doctor look", platform, [
        planlib.step(DOMINO_STEP, cli.powershell_argv(tools, inventory.DOMINO_INVENTORY_SCRIPT), timeout=120, **soft),
        planlib.step(HOST_STEP, cli.powershell_argv(tools, inventory.HOST_INVENTORY_SCRIPT), timeout=120, **soft),
        # started with nothing to do: it is there (a Windows Server edition) or the executor cannot find it
        planlib.step(DISKSHADOW_STEP, [tools["diskshadow"]], stdin="exit\r\n", timeout=120, **soft),
        planlib.step(WRITERS_STEP, [tools["vssadmin"], "list", "writers"], timeout=120, **soft),
        planlib.step(PROBE_STEP, cli.powershell_argv(tools, PROBE_SCRIPT), stdin=json.dumps(probe), timeout=120, **soft),
        planlib.step(SC_SAMPLE_STEP, [tools["sc"], "query", "EventLog"], timeout=60, **soft),
        planlib.step(SHADOWS_SAMPLE_STEP, [tools["vssadmin"], "list", "shadows"], timeout=120, **soft),
        planlib.step(DS_SAMPLE_STEP, [tools["diskshadow"]], stdin="list shadows all\r\nexit\r\n", timeout=120, **soft),
    ], check_mode_safe=True)


def console_step_names(index: int) -> tuple[str, str, str]:
    return ("console log before %d" % index, "show server %d" % index, "console log after %d" % index)


def try_plan(tools_for: t.Callable[[t.Optional[str]], dict[str, str]], platform: str,
             installs: t.Sequence[dict[str, t.Any]], destination: t.Optional[str],
             test_name: t.Optional[str] = None, task_suffix: t.Optional[str] = None) -> t.Optional[dict[str, t.Any]]:
    """The console in each server's context and the destination's write test; None when there is nothing to try.
    ``tools_for(program_dir)``: the tool paths with that installation's nserver.exe.  An installation whose account
    or data directory the console cannot use, or that does not answer now (a stopped server), is left out (its
    check says why).  The console task is ``doctor-<service>-<task_suffix>`` (random unless given): never the
    name of a backup's console task, which a doctor run during the backup would otherwise replace or remove."""
    tools = tools_for(None)
    steps: list[dict[str, t.Any]] = []
    soft = {"ok_rc": planlib.ANY_RC, "allow_failure": True}
    suffix = task_suffix or uuid.uuid4().hex
    for index, inst in enumerate(installs):
        if not console_tryable(inst):
            continue
        before, show, after = console_step_names(index)
        steps.append(console.state_step(before, tools, inst, offset=1 << 62, **soft))
        steps.append(console.console_command_step(show, tools_for(inst["program_dir"]), inst, "show server",
                                                  purpose="doctor", task_suffix=suffix, **soft))
        steps.append(console.state_step(after, tools, inst, offset=0, **soft))
    if destination:
        name = test_name or "quiesce-doctor-%s.tmp" % uuid.uuid4().hex
        steps.append(planlib.step(SHARE_STEP, cli.powershell_argv(tools, SHARE_SCRIPT),
                                  stdin=json.dumps({"destination": destination, "name": name}), timeout=120, **soft))
    if not steps:
        return None
    return planlib.build_plan("doctor try", platform, steps)


def console_unusable(inst: dict[str, t.Any]) -> t.Optional[str]:
    """Why the console of this installation cannot be tried at all (before anything is sent), or None."""
    if not inst.get("data_dir") or not inst.get("program_dir"):
        return "its data or program directory was not found"
    try:
        console.principal(inst.get("service_account"), inst.get("service_sid"))
    except console.ConsoleError as exc:
        return str(exc)
    return None


def console_tryable(inst: dict[str, t.Any]) -> bool:
    """Whether the try sends show server to this installation: its console is usable and the server answers
    (a stopped server's console cannot answer: that is a warning of the look, not a refused console)."""
    return not console_unusable(inst) and bool(inst.get("answers"))


def host_lock(probe: dict[str, t.Any]) -> t.Optional[dict[str, t.Any]]:
    """The backups' host lock as the probe found it ({path, owner, since_ms}), or None when no run holds it."""
    held = probe.get("host_lock")
    return held if isinstance(held, dict) else None


def look_host_lock(look: dict[str, t.Any]) -> t.Optional[dict[str, t.Any]]:
    """host_lock() of a look plan's result."""
    return host_lock(parse_json(planlib.find_record(look, PROBE_STEP)))


# ------------------------------------------------------------------ parsing

# A writer's name: the quoted rest of the line after a label and its colon (ASCII or full-width), in single or
# double quotes, guillemets or corner brackets (French capture tests/unit/data/locale/vssadmin_fr_writers.txt:
# "Nom du redacteur : 'System Writer'").  Typographic quotes (U+2018/U+2019, U+201C/U+201D) too: published pastes
# show them (the Japanese capture vssadmin_ja_writers.txt), and so may an administrator's paste.  The first colon
# followed by a quote ends the label, so an apostrophe in the label (ASCII or U+2019) is no quote.
_WRITER_NAME = re.compile("[:\uff1a]\\s*(?:'(.+)'|\"(.+)\"|\u2018(.+)\u2019|\u201c(.+)\u201d|\u00ab\\s*(.+?)\\s*\u00bb|"
                          "\u300c(.+)\u300d)\\s*$")


def writer_name(line: str) -> t.Optional[str]:
    """The writer's name on a ``vssadmin list writers`` name line in any language, or None."""
    match = _WRITER_NAME.search(line)
    if not match or re.search(_GUID, line):
        return None
    return next(g for g in match.groups() if g is not None).strip() or None


def parse_writers(text: t.Optional[str]) -> list[dict[str, t.Any]]:
    """``vssadmin list writers`` -> [{name, id, instance_id, state, state_name, last_error}], read by shape: a
    writer's block starts with a label and its name in quotes (writer_name), then its writer ID and instance ID
    (GUIDs, in that order) and its state as ``[<number>] <word>``; the labels may be in any language."""
    writers: list[dict[str, t.Any]] = []
    current: t.Optional[dict[str, t.Any]] = None
    for raw in (text or "").replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            continue
        name = writer_name(line)
        if name:
            current = {"name": name, "id": None, "instance_id": None, "state": None, "state_name": None,
                       "last_error": None}
            writers.append(current)
            continue
        if current is None:
            continue
        guid = re.search(_GUID, line)
        if guid:
            key = "id" if current["id"] is None else "instance_id" if current["instance_id"] is None else None
            if key:
                current[key] = guid.group(0).lower()
            continue
        state = re.search(r"\[(\d+)\]\s*(.*)$", line)
        if state and current["state"] is None:
            current["state"] = int(state.group(1))
            current["state_name"] = state.group(2).strip() or None
            continue
        if current["state"] is not None and current["last_error"] is None and re.search("[:\uff1a]", line):
            current["last_error"] = re.split("[:\uff1a]", line, maxsplit=1)[1].strip()
    return writers


# VSS_WRITER_STATE (Microsoft, vswriter.h): 1 stable; 5, 7, 9 waiting for the next event of a backup in progress;
# 2-4 and 6, 8, 10-15 failed at some event.
WRITER_STABLE = 1
WRITER_WAITING = (5, 7, 9)


def domino_writer(writers: t.Sequence[dict[str, t.Any]]) -> t.Optional[dict[str, t.Any]]:
    """The Domino VSS writer among the writers (its name names Domino; its exact name and ID are not published)."""
    return next((w for w in writers if re.search(r"(?i)domino", w.get("name") or "")), None)


def parse_json(record: t.Optional[dict[str, t.Any]]) -> dict[str, t.Any]:
    if not record or record.get("status") in ("skipped", "error", "timeout"):
        return {}
    try:
        doc = cli.parse_json_document(record.get("stdout") or "")
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _list(value: t.Any) -> list[t.Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _sid_names(sids: t.Iterable[str]) -> str:
    return ", ".join("%s (%s)" % (SID_NAMES[s], s) if s in SID_NAMES else s for s in sids)


def _size(n: t.Optional[int]) -> str:
    if n is None:
        return "unknown"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024
    return "%d B" % n


def _failure(record: t.Optional[dict[str, t.Any]]) -> str:
    if not record:
        return "it did not run"
    if record.get("error"):
        return str(record["error"])
    detail = (record.get("stderr") or record.get("stdout") or "").strip().splitlines()
    return "exit code %s%s" % (record.get("rc"), (": " + detail[-1].strip()[:300]) if detail else "")


def check(name: str, status: str, found: str, reason: str = "", fix: str = "") -> dict[str, t.Any]:
    if status not in STATUSES:
        raise ValueError("status %r is not one of %s" % (status, ", ".join(STATUSES)))
    return {"name": name, "status": status, "found": found, "reason": reason, "fix": fix}


# ------------------------------------------------------------------ verdicts

def windows_check(inv: t.Optional[dict[str, t.Any]], diskshadow: t.Optional[dict[str, t.Any]]) -> dict[str, t.Any]:
    os_info = (inv or {}).get("os") or {}
    found = "%s (build %s)" % (os_info.get("caption") or "Windows (edition unknown)", os_info.get("build") or "?")
    if diskshadow and diskshadow.get("status") == "ok":
        return check("windows edition", OK, found + "; diskshadow.exe runs")
    if diskshadow and diskshadow.get("status") == "failed" and diskshadow.get("rc") is not None:
        return check("windows edition", WARN, found + "; diskshadow.exe started but %s" % _failure(diskshadow),
                     "diskshadow is there but did not end cleanly with nothing to do",
                     "run diskshadow.exe on the host as the connection's account and read what it says")
    return check("windows edition", FAIL, found + "; diskshadow.exe: %s" % _failure(diskshadow),
                 "diskshadow.exe exists only on Windows Server editions; every snapshot needs it",
                 "run the collection on Windows Server 2016 or later, or point quiesce_domino_tools.diskshadow at it")


def culture_check(inv: t.Optional[dict[str, t.Any]]) -> dict[str, t.Any]:
    culture = (inv or {}).get("culture") or {}
    found = "UI culture %s (installed %s), format %s, OEM code page %s" % (
        culture.get("ui_culture"), culture.get("installed_ui_culture"), culture.get("format_culture"),
        culture.get("oem_code_page"))
    if culture.get("supported"):
        return check("ui culture", OK, found)
    send = "; if it is there, send the transcripts saved with save_transcripts with a bug report"
    if not culture.get("language"):
        fix = ("make the inventory read the UI culture: (Get-UICulture).Name and [CultureInfo]::InstalledUICulture.Name "
               "must name a culture in the connection account's session (a user profile that loads; no stripped-down "
               "PowerShell host)" + send)
    else:
        fix = ("make the OEM code page readable: the value OEMCP under HKLM\\SYSTEM\\CurrentControlSet\\Control\\Nls\\"
               "CodePage must exist and be readable by the connection account (it is the code page console tools "
               "write in; any language is read once it is known)" + send)
    return check("ui culture", FAIL, found, culture.get("reason") or "the host's UI culture is unknown", fix)


def account_check(probe: dict[str, t.Any], record: t.Optional[dict[str, t.Any]]) -> dict[str, t.Any]:
    account = probe.get("account") or {}
    if not account:
        return check("connection account", FAIL, "not read: %s" % _failure(record),
                     "the probe script did not report the account", "see the saved transcript of '%s'" % PROBE_STEP)
    found = "%s (%s)" % (account.get("name"), account.get("sid"))
    if account.get("admin"):
        return check("connection account", OK, found + "; Administrators (%s) enabled in its token" % ADMINISTRATORS_SID)
    filtered = ADMINISTRATORS_SID in [str(g) for g in _list(account.get("groups"))]
    return check("connection account", FAIL,
                 found + ("; Administrators present but not enabled (a filtered token)" if filtered
                          else "; not a member of Administrators"),
                 "VSS (diskshadow), Task Scheduler and the lock folder need an elevated administrator",
                 "connect with a domain account in the local Administrators group, set LocalAccountTokenFilterPolicy=1 "
                 "for a local account, or use become SYSTEM (docs/windows-prerequisites.md)")


def domino_check(inv: t.Optional[dict[str, t.Any]], record: t.Optional[dict[str, t.Any]]) -> dict[str, t.Any]:
    if inv is None:
        return check("domino", FAIL, "discovery unreadable: %s" % _failure(record),
                     "the Domino inventory script did not print its document", "see the saved transcript of '%s'" % DOMINO_STEP)
    installs = inv.get("installations") or []
    if not installs:
        return check("domino", FAIL, "no Windows service runs nservice.exe",
                     "no Domino server is installed as a Windows service on this host",
                     "install Domino as a service, or leave this host out of the inventory group")
    parts = ["%s: Domino %s, %s, runs as %s, data %s"
             % (i["service"], i.get("version") or "version unknown", i.get("state"), i.get("service_account"),
                i.get("data_dir")) for i in installs]
    if inv.get("partitioned"):
        parts.append("%d partitions" % len(installs))
    return check("domino", OK, "; ".join(parts))


def console_look_check(inst: dict[str, t.Any], lock: t.Optional[dict[str, t.Any]] = None) -> dict[str, t.Any]:
    """What the look says of the console (check mode, a server that does not answer, a run holding the host lock,
    or before the try): the signals only."""
    name = "console %s" % inst["service"]
    unusable = console_unusable(inst)
    if unusable:
        return check(name, FAIL, unusable, "console commands run as the service's account in its data directory",
                     "run the Domino service as SYSTEM, Local Service, Network Service or DOMAIN\\user")
    reply = ("replies are read from %s" % console.CONSOLE_LOG if inst.get("console_log")
             else "no %s: replies cannot be read, the signals decide" % console.CONSOLE_LOG)
    found = "%s; would run as %s in %s; %s" % (inst.get("answers_by"), inst.get("service_account"),
                                               inst.get("data_dir"), reply)
    if not inst.get("answers"):
        return check(name, WARN, found + "; not tried (the server does not answer)",
                     "the server does not answer now, so its console cannot be used",
                     "start the Domino service, or expect quiesce.domino to snapshot it as it is (stopped)")
    if lock:
        return check(name, WARN, found + "; not tried: a run holds the host lock (%s, owner %s, since host time %s ms)"
                     % (lock.get("path"), lock.get("owner") or "unknown", lock.get("since_ms")),
                     "a run holds the host lock: a backup may be using the console now, and the doctor does not "
                     "disturb it", "run the doctor again when that run has ended")
    return check(name, WARN, found + "; not tried (check mode)", "the console was not tried in check mode",
                 "run the doctor without --check to send 'show server' as the server's account")


# Task Scheduler's LastTaskResult values a console task may end with (HRESULTs of Win32 errors: Microsoft
# "System Error Codes"); other values are the exit code of nserver -c.
_TASK_RESULTS = {
    0x80070569: "Windows error 1385: the account has not been granted the logon type (for a user account: the "
                "'Log on as a batch job' right)",
    0x8007052E: "Windows error 1326: the user name or password is incorrect",
    0x80070005: "access denied",
}


def console_try_check(inst: dict[str, t.Any], result: dict[str, t.Any], index: int) -> dict[str, t.Any]:
    """The console in the server's context: show server through the one-shot task, and the console log's growth."""
    find_record = planlib.find_record
    name = "console %s" % inst["service"]
    before_name, show_name, after_name = console_step_names(index)
    show = find_record(result, show_name)
    before = parse_json(find_record(result, before_name))
    after_record = find_record(result, after_name)
    after = dict(console.parse_state((after_record or {}).get("stdout")), **parse_json(after_record))
    context = "as %s in %s" % (inst.get("service_account"), inst.get("data_dir"))
    if show is None:
        return check(name, FAIL, "show server was not run", "the try plan did not reach this step", "")
    task = parse_json(show)
    last = task.get("last_result")
    if show.get("status") == "ok" and last == 0:
        grew = _log_size(after) - _log_size(before)
        if _log_size(after) >= 0 and grew > 0:
            how = "the reply was read from %s (%d bytes more)" % (console.CONSOLE_LOG, grew)
        else:
            how = "nothing was written to %s: replies cannot be read, the collection decides by the signals (%s)" % (
                console.CONSOLE_LOG, after.get("decided_by"))
        return check(name, OK, "show server ran %s; %s" % (context, how))
    if task.get("timed_out"):
        why = "the console task did not end within its time"
    elif isinstance(last, int) and (last & 0xFFFFFFFF) in _TASK_RESULTS:
        why = "Task Scheduler result 0x%08X: %s" % (last & 0xFFFFFFFF, _TASK_RESULTS[last & 0xFFFFFFFF])
    elif isinstance(last, int):
        why = "nserver -c ended with exit code %d: the console refused the command or did not reach the server" % last
    else:
        why = "the console task could not be run: %s" % _failure(show)
    tail = (after.get("console_tail") or "").strip().splitlines()
    found = "show server %s: %s" % (context, why) + ("; console log: %s" % tail[-1].strip()[:200] if tail else "")
    return check(name, FAIL, found,
                 "every console command of the collection (load backup -s, load backupvss, nsd -kill) runs this way",
                 "make sure Task Scheduler runs and the service account may run a task (a user account needs 'Log on "
                 "as a batch job'); check the console log for why Domino refused it")


def _log_size(state: dict[str, t.Any]) -> int:
    """The console log's size the state script printed (-1: no console log, or not read)."""
    size = _int(state.get("console_log_size"))
    return -1 if size is None else size


def writer_check(inst: dict[str, t.Any], writers_record: t.Optional[dict[str, t.Any]],
                 culture: t.Optional[dict[str, t.Any]] = None) -> dict[str, t.Any]:
    """The Domino VSS writer for method vss_writer.  On a host whose diskshadow does not print English the snapshot
    needs the writer's ID (hostlocale.writer_methods: without it vss_writer, and so method auto's first choice, is
    refused), so the writer found is then a warning naming the ID to set."""
    name = "vss writer %s" % inst["service"]
    methods = inst.get("methods") or {}
    method = methods.get("vss_writer") or {}
    if not method.get("possible"):
        return check(name, OK, "not needed: method vss_writer is not possible (%s)" % method.get("why"))
    # an unsupported or unknown culture fails its own check; here only a readable one that lacks the English lines
    by_id = (hostlocale.writer_methods(methods, culture, None).get("vss_writer") or {}) if (culture or {}).get("supported") else method
    needs_id = not by_id.get("possible")
    if not writers_record or writers_record.get("status") != "ok" or writers_record.get("rc") not in (0, None):
        return check(name, FAIL, "vssadmin list writers: %s" % _failure(writers_record),
                     "the writers could not be listed, so method vss_writer cannot be checked",
                     "run the doctor as an elevated administrator; check that the VSS service is not disabled")
    writers = parse_writers(writers_record.get("stdout"))
    found_writer = domino_writer(writers)
    listed = "%d writers listed" % len(writers)
    if found_writer:
        state = found_writer.get("state")
        found = "%s %s, state [%s] %s; %s" % (
            found_writer["name"], found_writer["id"], state, found_writer.get("state_name") or "", listed)
        if (state == WRITER_STABLE or state in WRITER_WAITING) and needs_id:
            return check(name, WARN, found, by_id.get("why") or "method vss_writer needs the Domino writer's ID here",
                         "set snapshot_backup_domino_writer_id: \"%s\" (role quiesce.domino.snapshot_backup; the "
                         "module option is domino_writer_id)" % found_writer["id"])
        if state == WRITER_STABLE or state in WRITER_WAITING:
            return check(name, OK, found)
        return check(name, FAIL, found, "the Domino VSS writer is in a failed state",
                     "restart the backupvss task (tell backupvss quit, load backupvss) or the Domino server")
    running = (inst.get("tasks") or {}).get("backupvss")
    if running:
        return check(name, FAIL, "backupvss runs but no Domino writer is registered with VSS; %s" % listed,
                     "without the Domino writer a vss_writer snapshot is not application-consistent and fails its writer "
                     "verification",
                     "check the Domino console log for backupvss errors, restart the task (tell backupvss quit, load "
                     "backupvss), and restart the VSS service if other writers are failed too")
    if needs_id:
        return check(name, WARN, "no Domino writer registered now (backupvss is not loaded); %s" % listed,
                     "%s; its ID can be read only while backupvss runs" % (
                         by_id.get("why") or "method vss_writer needs the Domino writer's ID here"),
                     "load backupvss (or add it to ServerTasks in notes.ini), run the doctor again and set "
                     "snapshot_backup_domino_writer_id to the ID it shows")
    return check(name, WARN, "no Domino writer registered now (backupvss is not loaded); %s" % listed,
                 "the snapshot loads backupvss before it creates the shadow copy and verifies the writer then",
                 "add backupvss to ServerTasks in notes.ini so that the writer is always registered")


def hook_check(inst: dict[str, t.Any], probe: dict[str, t.Any]) -> t.Optional[dict[str, t.Any]]:
    """The backup_task hook of a Domino 12+ server: installed where backup_task_setup says, writable only by
    administrators (Domino runs it as its own account); a hold left open.  None for older servers."""
    if inventory.version_tuple(inst.get("version")) < (12, 0):
        return None
    name = "backup_task hook %s" % inst["service"]
    hook = next((h for h in _list(probe.get("hooks")) if isinstance(h, dict)
                 and str(h.get("service") or "").lower() == inst["service"].lower()), None)
    held = " A hold is open now (held.json without done.json): a backup_task freeze runs or was left." if inst.get("held") else ""
    if not hook:
        return check(name, WARN, "not read" + held, "the probe did not report the hook's folder",
                     "see the saved transcript of '%s'" % PROBE_STEP)
    script = hook.get("script") or {}
    if not script.get("exists"):
        return check(name, WARN, "%s is not installed.%s" % (script.get("path"), held),
                     "method backup_task needs the collection's integration installed and configured in Domino Backup",
                     "only if you use method backup_task: copy files/quiesce_domino_backup.ps1 there and enter the "
                     "commands of domino_info's backup_task_setup (docs/backup-task.md)")
    others = sorted({s for part in (script, hook.get("folder") or {}) for s in _list(part.get("writers"))
                     if s not in TRUSTED_WRITERS})
    if others:
        return check(name, FAIL, "%s may be changed by %s.%s" % (script.get("path"), _sid_names(others), held),
                     "Domino runs the hook as its service account: whoever can change the script or its folder runs code "
                     "as that account",
                     "allow only SYSTEM and Administrators to write the folder and the script (icacls)")
    status = WARN if held else OK
    return check(name, status, "%s installed, writable only by %s.%s" % (
        script.get("path"), _sid_names(_list(script.get("writers"))) or "nobody", held),
        "a hold is open" if held else "",
        "wait for the running backup, or thaw with quiesce.domino.backup_mode state=thawed method=backup_task" if held else "")


def volumes_check(inst: dict[str, t.Any], probe: dict[str, t.Any]) -> dict[str, t.Any]:
    """The data, translog and DAOS volumes: free space and shadow storage (its limit and use)."""
    name = "volumes %s" % inst["service"]
    letters = list(inst.get("volumes") or ([inst["data_volume"]] if inst.get("data_volume") else []))
    vols = {str(v.get("DriveLetter") or "").upper(): v for v in _list(probe.get("volumes")) if isinstance(v, dict)}
    storage = {str(s.get("volume") or "").lower(): s for s in _list(probe.get("shadow_storage")) if isinstance(s, dict)}
    kinds = {}
    for loc in inst.get("locations") or []:
        letter = str(loc.get("path") or "")[:2].upper()
        kinds.setdefault(letter, []).append(loc.get("kind"))
    letter_of = {str(v.get("DeviceID") or "").lower(): str(v.get("DriveLetter") or "").upper() for v in vols.values()}
    parts, low, missing, full = [], [], [], []
    for letter in letters:
        vol = vols.get(letter)
        if vol is None:
            missing.append(letter)
            continue
        cap, free = _int(vol.get("Capacity")), _int(vol.get("FreeSpace"))
        text = "%s (%s) %s free of %s" % (letter, "/".join(sorted(set(k for k in kinds.get(letter, []) if k))) or "data",
                                          _size(free), _size(cap))
        store = storage.get(str(vol.get("DeviceID") or "").lower())
        if store:
            limit, used = _int(store.get("max")), _int(store.get("used"))
            bounded = limit is not None and 0 < limit < (1 << 62)  # no limit: UINT64's largest value
            diff = str(store.get("diff_volume") or "")
            where = letter_of.get(diff.lower()) or diff or "an unknown volume"
            text += "; shadow storage on %s used %s of %s" % (where, _size(used), _size(limit) if bounded else "no limit")
            if bounded and used is not None and limit - used < limit * LOW_FREE_FRACTION:
                full.append("%s (diff area on %s: %s of its %s limit free)" % (
                    letter, where, _size(max(limit - used, 0)), _size(limit)))
        else:
            text += "; no shadow storage association yet (Windows makes one on the volume itself at the first shadow copy)"
        parts.append(text)
        if cap and free is not None and (free < cap * LOW_FREE_FRACTION or free < LOW_FREE_BYTES):
            low.append(letter)
    found = "; ".join(parts) or "no volume of this server was found"
    if missing:
        return check(name, FAIL, found + "; not found: %s" % ", ".join(missing),
                     "a volume the server's files live on is not a local volume with a drive letter",
                     "keep data, transaction log and DAOS store on local NTFS volumes")
    if low or full:
        why = []
        if low:
            why.append("little free space on %s" % ", ".join(low))
        if full:
            why.append("less than %d%% of the shadow storage limit free for %s" % (
                int(LOW_FREE_FRACTION * 100), ", ".join(full)))
        fix = ["free space, or put the shadow storage on another volume (vssadmin add shadowstorage)"] if low else []
        if full:
            fix.append("raise the shadow storage limit on the volume that holds the diff area (vssadmin resize "
                       "shadowstorage /for=<volume> /on=<diff area volume> /maxsize=<size>) or delete old shadow copies")
        return check(name, WARN, found, "; ".join(why) + ": writes during a shadow copy's life go to its diff area, "
                                                         "and a full one makes VSS drop the shadow copy", "; ".join(fix))
    return check(name, OK, found)


def _int(value: t.Any) -> t.Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def acl_check(name: str, facts: dict[str, t.Any], absent: str, want_protected: bool, fix: str) -> dict[str, t.Any]:
    """A folder or key the collection trusts: only SYSTEM and Administrators (and TrustedInstaller) may write it."""
    if not facts:
        return check(name, WARN, "not read", "the probe did not report it", "see the saved transcript of '%s'" % PROBE_STEP)
    if not facts.get("exists"):
        return check(name, OK, "%s does not exist yet; %s" % (facts.get("path"), absent))
    writers = [str(s) for s in _list(facts.get("writers"))]
    others = [s for s in writers if s not in TRUSTED_WRITERS]
    found = "%s writable by %s%s" % (facts.get("path"), _sid_names(writers) or "nobody",
                                     "" if facts.get("protected") else ", inheriting its parent's entries")
    if others:
        return check(name, FAIL, found, "%s may write it: a local user could plant or change what the collection trusts"
                     % _sid_names(others), fix)
    if want_protected and not facts.get("protected"):
        return check(name, WARN, found, "it inherits its parent's entries, so a change of the parent's ACL reaches it", fix)
    return check(name, OK, found)


def destination_check(destination: t.Optional[str], probe: dict[str, t.Any], share: t.Optional[dict[str, t.Any]],
                      check_mode: bool) -> dict[str, t.Any]:
    name = "destination"
    if not destination:
        return check(name, OK, "not checked: no destination given")
    facts = probe.get("destination") or {}
    if not facts.get("reachable"):
        return check(name, FAIL, "%s is not reachable as a folder from the host" % destination,
                     "the copy writes there as the connection's account (a share is a second hop)",
                     "check the path and the share; for a share use become SYSTEM (the computer account), become the "
                     "service account, CredSSP or Kerberos delegation, and grant that account Modify "
                     "(docs/windows-prerequisites.md)")
    if check_mode:
        return check(name, WARN, "%s is reachable; the write test was skipped (check mode)" % destination,
                     "check mode writes nothing", "run the doctor without --check to write and delete a test file")
    doc = parse_json(share) if share else {}
    if doc.get("created") and doc.get("deleted"):
        return check(name, OK, "%s is reachable and writable: %s created and deleted" % (destination, doc.get("path")))
    why = doc.get("error") or _failure(share)
    if doc.get("created"):
        return check(name, WARN, "%s: the test file was created but not deleted (%s)" % (destination, why),
                     "the account may create but not delete: retention and mirror need Modify",
                     "grant the copying account Modify on the destination; remove %s" % doc.get("path"))
    return check(name, FAIL, "%s is reachable but not writable: %s" % (destination, why),
                 "the copy writes there as the connection's account (a share is a second hop)",
                 "grant the account that copies (the connection's, or become's) Modify on the share and its folder; for "
                 "a share use become SYSTEM (the computer account), CredSSP or Kerberos delegation "
                 "(docs/windows-prerequisites.md)")


def verdicts(look: dict[str, t.Any], tried: t.Optional[dict[str, t.Any]], installs_tried: t.Sequence[dict[str, t.Any]],
             inv: t.Optional[dict[str, t.Any]], destination: t.Optional[str], check_mode: bool,
             console_test: bool) -> list[dict[str, t.Any]]:
    """Every check of the host, from the look's records, the try's (None when it did not run) and the
    inventory (None when unreadable; its installations carry methods)."""
    find = planlib.find_record
    probe = parse_json(find(look, PROBE_STEP))
    lock = host_lock(probe)
    checks = [windows_check(inv, find(look, DISKSHADOW_STEP)), culture_check(inv),
              account_check(probe, find(look, PROBE_STEP)), domino_check(inv, find(look, DOMINO_STEP))]
    for index, inst in enumerate((inv or {}).get("installations") or []):
        if tried is not None and inst in installs_tried and console_tryable(inst):
            checks.append(console_try_check(inst, tried, installs_tried.index(inst)))
        else:
            one = console_look_check(inst, None if check_mode else lock)
            if (not check_mode and not console_test and one["status"] == WARN and inst.get("answers")
                    and "not tried (check mode)" in one["found"]):
                one = dict(one, found=one["found"].replace("not tried (check mode)", "not tried (console_test false)"),
                           reason="console_test is false", fix="set console_test to true to try it")
            checks.append(one)
        checks.append(writer_check(inst, find(look, WRITERS_STEP), (inv or {}).get("culture")))
        hook = hook_check(inst, probe)
        if hook:
            checks.append(hook)
        checks.append(volumes_check(inst, probe))
    checks.append(acl_check("lock folder", probe.get("lock") or {},
                            "the first locked run creates it with SYSTEM and Administrators only", True,
                            "remove the folder (no run holds a lock then) so that the next run creates it with its own "
                            "ACL, or set it: icacls <folder> /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F "
                            "*S-1-5-32-544:(OI)(CI)F"))
    checks.append(acl_check("shadow ledger", probe.get("ledger") or {},
                            "the first snapshot creates it under HKLM\\SOFTWARE", False,
                            "remove the write permissions of other accounts from the key (regedit, Permissions)"))
    checks.append(long_paths_check(probe))
    share = find(tried, SHARE_STEP) if tried else None
    checks.append(destination_check(destination, probe, share, check_mode))
    return checks


def long_paths_check(probe: dict[str, t.Any]) -> dict[str, t.Any]:
    """Win32 long paths: the copy's listing reads every file by its full path (the copy's own folder adds its
    prefix), which Windows PowerShell 5.1 can do beyond 260 characters only with LongPathsEnabled."""
    value = probe.get("long_paths_enabled")
    if value == 1:
        return check("long paths", OK, "LongPathsEnabled = 1")
    return check("long paths", WARN, "LongPathsEnabled = %s" % ("not set" if value is None else value),
                 "a data file whose path, or its path in the copy folder, is longer than 260 characters cannot be "
                 "listed, so the copy that holds it fails its verification every night",
                 "set HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem LongPathsEnabled (DWORD) to 1, or the group "
                 "policy Computer Configuration > Administrative Templates > System > Filesystem > Enable Win32 long "
                 "paths; keep the copy destination's path short")


def ready(checks: t.Sequence[dict[str, t.Any]]) -> bool:
    return not any(c["status"] == FAIL for c in checks)


def table(host: str, checks: t.Sequence[dict[str, t.Any]]) -> list[str]:
    """The readiness table of one host, as lines (what the doctor playbook prints)."""
    width = max([len(c["name"]) for c in checks] + [5])
    lines = ["%s: %s" % (host, "READY" if ready(checks) else "NOT READY")]
    for c in checks:
        lines.append("%-4s  %-*s  %s" % (c["status"].upper(), width, c["name"], c["found"]))
        if c["status"] != OK:
            if c["reason"]:
                lines.append("%-4s  %-*s    why: %s" % ("", width, "", c["reason"]))
            if c["fix"]:
                lines.append("%-4s  %-*s    fix: %s" % ("", width, "", c["fix"]))
    return lines


# ------------------------------------------------------------------ transcripts

_SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9_.-]")


def transcript_file_name(host: str) -> str:
    """A file name for a host's transcripts: letters, digits and ._- only, never hidden or a dot name."""
    name = _SAFE_NAME_RE.sub("_", host)[:100].lstrip(".") or "host"
    return "doctor-%s.json" % name


def transcript(host: str, culture: t.Optional[dict[str, t.Any]], results: t.Sequence[t.Optional[dict[str, t.Any]]],
               checks: t.Sequence[dict[str, t.Any]]) -> dict[str, t.Any]:
    """Every raw output the doctor read, with the host's culture: what a bug report attaches."""
    steps = []
    for result in results:
        if not result:
            continue
        for section, record in planlib.iter_records(result):
            argv = record.get("argv") or []
            shown = [a for a in argv if isinstance(a, str)][:1]
            script = _script_marker(argv)
            if script:
                shown.append("<script %s>" % script)
            else:
                shown += [a if isinstance(a, str) else json.dumps(a) for a in argv[1:]]
            steps.append({"section": section, "name": record.get("name"), "argv": shown, "status": record.get("status"),
                          "rc": record.get("rc"), "error": record.get("error"), "stdout": record.get("stdout"),
                          "stderr": record.get("stderr"), "truncated": record.get("truncated", False)})
    return {"format": 1, "host": host, "culture": culture or {}, "checks": list(checks), "steps": steps}


def _script_marker(argv: t.Sequence[t.Any]) -> t.Optional[str]:
    import base64
    lowered = [str(a).lower() for a in argv]
    if "-encodedcommand" not in lowered:
        return None
    try:
        text = base64.b64decode(str(argv[lowered.index("-encodedcommand") + 1])).decode("utf-16-le")
    except (ValueError, IndexError, UnicodeDecodeError):
        return "unreadable"
    first = text.split("\n", 1)[0]
    return first[2:] if first.startswith("# ") else "constant script"
