# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: backup_report
type: aggregate
short_description: Write the quiesce.domino backup report (JSON, JUnit XML, HTML) and print a summary
version_added: "0.1.0"
description:
  - Collects, per host, what the collection's modules did (quiesce method, freeze window and its breakdown,
    shadow copy, copy size and verification, restore points) and, for a failed host, the failing task, the
    failing host step and the real error text.
  - At the end of the playbook writes C(<report_dir>/<report_name>.json), C(.xml) (JUnit, one test case per host,
    for CI) and C(.html) (a self-contained page with a summary and a per-host timeline of freeze, shadow copy
    creation and copy), and prints a summary table.
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
    description: File name (without extension) of the report files.
    type: str
    default: backup-report
    env:
      - name: QUIESCE_REPORT_NAME
    ini:
      - section: quiesce_backup_report
        key: report_name
"""

import datetime
import os
import typing as t

from ansible.plugins.callback import CallbackBase

from ansible_collections.quiesce.domino.plugins.plugin_utils import report


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "quiesce.domino.backup_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.records: dict[str, dict[str, t.Any]] = {}
        self.playbook = ""
        self.started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")

    def v2_playbook_on_start(self, playbook: t.Any) -> None:
        self.playbook = os.path.basename(getattr(playbook, "_file_name", "") or "")

    def _record(self, host: str) -> dict[str, t.Any]:
        if host not in self.records:
            self.records[host] = report.new_host(host)
        return self.records[host]

    def _add(self, result: t.Any, status: str) -> None:
        task = result._task
        action = getattr(task, "resolved_action", None) or task.action
        report.add_result(self._record(result._host.get_name()), str(action or ""), task.get_name(),
                          dict(result._result), status)

    def v2_runner_on_ok(self, result: t.Any) -> None:
        self._add(result, "ok")

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        self._add(result, "failed")

    def v2_runner_on_unreachable(self, result: t.Any) -> None:
        self._add(result, "unreachable")

    def v2_playbook_on_stats(self, stats: t.Any) -> None:
        for host in sorted(stats.processed):
            self._record(host)
        records = [self.records[h] for h in sorted(self.records)]
        meta = {"playbook": self.playbook, "started": self.started,
                "ended": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")}
        directory = os.path.abspath(os.path.expanduser(self.get_option("report_dir")))
        name = self.get_option("report_name")
        os.makedirs(directory, exist_ok=True)
        paths = {}
        for ext, text in (("json", report.render_json(records, meta)), ("xml", report.render_junit(records, meta)),
                          ("html", report.render_html(records, meta))):
            paths[ext] = os.path.join(directory, "%s.%s" % (name, ext))
            with open(paths[ext], "w", encoding="utf-8") as handle:
                handle.write(text)
        self._display.display("\nquiesce.domino backup report\n" + report.summary_table(records))
        self._display.display("HTML report: %s\nJSON: %s\nJUnit: %s" % (paths["html"], paths["json"], paths["xml"]))
