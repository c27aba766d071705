# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup report: per-host records from task results, rendered as JSON, JUnit XML and HTML.

Pure functions; the callback plugin quiesce.domino.backup_report feeds them and writes the files.
"""

from __future__ import annotations

import datetime
import html
import json
import typing as t
from xml.etree import ElementTree as ET

ACTIONS = {"quiesce.domino.snapshot": "snapshot", "quiesce.domino.snapshot_copy": "copy",
           "quiesce.domino.backup_mode": "backup_mode", "quiesce.domino.diskshadow": "diskshadow",
           "quiesce.domino.domino_info": "domino_info", "quiesce.domino.shadow_info": "shadow_info"}


def new_host(host: str) -> dict[str, t.Any]:
    return {"host": host, "status": "ok", "method": None, "crash_consistent": None, "frozen_ms": None,
            "freeze_ms": None, "create_ms": None, "thaw_ms": None, "frozen_at": None, "thawed_at": None,
            "create_started_at": None, "create_ended_at": None, "shadow_id": None, "exposed_as": None,
            "copy": None, "restore_point": None, "failed_task": None, "failed_step": None, "error": None,
            "tasks": 0, "warnings": []}


def add_result(record: dict[str, t.Any], action: str, task_name: str, result: dict[str, t.Any], status: str) -> None:
    """Fold one task result into the host's record; ``status`` is ok, failed, unreachable or skipped."""
    record["tasks"] += 1
    kind = ACTIONS.get(action)
    if status in ("failed", "unreachable"):
        if record["status"] == "ok":
            record["status"] = status
            record["failed_task"] = task_name
            record["error"] = str(result.get("msg") or result.get("reason") or "failed")[:2000]
            steps = result.get("steps") or []
            bad = next((s for s in steps if s.get("status") not in ("ok", "skipped") and not s.get("allowed_failure")), None)
            if bad:
                record["failed_step"] = bad.get("name")
    for warning in result.get("warnings") or []:
        record["warnings"].append(str(warning))
    if kind == "snapshot" and result.get("method"):
        for key in ("method", "crash_consistent", "frozen_ms", "freeze_ms", "create_ms", "thaw_ms", "frozen_at",
                    "thawed_at", "create_started_at", "create_ended_at", "exposed_as"):
            if result.get(key) is not None:
                record[key] = result[key]
        shadows = result.get("shadows") or []
        if shadows:
            record["shadow_id"] = shadows[0].get("id")
    elif kind == "backup_mode" and result.get("method") and record["method"] is None:
        record["method"] = result["method"]
        record["crash_consistent"] = result.get("crash_consistent")
    elif kind == "copy" and result.get("destination") and "bytes" in result:
        record["copy"] = {key: result.get(key) for key in (
            "destination", "verified", "files", "files_copied", "bytes", "bytes_copied", "duration_ms",
            "throughput_bytes_per_second", "started_at", "ended_at", "mode", "deltas")}
    if isinstance(result.get("quiesce_restore_point"), dict):
        record["restore_point"] = result["quiesce_restore_point"]


def _backup_ok(record: dict[str, t.Any]) -> bool:
    return record["status"] == "ok"


