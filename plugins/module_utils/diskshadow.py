# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
r"""diskshadow knowledge: render scripts from validated options, parse transcripts and listings, judge a run.

Pure functions, no I/O.  Formats follow the captures in tests/unit/samples: indentation may be spaces or
TABs, lines may end in CRLF.  diskshadow and vssadmin are localised, and no localized transcript of either has
been published (tests/unit/data/locale/SOURCES.md), so the shadow copies themselves are read by shape, not by
label: IDs and sets are ``{GUID}`` values, aliases ``%name%`` tokens and the names the script declared, the
original volume ``\\?\Volume{GUID}\``, the device ``\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN``, the
other fields by their fixed order in a block.  What an expose, unexpose or delete did is judged by evidence that
does not depend on the language: a read-only probe in the same remote call (``SHADOW_PROBE_SCRIPT``) reads
``Win32_ShadowCopy`` back after diskshadow (``ID``, ``SetID`` and ``ExposedName``, Microsoft's documented
property for the drive letter or mount folder a shadow copy is exposed at) and the drive letters in use;
``judge`` decides by it.  diskshadow's English confirmations are kept as a hint (and are all there is when the
probe itself could not run); the Domino writer is judged by its ID (``writer verify {GUID}``, which makes the
create fail when the writer is missing) and the create's evidence.
"""

from __future__ import annotations

import datetime
import json
import re
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import shadow_ledger as ledger

from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

CONTEXTS = ("persistent", "volatile")
# diskshadow makes a copy backup unless "begin backup" starts a full one (writers see BackupComplete).
BACKUP_TYPES = ("copy", "full")
DELETE_SCOPES = ("id", "set", "exposed", "volume", "oldest", "all")
SCRIPT_COMMANDS = ("set", "begin", "end", "add", "writer", "create", "expose", "unexpose", "delete", "list",
                   "reset", "exit", "#", "rem")

_GUID = r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}"
_ALIAS_TOKEN = r"%([A-Za-z][A-Za-z0-9_]*)%"
# What follows a GUID in a block: its alias, or "<No Alias>" where ``list shadows all`` shows a shadow copy that has
# none (untranslated in the Japanese capture tests/unit/data/locale/diskshadow_ja_list_delete.txt).
_AFTER_GUID = r"(?:\s+(?:" + _ALIAS_TOKEN + r"|<[^<>]*>))?"
# "* Shadow copy ID = {guid}  %alias%" whatever the label: a starred line with "= {GUID}" (or ": {GUID}", "：{GUID}":
# a translation may use a colon, ASCII or full-width).
_ID_LINE = re.compile(r"^\*\s*[^=:\uff1a*{}]+?[=:\uff1a]\s*(" + _GUID + r")" + _AFTER_GUID + r"\s*$")
# "- <label>: value", "- <label> = value" or "- <label>" (no value: "Not exposed"); the label has no separator.
_FIELD = re.compile(r"^-\s*([^:=\uff1a]*?)\s*(?:[:=\uff1a]\s*(.*))?$")
_ORIG_VOL = re.compile(r"^(\\\\\?\\Volume" + _GUID + r"\\)\s*(?:\[([A-Za-z]):\\\])?")
_GUID_VALUE = re.compile(r"^(" + _GUID + r")" + _AFTER_GUID + r"$")
# A shadow copy's device: a local volume's GLOBALROOT device, or a file share's "\\server\share@{GUID}$".
_DEVICE = re.compile(r"^\\\\\?\\GLOBALROOT\\|^\\\\[^\\]+\\.*@" + _GUID + r"\$?$", re.I)
_DRIVE_OR_FOLDER = re.compile(r"^[A-Za-z]:(?:\\.*)?$")
_ALIAS_SET = re.compile(r"^Alias\s+(\S+)\s+for shadow ID\s+(" + _GUID + r")\s+set as environment variable", re.I)
_SET_ALIAS = re.compile(r"^Alias\s+VSS_SHADOW_SET\s+for shadow set ID\s+(" + _GUID + r")", re.I)
_EXPOSED_OK = re.compile(r"^The shadow copy was successfully exposed as\s+(.+?)\\?\.\s*$", re.I)
_UNEXPOSED = re.compile(r"^Shadow copy ID\s+(" + _GUID + r")\s+is no longer exposed", re.I)
_DELETING = re.compile(r"^Deleting shadow copy\s+(" + _GUID + r")", re.I)
_DELETED_N = re.compile(r"^(?:(\d+)\s+shadow cop(?:y|ies)\s+deleted|Number of shadow copies deleted:\s*(\d+))", re.I)
_ALIAS_EXPANSION = re.compile(r"^->\s*%([A-Za-z][A-Za-z0-9_]*)%\s*=\s*(" + _GUID + r")")
_WRITER_INCLUDED = re.compile(r'^\*\s*Including writer\s+"([^"]+)"', re.I)
_WRITER_EXCLUDED = re.compile(r'^Excluding writer\s+"([^"]+)"', re.I)

