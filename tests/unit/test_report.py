"""The backup report renderer: per-host records from task results, JSON, JUnit and HTML."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from ansible_collections.quiesce.domino.plugins.plugin_utils import report

SNAP = {"method": "shutdown", "crash_consistent": False, "frozen_ms": 2000, "freeze_ms": 700, "create_ms": 65,
        "thaw_ms": 1200, "frozen_at": "2026-11-22T10:00:00.000Z", "thawed_at": "2026-11-22T10:00:02.000Z",
        "create_started_at": "2026-11-22T10:00:00.700Z", "create_ended_at": "2026-11-22T10:00:00.765Z",
        "shadows": [{"id": "{aaaa}"}], "exposed_as": "S:"}


def test_records_summary_and_three_renderings():
    ok = report.new_host("dom01")
    report.add_result(ok, "quiesce.domino.snapshot", "Take the snapshot", SNAP, "ok")
    report.add_result(ok, "quiesce.domino.snapshot_copy", "Copy", {
        "destination": "E:\\B\\dom01\\x", "verified": True, "files": 3, "files_copied": 3, "bytes": 100,
        "bytes_copied": 100, "duration_ms": 50, "started_at": "2026-11-22T10:00:03.000Z",
        "ended_at": "2026-11-22T10:00:03.050Z", "mode": "versioned"}, "ok")
    report.add_result(ok, "quiesce.domino.restore_point", "Record", {"quiesce_restore_point": {
        "Name": "before-fp5", "ShadowId": "{aaaa}"}}, "ok")
    bad = report.new_host("dom02")
    report.add_result(bad, "quiesce.domino.snapshot", "Take the snapshot", {
        "msg": "snapshot by shutdown failed: diskshadow: COM call \"x\" failed.",
        "steps": [{"name": "stop Domino service", "status": "ok"}, {"name": "create shadow copy", "status": "failed"}]},
        "failed")
    report.add_result(bad, "ansible.builtin.fail", "Fail the host", {"msg": "later failure"}, "failed")
    records = [ok, bad]
    assert bad["failed_task"] == "Take the snapshot" and bad["failed_step"] == "create shadow copy"
    assert bad["error"].startswith("snapshot by shutdown failed")  # the first failure wins
    summ = report.summary(records)
    assert (summ["ok"], summ["failed"], summ["verified_copies"], summ["frozen_ms_median"]) == (1, 1, 1, 2000)
    doc = json.loads(report.render_json(records, {"playbook": "p.yml"}))
    assert doc["hosts"][0]["restore_point"]["Name"] == "before-fp5"
    suite = ET.fromstring(report.render_junit(records, {}))
    assert suite.get("failures") == "1" and suite[1].find("failure").text.startswith("task: Take the snapshot\nstep: create")
    page = report.render_html(records, {"playbook": "p.yml", "started": "x"})
    assert page.count('class="bar freeze"') == 1 and page.count('class="bar snapshot"') == 1
    assert page.count('class="bar copy"') == 1
    assert "restore point <b>before-fp5</b>" in page
    assert "COM call &quot;x&quot; failed." in page  # escaped
    table = report.summary_table(records)
    assert "2 hosts: 1 ok, 1 failed, 1 verified copies, median freeze 2000 ms" in table
