# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan model: what the host executors run.

A plan is plain JSON-able data: an ordered list of steps (absolute executable plus
argument list, never a shell string), a ``finally`` list that always runs, optional
temporary files, and an optional watchdog whose ``arm`` steps run before the critical
section and whose ``disarm`` steps run after it.  The contract both executors obey is
written down in ``docs/executor-contract.md``.

Pure functions only: no I/O.  This file is imported by the POSIX executor module
(``posix_exec``) and by action plugins, so it stays compatible with Python 3.8.
"""

from __future__ import annotations

import re
import typing as t

PLAN_VERSION = 1

PLATFORMS = ("windows", "posix")
ANY_RC = "any"
MAX_RETRY_WITHIN = 86400
FILE_ENCODINGS = ("utf-8", "utf-16le-bom", "ascii")
OUTPUT_ENCODINGS = ("console", "utf-8", "utf-16le")

# Template tokens an executor replaces in files marked ``template: true``.
DEADLINE_LOCAL_TOKEN = "@@WATCHDOG_DEADLINE_LOCAL@@"
DEADLINE_UTC_TOKEN = "@@WATCHDOG_DEADLINE_UTC@@"
# The plan's temporary directory on the host (no trailing separator), for files that name each other.
PLAN_DIR_TOKEN = "@@PLAN_DIR@@"

DEFAULT_TIMEOUT = 60
MAX_TIMEOUT = 86400
DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024
MAX_MAX_OUTPUT_BYTES = 64 * 1024 * 1024
MAX_STEPS = 200
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_WATCHDOG_SECONDS = 86400

_STEP_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:/()-]{0,119}$")
_FILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_WINDOWS_ABS_RE = re.compile(r"^[A-Za-z]:\\[^\x00-\x1f\"*?<>|]*$")
_FORBIDDEN_ARG_CHARS = re.compile(r"[\x00\r\n]")
# CreateProcess takes a command line of at most 32767 characters (the Windows executor starts every program through
# it, never through cmd.exe, whose limit is 8191); an argument may use half of it.  A file reference counts as a
# path of up to 300 characters.
MAX_COMMAND_LINE = 32000
MAX_ARG_CHARS = 16000
# Interpreters that re-parse their command line with their own metacharacters
# (`%`, `&`, `|`, `^`): a plan never runs them, so argv stays argv.
_SHELL_EXECUTABLES = ("cmd.exe", "cmd", "command.com")
_SHELL_SUFFIXES = (".bat", ".cmd")


class PlanError(ValueError):
    """A plan (or a piece of one) is not valid.  The message names the field."""


def _fail(where: str, problem: str) -> t.NoReturn:
    raise PlanError("%s: %s" % (where, problem))


def is_absolute_executable(path: str, platform: str) -> bool:
    """True when ``path`` is an absolute, local executable path for ``platform``."""
    if platform == "windows":
        return bool(_WINDOWS_ABS_RE.fullmatch(path)) and ".." not in path.split("\\")
    return path.startswith("/") and ".." not in path.split("/") and "\x00" not in path


def _basename(path: str) -> str:
    return re.split(r"[\\/]", path)[-1].lower()


def file_ref(name: str) -> dict[str, str]:
    """An argv element that the executor replaces with the path of plan file ``name``."""
    return {"file": name}


def step(
    name: str,
    argv: t.Sequence[t.Any],
    timeout: float = DEFAULT_TIMEOUT,
    ok_rc: t.Union[t.Sequence[int], str] = (0,),
    stdin: t.Optional[str] = None,
    encoding: str = "console",
    retry: t.Optional[dict[str, t.Any]] = None,
    allow_failure: bool = False,
    only_if_failed: t.Optional[str] = None,
    only_if_ok: t.Optional[str] = None,
    stdin_from: t.Optional[str] = None,
) -> dict[str, t.Any]:
    """Build one step.  Validation happens in :func:`validate_plan`.

    ``ok_rc="any"``: the exit code never fails the step.  ``retry``: run again every
    ``interval`` seconds until ``until_rc`` / ``until_stdout`` hold, for at most ``within``
    seconds.  ``allow_failure``: a failure is recorded but neither stops nor fails the plan.
    ``only_if_failed``: run only when the named earlier step failed (else ``skipped``).
    ``only_if_ok``: run only when the named earlier step ran and succeeded (else ``skipped``).
    ``stdin_from``: the standard input is the (possibly truncated) standard output recorded for the named step
    of the ``steps`` section, or empty when that step did not run; excludes ``stdin``."""
    built: dict[str, t.Any] = {
        "name": name,
        "argv": list(argv),
        "timeout": timeout,
        "ok_rc": ok_rc if isinstance(ok_rc, str) else list(ok_rc),
        "encoding": encoding,
    }
    if stdin is not None:
        built["stdin"] = stdin
    if retry is not None:
        built["retry"] = retry
    if allow_failure:
        built["allow_failure"] = True
    if only_if_failed is not None:
        built["only_if_failed"] = only_if_failed
    if only_if_ok is not None:
        built["only_if_ok"] = only_if_ok
    if stdin_from is not None:
        built["stdin_from"] = stdin_from
    return built


def retry_until(within: float, interval: float = 1.0, until_rc: t.Optional[t.Sequence[int]] = None,
                until_stdout: t.Optional[str] = None) -> dict[str, t.Any]:
    """A ``retry`` block; ``until_stdout`` is a regular expression searched in stdout (keep it
    to the syntax .NET and Python share: literals, classes, \\s \\d, quantifiers, anchors)."""
    block: dict[str, t.Any] = {"within": within, "interval": interval}
    if until_rc is not None:
        block["until_rc"] = list(until_rc)
    if until_stdout is not None:
        block["until_stdout"] = until_stdout
    return block


def plan_file(content: str, encoding: str = "utf-8", template: bool = False) -> dict[str, t.Any]:
    """Build one temporary file entry for a plan's ``files`` mapping."""
    return {"content": content, "encoding": encoding, "template": template}


