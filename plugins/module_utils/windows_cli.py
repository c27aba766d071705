# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows command-line knowledge: tool paths, input validation, constant inventory scripts.

Pure functions, no I/O.  Every value a user passes is checked here before it can reach a
diskshadow script, an argv element or a path: drive letters, volume GUID paths, aliases,
shadow IDs and folders have strict shapes, and free text may not hold the characters that
cmd, diskshadow or a path would give a meaning to, nor the Unicode that hides, reorders or
stands in for them (``char_problem``: controls, format and separator characters, look-alikes
that Windows' best-fit conversion turns into ASCII specials).
"""

from __future__ import annotations

import base64
import json
import re
import typing as t
import unicodedata

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
    # the snapshot_copy backend restic (a single binary; its installer-less default place)
    "restic": "C:\\Program Files\\restic\\restic.exe",
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
# Microsoft, "Naming Files, Paths, and Namespaces": Windows reads the ISO 8859-1 superscript digits as digits
# in COM# and LPT#, so COM\u00b9 ... LPT\u00b3 are devices in every folder too.
# Microsoft "Naming Files, Paths, and Namespaces": CON, PRN, AUX, NUL, COM1-COM9, LPT1-LPT9 and the superscript
# forms (COM0 and LPT0, added to that page later, can be created: git for Windows allows them again, tested on
# Windows 10); CreateFile: CONIN$ and CONOUT$ open the console.
RESERVED_NAMES = ({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {"COM%d" % i for i in range(1, 10)}
                  | {"LPT%d" % i for i in range(1, 10)}
                  | {"%s%s" % (dev, sup) for dev in ("COM", "LPT") for sup in "\u00b9\u00b2\u00b3"})
MAX_PATH = 240

# ------------------------------------------------------------------ characters
# ASCII characters a path, a command line or a script gives a meaning to.  A non-ASCII character that stands
# for one of them is refused wherever the value goes: Windows' best-fit conversion (WideCharToMultiByte
# without WC_NO_BEST_FIT_CHARS) turns it into the real one for a program that reads an ANSI command line
# or path ("WorstFit", Orange Tsai / DEVCORE, 2025), and PowerShell reads typographic quotes as quotes.
SPECIALS = "\\/\"'%&|<>^`:*?!"
# Look-alikes without a compatibility decomposition to the ASCII character (NFKC finds the others: the
# full-width forms U+FF01-U+FF5E, the small forms U+FE50-U+FE6B).  After Microsoft's best-fit tables
# (bestfit1252, bestfit932, bestfit949: which code page maps which varies) and PowerShell's quoting rules
# (typographic quotes are quotes).  A deny list of characters no Domino path needs: it errs towards refusing.
BEST_FIT: dict[str, str] = {
    "\u00a5": "\\",  # YEN SIGN: the backslash of code page 932 (Japanese)
    "\u20a9": "\\",  # WON SIGN: the backslash of code page 949 (Korean)
    "\u2216": "\\",  # SET MINUS
    "\u29f5": "\\",  # REVERSE SOLIDUS OPERATOR
    "\u29f9": "\\",  # BIG REVERSE SOLIDUS
    "\u2215": "/",  # DIVISION SLASH
    "\u2044": "/",  # FRACTION SLASH
    "\u29f8": "/",  # BIG SOLIDUS
    "\u02ba": '"', "\u030e": '"', "\u2033": '"', "\u3003": '"',
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"',
    "\u02b9": "'", "\u02bc": "'", "\u02c8": "'", "\u2032": "'",
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
    "\u066a": "%",  # ARABIC PERCENT SIGN
    "\u2039": "<", "\u203a": ">", "\u2329": "<", "\u232a": ">", "\u3008": "<", "\u3009": ">",
    "\u01c0": "|", "\u2223": "|", "\u2758": "|",
    "\u02c4": "^", "\u2038": "^", "\u2303": "^",
    "\u02cb": "`", "\u2035": "`",
    "\u2236": ":", "\u0589": ":",
    "\u2217": "*",
    "\u01c3": "!",
}
# Unicode general categories no path, share, service name, owner or line of free text needs: controls (Cc,
# with U+0085 NEXT LINE), format characters (Cf: bidirectional controls, zero-width characters, the BOM),
# surrogates, private use and unassigned code points, line and paragraph separators; spaces (Zs) other than
# the plain space.
_REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible format character",
    "Cs": "a lone surrogate",
    "Co": "a private-use character",
    "Cn": "an unassigned code point",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Zs": "a space other than the plain space",
}
_CONTROL_NAMES = {"\x00": "NULL", "\t": "CHARACTER TABULATION", "\n": "LINE FEED", "\x0b": "LINE TABULATION",
                  "\x0c": "FORM FEED", "\r": "CARRIAGE RETURN", "\x1b": "ESCAPE", "\x7f": "DELETE", "\x85": "NEXT LINE"}
_UNNAMED = {"Cc": "control", "Cs": "surrogate", "Co": "private use", "Cn": "unassigned"}
LOOKALIKE = "a look-alike of"


class OptionError(ValueError):
    """A user option is not acceptable; the message names the option and what is allowed."""


def _bad(option: str, value: t.Any, allowed: str) -> t.NoReturn:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise OptionError("%s: %s is not valid; %s" % (option, shown, allowed))


def char_label(ch: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: the code point and its Unicode name (controls have none in
    ``unicodedata``: their alias, or the kind of code point)."""
    name = unicodedata.name(ch, "") or _CONTROL_NAMES.get(ch) or "<%s>" % _UNNAMED.get(unicodedata.category(ch), "no name")
    return "U+%04X %s" % (ord(ch), name)


def lookalike_of(ch: str) -> t.Optional[str]:
    """The ASCII special a non-ASCII character stands for (full-width, small or best-fit form), or None."""
    if ch.isascii():
        return None
    for part in [ch] + list(unicodedata.normalize("NFKC", ch)):
        if part in SPECIALS:
            return part
        if part in BEST_FIT:
            return BEST_FIT[part]
    return None


def char_problem(ch: str) -> t.Optional[str]:
    """Why ``ch`` has no place in a path, a name or a line of text; None when it may be there.  Letters of
    any script are fine (``D:\\Donn\u00e9es\\data``); ASCII specials are the business of each validator."""
    if ch.isascii() and ch.isprintable():
        return None
    category = unicodedata.category(ch)
    if category in _REFUSED_CATEGORIES:
        return _REFUSED_CATEGORIES[category]
    target = lookalike_of(ch)
    if target is not None:
        return "%s %s %s" % (LOOKALIKE, target, unicodedata.name(target))
    return None


def char_problems(value: str, limit: int = 3) -> list[str]:
    """``U+202E RIGHT-TO-LEFT OVERRIDE (an invisible format character)`` for each refused character, once each."""
    found: list[str] = []
    for ch in dict.fromkeys(value):
        problem = char_problem(ch)
        if problem is not None:
            found.append("%s (%s)" % (char_label(ch), problem))
            if len(found) == limit:
                break
    return found


def check_chars(option: str, value: str) -> str:
    """Refuse a value holding a character ``char_problem`` refuses, naming the character."""
    found = char_problems(value)
    if found:
        why = "no path, name or text needs %s" % ("them" if len(found) > 1 else "it")
        if any(LOOKALIKE in item for item in found):
            why += " (Windows' best-fit conversion turns a look-alike into the ASCII character for a program that reads ANSI text)"
        _bad(option, value, "it contains %s; %s" % (", ".join(found), why))
    return value


DISKSHADOW_ASCII = ("a diskshadow script is written in ASCII, so a folder it names must be ASCII too "
                    "(paths robocopy reads may have any letters)")


def ascii_only(option: str, value: str, why: str) -> str:
    """Refuse any non-ASCII character (a value written into an ASCII file such as a diskshadow script)."""
    found = [char_label(ch) for ch in dict.fromkeys(value) if not ch.isascii()][:3]
    if found:
        _bad(option, value, "it contains %s; %s" % (", ".join(found), why))
    return value


def is_reserved_name(component: str) -> bool:
    """A path component Windows takes for a device (``NUL``, ``nul.txt``, ``COM\u00b9``, ``LPT\u00b3.log``).
    Compatibility forms count too (full-width or superscript letters and digits)."""
    stem = component.split(".")[0]
    return stem.upper() in RESERVED_NAMES or unicodedata.normalize("NFKC", stem).upper() in RESERVED_NAMES


def is_dot_component(component: str) -> bool:
    """``.`` or ``..``, also spelt with look-alike dots (``\uff0e\uff0e``, ``\u2025``)."""
    return unicodedata.normalize("NFKC", component) in (".", "..")


def require_str(option: str, value: t.Any) -> str:
    if not isinstance(value, str):
        _bad(option, value, "a string is required, not %s" % type(value).__name__)
    return value


def safe_text(option: str, value: t.Any, max_len: int = 256) -> str:
    """Free text that may reach a script or argv: no newline, %, quotes, &, |, <, >, ^ or backtick, and
    none of the Unicode ``char_problem`` refuses (controls, format characters, look-alikes of those)."""
    value = require_str(option, value)
    bad = sorted({ch for ch in value if ch in UNSAFE_CHARS})
    if bad:
        _bad(option, value, "it may not contain %s" % " ".join(repr(ch) for ch in bad))
    check_chars(option, value)
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
    if any(is_dot_component(p) for p in parts):
        _bad(option, value, "'.' and '..' are not allowed in the path")
    if any(is_reserved_name(p) for p in parts):
        _bad(option, value, "reserved device names (CON, NUL, COM1, COM\u00b9...) are not allowed")
    if any(p != p.rstrip(" .") for p in parts):
        _bad(option, value, "path components may not end with a space or a dot (Windows drops them)")
    return value[0].upper() + value[1:].rstrip("\\") if parts else value[0].upper() + ":\\"


def unc_path(option: str, value: t.Any) -> str:
    """``\\\\server\\share[\\dir]``: no ``..``, no ``\\\\?\\`` or ``\\\\.\\`` device paths."""
    value = safe_text(option, value, MAX_PATH)
    if value.startswith(("\\\\?\\", "\\\\.\\")) or not _UNC_RE.fullmatch(value):
        _bad(option, value, "use a share path such as \\\\server\\share\\folder (no device paths)")
    parts = value[2:].split("\\")
    if any(is_dot_component(p) for p in parts):
        _bad(option, value, "'.' and '..' are not allowed in the path")
    if any(is_reserved_name(p) for p in parts[2:]):
        _bad(option, value, "reserved device names (CON, NUL, COM1, COM\u00b9...) are not allowed")
    if any(p != p.rstrip(" .") for p in parts[1:] if p):
        _bad(option, value, "path components may not end with a space or a dot (Windows drops them)")
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
            tools[name] = check_chars("%s.%s" % (TOOLS_VAR, name), require_str("%s.%s" % (TOOLS_VAR, name), path))
    for name, path in tools.items():
        ok = path.startswith("/") if platform == "posix" else bool(re.match(r"^[A-Za-z]:\\", path))
        if not ok or ".." in re.split(r"[\\/]", path):
            raise OptionError("%s.%s: %r is not an absolute %s path" % (TOOLS_VAR, name, path, platform))
    return tools


# ---------------------------------------------------- constant inventory scripts

# Run as: powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand <base64>.
# Constant text: no user value is ever put into it.  Output: one JSON document.
# The ledger of the shadow copies the collection created (module_utils/shadow_ledger.py): value names are IDs.
SHADOW_LEDGER_KEY = "HKLM:\\SOFTWARE\\quiesce.domino\\Shadows"

SHADOW_INVENTORY_SCRIPT = (
    "# quiesce.domino:shadow-inventory\n"
    "Set-StrictMode -Version 2.0\n"
    "$ErrorActionPreference = 'Stop'\n"
    "$shadows = @(Get-CimInstance -ClassName Win32_ShadowCopy | Select-Object ID, SetID, VolumeName, "
    "DeviceObject, InstallDate, Count, Persistent, NoWriters, ClientAccessible, NoAutoRelease, ExposedLocally, "
    "ExposedName, State, OriginatingMachine, ServiceMachine, ProviderID)\n"
    "$volumes = @(Get-CimInstance -ClassName Win32_Volume | Select-Object DriveLetter, DeviceID, FileSystem, "
    "Capacity, FreeSpace, Label)\n"
    "$drives = @([System.IO.DriveInfo]::GetDrives() | ForEach-Object { $_.Name.Substring(0, 2) })\n"
    "$owned = @()\n"
    "if (Test-Path -LiteralPath '" + SHADOW_LEDGER_KEY + "') { "
    "$owned = @((Get-Item -LiteralPath '" + SHADOW_LEDGER_KEY + "').GetValueNames()) }\n"
    "ConvertTo-Json -Compress -Depth 3 -InputObject @{ shadows = $shadows; volumes = $volumes; drives = $drives; "
    "owned = $owned }\n"
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


def as_list(value: t.Any) -> list[t.Any]:
    """A JSON value Windows PowerShell 5.1 may print as a scalar, null or a list (ConvertTo-Json unwraps a
    one-element array), as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def dotnet_date_ms(value: t.Any) -> t.Optional[int]:
    """``/Date(1587332041000)/`` (Windows PowerShell 5.1 ConvertTo-Json) -> epoch ms."""
    if isinstance(value, str):
        match = _DOTNET_DATE_RE.fullmatch(value.replace("\\/", "/"))
        if match:
            return int(match.group(1))
    return None


class HostOutputError(ValueError):
    """A script on the host printed something other than the JSON document it promises."""


def parse_json_document(text: str) -> t.Any:
    """The JSON document a constant script printed (ignores anything before the first brace)."""
    text = text or ""
    start = min([i for i in (text.find("{"), text.find("[")) if i >= 0] or [-1])
    if start < 0:
        raise HostOutputError("the host printed no JSON document where one was expected (%r)" % text.strip()[:200])
    try:
        return json.loads(text[start:])
    except ValueError as exc:
        raise HostOutputError("the host printed a JSON document that cannot be read (%s): %r" % (exc, text[start:start + 200]))