# Known failures: (pattern, short reason).  The real line goes into msg.  Most are English sentences; the VSS
# error constants and HRESULTs (0x800423xx and near) are the same in every language.
FAILURE_PATTERNS = [
    # quiesce.domino's own wait.cmd (method backup_task): printed through diskshadow's exec
    (re.compile(r"^Domino Backup did not hold the databases within", re.I),
     "Domino Backup never held the databases: is the hook its Snapshot start command (docs/backup-task.md)?"),
    (re.compile(r'COM call\s+"[^"]*"\s+failed', re.I), "a VSS COM call failed"),
    (re.compile(r"drive\s+letter\s+is\s+already\s+in\s+use", re.I), "the drive letter is already in use"),
    (re.compile(r"\bVSS_E_[A-Z_]+\b"), "VSS reported an error"),
    (re.compile(r"writer verification failed|writer\s+\"[^\"]+\"\s+(?:reported an error|experienced|failed)", re.I),
     "a VSS writer failed"),
    (re.compile(r"^The script file name is not valid", re.I), "diskshadow rejected the script"),
    (re.compile(r"^Unknown command|is not supported\.|^Invalid context", re.I), "diskshadow rejected a command"),
    (re.compile(r"not valid|was not found|is not exposed|already exposed|can(?:not|'t) be exposed|"
                r"Only persistent|No volumes are in the shadow copy set", re.I), "diskshadow refused the operation"),
    (re.compile(r"\bfailed\b.*\b(?:0x[0-9A-Fa-f]{8}|error)\b|\berror\s+0x[0-9A-Fa-f]{8}", re.I), "diskshadow reported an error"),
    # "- Returned HRESULT: 80042306" in any language (GUIDs are removed before this pattern is tried)
    (re.compile(r"(?<![0-9A-Fa-f])(?:0x)?80042[3-5][0-9A-Fa-f]{2}(?![0-9A-Fa-f])"), "VSS reported an error"),
]
# Messages that look alarming but are not failures, each with its source, in one place.  A COM call failure
# Microsoft documents as harmless never makes a run succeed by itself: it is kept out of the errors (and
# reported as a notice), and judge() still needs the evidence that the shadow copy exists (its ID, set and
# device).  The other lines are diskshadow's own notes, never failures.
HARMLESS_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r'^COM call\s+"[^"]*->GetRootAndLogicalPrefixPaths"\s+failed\.?$', re.I),
     "Microsoft KB 3025158, \"Diskshadow error when you try to create a VSS snapshot\" (learn.microsoft.com/"
     "troubleshoot/windows-server/backup-and-storage/diskshadow-error-try-to-create-a-vss-snap): \"This particular "
     "COM call failure message is harmless. Despite the message, the shadowcopy backup is completed successfully.\"; "
     "seen with the shadow copy created on a local volume and on an SMB share (tests/unit/data/locale/SOURCES.md)"),
    (re.compile(r"^The existing file will be overwritten", re.I), "set metadata over an existing file (sample ds_metadata_overwrite.txt)"),
    (re.compile(r"^Note: END BACKUP was not commanded", re.I), "a copy backup without end backup (sample ds_create_writers_tabs.txt)"),
    (re.compile(r"^Inserted file .* into \.cab file", re.I), "set metadata writing its cab file (sample ds_create_writers_tabs.txt)"),
    (re.compile(r"^Excluding writer", re.I), "a writer without components on the volumes (sample ds_create_writers_tabs.txt)"),
]
HARMLESS_PATTERNS = [pattern for pattern, _source in HARMLESS_MESSAGES]


class DiskShadowError(ValueError):
    """A script cannot be rendered from these values (defence in depth behind option validation)."""


# ---------------------------------------------------------------- rendering

def _token(value: str, what: str) -> str:
    if not value or any(ch in value for ch in cli.UNSAFE_CHARS) or re.search(r"\s", value):
        raise DiskShadowError("%s %r cannot go into a diskshadow script" % (what, value))
    return value


def _target(value: str) -> str:
    """An exposure target: drive letter or mount folder; folders with spaces are refused."""
    if re.match(r"^[A-Z]:$", value):
        return value
    return _token(value, "mount folder")


def render(lines: t.Sequence[str]) -> str:
    """Join script lines the way diskshadow /s reads them (CRLF, ASCII)."""
    text = "\r\n".join(lines) + "\r\n"
    if not text.isascii():
        raise DiskShadowError("diskshadow scripts are ASCII only; this one contains %s"
                              % ", ".join(cli.char_label(ch) for ch in dict.fromkeys(text) if not ch.isascii()))
    return text


def render_create(
    volumes: t.Sequence[tuple[str, str]],
    context: str = "persistent",
    writers: bool = False,
    client_accessible: bool = False,
    backup_type: str = "copy",
    metadata: t.Optional[str] = None,
    verbose: bool = False,
    writer_verify: t.Sequence[str] = (),
    writer_exclude: t.Sequence[str] = (),
    expose: t.Optional[dict[str, str]] = None,
    exec_after_create: t.Optional[str] = None,
    exec_before_create: t.Optional[str] = None,
) -> list[str]:
    """Lines of a create script.  ``volumes`` are (volume, alias) pairs, already validated;
    ``expose`` maps an alias to a drive letter or mount folder.  ``exec_after_create`` is a .cmd
    file diskshadow runs the moment the shadow copies exist (``exec``), before anything else;
    ``exec_before_create`` one it runs just before ``create`` (a failing script ends diskshadow)."""
    if context not in CONTEXTS:
        raise DiskShadowError("context must be one of %s" % ", ".join(CONTEXTS))
    if backup_type not in BACKUP_TYPES:
        raise DiskShadowError("backup_type must be one of %s" % ", ".join(BACKUP_TYPES))
    lines = ["# quiesce.domino: create shadow copies"]
    if verbose:
        lines.append("set verbose on")
    if metadata:
        lines.append("set metadata %s" % _token(metadata, "metadata path"))
    words = [context]
    if client_accessible:
        words.append("clientaccessible")
    if not writers:
        words.append("nowriters")
    lines.append("set context %s" % " ".join(words))
    if backup_type == "full":
        lines.append("begin backup")
    for vol, name in volumes:
        lines.append("add volume %s alias %s" % (_token(vol, "volume"), _token(name, "alias")))
    for writer in writer_verify:
        lines.append("writer verify %s" % _writer_ref(writer))
    for writer in writer_exclude:
        lines.append("writer exclude %s" % _writer_ref(writer))
    if exec_before_create is not None:
        lines.append(_exec_line("exec_before_create", exec_before_create))
    lines.append("create")
    if exec_after_create is not None:
        lines.append(_exec_line("exec_after_create", exec_after_create))
    if backup_type == "full":
        lines.append("end backup")
    for name, target in (expose or {}).items():
        lines.append("expose %%%s%% %s" % (_token(name, "alias"), _target(target)))
    return lines