def summary(records: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    frozen = sorted(r["frozen_ms"] for r in records if isinstance(r.get("frozen_ms"), int))
    return {
        "hosts": len(records),
        "ok": sum(1 for r in records if _backup_ok(r)),
        "failed": sum(1 for r in records if r["status"] in ("failed", "unreachable")),
        "verified_copies": sum(1 for r in records if (r.get("copy") or {}).get("verified")),
        "crash_consistent": sum(1 for r in records if r.get("crash_consistent")),
        "methods": {m: sum(1 for r in records if r.get("method") == m) for m in sorted({r.get("method") or "-" for r in records})},
        "frozen_ms_median": frozen[len(frozen) // 2] if frozen else None,
        "frozen_ms_max": frozen[-1] if frozen else None,
        "bytes_copied": sum((r.get("copy") or {}).get("bytes_copied") or 0 for r in records),
    }


def render_json(records: list[dict[str, t.Any]], meta: dict[str, t.Any]) -> str:
    return json.dumps({"report": "quiesce.domino backup report", "meta": meta, "summary": summary(records),
                       "hosts": records}, indent=2, sort_keys=True)


def render_junit(records: list[dict[str, t.Any]], meta: dict[str, t.Any]) -> str:
    """One test case per host; a failed host carries the failing task, step and the real error text."""
    suite = ET.Element("testsuite", name="quiesce.domino.backup", tests=str(len(records)),
                       failures=str(sum(1 for r in records if r["status"] in ("failed", "unreachable"))),
                       timestamp=meta.get("started", ""))
    for record in records:
        case = ET.SubElement(suite, "testcase", classname="quiesce.domino.%s" % (record.get("method") or "backup"),
                             name=record["host"], time="%.3f" % ((record.get("frozen_ms") or 0) / 1000.0))
        if record["status"] in ("failed", "unreachable"):
            failure = ET.SubElement(case, "failure", type=record["status"],
                                    message="%s: %s" % (record.get("failed_task"), (record.get("error") or "")[:500]))
            failure.text = "task: %s\nstep: %s\n%s" % (
                record.get("failed_task"), record.get("failed_step") or "-", record.get("error") or "")
        props = ET.SubElement(case, "system-out")
        props.text = json.dumps({k: record.get(k) for k in ("method", "frozen_ms", "shadow_id", "copy",
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
    bars = []
    for label, start, end in (("freeze", record.get("frozen_at"), record.get("thawed_at")),
                              ("snapshot", record.get("create_started_at"), record.get("create_ended_at")),
                              ("copy", (record.get("copy") or {}).get("started_at"), (record.get("copy") or {}).get("ended_at"))):
        a, b = _parse(start), _parse(end)
        if a is not None and b is not None and b >= a:
            bars.append((label, a, b))
    return bars


def _fmt_ms(value: t.Any) -> str:
    return "-" if value is None else ("%d ms" % value if value < 10000 else "%.1f s" % (value / 1000.0))


def _fmt_bytes(value: t.Any) -> str:
    if not value:
        return "-"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= size:
            return "%.1f %s" % (value / size, unit)
    return "%d B" % value


COLORS = {"freeze": "#d9534f", "snapshot": "#343a40", "copy": "#0275d8"}


def render_html(records: list[dict[str, t.Any]], meta: dict[str, t.Any]) -> str:
    """A self-contained page: summary, per-host table, and an SVG timeline of freeze, snapshot and copy."""
    summ = summary(records)
    all_bars = [b for r in records for b in _bars(r)]
    t0 = min((b[1] for b in all_bars), default=0.0)
    t1 = max((b[2] for b in all_bars), default=1.0)
    span = max(t1 - t0, 0.001)
    width, label_w, row_h = 900, 90, 26
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" aria-label="timeline">'
           % (width + label_w + 20, row_h * (len(records) + 1) + 10)]
    for i, record in enumerate(records):
        y = 10 + i * row_h
        svg.append('<text x="0" y="%d" font-size="12" class="host">%s</text>' % (y + 14, html.escape(record["host"])))
        for label, a, b in _bars(record):
            x = label_w + (a - t0) / span * width
            w = max((b - a) / span * width, 2.0)
            height = 8 if label == "snapshot" else 16
            yy = y + (4 if label == "snapshot" else 0)
            svg.append('<rect class="bar %s" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s %s: %.0f ms'
                       '</title></rect>' % (label, x, yy, w, height, COLORS[label], html.escape(record["host"]), label,
                                            (b - a) * 1000))
    svg.append('<text x="%d" y="%d" font-size="11">0 s</text><text x="%d" y="%d" font-size="11">%.1f s</text>'
               % (label_w, row_h * len(records) + 24, label_w + width - 30, row_h * len(records) + 24, span))
    svg.append("</svg>")
    rows = []
    for record in records:
        copy = record.get("copy") or {}
        cls = "ok" if _backup_ok(record) else "failed"
        problem = ""
        if not _backup_ok(record):
            problem = "<div class='error'><b>%s</b>%s: %s</div>" % (
                html.escape(str(record.get("failed_task"))),
                (" (step <i>%s</i>)" % html.escape(record["failed_step"])) if record.get("failed_step") else "",
                html.escape(record.get("error") or ""))
        rows.append("<tr class='%s' data-host='%s'><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                    "<td>%s</td><td>%s</td><td>%s</td></tr>" % (
                        cls, html.escape(record["host"]), html.escape(record["host"]),
                        "OK" if cls == "ok" else html.escape(record["status"].upper()) + problem,
                        html.escape(str(record.get("method") or "-")) + (" (crash-consistent)" if record.get("crash_consistent") else ""),
                        _fmt_ms(record.get("frozen_ms")),
                        "%s / %s / %s" % (_fmt_ms(record.get("freeze_ms")), _fmt_ms(record.get("create_ms")), _fmt_ms(record.get("thaw_ms"))),
                        html.escape(record.get("shadow_id") or "-") + (
                            "<div class='restore-point'>restore point <b>%s</b> (%s)</div>" % (
                                html.escape(str(record["restore_point"].get("Name"))),
                                html.escape(str(record["restore_point"].get("ShadowId"))))
                            if record.get("restore_point") else ""),
                        _fmt_bytes(copy.get("bytes_copied")) + (" in %s" % _fmt_ms(copy.get("duration_ms")) if copy else ""),
                        ("verified" if copy.get("verified") else ("NOT verified" if copy else "-"))))
    methods = ", ".join("%s: %d" % kv for kv in summ["methods"].items())
    return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>quiesce.domino backup report</title>
<style>
body{font-family:system-ui,Segoe UI,Arial,sans-serif;margin:24px;color:#222}
h1{font-size:22px} table{border-collapse:collapse;width:100%%;margin:12px 0}
td,th{border:1px solid #ccc;padding:6px 8px;font-size:13px;text-align:left;vertical-align:top}
th{background:#f3f3f3} tr.failed td{background:#fdecea} .error{color:#a94442;margin-top:4px;font-size:12px}
.cards{display:flex;gap:12px} .card{border:1px solid #ccc;border-radius:6px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px} .legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}
</style></head><body>
<h1>quiesce.domino backup report</h1>
<p>Playbook <code>%s</code>, started %s UTC.</p>
<div class="cards">
<div class="card" id="hosts"><b>%d</b>hosts</div>
<div class="card" id="ok"><b>%d</b>backed up</div>
<div class="card" id="failed"><b>%d</b>failed</div>
<div class="card" id="verified"><b>%d</b>verified copies</div>
<div class="card" id="median"><b>%s</b>median freeze</div>
</div>
<p>Methods: %s. Copied %s in all.</p>
<h2>Timeline</h2>
<p class="legend"><span style="background:#d9534f"></span>Domino frozen<span style="background:#343a40"></span>shadow copy
creation<span style="background:#0275d8"></span>copy (host clocks)</p>
%s
<h2>Hosts</h2>
<table id="hosts-table"><tr><th>host</th><th>result</th><th>method</th><th>frozen</th><th>freeze / create / thaw</th>
<th>shadow copy</th><th>copied</th><th>copy</th></tr>
%s
</table>
</body></html>
""" % (html.escape(meta.get("playbook", "")), html.escape(meta.get("started", "")), summ["hosts"], summ["ok"],
       summ["failed"], summ["verified_copies"], _fmt_ms(summ["frozen_ms_median"]), html.escape(methods),
       _fmt_bytes(summ["bytes_copied"]), "".join(svg), "\n".join(rows))


def summary_table(records: list[dict[str, t.Any]]) -> str:
    lines = ["%-10s %-8s %-12s %-10s %-12s %-10s %s" % ("host", "result", "method", "frozen", "copied", "copy", "error")]
    for r in records:
        copy = r.get("copy") or {}
        lines.append("%-10s %-8s %-12s %-10s %-12s %-10s %s" % (
            r["host"][:10], "ok" if _backup_ok(r) else r["status"], (r.get("method") or "-")[:12], _fmt_ms(r.get("frozen_ms")),
            _fmt_bytes(copy.get("bytes_copied")), "verified" if copy.get("verified") else ("NO" if copy else "-"),
            ("%s: %s" % (r.get("failed_task"), (r.get("error") or "")[:90])) if not _backup_ok(r) else ""))
    s = summary(records)
    lines.append("%d hosts: %d ok, %d failed, %d verified copies, median freeze %s" % (
        s["hosts"], s["ok"], s["failed"], s["verified_copies"], _fmt_ms(s["frozen_ms_median"])))
    return "\n".join(lines)
