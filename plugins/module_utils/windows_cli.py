# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows command-line knowledge: tool paths, input validation, constant inventory scripts.

Pure functions, no I/O.  Every value a user passes is checked here before it can reach a
diskshadow script, an argv element or a path: drive letters, volume GUID paths, aliases,
shadow IDs and folders have strict shapes, and free text may not hold the characters that
cmd, diskshadow or a path would give a meaning to.
"""

from __future__ import annotations

import base64
import json
import re
import typing as t

SYSTEM32 = "C:\\Windows\\System32"
DEFAULT_TOOLS = {
    "diskshadow": SYSTEM32 + "\\diskshadow.exe",
    "vssadmin": SYSTEM32 + "\\vssadmin.exe",
    "robocopy": SYSTEM32 + "\\robocopy.exe",
    "sc": SYSTEM32 + "\\sc.exe",
    "tasklist": SYSTEM32 + "\\tasklist.exe",
    "taskkill": SYSTEM32 + "\\taskkill.exe",
    "schtasks": SYSTEM32 + "\\schtasks.exe",
    "reg": SYSTEM32 + "\\reg.exe",
    "fsutil": SYSTEM32 + "\\fsutil.exe",
    "powershell": SYSTEM32 + "\\WindowsPowerShell\\v1.0\\powershell.exe",
}
DOMINO_TOOLS = ("nserver", "nsd")
KNOWN_TOOLS = tuple(sorted(set(DEFAULT_TOOLS) | set(DOMINO_TOOLS)))
TOOLS_VAR = "quiesce_domino_tools"

# Characters that cmd, diskshadow (%alias%), quoting or the shell would interpret.
UNSAFE_CHARS = "\r\n\x00%\"'&|<>^`"
_DRIVE_RE = re.compile(r"^([A-Za-z]):\\?$")
_VOLUME_GUID_RE = re.compile(r"(?i)^\\\\\?\\Volume\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}\\$")
_GUID_RE = re.compile(r"^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$")
_ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
_WIN_FOLDER_RE = re.compile(r"^[A-Za-z]:\\(?:[^\\/:*?\"<>|\x00-\x1f]+\\?)*$")
_UNC_RE = re.compile(r"^\\\\[A-Za-z0-9][A-Za-z0-9.-]{0,253}\\[A-Za-z0-9$][A-Za-z0-9 $._-]{0,79}(?:\\[^\\/:*?\"<>|\x00-\x1f]+)*\\?$")
RESERVED_NAMES = {"CON", "PRN", "AUX", "NUL"} | {"COM%d" % i for i in range(1, 10)} | {"LPT%d" % i for i in range(1, 10)}
MAX_PATH = 240


class OptionError(ValueError):
    """A user option is not acceptable; the message names the option and what is allowed."""


def _bad(option: str, value: t.Any, allowed: str) -> t.NoReturn:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise OptionError("%s: %s is not valid; %s" % (option, shown, allowed))


def require_str(option: str, value: t.Any) -> str:
    if not isinstance(value, str):
        _bad(option, value, "a string is required, not %s" % type(value).__name__)
    return value


def safe_text(option: str, value: t.Any, max_len: int = 256) -> str:
    """Free text that may reach a script or argv: no newline, %, quotes, &, |, <, >, ^ or backtick."""
    value = require_str(option, value)
    bad = sorted({ch for ch in value if ch in UNSAFE_CHARS})
    if bad:
        _bad(option, value, "it may not contain %s" % " ".join(repr(ch) for ch in bad))
    if len(value) > max_len:
        _bad(option, value, "at most %d characters are allowed" % max_len)
    return value


def service_name(option: str, value: t.Any) -> str:
    """A Windows service name (such as ``HCL Domino Server (DDominodata)``): at most 256 characters,
    no slash or backslash (Windows refuses them), nothing a command line would interpret."""
    value = safe_text(option, value, 256)
    if not value.strip() or "\\" in value or "/" in value:
        _bad(option, value, "a service name is 1-256 characters without / or \\")
    return value


def drive_letter(option: str, value: t.Any) -> str:
    """``Z``, ``z:`` or ``Z:\\`` -> ``Z:``."""
    value = safe_text(option, value, 3)
    match = _DRIVE_RE.fullmatch(value) or re.fullmatch(r"([A-Za-z])", value)
    if not match:
        _bad(option, value, "use a drive letter such as Z: (A-Z, optional colon and backslash)")
    return match.group(1).upper() + ":"


def volume(option: str, value: t.Any) -> str:
    """A drive letter (``D:``) or a volume GUID path (``\\\\?\\Volume{...}\\``), normalised."""
    value = safe_text(option, value, 60)
    if _VOLUME_GUID_RE.fullmatch(value):
        return volume_guid_path(value)
    if _DRIVE_RE.fullmatch(value):
        return value[0].upper() + ":"
    _bad(option, value, "use a drive letter such as D: or a volume GUID path such as \\\\?\\Volume{GUID}\\")


def alias(option: str, value: t.Any) -> str:
    value = require_str(option, value)
    if not _ALIAS_RE.fullmatch(value):
        _bad(option, value, "aliases are 1-32 characters [A-Za-z][A-Za-z0-9_]*")
    return value


def volume_guid_path(value: t.Any) -> str:
    """``\\\\?\\VOLUME{ABC...}\\`` -> ``\\\\?\\Volume{abc...}\\`` (any case in, one spelling out)."""
    text = str(value or "")
    if re.match(r"^\\\\\?\\volume\{", text, re.I):
        return "\\\\?\\Volume" + text[10:].lower()
    return text


def guid(option: str, value: t.Any) -> str:
    """A shadow copy or set ID, normalised to ``{lower-case-guid}``."""
    value = safe_text(option, value, 40)
    match = _GUID_RE.fullmatch(value)
    if not match:
        _bad(option, value, "use a GUID such as {12b5d80f-4368-4727-a02b-1b22f5e020ef}")
    return "{%s}" % match.group(1).lower()


def windows_folder(option: str, value: t.Any) -> str:
    """An absolute local folder ``X:\\dir\\sub``: no ``..``, no reserved names, no unsafe characters."""
    value = safe_text(option, value, MAX_PATH)
    if not _WIN_FOLDER_RE.fullmatch(value):
        _bad(option, value, "use an absolute local folder such as E:\\Backups (drive letter, backslashes, "
                            "no * ? \" < > | or :)")
    parts = [p for p in value[3:].split("\\") if p]
    if any(p in (".", "..") for p in parts):
        _bad(option, value, "'.' and '..' are not allowed in the path")
    if any(p.split(".")[0].upper() in RESERVED_NAMES for p in parts):
        _bad(option, value, "reserved device names (CON, NUL, COM1...) are not allowed")
    if any(p != p.rstrip(" .") for p in parts):
        _bad(option, value, "path components may not end with a space or a dot")
    return value[0].upper() + value[1:].rstrip("\\") if parts else value[0].upper() + ":\\"


def unc_path(option: str, value: t.Any) -> str:
    """``\\\\server\\share[\\dir]``: no ``..``, no ``\\\\?\\`` or ``\\\\.\\`` device paths."""
    value = safe_text(option, value, MAX_PATH)
    if value.startswith(("\\\\?\\", "\\\\.\\")) or not _UNC_RE.fullmatch(value):
        _bad(option, value, "use a share path such as \\\\server\\share\\folder (no device paths)")
    parts = value[2:].split("\\")
    if any(p in (".", "..") for p in parts):
        _bad(option, value, "'.' and '..' are not allowed in the path")
    return value.rstrip("\\")


def destination(option: str, value: t.Any) -> str:
    """A local folder or a UNC share path."""
    text = require_str(option, value)
    try:
        return unc_path(option, text) if text.startswith("\\\\") else windows_folder(option, text)
    except OptionError as exc:
        raise OptionError("%s (a destination is a local folder such as E:\\Backups or a share such as "
                          "\\\\server\\share)" % exc)


def choice(option: str, value: t.Any, choices: t.Sequence[str]) -> str:
    if value not in choices:
        _bad(option, value, "choose one of %s" % ", ".join(choices))
    return value


def int_range(option: str, value: t.Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value), 10)
        except ValueError:
            _bad(option, value, "an integer from %d to %d is required" % (low, high))
    if not low <= value <= high:
        _bad(option, value, "an integer from %d to %d is required" % (low, high))
    return value


def windows_cmdline(args: t.Sequence[str]) -> str:
    """Quote arguments the way CommandLineToArgvW reads them (mirror of executor.ps1)."""
    out = []
    for arg in args:
        if arg and not re.search(r'[\s"]', arg):
            out.append(arg)
            continue
        text, slashes = '"', 0
        for ch in arg:
            if ch == "\\":
                slashes += 1
                continue
            if ch == '"':
                text += "\\" * (slashes * 2 + 1) + '"'
            else:
                text += "\\" * slashes + ch
            slashes = 0
        out.append(text + "\\" * (slashes * 2) + '"')
    return " ".join(out)


# ------------------------------------------------------------------ tool paths

def resolve_tools(overrides: t.Any, platform: str, domino_program_dir: t.Optional[str] = None) -> dict[str, str]:
    """Tool name -> absolute path: Windows defaults, Domino tools from the program directory,
    then the ``quiesce_domino_tools`` host variable (which the simulated fleet uses)."""
    tools = dict(DEFAULT_TOOLS)
    if domino_program_dir:
        folder = windows_folder("domino program directory", domino_program_dir)
        for name in DOMINO_TOOLS:
            tools[name] = folder.rstrip("\\") + "\\" + name + ".exe"
    if overrides is not None:
        if not isinstance(overrides, dict):
            raise OptionError("%s: must be a mapping of tool name to absolute path" % TOOLS_VAR)
        for name, path in overrides.items():
            if name not in KNOWN_TOOLS:
                raise OptionError("%s: unknown tool %r; known tools are %s" % (TOOLS_VAR, name, ", ".join(KNOWN_TOOLS)))
            tools[name] = require_str("%s.%s" % (TOOLS_VAR, name), path)
    for name, path in tools.items():
        ok = path.startswith("/") if platform == "posix" else bool(re.match(r"^[A-Za-z]:\\", path))
        if not ok or ".." in re.split(r"[\\/]", path):
            raise OptionError("%s.%s: %r is not an absolute %s path" % (TOOLS_VAR, name, path, platform))
    return tools


# ---------------------------------------------------- constant inventory scripts

# Run as: powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand <base64>.
# Constant text: no user value is ever put into it.  Output: one JSON document.
SHADOW_INVENTORY_SCRIPT = (
    "# quiesce.domino:shadow-inventory\n"
    "$ErrorActionPreference = 'Stop'\n"
    "$shadows = @(Get-CimInstance -ClassName Win32_ShadowCopy | Select-Object ID, SetID, VolumeName, "
    "DeviceObject, InstallDate, Count, Persistent, NoWriters, ClientAccessible, NoAutoRelease, ExposedLocally, "
    "ExposedName, ExposedPath, State, OriginatingMachine, ServiceMachine, ProviderID)\n"
    "$volumes = @(Get-CimInstance -ClassName Win32_Volume | Select-Object DriveLetter, DeviceID, FileSystem, "
    "Capacity, FreeSpace, Label)\n"
    "$drives = @([System.IO.DriveInfo]::GetDrives() | ForEach-Object { $_.Name.Substring(0, 2) })\n"
    "ConvertTo-Json -Compress -Depth 3 -InputObject @{ shadows = $shadows; volumes = $volumes; drives = $drives }\n"
)


def powershell_argv(tools: dict[str, str], script: str) -> list[str]:
    """argv for a constant script: -EncodedCommand (Base64 of UTF-16LE) survives any quoting."""
    # Indentation and blank lines mean nothing to PowerShell (the scripts use no here-strings): leave them out
    # to keep the command line short (the Base64 of UTF-16 is 2.7 times the text).
    compact = "\n".join(line.strip() for line in script.split("\n") if line.strip())
    encoded = base64.b64encode(compact.encode("utf-16-le")).decode("ascii")
    return [tools["powershell"], "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass",
            "-EncodedCommand", encoded]


_DOTNET_DATE_RE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


def dotnet_date_ms(value: t.Any) -> t.Optional[int]:
    """``/Date(1587332041000)/`` (Windows PowerShell 5.1 ConvertTo-Json) -> epoch ms."""
    if isinstance(value, str):
        match = _DOTNET_DATE_RE.fullmatch(value.replace("\\/", "/"))
        if match:
            return int(match.group(1))
    return None


def parse_json_document(text: str) -> t.Any:
    """The JSON document a constant script printed (ignores anything before the first brace)."""
    start = min([i for i in (text.find("{"), text.find("[")) if i >= 0] or [-1])
    if start < 0:
        raise ValueError("no JSON document in the output")
    return json.loads(text[start:])
