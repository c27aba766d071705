# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: backup_report
type: aggregate
short_description: Write the quiesce.domino backup report (JSON, JUnit XML, HTML, index of runs) and print a summary
version_added: "0.1.0"
description:
  - Collects, per host, what the collection's modules did (quiesce method, how long Domino was frozen and the parts
    of it, shadow copy, copy destination, size and verification, restore points, how long the host's run took)
    and, for a failed or unreachable host, the failing task, the failing host step and the real error text.
  - Prints one line per host as its backup finishes or fails (option O(progress)).
  - At the end of the playbook writes, in O(report_dir), C(<report_name>-<UTC time>.json), C(.junit.xml) (JUnit,
    one test case per host, its time the host's whole run, for CI) and C(.html) (a self-contained page with a
    summary, a per-host timeline of freeze, shadow copy creation and copy, and a host table), copies them to the
    stable names C(<report_name>-latest.json), C(.junit.xml) and C(.html), and rewrites C(index.html), which lists
    every run in the directory with its outcome. Then it prints a summary table.
  - A run in check mode (C(--check), or a play whose every changing task of this collection ran in check mode) is a
    B(preview). Its files are C(<report_name>-preview-<UTC time>.json) and C(.html) and
    C(<report_name>-preview-latest.json) and C(.html); it writes no JUnit file, never replaces the files of a real
    run, and counts no host as backed up (they are "planned").
  - Enable it with C(callbacks_enabled = quiesce.domino.backup_report) in C(ansible.cfg) or
    C(ANSIBLE_CALLBACKS_ENABLED).
author:
  - quiesce.domino contributors (@quiesce-domino)
options:
  report_dir:
    description: Directory the report files are written to (created if needed).
    type: path
    default: ./reports
    env:
      - name: QUIESCE_REPORT_DIR
    ini:
      - section: quiesce_backup_report
        key: report_dir
  report_name:
    description: Start of the report file names.
    type: str
    default: backup-report
    env:
      - name: QUIESCE_REPORT_NAME
    ini:
      - section: quiesce_backup_report
        key: report_name
  progress:
    description: Print a line for each host as soon as its backup has finished or failed.
    type: bool
    default: true
    env:
      - name: QUIESCE_REPORT_PROGRESS
    ini:
      - section: quiesce_backup_report
        key: progress
