"""Expand the executor contract vectors for a platform and check an executor's outcome."""
from __future__ import annotations

import copy
import json
import os
import re
import time
import typing as t
from pathlib import Path

VECTORS_FILE = Path(__file__).with_name("vectors.json")


def load_vectors() -> list[dict[str, t.Any]]:
    return json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]


def _expand_str(value: str, work: str) -> str:
    return value.replace("@WORK@/", work.rstrip(os.sep) + os.sep)


def _expand_argv(argv: list[t.Any], probe: list[str], missing: str, work: str) -> list[t.Any]:
    out: list[t.Any] = []
    for i, arg in enumerate(argv):
        if i == 0 and arg == "@PROBE@":
            out.extend(probe)
        elif i == 0 and arg == "@MISSING@":
            out.append(missing)
        elif isinstance(arg, str):
            out.append(_expand_str(arg, work))
        else:
            out.append(arg)
    return out


def expand_plan(vector: dict[str, t.Any], platform: str, probe: list[str], missing: str, work: str) -> dict[str, t.Any]:
    plan = copy.deepcopy(vector["plan"])
    plan.setdefault("version", 1)
    plan["platform"] = platform
    sections = [plan.get("guard", []), plan.get("steps", []), plan.get("rescue", []), plan.get("finally", [])]
    if "watchdog" in plan:
        sections += [plan["watchdog"]["arm"], plan["watchdog"].get("disarm", [])]
    for steps in sections:
        for step in steps:
            step["argv"] = _expand_argv(step["argv"], probe, missing, work)
    return plan


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").splitlines()


def _match_record(where: str, record: dict[str, t.Any], expect: dict[str, t.Any]) -> list[str]:
    problems = []
    for key, want in expect.items():
        if key.endswith("_lines"):
            got = _lines(record.get(key[:-6]) or "")
            ok = got == want
        elif key.endswith("_tail_contains"):
            got = (record.get(key[:-len("_tail_contains")]) or "")[-4096:]
            ok = want in got
        elif key.endswith("_contains"):
            got = record.get(key[:-9]) or ""
            ok = want in got
        elif key.endswith("_regex"):
            got = record.get(key[:-6]) or ""
            ok = re.search(want, got) is not None
        elif key.endswith("_min"):
            got = record.get(key[:-4])
            ok = got is not None and got >= want
        else:
            got = record.get(key)
            ok = got == want
        if not ok:
            shown = got if not isinstance(got, str) or len(got) < 300 else got[:300] + "..."
            problems.append("%s.%s: expected %r, got %r" % (where, key, want, shown))
    return problems


def _match_list(where: str, records: list[dict[str, t.Any]], expect: list[dict[str, t.Any]]) -> list[str]:
    if len(records) != len(expect):
        return ["%s: expected %d records, got %d" % (where, len(expect), len(records))]
    problems = []
    for i, (record, want) in enumerate(zip(records, expect)):
        problems += _match_record("%s[%d]" % (where, i), record, want)
    return problems


def check_outcome(result: dict[str, t.Any], expect: dict[str, t.Any], work: str) -> list[str]:
    """Every difference between an executor result and a vector's expectation."""
    problems: list[str] = []
    if expect.get("after_wait_s"):
        time.sleep(expect["after_wait_s"])
    for key, want in expect.items():
        if key in ("guard", "steps", "rescue", "finally"):
            problems += _match_list(key, result.get(key, []), want)
        elif key == "watchdog":
            wd = result.get("watchdog") or {}
            for wkey, wwant in want.items():
                if wkey in ("arm", "disarm"):
                    problems += _match_list("watchdog." + wkey, wd.get(wkey, []), wwant)
                elif wd.get(wkey) != wwant:
                    problems.append("watchdog.%s: expected %r, got %r" % (wkey, wwant, wd.get(wkey)))
        elif key == "failed_step":
            got = result.get("failed_step")
            if want is None:
                if got is not None:
                    problems.append("failed_step: expected none, got %r" % got.get("name"))
            elif got is None:
                problems.append("failed_step: expected %r, got none" % want)
            else:
                problems += _match_record("failed_step", got, want)
        elif key == "exists":
            problems += ["%s should exist" % p for p in want if not os.path.exists(_expand_str(p, work))]
        elif key == "absent":
            problems += ["%s should not exist" % p for p in want if os.path.exists(_expand_str(p, work))]
        elif key == "after_wait_s":
            continue
        elif result.get(key) != want:
            problems.append("%s: expected %r, got %r" % (key, want, result.get(key)))
    return problems
