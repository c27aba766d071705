# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup report: per-host records from task results, rendered as JSON, JUnit XML, HTML, an index of
past runs, a console summary and one progress line per host.

Pure functions; the callback plugin quiesce.domino.backup_report feeds them and writes the files.
A run in check mode is a *preview*: its hosts are "planned", never "backed up", and it has no JUnit.
"""

from __future__ import annotations

import datetime
import html
import json
import re
import statistics
import textwrap
import typing as t
from xml.etree import ElementTree as ET

ACTIONS = {"quiesce.domino.snapshot": "snapshot", "quiesce.domino.snapshot_copy": "copy",
           "quiesce.domino.backup_mode": "backup_mode", "quiesce.domino.diskshadow": "diskshadow",
           "quiesce.domino.domino_info": "domino_info", "quiesce.domino.shadow_info": "shadow_info",
           "quiesce.domino.restore_point": "restore_point"}
# The collection's actions that change a host: a run whose every one of them ran in check mode is a preview.
CHANGING = {"snapshot", "copy", "backup_mode", "diskshadow", "restore_point"}

TITLE = "quiesce.domino backup report"
FORMAT = 2

# What each time in the report is, in the words the HTML page, the JSON and the docs use.
GLOSSARY = {
    "frozen_ms": "Domino frozen: how long Domino could not write (host clock). Shutdown: from stopping Domino "
                 "until it answered again; backup_task: while its databases were held in backup mode; vss_writer: "
                 "the shadow copy creation, inside which VSS freezes and thaws Domino's writer. Null when nothing "
                 "was frozen.",
    "freeze_ms": "Part of the frozen time spent going into the freeze (stopping Domino). backup_task: the steps "
                 "around the hold (starting Domino Backup; its shadow copy creation; releasing it), which the hold "
                 "lies inside, so they are shown as around it, not as parts of it.",
    "create_ms": "Part of the frozen time spent creating the shadow copy (diskshadow create).",
    "thaw_ms": "Part of the frozen time spent coming out of it (starting Domino until it answers, or leaving "
               "backup mode).",
    "duration_ms": "The host's whole run on the controller clock, from its first task to its last: discovery, "
                   "snapshot, copy and verification.",
}

METHOD_EFFECT = {
    "vss_writer": "Domino keeps running; its VSS writer freezes it inside the shadow copy creation",
    "backup_task": "Domino keeps running; Domino Backup holds the databases in backup mode for the snapshot",
    "shutdown": "Domino will be stopped for the snapshot and started again",
    "none": "Domino is not quiesced: the snapshot is crash-consistent",
}


def new_host(host: str) -> dict[str, t.Any]:
    return {"host": host, "status": "ok", "method": None, "crash_consistent": None, "frozen": None,
            "frozen_ms": None, "freeze_ms": None, "create_ms": None, "thaw_ms": None, "frozen_at": None,
            "thawed_at": None, "create_started_at": None, "create_ended_at": None, "shadow_id": None,
            "exposed_as": None, "copy": None, "restore_point": None, "plan": None, "failed_task": None,
            "failed_step": None, "error": None, "tasks": 0, "warnings": [], "started_at": None, "ended_at": None,
            "duration_ms": None}


def iso(when: float) -> str:
    """A UTC time with milliseconds, as the modules report host-clock times."""
    return datetime.datetime.fromtimestamp(when, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"


def stamp(when: float) -> str:
    """The time part of a report file name (UTC, sortable)."""
    return datetime.datetime.fromtimestamp(when, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def task_started(record: dict[str, t.Any], when: float) -> None:
    """The controller started a task on the host (the first one starts the host's run)."""
    if record["started_at"] is None:
        record["started_at"] = iso(when)


def task_ended(record: dict[str, t.Any], when: float) -> None:
    """A task of the host ended: the host's run lasts at least until now."""
    task_started(record, when)
    record["ended_at"] = iso(when)
    start = _parse(record["started_at"])
    if start is not None:
        record["duration_ms"] = max(int(round((when - start) * 1000)), 0)


def _nothing_froze(result: dict[str, t.Any]) -> bool:
    """A failed vss_writer snapshot froze nothing when diskshadow never got to include a writer: VSS freezes the
    writers only inside ``create``, after it has included them, so a failure before that (such as a COM call
    failing in ``add volume``) leaves Domino untouched although the create step's time bounds the window."""
    return (result.get("method") == "vss_writer" and not result.get("writers_included")
            and not result.get("shadows") and not result.get("shadow_set_id"))


def add_result(record: dict[str, t.Any], action: str, task_name: str, result: dict[str, t.Any], status: str,
               check_mode: bool = False) -> None:
    """Fold one task result into the host's record; ``status`` is ok, failed, unreachable or skipped.
    ``check_mode``: the task ran in check mode, so what it returns is a plan, not something done."""
    record["tasks"] += 1
    kind = ACTIONS.get(action)
    if status in ("failed", "unreachable"):
        if record["status"] == "ok":
            record["status"] = status
            record["failed_task"] = task_name
            record["error"] = str(result.get("msg") or result.get("reason") or "failed")[:2000]
            named = result.get("failed_step")
            if isinstance(named, dict):
                named = named.get("name")
            steps = result.get("steps") or []
            bad = next((s for s in steps if s.get("status") not in ("ok", "skipped") and not s.get("allowed_failure")), None)
            # the step the module names (a create judged failed by its transcript ran "ok"), else the first that failed
            if isinstance(named, str) and named:
                record["failed_step"] = named
            elif bad:
                record["failed_step"] = bad.get("name")
    for warning in result.get("warnings") or []:
        record["warnings"].append(str(warning))
    if check_mode:
        if kind in CHANGING and isinstance(result.get("preview"), list):
            # what the module says it would do, in words (module_utils/preview.py)
            would = (record["plan"] or {}).get("would") or []
            record["plan"] = dict(record["plan"] or {}, would=would + [str(line) for line in result["preview"]])
        if kind in ("snapshot", "backup_mode") and result.get("method"):
            plan = record["plan"] = record["plan"] or {}
            record["method"] = result["method"]
            record["crash_consistent"] = result.get("crash_consistent")
            for key in ("volumes", "service", "exposed_letters", "script"):
                if result.get(key) is not None:
                    plan[key] = result[key]
        elif kind == "copy" and result.get("destination"):
            plan = record["plan"] = record["plan"] or {}
            plan["destination"] = result["destination"]
            plan["copy_mode"] = result.get("mode")
        return
    if kind == "snapshot" and result.get("method"):
        for key in ("method", "crash_consistent", "frozen_ms", "freeze_ms", "create_ms", "thaw_ms", "frozen_at",
                    "thawed_at", "create_started_at", "create_ended_at", "exposed_as"):
            if result.get(key) is not None:
                record[key] = result[key]
        shadows = result.get("shadows") or []
        if shadows:
            record["shadow_id"] = shadows[0].get("id")
        if status == "failed" and _nothing_froze(result):
            record.update(frozen=False, frozen_ms=None, freeze_ms=None, thaw_ms=None, frozen_at=None, thawed_at=None)
        elif record["frozen_ms"] is not None:
            record["frozen"] = record["frozen_ms"] > 0 or record["method"] != "none"
    elif kind == "backup_mode" and result.get("method") and record["method"] is None:
        record["method"] = result["method"]
        record["crash_consistent"] = result.get("crash_consistent")
    elif kind == "copy" and result.get("destination") and "bytes" in result:
        record["copy"] = {key: result.get(key) for key in (
            "destination", "verified", "files", "files_copied", "bytes", "bytes_copied", "duration_ms",
            "throughput_bytes_per_second", "started_at", "ended_at", "mode", "deltas")}
        if result.get("backend") == "restic":
            # the restic backend: the snapshot, and what it added to the repository (after deduplication)
            record["copy"].update(backend="restic", snapshot_id=result.get("snapshot_id"), repository=result.get("repository"),
                                  data_added=result.get("data_added"), bytes_copied=result.get("data_added"),
                                  files_copied=(result.get("files_new") or 0) + (result.get("files_changed") or 0))
    if isinstance(result.get("quiesce_restore_point"), dict):
        record["restore_point"] = result["quiesce_restore_point"]


def _rp(point: dict[str, t.Any], name: str) -> t.Any:
    """A restore point field by its snake_case name, also from the PascalCase keys restore_point returned first."""
    pascal = "".join(part.capitalize() for part in name.split("_"))
    return point.get(name, point.get(pascal))


def outcome(record: dict[str, t.Any], preview: bool) -> str:
    """unreachable, failed, planned (a preview's host whose plan was made), backed up, or ok (nothing backed up)."""
    if record["status"] in ("failed", "unreachable"):
        return record["status"]
    if preview:
        return "planned"
    if record.get("shadow_id") or record.get("copy") or record.get("restore_point"):
        return "backed up"
    return "ok"


def css_class(state: str) -> str:
    """The class of a host's rows: ok (backed up), nothing (ok without a backup), planned, failed, unreachable."""
    return {"backed up": "ok", "ok": "nothing"}.get(state, state)


def _method_key(record: dict[str, t.Any]) -> t.Optional[str]:
    """The method a host counts under; None for an unreachable host (the hosts count it, not the methods)."""
    if record.get("method"):
        return str(record["method"])
    return None if record["status"] == "unreachable" else "not reached"


def _median(values: list[int]) -> t.Optional[float]:
    if not values:
        return None
    middle = statistics.median(values)  # an even count: the mean of the two middle values
    return int(middle) if float(middle).is_integer() else float(middle)


def summary(records: list[dict[str, t.Any]], preview: bool = False) -> dict[str, t.Any]:
    frozen = sorted(r["frozen_ms"] for r in records if isinstance(r.get("frozen_ms"), int) and r.get("frozen") is not False)
    outcomes = [outcome(r, preview) for r in records]
    methods: dict[str, int] = {}
    for record in records:
        key = _method_key(record)
        if key is not None:
            methods[key] = methods.get(key, 0) + 1
    return {
        "preview": preview,
        "hosts": len(records),
        "backed_up": outcomes.count("backed up"),
        "planned": outcomes.count("planned"),
        "ok_nothing_backed_up": outcomes.count("ok"),
        "failed": outcomes.count("failed"),
        "unreachable": outcomes.count("unreachable"),
        "verified_copies": sum(1 for r in records if (r.get("copy") or {}).get("verified")),
        "crash_consistent": sum(1 for r in records if r.get("crash_consistent")),
        "methods": dict(sorted(methods.items())),
        "frozen_ms_median": _median(frozen),
        "frozen_ms_max": frozen[-1] if frozen else None,
        "bytes_copied": sum((r.get("copy") or {}).get("bytes_copied") or 0 for r in records),
    }


def headline(summ: dict[str, t.Any]) -> str:
    """One line for a run: the console summary, the index page and the progress all say it the same way."""
    if summ["preview"]:
        parts = ["%d planned" % summ["planned"]]
    else:
        parts = ["%d backed up" % summ["backed_up"]]
        if summ["ok_nothing_backed_up"]:
            parts.append("%d ok without a backup" % summ["ok_nothing_backed_up"])
    parts.append("%d failed" % summ["failed"])
    if summ["unreachable"]:
        parts.append("%d unreachable" % summ["unreachable"])
    text = "%d hosts: %s" % (summ["hosts"], ", ".join(parts))
    if not summ["preview"]:
        text += ", %d verified copies, median Domino frozen %s" % (summ["verified_copies"],
                                                                   _fmt_ms(summ["frozen_ms_median"]))
    return text


def render_json(records: list[dict[str, t.Any]], meta: dict[str, t.Any]) -> str:
    preview = bool(meta.get("preview"))
    hosts = [dict(r, outcome=outcome(r, preview)) for r in records]
    return json.dumps({"report": TITLE, "format": FORMAT, "preview": preview, "meta": meta,
                       "summary": summary(records, preview), "glossary": GLOSSARY, "hosts": hosts},
                      indent=2, sort_keys=True)


def render_junit(records: list[dict[str, t.Any]], meta: dict[str, t.Any]) -> str:
    """One test case per host, its time the host's whole backup; a failed host carries the failing task, step and
    the real error text.  A preview (check mode) backs nothing up: every case is skipped."""
    preview = bool(meta.get("preview"))
    failed = [r for r in records if r["status"] in ("failed", "unreachable")]
    suite = ET.Element("testsuite", name="quiesce.domino.backup", tests=str(len(records)),
                       failures="0" if preview else str(len(failed)),
                       skipped=str(len(records)) if preview else "0", timestamp=meta.get("started", ""),
                       time="%.3f" % ((meta.get("duration_ms") or 0) / 1000.0))
    for record in records:
        case = ET.SubElement(suite, "testcase", classname="quiesce.domino.%s" % (record.get("method") or "backup"),
                             name=record["host"], time="%.3f" % ((record.get("duration_ms") or 0) / 1000.0))
        if preview:
            ET.SubElement(case, "skipped", message="preview (check mode): nothing was backed up")
        elif record["status"] in ("failed", "unreachable"):
            failure = ET.SubElement(case, "failure", type=record["status"],
                                    message="%s: %s" % (record.get("failed_task"), (record.get("error") or "")[:500]))
            failure.text = "task: %s\nstep: %s\n%s" % (
                record.get("failed_task"), record.get("failed_step") or "-", record.get("error") or "")
        props = ET.SubElement(case, "system-out")
        props.text = json.dumps({k: record.get(k) for k in ("method", "frozen_ms", "duration_ms", "shadow_id", "copy",
                                                            "crash_consistent")}, sort_keys=True)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def _parse(ts: t.Optional[str]) -> t.Optional[float]:
    if not ts:
        return None
    try:
        return datetime.datetime.strptime(ts[:23].rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        try:
            return datetime.datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            return None


def _bars(record: dict[str, t.Any]) -> list[tuple[str, float, float]]:
    """The phases that happened on the host: a freeze only when something froze."""
    bars = []
    copy = record.get("copy") or {}
    phases = [("snapshot", record.get("create_started_at"), record.get("create_ended_at")),
              ("copy", copy.get("started_at"), copy.get("ended_at"))]
    if record.get("frozen") is not False:
        phases.insert(0, ("freeze", record.get("frozen_at"), record.get("thawed_at")))
    for label, start, end in phases:
        a, b = _parse(start), _parse(end)
        if a is not None and b is not None and b >= a:
            bars.append((label, a, b))
    return bars


def _fmt_ms(value: t.Any) -> str:
    if value is None:
        return "-"
    if value >= 10000:
        return "%.1f s" % (value / 1000.0)
    return ("%d ms" % value) if float(value).is_integer() else ("%.1f ms" % value)


def _fmt_s(value: t.Any) -> str:
    return "-" if value is None else "%.1f s" % (value / 1000.0)


def _fmt_bytes(value: t.Any) -> str:
    if not value:
        return "-"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= size:
            return "%.1f %s" % (value / size, unit)
    return "%d B" % value


def _frozen_text(record: dict[str, t.Any]) -> str:
    if record.get("frozen") is False:
        return "not frozen"
    return _fmt_ms(record.get("frozen_ms"))


def _e(value: t.Any) -> str:
    return html.escape(str(value), quote=True)


COLORS = {"freeze": "#d9534f", "snapshot": "#343a40", "copy": "#0275d8"}
PHASE_WORDS = {"freeze": "Domino frozen", "snapshot": "shadow copy creation", "copy": "copy"}

STYLE = """
body{font-family:system-ui,"Segoe UI",Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;width:100%;margin:12px 0}
td,th{border:1px solid #ccc;padding:6px 8px;font-size:13px;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.host{overflow-wrap:anywhere;min-width:10em;max-width:26em}
tr.failed td,tr.unreachable td{background:#fdecea} tr.failed td.host,tr.unreachable td.host{border-left:4px solid #a94442}
tr.planned td,tr.preview td{background:#fff8e1}
details.script pre{font-size:12px;background:#f6f6f6;padding:6px;white-space:pre-wrap;max-width:60em}
.error{color:#a94442;margin-top:4px;font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere}
.badge{display:inline-block;font-weight:bold;font-size:11px;padding:1px 6px;border-radius:3px;color:#fff;background:#5cb85c}
.badge.failed,.badge.unreachable{background:#a94442} .badge.planned{background:#f0ad4e;color:#222}
.badge.nothing{background:#777}
.dest{font-family:ui-monospace,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}
.cards{display:flex;flex-wrap:wrap;gap:12px} .card{border:1px solid #ccc;border-radius:6px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px} .card.bad b{color:#a94442}
.preview-banner{border:2px solid #f0ad4e;background:#fff8e1;padding:10px 14px;border-radius:6px;font-weight:bold}
.legend span.swatch{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
.timeline{display:grid;grid-template-columns:minmax(6em,max-content) minmax(360px,1fr);column-gap:12px;row-gap:4px;
 align-items:stretch}
.tl-row{display:contents}
.tl-label{font-size:12px;max-width:26em;overflow-wrap:anywhere;padding:2px 0}
.tl-host{display:block;font-family:ui-monospace,Consolas,monospace}
.tl-status{display:block;color:#a94442;font-weight:bold;font-size:11px}
.tl-track{position:relative;min-height:24px;background:#f7f7f7;border-left:1px solid #bbb}
.tl-row.failed .tl-track,.tl-row.unreachable .tl-track{background:repeating-linear-gradient(135deg,#fdecea 0 6px,#f9d6d2 6px 12px);
 border-left:4px solid #a94442}
.tl-row.failed .tl-label,.tl-row.unreachable .tl-label{color:#a94442}
.bar{position:absolute;top:4px;height:16px;min-width:2px;border-radius:2px}
.bar.snapshot{top:8px;height:8px}
.tl-row.failed .bar{outline:2px dashed #a94442;outline-offset:1px}
.tl-note{position:absolute;left:6px;top:4px;font-size:12px;color:#a94442}
.tl-axis{display:flex;justify-content:space-between;font-size:11px;color:#555}
dl.glossary dt{font-weight:bold;font-size:13px} dl.glossary dd{margin:0 0 6px 16px;font-size:13px}
"""


def _timeline(records: list[dict[str, t.Any]], preview: bool) -> str:
    if preview:
        return "<p id='timeline-none'>No timeline: a preview runs discovery only; nothing was frozen, created or copied.</p>"
    all_bars = [b for r in records for b in _bars(r)]
    if not all_bars:
        return "<p id='timeline-none'>No timeline: no host got as far as a freeze, a shadow copy or a copy.</p>"
    t0 = min(b[1] for b in all_bars)
    span = max(max(b[2] for b in all_bars) - t0, 0.001)
    rows = ["<div class='tl-row tl-head'><div class='tl-label'>host (host clocks, UTC)</div>"
            "<div class='tl-axis'><span class='tick'>0 s</span><span class='tick'>%.1f s</span></div></div>" % span]
    for record in records:
        state = outcome(record, preview)
        marks = ""
        if state in ("failed", "unreachable"):
            marks = "<span class='tl-status'>&#10007; %s%s</span>" % (
                state.upper(), (" in %s" % _e(record.get("failed_task"))) if state == "failed" else "")
        bars = []
        for label, a, b in _bars(record):
            bars.append("<span class='bar %s' style='left:%.3f%%;width:%.3f%%;background:%s' title='%s: %s %.0f ms'>"
                        "</span>" % (label, (a - t0) / span * 100, (b - a) / span * 100, COLORS[label],
                                     _e(record["host"]), PHASE_WORDS[label], (b - a) * 1000))
        if not bars:
            bars.append("<span class='tl-note'>%s</span>" % (
                "no connection" if state == "unreachable" else
                "failed before the freeze" if state == "failed" else "nothing ran"))
        rows.append("<div class='tl-row %s' data-host='%s'><div class='tl-label'><span class='tl-host'>%s</span>%s</div>"
                    "<div class='tl-track'>%s</div></div>"
                    % (css_class(state), _e(record["host"]), _e(record["host"]), marks, "".join(bars)))
    return "<div class='timeline' id='timeline'>%s</div>" % "\n".join(rows)


def _result_cell(record: dict[str, t.Any], state: str) -> str:
    words = {"backed up": "BACKED UP", "ok": "OK, nothing backed up", "planned": "PLANNED",
             "failed": "FAILED", "unreachable": "UNREACHABLE"}[state]
    cell = "<span class='badge %s'>%s</span>" % (css_class(state), words)
    if state in ("failed", "unreachable"):
        cell += "<div class='error'><b>%s</b>%s: %s</div>" % (
            _e(record.get("failed_task")),
            (" (step <i>%s</i>)" % _e(record["failed_step"])) if record.get("failed_step") else "",
            _e(record.get("error") or ""))
    return cell


def _host_rows(records: list[dict[str, t.Any]], preview: bool) -> str:
    rows = []
    for record in records:
        state = outcome(record, preview)
        head = "<tr class='%s' data-host='%s'><td class='host'>%s</td><td>%s</td>" % (
            css_class(state), _e(record["host"]), _e(record["host"]), _result_cell(record, state))
        method = _e(record.get("method") or "-")
        if record.get("crash_consistent"):
            method += " (crash-consistent)"
        if preview:
            plan = record.get("plan") or {}
            effect = METHOD_EFFECT.get(str(record.get("method")), "")
            would = "".join("<li>%s</li>" % _e(line) for line in plan.get("would") or [])
            script = ("<details class='script'><summary>diskshadow script</summary><pre>%s</pre></details>"
                      % _e(plan["script"])) if plan.get("script") else ""
            rows.append(head + "<td>%s%s%s%s</td><td>%s</td><td class='dest'>%s</td></tr>" % (
                method, ("<div>%s</div>" % _e(effect)) if effect else "",
                ("<ul class='would'>%s</ul>" % would) if would else "", script,
                _e(", ".join(plan.get("volumes") or []) or "-"), _e(plan.get("destination") or "-")))
            continue
        copy = record.get("copy") or {}
        parts = []
        for key, word in (("freeze_ms", "freeze"), ("create_ms", "shadow copy"), ("thaw_ms", "thaw")):
            if record.get(key) is not None:
                parts.append("%s %s" % (word, _fmt_ms(record[key])))
        if parts and record.get("method") == "backup_task":
            # the hold is a window inside these steps (entering backup mode ends inside the freeze steps, leaving
            # it starts inside the thaw): they are around the frozen time, not parts of it
            parts = ["around the hold: " + ", ".join(parts)]
        shadow = _e(record.get("shadow_id") or "-")
        point = record.get("restore_point")
        if point:
            shadow += "<div class='restore-point'>restore point <b>%s</b> (%s)</div>" % (
                _e(_rp(point, "name")), _e(_rp(point, "shadow_id")))
        if copy and copy.get("backend") == "restic":
            copied = "%s added of %s in %s, %s<div class='dest'>restic snapshot <b>%s</b> in %s</div>" % (
                _fmt_bytes(copy.get("data_added")), _fmt_bytes(copy.get("bytes")), _fmt_ms(copy.get("duration_ms")),
                "verified" if copy.get("verified") else "<b>NOT verified</b>", _e(str(copy.get("snapshot_id") or "-")[:8]),
                _e(copy.get("repository") or "-"))
        elif copy:
            copied = "%s in %s, %s<div class='dest'>%s</div>" % (
                _fmt_bytes(copy.get("bytes_copied")), _fmt_ms(copy.get("duration_ms")),
                "verified" if copy.get("verified") else "<b>NOT verified</b>", _e(copy.get("destination") or "-"))
        else:
            copied = "-"
        rows.append(head + "<td>%s</td><td class='frozen'>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
            method, _frozen_text(record), _e(", ".join(parts) or "-"), _fmt_s(record.get("duration_ms")), shadow,
            copied))
    return "\n".join(rows)


def render_html(records: list[dict[str, t.Any]], meta: dict[str, t.Any]) -> str:
    """A self-contained page: summary cards, a per-host timeline of freeze, shadow copy creation and copy, and the
    host table.  A preview (check mode) shows the plan per host and no timeline."""
    preview = bool(meta.get("preview"))
    summ = summary(records, preview)
    methods = ", ".join("%s: %d" % kv for kv in summ["methods"].items())
    cards = [("hosts", summ["hosts"], "hosts", False)]
    if preview:
        cards.append(("planned", summ["planned"], "would be backed up", False))
    else:
        cards.append(("ok", summ["backed_up"], "backed up", False))
    cards += [("failed", summ["failed"], "failed", summ["failed"] > 0),
              ("unreachable", summ["unreachable"], "unreachable", summ["unreachable"] > 0)]
    if not preview:
        cards += [("verified", summ["verified_copies"], "verified copies", False),
                  ("median", _fmt_ms(summ["frozen_ms_median"]), "median Domino frozen", False)]
    card_html = "\n".join("<div class='card%s' id='%s'><b>%s</b>%s</div>" % (" bad" if bad else "", key, _e(value), label)
                          for key, value, label, bad in cards)
    if preview:
        intro = ("<p class='preview-banner' id='preview'>Preview of a check-mode run: nothing was frozen, created or "
                 "copied, and no host counts as backed up. This is what a real run would do.</p>")
        head = "<tr><th>host</th><th>plan</th><th>method</th><th>volumes</th><th>copy would go to</th></tr>"
        timeline = _timeline(records, preview)
        glossary = ""
    else:
        intro = ""
        head = ("<tr><th>host</th><th>result</th><th>method</th><th title='%s'>Domino frozen</th>"
                "<th>of which</th><th title='%s'>host run</th><th>shadow copy</th><th>copy</th></tr>"
                % (_e(GLOSSARY["frozen_ms"]), _e(GLOSSARY["duration_ms"])))
        timeline = ("<p class='legend'><span class='swatch' style='background:%s'></span>Domino frozen"
                    "<span class='swatch' style='background:%s'></span>shadow copy creation"
                    "<span class='swatch' style='background:%s'></span>copy. A failed host's row is striped red and "
                    "its bars outlined.</p>\n%s"
                    % (COLORS["freeze"], COLORS["snapshot"], COLORS["copy"], _timeline(records, preview)))
        glossary = ("<h2>What the times mean</h2><dl class='glossary'>%s</dl>" % "".join(
            "<dt>%s</dt><dd>%s</dd>" % (word, _e(GLOSSARY[key])) for key, word in (
                ("frozen_ms", "Domino frozen"), ("freeze_ms", "of which: freeze"),
                ("create_ms", "of which: shadow copy"), ("thaw_ms", "of which: thaw"),
                ("duration_ms", "host run"))))
    title = TITLE + (" (preview)" if preview else "")
    return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%s</title>
<style>%s</style></head><body>
<h1>%s</h1>
<p id="meta">Playbook <code>%s</code>, started %s UTC, ended %s UTC. <a href="index.html">All runs</a></p>
%s
<div class="cards">
%s
</div>
<p id="methods">Methods: %s.%s</p>
<h2>Timeline</h2>
%s
<h2>Hosts</h2>
<table id="hosts-table">%s
%s
</table>
%s
</body></html>
""" % (_e(title), STYLE, _e(title), _e(meta.get("playbook", "")), _e(meta.get("started", "")),
       _e(meta.get("ended", "")), intro, card_html, _e(methods),
       "" if preview else " Copied %s in all." % _fmt_bytes(summ["bytes_copied"]), timeline, head,
       _host_rows(records, preview), glossary)


def render_index(runs: list[dict[str, t.Any]]) -> str:
    """The page listing past runs, newest first.  Each run: ``name`` (file name without extension), ``meta``,
    ``summary`` as render_json wrote them, ``junit`` (whether its JUnit file exists)."""
    rows = []
    for run in sorted(runs, key=lambda r: (r["meta"].get("started") or "", r["name"]), reverse=True):
        summ, meta = run["summary"], run["meta"]
        state = "preview" if summ.get("preview") else ("failed" if summ.get("failed") or summ.get("unreachable") else "ok")
        links = ["<a href='%s.html'>HTML</a>" % _e(run["name"]), "<a href='%s.json'>JSON</a>" % _e(run["name"])]
        if run.get("junit"):
            links.append("<a href='%s.junit.xml'>JUnit</a>" % _e(run["name"]))
        rows.append("<tr class='%s' data-run='%s'><td>%s</td><td><code>%s</code></td><td><span class='badge %s'>%s</span> "
                    "%s</td><td>%s</td></tr>" % (
                        state, _e(run["name"]), _e(meta.get("started", "")), _e(meta.get("playbook", "")),
                        "planned" if state == "preview" else state, state.upper(), _e(headline(summ)),
                        " ".join(links)))
    return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>quiesce.domino backup reports</title>
<style>%s</style></head><body>
<h1>quiesce.domino backup reports</h1>
<p>Every run, newest first. Previews (check mode) backed nothing up.</p>
<table id="runs"><tr><th>started (UTC)</th><th>playbook</th><th>outcome</th><th>files</th></tr>
%s
</table>
</body></html>
""" % (STYLE, "\n".join(rows))


RUN_FILE = re.compile(r"^(?P<name>.+)-(?P<preview>preview-)?(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<n>\d+))?\.json$")


def _wrap(text: str, width: int, indent: str) -> list[str]:
    lines = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, width=width, initial_indent=indent, subsequent_indent=indent,
                                   break_long_words=False, break_on_hyphens=False) or [indent.rstrip()])
    return lines