def build_plan(
    name: str,
    platform: str,
    steps: t.Sequence[dict[str, t.Any]],
    finally_steps: t.Sequence[dict[str, t.Any]] = (),
    rescue: t.Sequence[dict[str, t.Any]] = (),
    files: t.Optional[dict[str, dict[str, t.Any]]] = None,
    watchdog: t.Optional[dict[str, t.Any]] = None,
    check_mode_safe: bool = False,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    guard: t.Sequence[dict[str, t.Any]] = (),
    context: t.Optional[dict[str, t.Any]] = None,
) -> dict[str, t.Any]:
    """Assemble and validate a plan; raises :class:`PlanError` when it is not valid.  ``guard``: steps that
    must all pass before anything else runs (the host lock, preflight checks); when one fails only the
    ``rescue`` steps run: no watchdog, no main step, no ``finally``.  ``context``: data the executors return
    unchanged in their result (never run or read on the host), so that the controller can judge a result that
    reaches it later, e.g. an async job's (snapshot_copy state=report)."""
    plan: dict[str, t.Any] = {
        "version": PLAN_VERSION,
        "name": name,
        "platform": platform,
        "check_mode_safe": check_mode_safe,
        "max_output_bytes": max_output_bytes,
        "files": dict(files or {}),
        "guard": list(guard),
        "steps": list(steps),
        "rescue": list(rescue),
        "finally": list(finally_steps),
    }
    if watchdog is not None:
        plan["watchdog"] = watchdog
    if context is not None:
        plan["context"] = context
    return validate_plan(plan)