def _exec_line(what: str, path: str) -> str:
    """diskshadow's exec takes one script file and no arguments; a failing script ends diskshadow."""
    if not re.fullmatch(r'[^"%\r\n]{1,240}\.cmd', path):
        raise DiskShadowError("%s must be a .cmd path without quotes, %% or line breaks" % what)
    return 'exec "%s"' % path


def _writer_ref(writer: str) -> str:
    """Writers are named by ID ({guid}) or by a name without spaces or quotes."""
    if re.match("^" + _GUID + "$", writer):
        return writer
    return _token(writer, "writer name")


def render_expose(shadow_id: str, target: str) -> list[str]:
    return ["# quiesce.domino: expose", "expose %s %s" % (_token(shadow_id, "shadow ID"), _target(target))]


def render_unexpose(target: str) -> list[str]:
    return ["# quiesce.domino: unexpose", "unexpose %s" % _target(target)]


def render_delete(scope: str, value: str = "") -> list[str]:
    if scope not in DELETE_SCOPES:
        raise DiskShadowError("delete scope must be one of %s" % ", ".join(DELETE_SCOPES))
    if scope == "all":
        return ["# quiesce.domino: delete", "delete shadows all"]
    return ["# quiesce.domino: delete", "delete shadows %s %s" % (scope, _token(value, scope))]


def script_plan(name: str, tools: dict[str, str], platform: str, lines: t.Sequence[str], timeout: int = 300,
                after: t.Sequence[dict[str, t.Any]] = ()) -> dict[str, t.Any]:
    """One remote call that runs one diskshadow script (then the steps ``after``, which run whatever happened)."""
    return planlib.build_plan(name, platform, [planlib.step(name, [tools["diskshadow"], "/s", planlib.file_ref("script.dsh")],
                                                            timeout=timeout)],
                              files={"script.dsh": planlib.plan_file(render(lines), encoding="ascii")},
                              finally_steps=list(after))


def render_list() -> list[str]:
    return ["list shadows all"]