"""

import json
import os
import shutil
import tempfile
import time
import typing as t

from ansible import context
from ansible.plugins.callback import CallbackBase

from ansible_collections.quiesce.domino.plugins.plugin_utils import report


def _write(path: str, text: str) -> None:
    """Write ``text`` so that a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_runs(directory: str) -> list[dict[str, t.Any]]:
    """The runs in ``directory``: every timestamped JSON report in it (the -latest copies are not runs)."""
    runs = []
    for entry in sorted(os.listdir(directory)):
        if not report.RUN_FILE.match(entry):
            continue
        try:
            with open(os.path.join(directory, entry), encoding="utf-8") as handle:
                doc = json.load(handle)
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict) or doc.get("report") != report.TITLE or not isinstance(doc.get("summary"), dict):
            continue
        name = entry[:-len(".json")]
        runs.append({"name": name, "meta": doc.get("meta") or {}, "summary": doc["summary"],
                     "junit": os.path.exists(os.path.join(directory, name + ".junit.xml"))})
    return runs


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "quiesce.domino.backup_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.records: dict[str, dict[str, t.Any]] = {}
        self.playbook = ""
        self.t0 = time.time()
        self.cli_check = False
        self.checked_changes = 0  # results of changing actions of the collection that ran in check mode
        self.real_changes = 0  # ... and that ran for real
        self.announced: set[str] = set()

    def v2_playbook_on_start(self, playbook: t.Any) -> None:
        self.t0 = time.time()
        self.playbook = os.path.basename(getattr(playbook, "_file_name", "") or "")
        self.cli_check = bool((context.CLIARGS or {}).get("check"))

    def _record(self, host: str) -> dict[str, t.Any]:
        if host not in self.records:
            self.records[host] = report.new_host(host)
        return self.records[host]

    @property
    def preview(self) -> bool:
        return not self.real_changes and (self.cli_check or self.checked_changes > 0)

    def v2_runner_on_start(self, host: t.Any, task: t.Any) -> None:
        report.task_started(self._record(host.get_name()), time.time())

    def _add(self, result: t.Any, status: str) -> None:
        task = getattr(result, "task", None) or result._task
        host = (getattr(result, "host", None) or result._host).get_name()
        data = getattr(result, "result", None)
        data = dict(result._result if data is None else data)
        action = str(getattr(task, "resolved_action", None) or task.action or "")
        check_mode = bool(getattr(task, "check_mode", False))
        kind = report.ACTIONS.get(action)
        if kind in report.CHANGING and status != "unreachable":
            if check_mode:
                self.checked_changes += 1
            else:
                self.real_changes += 1
        record = self._record(host)
        was_failed = record["status"] != "ok"
        report.add_result(record, action, task.get_name(), data, status, check_mode=check_mode)
        report.task_ended(record, time.time())
        finished = (record["status"] != "ok" and not was_failed) or (kind == "copy" and status == "ok")
        if finished and host not in self.announced and self.get_option("progress"):
            self.announced.add(host)
            self._display.display(report.progress_line(record, check_mode and not self.real_changes,
                                                       time.time() - self.t0))

    def v2_runner_on_ok(self, result: t.Any) -> None:
        self._add(result, "ok")

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        self._add(result, "failed")

    def v2_runner_on_unreachable(self, result: t.Any) -> None:
        self._add(result, "unreachable")

    def _paths(self, directory: str, name: str) -> tuple[str, str]:
        """The base of this run's file names (never an existing run's) and of the stable -latest names."""
        kind = "%s-preview" % name if self.preview else name
        base = os.path.join(directory, "%s-%s" % (kind, report.stamp(self.t0)))
        candidate, number = base, 1
        while os.path.exists(candidate + ".json"):
            number += 1
            candidate = "%s-%d" % (base, number)
        return candidate, os.path.join(directory, "%s-latest" % kind)

    def v2_playbook_on_stats(self, stats: t.Any) -> None:
        for host in sorted(stats.processed):
            self._record(host)
        records = [self.records[h] for h in sorted(self.records)]
        ended = time.time()
        preview = self.preview
        meta = {"playbook": self.playbook, "started": report.iso(self.t0)[:19], "ended": report.iso(ended)[:19],
                "duration_ms": int(round((ended - self.t0) * 1000)), "preview": preview,
                "check_mode": self.cli_check}
        directory = os.path.abspath(os.path.expanduser(self.get_option("report_dir")))
        os.makedirs(directory, exist_ok=True)
        base, latest = self._paths(directory, self.get_option("report_name"))
        meta["name"] = os.path.basename(base)
        files = [("json", report.render_json(records, meta)), ("html", report.render_html(records, meta))]
        if not preview:
            files.append(("junit.xml", report.render_junit(records, meta)))
        for ext, text in files:
            _write("%s.%s" % (base, ext), text)
        for ext, _text in files:
            shutil.copyfile("%s.%s" % (base, ext), "%s.%s.tmp" % (latest, ext))
            os.replace("%s.%s.tmp" % (latest, ext), "%s.%s" % (latest, ext))
        index = os.path.join(directory, "index.html")
        _write(index, report.render_index(read_runs(directory)))
        width = max(shutil.get_terminal_size((100, 24)).columns - 2, 60)
        title = "quiesce.domino backup %s" % ("preview (check mode: nothing was frozen, created or copied)"
                                              if preview else "report")
        self._display.display("\n%s\n%s" % (title, report.summary_table(records, preview, width)))
        lines = ["HTML report: %s.html" % base, "JSON: %s.json" % base]
        if not preview:
            lines.append("JUnit: %s.junit.xml" % base)
        lines.append("Latest: %s.html; every run: %s" % (latest, index))
        self._display.display("\n".join(lines))