def _validate_argv(where: str, argv: t.Any, files: dict[str, t.Any], platform: str) -> list[t.Any]:
    if not isinstance(argv, list) or not argv:
        _fail(where, "must be a non-empty list")
    exe = argv[0]
    if not isinstance(exe, str):
        _fail(where + "[0]", "the executable must be a string path")
    if not is_absolute_executable(exe, platform):
        _fail(where + "[0]", "%r is not an absolute %s executable path (no PATH lookups, no '..')" % (exe, platform))
    base = _basename(exe)
    if base in _SHELL_EXECUTABLES or base.endswith(_SHELL_SUFFIXES):
        _fail(where + "[0]", "%r is a command interpreter; plans run programs with argv, never shell strings" % exe)
    out: list[t.Any] = []
    for i, arg in enumerate(argv):
        here = "%s[%d]" % (where, i)
        if isinstance(arg, dict):
            if set(arg) != {"file"} or not isinstance(arg["file"], str):
                _fail(here, "a reference must be {'file': NAME}")
            if arg["file"] not in files:
                _fail(here, "refers to file %r which the plan does not define" % arg["file"])
            out.append({"file": arg["file"]})
            continue
        if not isinstance(arg, str):
            _fail(here, "must be a string or a file reference, not %s" % type(arg).__name__)
        if _FORBIDDEN_ARG_CHARS.search(arg):
            _fail(here, "contains a NUL, carriage return or newline")
        if len(arg) > MAX_ARG_CHARS:
            _fail(here, "is longer than %d characters" % MAX_ARG_CHARS)
        out.append(arg)
    # Quoted, joined with spaces: CreateProcess takes at most 32767 characters of command line.
    if sum(len(a) + 3 for a in out if isinstance(a, str)) + 300 * sum(1 for a in out if not isinstance(a, str)) > MAX_COMMAND_LINE:
        _fail(where, "makes a command line longer than %d characters" % MAX_COMMAND_LINE)
    return out