DOMINO_WORDS = {"shutdown": "will be stopped", "vss_writer": "keeps running", "backup_task": "keeps running",
                "none": "not quiesced"}


def summary_table(records: list[dict[str, t.Any]], preview: bool = False, width: int = 100) -> str:
    """The console summary: host names in full, and a failed host's task and error on wrapped lines below it.
    A preview's table says what would happen: the method, what it does to Domino, where the copy would go."""
    if preview:
        header: tuple[str, ...] = ("host", "plan", "method", "Domino", "copy would go to")
    else:
        header = ("host", "result", "method", "Domino frozen", "copied", "copy")
    rows = []
    for r in records:
        state = outcome(r, preview)
        shown = state.upper() if state in ("failed", "unreachable") else state
        method = r.get("method") or "-"
        if preview:
            longest = next((m.group(0) for m in (re.search(r"at most about [0-9]+ s", str(line))
                                                 for line in (r.get("plan") or {}).get("would") or []) if m), None)
            domino = DOMINO_WORDS.get(str(r.get("method")), "-") + (" (%s)" % longest if longest else "")
            rows.append((r["host"], shown, method, domino,
                         (r.get("plan") or {}).get("destination") or "-"))
            continue
        copy = r.get("copy") or {}
        verdict = "verified" if copy.get("verified") else ("NOT verified" if copy else "-")
        if copy.get("backend") == "restic":
            verdict += " (restic snapshot %s)" % str(copy.get("snapshot_id") or "-")[:8]
        rows.append((r["host"], shown, method, _frozen_text(r), _fmt_bytes(copy.get("bytes_copied")), verdict))
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    lines = [(fmt % header).rstrip()]
    for record, row in zip(records, rows):
        lines.append((fmt % row).rstrip())
        if record["status"] in ("failed", "unreachable"):
            where = str(record.get("failed_task"))
            if record.get("failed_step"):
                where += " (step: %s)" % record["failed_step"]
            lines.extend(_wrap(where + ":", width, "    "))
            error = _wrap(record.get("error") or "", width, "      ")
            if len(error) > 12:
                error = error[:12] + ["      ... (the whole text is in the JSON and HTML report)"]
            lines.extend(error)
    lines.append(headline(summary(records, preview)))
    return "\n".join(lines)