def check_user_script(option: str, script: t.Any) -> list[str]:
    """A user-supplied script: known commands only, no exec, no quotes/&/|, %alias% tokens only."""
    script = cli.require_str(option, script)
    lines = []
    for number, raw in enumerate(script.replace("\r\n", "\n").split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        word = line.split()[0].lower()
        if word not in SCRIPT_COMMANDS and not word.startswith("#"):
            raise cli.OptionError("%s: line %d: %r is not an allowed diskshadow command; allowed: %s"
                                  % (option, number, word, ", ".join(c for c in SCRIPT_COMMANDS if c != "#")))
        stripped = re.sub(r"%[A-Za-z][A-Za-z0-9_]*%", "", line)
        bad = sorted({ch for ch in stripped if ch in cli.UNSAFE_CHARS})
        if bad:
            raise cli.OptionError("%s: line %d may not contain %s (only %%alias%% tokens use %%)"
                                  % (option, number, " ".join(repr(c) for c in bad)))
        odd = [cli.char_label(ch) for ch in dict.fromkeys(line) if not ch.isascii() or (ch != "\t" and cli.char_problem(ch))]
        if odd:
            raise cli.OptionError("%s: line %d: diskshadow scripts are ASCII only, without control characters; it "
                                  "contains %s" % (option, number, ", ".join(odd[:3])))
        lines.append(line)
    if not lines:
        raise cli.OptionError("%s: the script is empty" % option)
    return lines


# ------------------------------------------------------------------ parsing

def _clean(line: str) -> str:
    return line.replace("\t", " ").strip()


def _parse_created(text: str) -> t.Optional[str]:
    """``9/21/2020 12:12:51 AM`` (English short date) or ``2023/01/27 10:56:00`` (year first, as the Japanese
    capture prints it; no other order puts the year first) -> ISO 8601 without zone, host local time.  A date with
    the day and month in another order (German ``04.03.2023``) is not guessed: None."""
    for fmt in ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.datetime.strptime(text.strip(), fmt).isoformat()
        except ValueError:
            continue
    return None


def _new_shadow(shadow_id: str, alias: t.Optional[str]) -> dict[str, t.Any]:
    return {"id": shadow_id.lower(), "alias": alias, "set_id": None, "count": None,
            "volume_guid": None, "volume": None, "created": None, "created_text": None,
            "device_object": None, "originating_machine": None, "service_machine": None,
            "exposed_as": None, "provider_id": None, "attributes": [], "persistent": None,
            "no_writers": None}


def parse_shadow_blocks(lines: t.Sequence[str]) -> list[dict[str, t.Any]]:
    r"""The ``* Shadow copy ID = ...`` blocks of a create or list transcript, read by shape and order, not by
    label: the first GUID is the set, a bare number the original count, ``\\?\Volume{GUID}\ [C:\]`` the
    original volume, the text after it the creation time, the GLOBALROOT (or share ``@{GUID}``) path the
    device; after the device come the originating and the service machine, the exposure (a field without value
    when not exposed), the provider's GUID and the attributes."""
    shadows: list[dict[str, t.Any]] = []
    current: t.Optional[dict[str, t.Any]] = None
    texts_after_device = 0
    stage = "start"  # start -> volume -> device -> provider
    for raw in lines:
        line = _clean(raw)
        match = _ID_LINE.match(line)
        if match:
            current = _new_shadow(match.group(1), match.group(2))
            shadows.append(current)
            stage, texts_after_device = "start", 0
            continue
        if current is None:
            continue
        field = _FIELD.match(line) if line.startswith("-") else None
        if not field:
            if line:
                current = None
            continue
        value = field.group(2)
        if value is None:  # "- Not exposed"
            current["exposed_as"] = None
            continue
        value = value.strip()
        guid = _GUID_VALUE.match(value)
        volume = _ORIG_VOL.match(value)
        if guid and stage != "device" and current["set_id"] is None:
            current["set_id"] = guid.group(1).lower()
        elif guid and stage in ("device", "provider"):
            current["provider_id"] = guid.group(1).lower()
            stage = "provider"
        elif value.isdigit() and current["count"] is None:
            current["count"] = int(value)
        elif volume:
            current["volume_guid"] = cli.volume_guid_path(volume.group(1))
            current["volume"] = (volume.group(2).upper() + ":") if volume.group(2) else None
            stage = "volume"
        elif _DEVICE.search(value) and current["device_object"] is None:
            current["device_object"] = value
            stage = "device"
        elif stage == "provider":
            attrs = value.split()
            current["attributes"] = attrs
            current["persistent"] = "Persistent" in attrs
            current["no_writers"] = "No_Writers" in attrs
        elif stage == "device":
            texts_after_device += 1
            if texts_after_device == 1:
                current["originating_machine"] = value
            elif texts_after_device == 2:
                current["service_machine"] = value
            else:
                target = value.rstrip("\\")
                current["exposed_as"] = target.upper() if re.match(r"^[A-Za-z]:$", target) else target
        elif current["created_text"] is None and current["set_id"] is not None:
            # the original volume of a file share is "\\server\share\ [...]", not a GUID path: the text after
            # the count is that volume, the next the creation time
            if current["count"] is not None and stage == "start" and value.startswith("\\\\"):
                stage = "volume"
                continue
            current["created_text"] = value
            current["created"] = _parse_created(value)
    return shadows


def _harmless(line: str) -> t.Optional[str]:
    """The source that documents this line as harmless, or None."""
    return next((source for pattern, source in HARMLESS_MESSAGES if pattern.match(line)), None)


def _failure(line: str) -> t.Optional[str]:
    """The reason of the first failure pattern the line matches (GUIDs removed: their hex is no HRESULT)."""
    bare = re.sub(_GUID, "{}", line)
    return next((reason for pattern, reason in FAILURE_PATTERNS if pattern.search(bare)), None)


def failure_lines(lines: t.Sequence[str]) -> list[tuple[str, str]]:
    """(real line, reason) for each line that matches a known failure and is not harmless."""
    found = []
    for raw in lines:
        line = _clean(raw)
        if not line or line.startswith("->") or _harmless(line):
            continue
        reason = _failure(line)
        if reason:
            found.append((re.sub(r"\s+", " ", line) if "drive" in line.lower() else line, reason))
    return found


def harmless_notices(lines: t.Sequence[str]) -> list[dict[str, str]]:
    """Lines that look like failures but are documented as harmless, each with its source."""
    found = []
    for raw in lines:
        line = _clean(raw)
        source = _harmless(line) if line and not line.startswith("->") else None
        if source and _failure(line):
            found.append({"line": line, "source": source})
    return found


def _declared_aliases(commands: t.Sequence[str]) -> list[str]:
    """Alias names the script itself declared (``add volume C: alias data``), echoed as written."""
    names = []
    for command in commands:
        match = re.match(r"^add\s+volume\s+\S+\s+alias\s+([A-Za-z][A-Za-z0-9_]*)\b", command, re.I)
        if match:
            names.append(match.group(1))
    return names


def parse_transcript(text: str) -> dict[str, t.Any]:
    """Structured view of a diskshadow transcript (create, expose, unexpose, delete, list)."""
    lines = text.replace("\r\n", "\n").split("\n")
    result: dict[str, t.Any] = {
        "commands": [], "shadow_set_id": None, "aliases": {}, "shadows": parse_shadow_blocks(lines),
        "exposed": [], "unexposed": [], "deleted": [], "deleted_count": None, "writers_included": [],
        "writers_excluded": [], "errors": [], "notices": [], "listed_count": None,
    }
    result["commands"] = [_clean(raw)[2:].strip() for raw in lines if _clean(raw).startswith("->")
                          and not _ALIAS_EXPANSION.match(_clean(raw))]
    declared = _declared_aliases(result["commands"])
    for raw in lines:
        line = _clean(raw)
        if line.startswith("->"):
            expansion = _ALIAS_EXPANSION.match(line)
            if expansion:
                result["aliases"].setdefault(expansion.group(1), expansion.group(2).lower())
            continue
        match = _ALIAS_SET.match(line)
        if match and match.group(1).upper() != "VSS_SHADOW_SET":
            result["aliases"][match.group(1)] = match.group(2).lower()
            continue
        match = _SET_ALIAS.match(line)
        if match:
            result["shadow_set_id"] = match.group(1).lower()
            continue
        guids = re.findall(_GUID, line)
        if len(guids) == 1 and not line.startswith(("*", "-")):
            # "Alias <name> for shadow ID {guid} set as environment variable." in any language: the line names
            # an alias the script declared (or diskshadow's VSS_SHADOW_n) and one GUID
            words = set(re.findall(r"[A-Za-z][A-Za-z0-9_]*", re.sub(_GUID, " ", line)))
            if "VSS_SHADOW_SET" in words:
                result["shadow_set_id"] = result["shadow_set_id"] or guids[0].lower()
                continue
            named = [name for name in declared if name in words] + sorted(w for w in words if re.fullmatch(r"VSS_SHADOW_\d+", w))
            if len(named) == 1:
                result["aliases"].setdefault(named[0], guids[0].lower())
                continue
        match = _EXPOSED_OK.match(line)
        if match:
            target = match.group(1).rstrip("\\")
            result["exposed"].append(target.upper() if re.match(r"^[A-Za-z]:$", target) else target)
            continue
        for pattern, key in ((_UNEXPOSED, "unexposed"), (_DELETING, "deleted")):
            match = pattern.match(line)
            if match:
                result[key].append(match.group(1).lower())
        match = _DELETED_N.match(line)
        if match:
            result["deleted_count"] = int(match.group(1) or match.group(2))
        match = re.match(r"^Number of shadow copies listed:\s*(\d+)", line, re.I)
        if match:
            result["listed_count"] = int(match.group(1))
        match = _WRITER_INCLUDED.match(line)
        if match:
            result["writers_included"].append(match.group(1))
        match = _WRITER_EXCLUDED.match(line)
        if match:
            result["writers_excluded"].append(match.group(1))
    # The blocks carry the same facts by shape: "%alias%" after the ID, "%VSS_SHADOW_SET%" after the set.
    for shadow in result["shadows"]:
        if shadow["alias"] and shadow["alias"].upper() != "VSS_SHADOW_SET":
            result["aliases"].setdefault(shadow["alias"], shadow["id"])
        if result["shadow_set_id"] is None and shadow["set_id"]:
            result["shadow_set_id"] = shadow["set_id"]
    # Exposure commands name the alias or ID; tie the exposure back to the shadow.
    for command in result["commands"]:
        words = command.split()
        if len(words) == 3 and words[0].lower() == "expose":
            ref, target = words[1], words[2].rstrip("\\")
            sid = result["aliases"].get(ref.strip("%"), ref.lower())
            target = target.upper() if re.match(r"^[A-Za-z]:$", target) else target
            if target in result["exposed"]:
                for shadow in result["shadows"]:
                    if shadow["id"] == sid:
                        shadow["exposed_as"] = target
    result["errors"] = [{"line": line, "reason": reason} for line, reason in failure_lines(lines)]
    result["notices"] = harmless_notices(lines)
    return result


def shadow_evidence(shadow: dict[str, t.Any]) -> bool:
    """A shadow copy exists by the transcript's evidence: its ID, its set and its device were printed."""
    return bool(shadow.get("id") and shadow.get("set_id") and shadow.get("device_object"))


def judge(rc: t.Optional[int], parsed: dict[str, t.Any], expect: dict[str, t.Any],
          evidence: t.Optional[dict[str, t.Any]] = None,
          warnings: t.Optional[list[str]] = None) -> t.Optional[str]:
    """None when the run did what was asked; otherwise the reason, with the real text.

    Success needs rc 0 (but see below) AND no failure line AND the expected evidence: ``shadows`` (count of shadow copies
    created, each with its ID, set and device), then what the run should have left behind.  With ``evidence``
    (``parse_probe``: Win32_ShadowCopy read back after diskshadow) that is judged by the facts, in any language:
    ``exposed`` (targets; each must hold a shadow copy of this run, or of ``exposed_ids``), ``freed`` (targets
    where no shadow copy is exposed any more, a drive letter no longer in use), ``gone`` (shadow IDs that no longer
    exist), ``sets_gone`` (set IDs without a shadow copy left).  Without it (the probe could not run) diskshadow's
    English confirmations are all there is: ``exposed``, ``unexposed`` (count), ``deleted`` (count).  A message
    documented as harmless (HARMLESS_MESSAGES) is no failure, but no evidence either.

    A create (``shadows``) whose exit code is not 0 is accepted when every line that looks like a failure is a
    message documented as harmless (Microsoft KB 3025158 says the backup completes despite it, not which exit code
    diskshadow returns then) and the evidence confirms every shadow copy: its ID, set and device in the
    transcript, and, where ``evidence`` was read back, each of them in Win32_ShadowCopy.  Then a warning naming
    the exit code and the message is appended to ``warnings``.
    """
    if parsed["errors"]:
        first = parsed["errors"][0]
        return "%s: %s" % (first["reason"], first["line"])
    notices = parsed.get("notices") or []
    want = expect.get("shadows")
    made = [s for s in parsed["shadows"] if shadow_evidence(s)]
    if rc != 0:
        if not notices or not isinstance(rc, int) or not want or len(made) < want:
            return "diskshadow exited with rc %s and no recognised message%s" % (
                rc, "" if not notices else " (it printed %r, documented as harmless only when the shadow copy is "
                                           "still created)" % notices[0]["line"])
        if evidence is None:
            # the transcript's words alone do not outweigh a failing exit code: only the shadow copies read back
            # from Win32_ShadowCopy do
            return ("diskshadow exited with rc %s after %r, which is harmless only when the shadow copy is created, "
                    "and Win32_ShadowCopy could not be read back to confirm it" % (rc, notices[0]["line"]))
        if evidence is not None:
            existing = {s["id"] for s in evidence["shadows"]}
            absent = [s["id"] for s in made if s["id"] not in existing]
            if absent:
                return ("diskshadow exited with rc %s after %r and shadow copy %s does not exist (Win32_ShadowCopy): "
                        "the message is harmless only when the shadow copy is created" % (
                            rc, notices[0]["line"], ", ".join(absent)))
        accepted = ("diskshadow exited with rc %s after %r, which %s documents as harmless; the shadow copies %s "
                    "exist by the evidence%s, so the run is accepted" % (
                        rc, notices[0]["line"], notices[0]["source"].split(",")[0], ", ".join(s["id"] for s in made),
                        " (Win32_ShadowCopy read back)"))
        reason = _judge_made(parsed, expect, evidence, made, notices)
        if reason is None and warnings is not None:
            warnings.append(accepted)
        return reason
    return _judge_made(parsed, expect, evidence, made, notices)


def _judge_made(parsed: dict[str, t.Any], expect: dict[str, t.Any], evidence: t.Optional[dict[str, t.Any]],
                made: list[dict[str, t.Any]], notices: list[dict[str, str]]) -> t.Optional[str]:
    """judge() after the exit code: the shadow copies made, then what the run left behind."""
    want = expect.get("shadows")
    if want is not None and len(made) < want:
        if notices:
            return "a VSS COM call failed and the shadow copy was not created: %s (harmless only when it is, %s)" % (
                notices[0]["line"], notices[0]["source"].split(",")[0])
        return "diskshadow reported %d shadow copies, expected %d" % (len(made), want)
    if evidence is not None:
        return judge_evidence(evidence, expect, [s["id"] for s in made], parsed)
    for target in expect.get("exposed", []):
        if target not in parsed["exposed"]:
            return "diskshadow did not confirm the exposure as %s" % target
    if expect.get("unexposed") and len(parsed["unexposed"]) < expect["unexposed"]:
        return "diskshadow did not confirm the unexposure"
    if expect.get("deleted") and (parsed["deleted_count"] or len(parsed["deleted"])) < expect["deleted"]:
        return "diskshadow did not confirm the deletion"
    return None


# ------------------------------------------------- evidence after the run

PROBE_STEP = "read the shadow copies back"

# stdin {"expect": [{"state": "exposed"|"free"|"gone", "at": "S:"|null, "id": "{guid}"|null}, ...]}: prints the
# shadow copies (ID, SetID, ExposedName) and the drive letters in use; exits 1 when an expectation is not met
# (a plan step that must stop what follows, such as a restore reading from the exposed letter).  Read-only.
SHADOW_PROBE_SCRIPT = (
    "# quiesce.domino:shadow-probe\n"
    "Set-StrictMode -Version 2.0\n"
    "$ErrorActionPreference = 'Stop'\n"
    "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
    "function Get-Norm([string]$p) { return $p.TrimEnd('\\').ToUpperInvariant() }\n"
    "$shadows = @(Get-CimInstance -ClassName Win32_ShadowCopy | Select-Object ID, SetID, ExposedLocally, ExposedName, InstallDate)\n"
    "$drives = @([System.IO.DriveInfo]::GetDrives() | ForEach-Object { $_.Name.Substring(0, 2).ToUpperInvariant() })\n"
    "$unmet = @()\n"
    "foreach ($e in @($in.expect)) {\n"
    "  $at = ''\n"
    "  if ($null -ne $e.at) { $at = Get-Norm ([string]$e.at) }\n"
    "  $id = ''\n"
    "  if ($null -ne $e.id) { $id = ([string]$e.id).ToLowerInvariant() }\n"
    "  $there = @($shadows | Where-Object { $null -ne $_.ExposedName -and $at -ne '' -and (Get-Norm ([string]$_.ExposedName)) -eq $at })\n"
    "  $mine = @($shadows | Where-Object { ([string]$_.ID).ToLowerInvariant() -eq $id })\n"
    "  $ok = $false\n"
    "  if ($e.state -eq 'exposed') {\n"
    "    $ok = $there.Count -gt 0\n"
    "    if ($ok -and $id -ne '') { $ok = @($there | Where-Object { ([string]$_.ID).ToLowerInvariant() -eq $id }).Count -gt 0 }\n"
    "  } elseif ($e.state -eq 'free') {\n"
    "    $ok = ($there.Count -eq 0) -and -not ($at.Length -eq 2 -and $drives -contains $at)\n"
    "  } elseif ($e.state -eq 'gone') {\n"
    "    $ok = $mine.Count -eq 0\n"
    "  }\n"
    "  if (-not $ok) { $unmet += $e }\n"
    "}\n"
    "ConvertTo-Json -Compress -Depth 3 -InputObject @{ shadows = $shadows; drives = $drives; unmet = $unmet }\n"
    "if ($unmet.Count -gt 0) { exit 1 }\n"
)
PROBE_STATES = ("exposed", "free", "gone")


def expectation(state: str, at: t.Optional[str] = None, shadow_id: t.Optional[str] = None) -> dict[str, t.Any]:
    """One thing the probe checks: ``exposed`` (a shadow copy, this one if ``shadow_id``, is exposed at ``at``),
    ``free`` (nothing exposed at ``at``; a drive letter no longer in use), ``gone`` (``shadow_id`` no longer exists)."""
    if state not in PROBE_STATES:
        raise DiskShadowError("probe state must be one of %s" % ", ".join(PROBE_STATES))
    if state in ("exposed", "free") and not at:
        raise DiskShadowError("probe state %s needs a drive letter or mount folder" % state)
    if state == "gone" and not shadow_id:
        raise DiskShadowError("probe state gone needs a shadow ID")
    return {"state": state, "at": _target(at.rstrip("\\") if len(at or "") > 3 else (at or "").upper()) if at else None,
            "id": _token(shadow_id, "shadow ID").lower() if shadow_id else None}


def probe_step(tools: dict[str, str], expect: t.Sequence[dict[str, t.Any]], name: str = PROBE_STEP,
               allow_failure: bool = True) -> dict[str, t.Any]:
    """A read-only step that reads the shadow copies back after diskshadow.  By default its outcome is evidence
    for the controller (never fatal); ``allow_failure=False`` makes an unmet expectation stop the plan."""
    return planlib.step(name, cli.powershell_argv(tools, SHADOW_PROBE_SCRIPT),
                        stdin=json.dumps({"expect": [dict(e) for e in expect]}, sort_keys=True),
                        allow_failure=allow_failure, timeout=120)


def _target_key(value: t.Any) -> str:
    return str(value or "").rstrip("\\").upper()


def parse_probe(record: t.Optional[dict[str, t.Any]]) -> t.Optional[dict[str, t.Any]]:
    """The probe step's record -> {shadows: [{id, set_id, exposed_as, created_ms}], drives: [...]} or None when it did not
    run or printed nothing readable (then there is no evidence)."""
    if not record or record.get("status") not in ("ok", "failed"):
        return None
    try:
        doc = cli.parse_json_document(record.get("stdout") or "")
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None

    def as_list(value: t.Any) -> list[t.Any]:
        return [] if value is None else value if isinstance(value, list) else [value]
    shadows = []
    for row in as_list(doc.get("shadows")):
        if not isinstance(row, dict) or not row.get("ID"):
            continue
        exposed = _target_key(row.get("ExposedName")) or None
        shadows.append({"id": str(row["ID"]).lower(), "set_id": str(row.get("SetID") or "").lower() or None,
                        "exposed_as": exposed, "created_ms": cli.dotnet_date_ms(row.get("InstallDate"))})
    drives = sorted({str(d).upper()[:2] for d in as_list(doc.get("drives")) if isinstance(d, str) and len(d) >= 2})
    return {"shadows": shadows, "drives": drives}


def exposed_at(evidence: dict[str, t.Any], target: str) -> list[str]:
    """IDs of the shadow copies the evidence shows exposed at ``target``."""
    key = _target_key(target)
    return [s["id"] for s in evidence["shadows"] if s.get("exposed_as") and s["exposed_as"] == key]


def judge_evidence(evidence: dict[str, t.Any], expect: dict[str, t.Any], made_ids: t.Sequence[str] = (),
                   parsed: t.Optional[dict[str, t.Any]] = None) -> t.Optional[str]:
    """The facts after the run against what was asked (see ``judge``); the English confirmation is named when it
    was printed but the facts disagree."""
    said = parsed or {}
    wanted_ids = {i.lower() for i in expect.get("exposed_ids") or []} or {i.lower() for i in made_ids}
    existing = {s["id"] for s in evidence["shadows"]}
    for target in expect.get("exposed", []):
        there = exposed_at(evidence, target)
        hint = (" although diskshadow printed its English confirmation" if target in (said.get("exposed") or [])
                else "")
        if not there:
            return "the shadow copy is not exposed as %s after the run (Win32_ShadowCopy.ExposedName)%s" % (target, hint)
        if wanted_ids and not set(there) & wanted_ids:
            return "%s exposes shadow copy %s, not %s (Win32_ShadowCopy.ExposedName)%s" % (
                target, ", ".join(there), ", ".join(sorted(wanted_ids)), hint)
    for target in expect.get("freed", []):
        there = exposed_at(evidence, target)
        if there:
            return "shadow copy %s is still exposed as %s after the unexposure (Win32_ShadowCopy.ExposedName)" % (
                ", ".join(there), target)
        if re.fullmatch(r"[A-Za-z]:", target) and target.upper() in evidence["drives"]:
            return "drive letter %s is still in use after the unexposure" % target.upper()
    still = [i for i in (x.lower() for x in expect.get("gone", [])) if i in existing]
    if still:
        return "shadow copy %s still exists after the deletion (Win32_ShadowCopy)" % ", ".join(still)
    left = sorted({s["id"] for s in evidence["shadows"] if s.get("set_id") in {x.lower() for x in expect.get("sets_gone", [])}})
    if left:
        return "shadow copies %s of the deleted set still exist (Win32_ShadowCopy)" % ", ".join(left)
    return None


def without_probe(run: dict[str, t.Any]) -> dict[str, t.Any]:
    """A plan result without the probe's record (a read-back after the thaw is no part of the freeze window)."""
    return dict(run, **{section: [r for r in run.get(section, []) if r.get("name") != PROBE_STEP]
                        for section in ("steps", "finally")})


# ------------------------------------------------------ vssadmin and CIM

_VSS_ORIG = re.compile(r"^(?:\(([A-Za-z]):\))?(\\\\\?\\Volume" + _GUID + r"\\)", re.I)


def parse_vssadmin_list(text: str) -> list[dict[str, t.Any]]:
    r"""``vssadmin list shadows`` -> shadow records (the fallback when CIM is unavailable), read by shape and
    indentation: a GUID at the left margin starts a set ("Contents of shadow copy set ID: {...}"), the indented
    line after it gives the count and creation time ("Contained 1 shadow copies at creation time: <time>"), an
    indented GUID starts a shadow copy, ``(C:)\?\Volume{GUID}\`` is its volume, the GLOBALROOT path its device,
    a drive or folder path after it its exposure.  The attributes are read by their English labels only."""
    shadows: list[dict[str, t.Any]] = []
    set_id = None
    created = None
    count = None
    current: t.Optional[dict[str, t.Any]] = None
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = _clean(raw)
        if ":" not in line:
            continue
        label, value = line.split(":", 1)
        value = value.strip()
        margin = not raw[:1].isspace()
        if re.fullmatch(_GUID, value) and margin:
            set_id, created, count, current = value.lower(), None, None, None
            continue
        if re.fullmatch(_GUID, value):
            current = {"id": value.lower(), "set_id": set_id, "count": count, "created_text": created,
                       "created": _parse_created(created or ""), "volume": None, "volume_guid": None,
                       "device_object": None, "exposed_as": None, "persistent": None, "no_writers": None,
                       "client_accessible": None, "attributes": [], "source": "vssadmin"}
            shadows.append(current)
            continue
        if current is None:
            number = re.search(r"\d+", label)
            if set_id and number and created is None:
                count, created = int(number.group(0)), value
            continue
        match = _VSS_ORIG.match(value)
        if match:
            current["volume"] = (match.group(1).upper() + ":") if match.group(1) else None
            current["volume_guid"] = cli.volume_guid_path(match.group(2))
        elif _DEVICE.search(value):
            current["device_object"] = value
        elif label.strip().lower() == "exposed name" or (current["device_object"] and _DRIVE_OR_FOLDER.match(value)):
            # "Exposed Name: Z:\" in any language: the only drive or folder path after the device
            target = value.rstrip("\\")
            current["exposed_as"] = target.upper() if re.match(r"^[A-Za-z]:$", target) else target
        elif label.strip().lower() == "attributes":
            attrs = [a.strip() for a in value.split(",") if a.strip()]
            current["attributes"] = attrs
            current["persistent"] = "Persistent" in attrs
            current["no_writers"] = "No writers" in attrs
            current["client_accessible"] = "Client-accessible" in attrs
    return shadows


def parse_shadow_inventory(text: str) -> dict[str, t.Any]:
    """The JSON of ``windows_cli.SHADOW_INVENTORY_SCRIPT`` -> shadows, volumes, drive letters in use."""
    doc = cli.parse_json_document(text)

    def as_list(value: t.Any) -> list[t.Any]:
        if value is None:
            return []
        return value if isinstance(value, list) else [value]
    volumes = []
    letter_of: dict[str, str] = {}
    for vol in as_list(doc.get("volumes")):
        device = cli.volume_guid_path(vol.get("DeviceID"))
        letter = (vol.get("DriveLetter") or "").upper() or None
        if letter:
            letter_of[device] = letter
        volumes.append({"drive": letter, "guid_path": device, "filesystem": vol.get("FileSystem"),
                        "capacity": vol.get("Capacity"), "free": vol.get("FreeSpace"), "label": vol.get("Label")})
    shadows = []
    owned = ledger.owned_ids(doc)
    for row in as_list(doc.get("shadows")):
        guid_path = cli.volume_guid_path(row.get("VolumeName"))
        ms = cli.dotnet_date_ms(row.get("InstallDate"))
        exposed = row.get("ExposedName") or None
        if exposed:
            exposed = exposed.rstrip("\\")
            exposed = exposed.upper() if re.match(r"^[A-Za-z]:$", exposed) else exposed
        shadows.append({
            "id": (row.get("ID") or "").lower(), "set_id": (row.get("SetID") or "").lower(),
            "volume": letter_of.get(guid_path), "volume_guid": guid_path,
            "device_object": row.get("DeviceObject"),
            "created": (datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc)
                        .strftime("%Y-%m-%dT%H:%M:%SZ") if ms is not None else None),
            "created_ms": ms, "count": row.get("Count"), "exposed_as": exposed,
            "persistent": row.get("Persistent"), "no_writers": row.get("NoWriters"),
            "client_accessible": row.get("ClientAccessible"), "source": "cim",
            "owned": (row.get("ID") or "").lower() in owned,
        })
    drives = sorted({d.upper()[:2] for d in as_list(doc.get("drives")) if isinstance(d, str) and len(d) >= 2})
    return {"shadows": shadows, "volumes": volumes, "drives_in_use": drives}


def filter_shadows(shadows: t.Sequence[dict[str, t.Any]], volumes: t.Sequence[str] = (),
                   older_than_ms: t.Optional[int] = None, now_ms: t.Optional[int] = None) -> list[dict[str, t.Any]]:
    """Shadows on any of ``volumes`` (drive or GUID path), older than ``older_than_ms`` if given."""
    out = []
    wanted = {v.upper() if len(v) == 2 else v.lower() for v in volumes}
    for shadow in shadows:
        if wanted and (shadow.get("volume") or "").upper() not in wanted and \
                cli.volume_guid_path(shadow.get("volume_guid")).lower() not in wanted:
            continue
        if older_than_ms is not None and now_ms is not None:
            created = shadow.get("created_ms")
            if created is None or now_ms - created < older_than_ms:
                continue
        out.append(shadow)
    return out