def _validate_step(where: str, raw: t.Any, files: dict[str, t.Any], platform: str) -> dict[str, t.Any]:
    if not isinstance(raw, dict):
        _fail(where, "must be a mapping")
    unknown = set(raw) - {"name", "argv", "timeout", "ok_rc", "stdin", "encoding", "retry", "allow_failure",
                          "only_if_failed", "only_if_ok", "stdin_from"}
    if unknown:
        _fail(where, "unknown keys %s" % ", ".join(sorted(unknown)))
    name = raw.get("name")
    if not isinstance(name, str) or not _STEP_NAME_RE.fullmatch(name):
        _fail(where + ".name", "required; 1-120 characters of letters, digits, space and _.:/()-")
    timeout = raw.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT:
        _fail(where + ".timeout", "must be a number of seconds greater than 0 and at most %d" % MAX_TIMEOUT)
    ok_rc = raw.get("ok_rc", [0])
    if ok_rc != ANY_RC and (not isinstance(ok_rc, list) or not ok_rc
                            or not all(isinstance(rc, int) and not isinstance(rc, bool) for rc in ok_rc)):
        _fail(where + ".ok_rc", "must be a non-empty list of integers or 'any'")
    stdin = raw.get("stdin")
    if stdin is not None and not isinstance(stdin, str):
        _fail(where + ".stdin", "must be a string or null")
    encoding = raw.get("encoding", "console")
    if encoding not in OUTPUT_ENCODINGS:
        _fail(where + ".encoding", "must be one of %s" % ", ".join(OUTPUT_ENCODINGS))
    normal: dict[str, t.Any] = {
        "name": name,
        "argv": _validate_argv(where + ".argv", raw.get("argv"), files, platform),
        "timeout": timeout,
        "ok_rc": ok_rc if ok_rc == ANY_RC else sorted(set(ok_rc)),
        "stdin": stdin,
        "encoding": encoding,
        "allow_failure": raw.get("allow_failure", False),
        "only_if_failed": raw.get("only_if_failed"),
        "only_if_ok": raw.get("only_if_ok"),
        "stdin_from": raw.get("stdin_from"),
        "retry": None,
    }
    if not isinstance(normal["allow_failure"], bool):
        _fail(where + ".allow_failure", "must be true or false")
    for key in ("only_if_failed", "only_if_ok", "stdin_from"):
        if normal[key] is not None and not isinstance(normal[key], str):
            _fail(where + "." + key, "must name an earlier step")
    if normal["stdin_from"] is not None and stdin is not None:
        _fail(where, "stdin and stdin_from exclude each other")
    if normal["only_if_failed"] is not None and normal["only_if_ok"] is not None:
        _fail(where, "only_if_failed and only_if_ok exclude each other")
    retry = raw.get("retry")
    if retry is not None:
        if not isinstance(retry, dict) or set(retry) - {"within", "interval", "until_rc", "until_stdout"}:
            _fail(where + ".retry", "must be a mapping of within, interval, until_rc, until_stdout")
        within, interval = retry.get("within"), retry.get("interval", 1.0)
        for key, value, top in (("within", within, MAX_RETRY_WITHIN), ("interval", interval, 3600)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= top:
                _fail(where + ".retry." + key, "must be a number of seconds greater than 0 and at most %d" % top)
        until_rc = retry.get("until_rc")
        if until_rc is not None and (not isinstance(until_rc, list) or not until_rc or
                                     not all(isinstance(r, int) and not isinstance(r, bool) for r in until_rc)):
            _fail(where + ".retry.until_rc", "must be a non-empty list of integers")
        pattern = retry.get("until_stdout")
        if pattern is not None:
            if not isinstance(pattern, str) or _FORBIDDEN_ARG_CHARS.search(pattern) or len(pattern) > 200:
                _fail(where + ".retry.until_stdout", "must be a one-line regular expression of at most 200 characters")
            try:
                re.compile(pattern)
            except re.error as exc:
                _fail(where + ".retry.until_stdout", "is not a valid regular expression: %s" % exc)
        if until_rc is None and pattern is None:
            _fail(where + ".retry", "needs until_rc or until_stdout")
        normal["retry"] = {"within": within, "interval": interval, "until_rc": until_rc, "until_stdout": pattern}
    return normal


def _validate_steps(where: str, raw: t.Any, files: dict[str, t.Any], platform: str, allow_empty: bool) -> list[dict[str, t.Any]]:
    if not isinstance(raw, list):
        _fail(where, "must be a list of steps")
    if not raw and not allow_empty:
        _fail(where, "must hold at least one step")
    steps = [_validate_step("%s[%d]" % (where, i), s, files, platform) for i, s in enumerate(raw)]
    seen: set[str] = set()
    for i, normal in enumerate(steps):
        for key in ("only_if_failed", "only_if_ok"):
            ref = normal[key]
            if ref is not None and ref not in seen:
                _fail("%s[%d].%s" % (where, i, key), "%r is not an earlier step of this section" % ref)
        seen.add(normal["name"])
    return steps


def _validate_files(raw: t.Any) -> dict[str, dict[str, t.Any]]:
    if not isinstance(raw, dict):
        _fail("files", "must be a mapping of file name to file")
    out: dict[str, dict[str, t.Any]] = {}
    for name, spec in raw.items():
        where = "files[%r]" % name
        if not isinstance(name, str) or not _FILE_NAME_RE.fullmatch(name):
            _fail(where, "file names are 1-64 characters of letters, digits and _.- and start with a letter or digit")
        if not isinstance(spec, dict) or not isinstance(spec.get("content"), str):
            _fail(where, "must be a mapping with a string 'content'")
        unknown = set(spec) - {"content", "encoding", "template"}
        if unknown:
            _fail(where, "unknown keys %s" % ", ".join(sorted(unknown)))
        encoding = spec.get("encoding", "utf-8")
        if encoding not in FILE_ENCODINGS:
            _fail(where + ".encoding", "must be one of %s" % ", ".join(FILE_ENCODINGS))
        if encoding == "ascii" and not spec["content"].isascii():
            _fail(where + ".content", "holds non-ASCII characters but the encoding is ascii")
        if len(spec["content"]) > MAX_FILE_BYTES:
            _fail(where + ".content", "is larger than %d characters" % MAX_FILE_BYTES)
        out[name] = {"content": spec["content"], "encoding": encoding, "template": bool(spec.get("template", False))}
    return out


def validate_plan(plan: t.Any) -> dict[str, t.Any]:
    """Return the plan normalised (defaults filled in) or raise :class:`PlanError`."""
    if not isinstance(plan, dict):
        _fail("plan", "must be a mapping")
    unknown = set(plan) - {"version", "name", "platform", "check_mode_safe", "max_output_bytes",
                           "files", "guard", "steps", "rescue", "finally", "watchdog", "context"}
    if unknown:
        _fail("plan", "unknown keys %s" % ", ".join(sorted(unknown)))
    if plan.get("version") != PLAN_VERSION:
        _fail("version", "must be %d" % PLAN_VERSION)
    name = plan.get("name")
    if not isinstance(name, str) or not _STEP_NAME_RE.fullmatch(name):
        _fail("name", "required; 1-120 characters of letters, digits, space and _.:/()-")
    platform = plan.get("platform")
    if platform not in PLATFORMS:
        _fail("platform", "must be one of %s" % ", ".join(PLATFORMS))
    max_out = plan.get("max_output_bytes", DEFAULT_MAX_OUTPUT_BYTES)
    if isinstance(max_out, bool) or not isinstance(max_out, int) or not 1024 <= max_out <= MAX_MAX_OUTPUT_BYTES:
        _fail("max_output_bytes", "must be an integer from 1024 to %d" % MAX_MAX_OUTPUT_BYTES)
    files = _validate_files(plan.get("files", {}))
    normal: dict[str, t.Any] = {
        "version": PLAN_VERSION,
        "name": name,
        "platform": platform,
        "check_mode_safe": bool(plan.get("check_mode_safe", False)),
        "max_output_bytes": max_out,
        "files": files,
        "guard": _validate_steps("guard", plan.get("guard", []), files, platform, allow_empty=True),
        "steps": _validate_steps("steps", plan.get("steps"), files, platform, allow_empty=False),
        "rescue": _validate_steps("rescue", plan.get("rescue", []), files, platform, allow_empty=True),
        "finally": _validate_steps("finally", plan.get("finally", []), files, platform, allow_empty=True),
    }
    if "context" in plan:
        if not isinstance(plan["context"], dict):
            _fail("context", "must be a mapping")
        normal["context"] = plan["context"]
    main_names = [s["name"] for s in normal["steps"]]
    for section in ("guard", "steps", "rescue", "finally"):
        for i, normal_step in enumerate(normal[section]):
            ref = normal_step["stdin_from"]
            if ref is None:
                continue
            allowed = main_names[:i] if section == "steps" else main_names if section == "finally" else []
            if ref not in allowed:
                _fail("%s[%d].stdin_from" % (section, i),
                      "%r is not a step of the steps section that runs before this one (only steps and finally "
                      "steps may read another step's output)" % ref)
    watchdog = plan.get("watchdog")
    if watchdog is not None:
        if not isinstance(watchdog, dict) or set(watchdog) - {"seconds", "arm", "disarm"}:
            _fail("watchdog", "must be a mapping with seconds, arm and disarm")
        seconds = watchdog.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= MAX_WATCHDOG_SECONDS:
            _fail("watchdog.seconds", "must be an integer from 1 to %d" % MAX_WATCHDOG_SECONDS)
        normal["watchdog"] = {
            "seconds": seconds,
            "arm": _validate_steps("watchdog.arm", watchdog.get("arm"), files, platform, allow_empty=False),
            # An empty disarm leaves the watchdog armed for a later plan (backup_mode frozen -> thawed).
            "disarm": _validate_steps("watchdog.disarm", watchdog.get("disarm", []), files, platform, allow_empty=True),
        }
        for section in ("arm", "disarm"):
            for i, normal_step in enumerate(normal["watchdog"][section]):
                if normal_step["stdin_from"] is not None:
                    _fail("watchdog.%s[%d].stdin_from" % (section, i), "only steps and finally steps may read another "
                          "step's output")
    total = sum(len(normal[s]) for s in ("guard", "steps", "rescue", "finally")) + (
        len(normal["watchdog"]["arm"]) + len(normal["watchdog"]["disarm"]) if "watchdog" in normal else 0)
    if total > MAX_STEPS:
        _fail("plan", "has %d steps; at most %d are allowed" % (total, MAX_STEPS))
    return normal


# ---------------------------------------------------------------- worst case

def step_worst_case(raw: dict[str, t.Any]) -> float:
    """The longest a step can take, in seconds, as both executors run it: its ``timeout``; with ``retry`` the
    last attempt may start as late as ``within`` after the first one (an attempt starts only while
    ``now + interval`` is not past the deadline) and then runs for up to one attempt's ``timeout``, so
    ``within + timeout``.  A step that may be skipped (``only_if_failed``, ``only_if_ok``) counts as if it runs."""
    timeout = raw.get("timeout", DEFAULT_TIMEOUT)
    retry = raw.get("retry")
    return float(timeout) + (float(retry["within"]) if retry else 0.0)


def worst_case_terms(steps: t.Iterable[dict[str, t.Any]]) -> list[tuple[str, float, str]]:
    """Per step: its name, its worst case (:func:`step_worst_case`) and what makes it up (``timeout 60`` or
    ``retry within 120 + timeout 60``), for a message that says which timeouts add up."""
    terms = []
    for raw in steps:
        timeout = raw.get("timeout", DEFAULT_TIMEOUT)
        retry = raw.get("retry")
        how = ("retry within %s + timeout %s" % (_num(retry["within"]), _num(timeout)) if retry
               else "timeout %s" % _num(timeout))
        terms.append((str(raw.get("name")), step_worst_case(raw), how))
    return terms


def worst_case_seconds(steps: t.Iterable[dict[str, t.Any]]) -> float:
    """The longest a list of steps run in order can take: the sum of :func:`step_worst_case`.  An upper bound:
    every step is counted, also those that a failure before them or their ``only_if_*`` condition would skip."""
    return sum(step_worst_case(raw) for raw in steps)


def plan_sections(plan: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """Every step of a plan in run order (guard, arm, steps, rescue, finally, disarm): its worst case is that of
    a run in which every section runs in full."""
    watchdog = plan.get("watchdog") or {}
    return (list(plan.get("guard") or []) + list(watchdog.get("arm") or []) + list(plan.get("steps") or [])
            + list(plan.get("rescue") or []) + list(plan.get("finally") or []) + list(watchdog.get("disarm") or []))


def describe_terms(terms: t.Sequence[tuple[str, float, str]]) -> str:
    """``'arm watchdog' timeout 60 + 'create shadow copy' timeout 300`` (the sum's parts, in run order)."""
    return " + ".join("'%s' %s" % (name, how) for name, _seconds, how in terms)


def _num(value: t.Any) -> str:
    return "%d" % value if float(value) == int(value) else "%s" % value


def render_template(content: str, deadline_local: str, deadline_utc: str, plan_dir: str = "") -> str:
    """Replace the watchdog deadline and plan directory tokens (what both executors do for template files)."""
    return (content.replace(DEADLINE_LOCAL_TOKEN, deadline_local).replace(DEADLINE_UTC_TOKEN, deadline_utc)
            .replace(PLAN_DIR_TOKEN, plan_dir))


def ok_rc_range(first: int, last: int) -> list[int]:
    """Accepted return codes ``first``..``last`` inclusive (robocopy: 0..7)."""
    return list(range(first, last + 1))


# ---------------------------------------------------------------- results

def iter_records(result: dict[str, t.Any]) -> t.Iterator[tuple[str, dict[str, t.Any]]]:
    """Every step record of an executor result in run order, with its section."""
    watchdog = result.get("watchdog") or {}
    for section, records in (("guard", result.get("guard", [])), ("arm", watchdog.get("arm", [])),
                             ("steps", result.get("steps", [])),
                             ("rescue", result.get("rescue", [])), ("finally", result.get("finally", [])),
                             ("disarm", watchdog.get("disarm", []))):
        for record in records:
            yield section, record


def find_record(result: dict[str, t.Any], name: str) -> t.Optional[dict[str, t.Any]]:
    """The record of the step called ``name`` (first match in run order), if any."""
    for _section, record in iter_records(result):
        if record.get("name") == name:
            return record
    return None


def failure_message(result: dict[str, t.Any]) -> str:
    """One sentence naming the failed step and its reason, for ``msg``."""
    failed = result.get("failed")
    if not failed:
        return ""
    record = failed
    reason = record.get("error") or ""
    if not reason:
        if record.get("status") == "timeout":
            reason = "timed out"
        else:
            reason = "exit code %s" % record.get("rc")
        detail = (record.get("stderr") or record.get("stdout") or "").strip().splitlines()
        if detail:
            reason += ": " + detail[-1].strip()[:300]
    return "step '%s' (%s) failed: %s" % (record.get("name"), record.get("section"), reason)