def progress_line(record: dict[str, t.Any], preview: bool, elapsed: float) -> str:
    """One line for a host whose backup has just finished (or failed)."""
    state = outcome(record, preview)
    if state == "backed up" and not record.get("copy") and not record.get("restore_point"):
        state = "snapshot taken"
    details = []
    if record.get("method"):
        details.append(str(record["method"]))
    if state in ("backed up", "snapshot taken"):
        details.append("Domino frozen %s" % _frozen_text(record))
        copy = record.get("copy") or {}
        if copy and copy.get("backend") == "restic":
            details.append("restic snapshot %s in %s, %s added, %s" % (
                str(copy.get("snapshot_id") or "-")[:8], copy.get("repository"), _fmt_bytes(copy.get("data_added")),
                "verified" if copy.get("verified") else "NOT verified"))
        elif copy:
            details.append("%s to %s, %s" % (_fmt_bytes(copy.get("bytes_copied")), copy.get("destination"),
                                             "verified" if copy.get("verified") else "NOT verified"))
    elif state == "planned":
        plan = record.get("plan") or {}
        if METHOD_EFFECT.get(str(record.get("method"))):
            # how long, as the module's preview says it ("for at most about N s")
            longest = next((m.group(0) for m in (re.search(r"at most about [0-9]+ s", str(line))
                                                 for line in plan.get("would") or []) if m), None)
            details.append(METHOD_EFFECT[str(record["method"])] + (" (%s)" % longest if longest else ""))
        if plan.get("destination"):
            details.append("copy to %s" % plan["destination"])
    else:
        error = " ".join((record.get("error") or "-").split())
        details.append("in %s: %s" % (record.get("failed_task"), error if len(error) <= 240 else error[:237] + "..."))
    return "quiesce.domino %6.1f s  %s: %s (%s)" % (elapsed, record["host"], state.upper() if state in (
        "failed", "unreachable") else state, "; ".join(details))
