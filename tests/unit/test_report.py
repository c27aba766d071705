"""The backup report renderer: per-host records from task results, JSON, JUnit, HTML, the index of runs, the
console summary and the progress lines."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from ansible_collections.quiesce.domino.plugins.plugin_utils import report

SNAP = {"method": "shutdown", "crash_consistent": False, "frozen_ms": 2000, "freeze_ms": 700, "create_ms": 65,
        "thaw_ms": 1200, "frozen_at": "2026-11-22T10:00:00.000Z", "thawed_at": "2026-11-22T10:00:02.000Z",
        "create_started_at": "2026-11-22T10:00:00.700Z", "create_ended_at": "2026-11-22T10:00:00.765Z",
        "shadows": [{"id": "{aaaa}"}], "exposed_as": "S:"}
COPY = {"destination": "\\\\backupsrv\\domino\\dom01\\20261122T100003Z", "verified": True, "files": 3,
        "files_copied": 3, "bytes": 100, "bytes_copied": 100, "duration_ms": 50,
        "started_at": "2026-11-22T10:00:03.000Z", "ended_at": "2026-11-22T10:00:03.050Z", "mode": "versioned"}
COM_ERROR = ("snapshot by vss_writer failed: diskshadow: a VSS COM call failed: COM call "
             "\"(*vssObject)->InitializeForBackup\" failed.")
# A vss_writer snapshot whose diskshadow failed in `add volume`: the create step's 115 ms bound no freeze.
VSS_FAILED_EARLY = {"method": "vss_writer", "crash_consistent": False, "frozen_ms": 115, "freeze_ms": None,
                    "create_ms": 115, "thaw_ms": None, "frozen_at": "2026-11-22T10:00:00.000Z",
                    "thawed_at": "2026-11-22T10:00:00.115Z", "create_started_at": "2026-11-22T10:00:00.000Z",
                    "create_ended_at": "2026-11-22T10:00:00.115Z", "shadows": [], "writers_included": [],
                    "msg": COM_ERROR, "steps": [{"name": "create shadow copy", "status": "failed"}]}


def backed_up(host: str, frozen_ms: int = 2000) -> dict:
    record = report.new_host(host)
    report.task_started(record, 1000.0)
    report.add_result(record, "quiesce.domino.snapshot", "Take the snapshot", dict(SNAP, frozen_ms=frozen_ms), "ok")
    report.add_result(record, "quiesce.domino.snapshot_copy", "Copy", COPY, "ok")
    report.task_ended(record, 1012.5)
    return record


def failed_early(host: str) -> dict:
    record = report.new_host(host)
    report.add_result(record, "quiesce.domino.snapshot", "Take the snapshot", VSS_FAILED_EARLY, "failed")
    return record


def unreachable(host: str) -> dict:
    record = report.new_host(host)
    report.add_result(record, "quiesce.domino.domino_info", "Discover Domino", {
        "msg": "winrm connection error: HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded",
        "unreachable": True}, "unreachable")
    return record


def test_records_summary_and_three_renderings():
    ok = backed_up("dom01")
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
    assert (summ["backed_up"], summ["failed"], summ["verified_copies"], summ["frozen_ms_median"]) == (1, 1, 1, 2000)
    doc = json.loads(report.render_json(records, {"playbook": "p.yml"}))
    assert doc["hosts"][0]["restore_point"]["Name"] == "before-fp5"
    assert [h["outcome"] for h in doc["hosts"]] == ["backed up", "failed"]
    assert "frozen_ms" in doc["glossary"] and "freeze_ms" in doc["glossary"]
    suite = ET.fromstring(report.render_junit(records, {}))
    assert suite.get("failures") == "1" and suite[1].find("failure").text.startswith("task: Take the snapshot\nstep: create")
    page = report.render_html(records, {"playbook": "p.yml", "started": "x"})
    assert page.count("class='bar freeze'") == 1 and page.count("class='bar snapshot'") == 1
    assert page.count("class='bar copy'") == 1
    assert "restore point <b>before-fp5</b> ({aaaa})" in page
    assert "COM call &quot;x&quot; failed." in page  # escaped
    table = report.summary_table(records)
    assert "2 hosts: 1 backed up, 1 failed, 1 verified copies, median Domino frozen 2000 ms" in table


def test_restore_point_in_snake_case_too():
    record = backed_up("dom01")
    report.add_result(record, "quiesce.domino.restore_point", "Record", {"quiesce_restore_point": {
        "name": "before-fp6", "shadow_id": "{bbbb}"}}, "ok")
    assert "restore point <b>before-fp6</b> ({bbbb})" in report.render_html([record], {})


def test_median_of_an_even_count_is_the_mean_of_the_two_middle_values():
    records = [backed_up("a", 100), backed_up("b", 300), backed_up("c", 200), backed_up("d", 1000)]
    assert report.summary(records)["frozen_ms_median"] == 250
    records.append(backed_up("e", 201))
    assert report.summary(records)["frozen_ms_median"] == 201
    assert report.summary([backed_up("a", 100), backed_up("b", 201)])["frozen_ms_median"] == 150.5
    assert "median Domino frozen 150.5 ms" in report.summary_table([backed_up("a", 100), backed_up("b", 201)])
    assert report.summary([])["frozen_ms_median"] is None


def test_a_vss_failure_before_the_freeze_has_no_frozen_time_and_no_freeze_bar():
    early = failed_early("dom04")
    assert early["frozen"] is False and early["frozen_ms"] is None and early["frozen_at"] is None
    ok = backed_up("dom01", 1800)
    # the median is that of the hosts that froze
    assert report.summary([ok, early])["frozen_ms_median"] == 1800
    page = report.render_html([ok, early], {})
    row = page[page.index("<tr class='failed' data-host='dom04'>"):]
    row = row[:row.index("</tr>")]
    assert "<td class='frozen'>not frozen</td>" in row and "115 ms" not in row.split("</td>")[3]
    track = page[page.index("<div class='tl-row failed' data-host='dom04'>"):]
    track = track[:track.index("</div></div>")]
    assert "bar freeze" not in track and "bar snapshot" in track  # diskshadow ran, and failed
    assert "dom04" in report.summary_table([ok, early]) and "not frozen" in report.summary_table([ok, early])


def test_a_vss_writer_failure_after_the_writers_were_included_keeps_its_window():
    # VSS_E_WRITERERROR_TIMEOUT: the writer was frozen and timed out; the create step bounds that freeze
    record = report.new_host("dom05")
    report.add_result(record, "quiesce.domino.snapshot", "Take the snapshot", dict(
        VSS_FAILED_EARLY, writers_included=["System Writer", "Domino VSS Writer"], frozen_ms=60000,
        msg="VSS_E_WRITERERROR_TIMEOUT"), "failed")
    assert record["frozen"] is True and record["frozen_ms"] == 60000
    assert "class='bar freeze'" in report.render_html([record], {})


def test_failed_and_unreachable_hosts_are_marked_in_the_timeline_and_the_table():
    records = [backed_up("dom01"), failed_early("dom04"), unreachable("dom09.example.com")]
    page = report.render_html(records, {})
    rows = re.findall(r"<div class='tl-row (\w+)' data-host='([^']+)'>", page)
    assert rows == [("ok", "dom01"), ("failed", "dom04"), ("unreachable", "dom09.example.com")]
    assert "&#10007; FAILED in Take the snapshot" in page and "&#10007; UNREACHABLE" in page
    assert "<span class='tl-note'>no connection</span>" in page
    assert re.findall(r"<tr class='(\w+)' data-host='([^']+)'>", page) == rows
    # an unreachable host counts among the hosts, not as a method
    assert "Methods: not reached: 0" not in page and "Methods: shutdown: 1, vss_writer: 1." in page
    cards = dict(re.findall(r"<div class='card(?: bad)?' id='(\w+)'><b>([^<]+)</b>", page))
    assert (cards["hosts"], cards["ok"], cards["failed"], cards["unreachable"]) == ("3", "1", "1", "1")


def test_the_html_names_the_copy_destination_and_says_what_each_time_is():
    page = report.render_html([backed_up("dom01")], {})
    assert "<div class='dest'>\\\\backupsrv\\domino\\dom01\\20261122T100003Z</div>" in page
    assert "<td class='frozen'>2000 ms</td><td>freeze 700 ms, shadow copy 65 ms, thaw 1200 ms</td>" in page
    assert "<dt>Domino frozen</dt>" in page and "<dt>of which: freeze</dt>" in page
    assert "freeze_ms" not in page and "frozen_ms" not in page  # the page speaks words, not keys


def test_junit_time_is_the_hosts_whole_backup_not_the_freeze():
    record = backed_up("dom01", frozen_ms=2000)
    assert record["duration_ms"] == 12500
    suite = ET.fromstring(report.render_junit([record], {"duration_ms": 15000}))
    assert suite[0].get("time") == "12.500" and suite.get("time") == "15.000"


def test_console_summary_shows_fqdns_in_full_and_wraps_the_error():
    names = ["domino-prod-mail%02d.emea.corp.example.com" % i for i in range(1, 4)]
    records = [backed_up(names[0]), backed_up(names[1]), failed_early(names[2]), unreachable("dom09.example.com")]
    table = report.summary_table(records, width=60)
    lines = table.splitlines()
    for name in names:
        assert sum(1 for line in lines if line.startswith(name + " ")) == 1
    # the error in full, on wrapped indented lines no longer than the width (a word never broken)
    start = next(i for i, line in enumerate(lines) if line.startswith(names[2]))
    assert lines[start + 1] == "    Take the snapshot (step: create shadow copy):"
    error_lines = []
    for line in lines[start + 2:]:
        if not line.startswith("      "):
            break
        error_lines.append(line)
    assert " ".join(line.strip() for line in error_lines) == COM_ERROR
    assert all(len(line) <= 60 or " " not in line.strip() for line in error_lines) and len(error_lines) > 1
    assert any(line.split()[:3] == ["dom09.example.com", "UNREACHABLE", "-"] for line in lines), lines
    assert lines[-1] == ("4 hosts: 2 backed up, 1 failed, 1 unreachable, 2 verified copies, "
                         "median Domino frozen 2000 ms")
    assert "-: 0" not in table


def test_a_very_long_error_is_cut_in_the_console_only():
    record = report.new_host("dom01")
    report.add_result(record, "quiesce.domino.snapshot", "Take the snapshot", {"msg": "word " * 400}, "failed")
    table = report.summary_table([record], width=60)
    assert "(the whole text is in the JSON and HTML report)" in table
    assert len(record["error"]) == 2000


def test_check_mode_results_are_a_plan_never_a_backup():
    record = report.new_host("dom01")
    report.add_result(record, "quiesce.domino.snapshot", "Take the snapshot", {
        "method": "shutdown", "crash_consistent": False, "volumes": ["D:"], "changed": True,
        "script": "set context persistent nowriters\r\n",
        "preview": ["Domino (x) will be STOPPED: users cannot work until it is started again, for at most about 720 s"]},
        "ok", check_mode=True)
    report.add_result(record, "quiesce.domino.snapshot_copy", "Copy", {
        "destination": "\\\\backupsrv\\domino\\dom01\\20261122T100003Z", "verified": False, "mode": "versioned"},
        "ok", check_mode=True)
    assert record["frozen_ms"] is None and record["copy"] is None and record["plan"]["volumes"] == ["D:"]
    assert report.outcome(record, preview=True) == "planned"
    summ = report.summary([record], preview=True)
    assert (summ["planned"], summ["backed_up"]) == (1, 0)
    page = report.render_html([record], {"preview": True})
    assert "<title>quiesce.domino backup report (preview)</title>" in page
    assert "id='ok'" not in page and "<b>1</b>would be backed up" in page
    assert "Domino will be stopped for the snapshot and started again" in page
    # the module's own preview, in words, in the host's row
    assert record["plan"]["would"][0].startswith("Domino (x) will be STOPPED")
    assert "<ul class='would'><li>Domino (x) will be STOPPED: users cannot work" in page
    assert "\\\\backupsrv\\domino\\dom01\\20261122T100003Z" in page and "id='timeline-none'" in page
    suite = ET.fromstring(report.render_junit([record], {"preview": True}))
    assert suite.get("skipped") == "1" and suite.get("failures") == "0" and suite[0].find("skipped") is not None
    table = report.summary_table([record], preview=True).splitlines()
    assert table[0].split() == ["host", "plan", "method", "Domino", "copy", "would", "go", "to"]
    assert table[1].split() == ["dom01", "planned", "shutdown", "will", "be", "stopped", "(at", "most", "about", "720",
                                "s)", "\\\\backupsrv\\domino\\dom01\\20261122T100003Z"]
    # the diskshadow script is in the preview page, not only in the JSON
    assert "<details class='script'><summary>diskshadow script</summary><pre>set context persistent nowriters" in page
    assert table[-1] == "1 hosts: 1 planned, 0 failed"
    line = report.progress_line(record, True, 3.25)
    assert line.startswith("quiesce.domino    3.2 s  dom01: planned (shutdown; Domino will be stopped for the snapshot "
                           "and started again (at most about 720 s)")


def test_progress_lines_say_what_happened():
    line = report.progress_line(backed_up("dom01.example.com"), False, 12.0)
    assert line == ("quiesce.domino   12.0 s  dom01.example.com: backed up (shutdown; Domino frozen 2000 ms; "
                    "100 B to \\\\backupsrv\\domino\\dom01\\20261122T100003Z, verified)")
    line = report.progress_line(failed_early("dom04"), False, 3.0)
    assert line == "quiesce.domino    3.0 s  dom04: FAILED (vss_writer; in Take the snapshot: %s)" % COM_ERROR
    assert report.progress_line(unreachable("x"), False, 1.0).startswith("quiesce.domino    1.0 s  x: UNREACHABLE (in")


def test_index_lists_runs_newest_first_with_their_outcome():
    real = {"name": "backup-report-20261122T100000Z", "junit": True,
            "meta": {"started": "2026-11-22T10:00:00", "playbook": "fleet_backup.yml"},
            "summary": report.summary([backed_up("dom01"), failed_early("dom02")])}
    preview = {"name": "backup-report-preview-20261123T090000Z", "junit": False,
               "meta": {"started": "2026-11-23T09:00:00", "playbook": "fleet_backup.yml"},
               "summary": report.summary([backed_up("dom01")], preview=True)}
    page = report.render_index([real, preview])
    runs = re.findall(r"<tr class='(\w+)' data-run='([^']+)'>", page)
    assert runs == [("preview", preview["name"]), ("failed", real["name"])]
    assert "1 hosts: 1 planned, 0 failed" in page and "2 hosts: 1 backed up, 1 failed" in page
    assert "href='backup-report-20261122T100000Z.junit.xml'" in page
    assert "backup-report-preview-20261123T090000Z.junit.xml" not in page


def test_run_file_names():
    assert report.stamp(0) == "19700101T000000Z"
    for name in ("backup-report-20261122T100000Z.json", "backup-report-preview-20261122T100000Z.json",
                 "my-report-20261122T100000Z-2.json"):
        assert report.RUN_FILE.match(name), name
    for name in ("backup-report-latest.json", "backup-report-preview-latest.json", "index.html",
                 "backup-report-20261122T100000Z.html"):
        assert not report.RUN_FILE.match(name), name


def test_a_restic_backup_shows_its_snapshot_and_what_it_added():
    record = report.new_host("dom01")
    report.add_result(record, "quiesce.domino.snapshot", "Take the snapshot", SNAP, "ok")
    report.add_result(record, "quiesce.domino.snapshot_copy", "Copy", {
        "backend": "restic", "destination": "\\\\backupsrv\\restic\\dom01", "repository": "\\\\backupsrv\\restic\\dom01",
        "verified": True, "files": 3, "bytes": 1048576, "data_added": 2048, "files_new": 1, "files_changed": 1,
        "snapshot_id": "ad9e1283" + "0" * 56, "duration_ms": 50, "mode": "restic"}, "ok")
    assert record["copy"]["bytes_copied"] == 2048 and record["copy"]["files_copied"] == 2
    page = report.render_html([record], {"playbook": "p.yml", "started": "x"})
    assert "restic snapshot <b>ad9e1283</b> in \\\\backupsrv\\restic\\dom01" in page
    assert "2.0 KiB added of 1.0 MiB" in page
    table = report.summary_table([record])
    assert "verified (restic snapshot ad9e1283)" in table
    assert "restic snapshot ad9e1283 in \\\\backupsrv\\restic\\dom01, 2.0 KiB added, verified" in \
        report.progress_line(record, False, 1.0)


def test_a_backup_task_hosts_steps_are_shown_around_its_hold_not_as_parts_of_it():
    """backup_task: frozen_ms is the hook's hold, a window inside the steps that start Domino Backup, create the
    shadow copy and release it; those steps are longer than the hold and are shown as around it."""
    record = report.new_host("dom02")
    report.add_result(record, "quiesce.domino.snapshot", "Take the snapshot", {
        "method": "backup_task", "frozen_ms": 119, "freeze_ms": 233, "create_ms": 523, "thaw_ms": 302,
        "frozen_at": "2026-11-22T10:00:00.000Z", "thawed_at": "2026-11-22T10:00:00.119Z"}, "ok")
    page = report.render_html([record], {})
    assert "around the hold: freeze 233 ms, shadow copy 523 ms, thaw 302 ms" in page
    shutdown = report.new_host("dom01")
    report.add_result(shutdown, "quiesce.domino.snapshot", "Take the snapshot", {
        "method": "shutdown", "frozen_ms": 2000, "freeze_ms": 500, "create_ms": 700, "thaw_ms": 800,
        "frozen_at": "2026-11-22T10:00:00.000Z", "thawed_at": "2026-11-22T10:00:02.000Z"}, "ok")
    assert "<td>freeze 500 ms, shadow copy 700 ms, thaw 800 ms</td>" in report.render_html([shutdown], {})


def test_the_failed_step_the_module_names_wins_over_the_first_failed_record():
    """A create judged failed by its transcript ran with status ok; the probe after it may have failed: the step
    the snapshot action names is the one reported."""
    record = report.new_host("dom04")
    report.add_result(record, "quiesce.domino.snapshot", "Take the snapshot", {
        "msg": "snapshot by vss_writer failed: diskshadow: COM call failed", "failed_step": "create shadow copy",
        "steps": [{"name": "create shadow copy", "status": "ok"},
                  {"name": "read the shadow copies back", "status": "failed"}]}, "failed")
    assert record["failed_step"] == "create shadow copy"
    other = report.new_host("dom05")
    report.add_result(other, "quiesce.domino.snapshot", "Take the snapshot", {
        "msg": "x", "steps": [{"name": "stop Domino service", "status": "timeout"}]}, "failed")
    assert other["failed_step"] == "stop Domino service"
