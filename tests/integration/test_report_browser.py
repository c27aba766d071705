"""The HTML backup report, rendered by headless Chromium, shows what a person needs to see.

A fleet with long FQDN host names, a host whose diskshadow fails before anything froze, and a host whose
WinRM port is closed (unreachable) is backed up, then previewed with --check.  Chromium renders the real
report, the preview and the index of runs; a probe script added to a copy of each page measures the layout
(labels beside the bars, never under them; failed rows and bars marked) and the screenshots are kept in
build/report-browser/.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import typing as t
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "build" / "report-browser"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NAMES = {"dom01": "domino-prod-mail01.emea.corp.example-enterprises.com",
         "dom02": "domino-prod-mail02.emea.corp.example-enterprises.com",
         "dom03": "domino-prod-apps01.americas.corp.example-enterprises.com",
         "dom04": "domino-prod-mail-replica04.asia-pacific.corp.example-enterp.com"}
UNREACHABLE = "domino-dr01.emea.corp.example-enterprises.com"
FAILED = NAMES["dom04"]

# Measures the rendered page and leaves the numbers in <pre id="layout-probe"> for --dump-dom.
PROBE = """<script>
(function () {
  function box(e) { var r = e.getBoundingClientRect(); return {l: r.left, r: r.right, t: r.top, b: r.bottom}; }
  var out = {width: window.innerWidth, scrollWidth: document.documentElement.scrollWidth, rows: [], table: [],
             cards: [], ticks: [], runs: []};
  document.querySelectorAll('.tl-row[data-host]').forEach(function (row) {
    var label = row.querySelector('.tl-label'), track = row.querySelector('.tl-track');
    var style = getComputedStyle(track);
    out.rows.push({host: row.dataset.host, cls: row.className, label: box(label), text: label.innerText,
                   clipped: label.scrollWidth > label.clientWidth + 1, name: box(row.querySelector('.tl-host')),
                   status: row.querySelector('.tl-status') ? box(row.querySelector('.tl-status')) : null,
                   track: box(track), background: style.backgroundImage, border: style.borderLeftColor,
                   note: row.querySelector('.tl-note') ? row.querySelector('.tl-note').innerText : null,
                   bars: Array.prototype.map.call(row.querySelectorAll('.bar'), function (b) {
                     var r = box(b); r.cls = b.className; r.outline = getComputedStyle(b).outlineStyle; return r; })});
  });
  document.querySelectorAll('#hosts-table tr[data-host]').forEach(function (tr) {
    var cell = tr.querySelector('td');
    out.table.push({host: tr.dataset.host, cls: tr.className, background: getComputedStyle(cell).backgroundColor,
                    border: getComputedStyle(cell).borderLeftWidth, text: tr.innerText});
  });
  document.querySelectorAll('.card').forEach(function (c) { out.cards.push(box(c)); });
  document.querySelectorAll('.tick').forEach(function (c) { out.ticks.push(box(c)); });
  document.querySelectorAll('#runs tr[data-run]').forEach(function (tr) {
    out.runs.push({run: tr.dataset.run, cls: tr.className, text: tr.innerText,
                   links: Array.prototype.map.call(tr.querySelectorAll('a'), function (a) {
                     return a.getAttribute('href'); })});
  });
  var pre = document.createElement('pre'); pre.id = 'layout-probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is not installed (make test installs Debian's chromium package)")
    return subprocess.run([exe, *CHROMIUM_FLAGS, "--user-data-dir=%s" % (tmp_path / "profile"), *args],
                          capture_output=True, text=True, timeout=120, check=False)


def layout(tmp_path: Path, page: Path, width: int, shot: str) -> tuple[dict[str, t.Any], str]:
    """The probe's measurements of ``page`` at ``width`` pixels, the DOM as Chromium serialises it, and a
    screenshot in build/report-browser/."""
    probed = page.with_name(page.stem + ".probe.html")
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    try:
        dom = chromium(tmp_path, "--window-size=%d,1000" % width, "--dump-dom", probed.as_uri()).stdout
    finally:
        probed.unlink()
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = SHOTS / shot
    target.unlink(missing_ok=True)
    chromium(tmp_path, "--window-size=%d,1400" % width, "--screenshot=%s" % target, page.as_uri())
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000  # a rendered page, not a blank one
    return json.loads(html.unescape(found.group(1))), dom


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["l"] < b["r"] - 0.5 and b["l"] < a["r"] - 0.5 and a["t"] < b["b"] - 0.5 and b["t"] < a["b"] - 0.5


def assert_timeline_layout(probe: dict[str, t.Any]) -> None:
    assert probe["scrollWidth"] <= probe["width"], "the page scrolls sideways"
    rows = probe["rows"]
    bars = [box for row in rows for box in row["bars"]]
    for row in rows:
        assert not row["clipped"], "label of %s is cut off" % row["host"]
        assert row["text"].replace("\n", "").startswith(row["host"]), row["text"]  # the whole name shows
        assert row["label"]["r"] <= row["track"]["l"], "label of %s reaches into the bars" % row["host"]
        for part in (row["name"], row["status"]):
            if part:
                assert not any(overlap(part, box) for box in bars), "bars cover the label of %s" % row["host"]
        for box in row["bars"]:
            assert row["track"]["l"] - 0.5 <= box["l"] and box["r"] <= row["track"]["r"] + 1, (row["host"], box)
    for i, row in enumerate(rows):  # rows do not run into each other
        for other in rows[i + 1:]:
            assert row["track"]["b"] <= other["track"]["t"] + 0.5 and row["label"]["b"] <= other["label"]["t"] + 0.5
    ticks = probe["ticks"]
    assert len(ticks) == 2 and not overlap(ticks[0], ticks[1])
    cards = probe["cards"]
    assert all(not overlap(a, b) for i, a in enumerate(cards) for b in cards[i + 1:])


def fleet_inventory(fleet: t.Any) -> None:
    """The simulated hosts under long FQDN inventory names, and one more host whose WinRM port is closed."""
    from conftest import simfleet
    simfleet.write_inventory(fleet.root, [dict(h, name=NAMES[h["name"]]) for h in fleet.hosts])
    fleet.inventory.write_text(fleet.inventory.read_text() + (
        "        %s:\n"
        "          ansible_connection: winrm\n"
        "          ansible_host: 127.0.0.1\n"
        "          ansible_port: 1\n"
        "          ansible_winrm_scheme: http\n"
        "          ansible_winrm_transport: ntlm\n"
        "          ansible_user: svc-backup\n"
        "          ansible_password: not-used\n" % UNREACHABLE))


def test_report_renders_in_chromium(tmp_path):
    from conftest import make_fleet, simfleet
    fleet = make_fleet(tmp_path / "fleet", 4)
    fleet.fault("dom04", "fail", {"diskshadow": "com_failure"})  # a vss_writer host: fails before any freeze
    fleet_inventory(fleet)
    reports = tmp_path / "reports"
    env = {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default", "ANSIBLE_CALLBACKS_ENABLED": "quiesce.domino.backup_report",
           "QUIESCE_REPORT_DIR": str(reports)}
    extra = {"snapshot_backup_destination": "\\\\backupsrv\\domino", "snapshot_backup_shutdown_timeout": 30,
             "snapshot_backup_allow_downtime": True}
    try:
        real = fleet.playbook("quiesce.domino.fleet_backup", extra_vars=extra, env=env)
        assert real.rc == 4, real.stdout[-3000:]  # a host unreachable (and one failed)
        latest = {ext: (reports / ("backup-report-latest." + ext)).read_bytes() for ext in ("html", "json", "junit.xml")}
        preview = fleet.playbook("quiesce.domino.fleet_backup", extra_vars=extra, env=env, check=True)
    finally:
        simfleet.down(tmp_path / "fleet")

    # the console: full names, the failure in words, a progress line per host
    assert "%s  FAILED" % FAILED in real.stdout and "(*vssObject)->InitializeForBackup" in real.stdout
    assert re.search(r"quiesce\.domino +[\d.]+ s  %s: UNREACHABLE" % re.escape(UNREACHABLE), real.stdout)
    for name in NAMES.values():
        assert re.search(r"quiesce\.domino +[\d.]+ s  %s: (backed up|FAILED) " % re.escape(name), real.stdout), name
    assert "5 hosts: 3 backed up, 1 failed, 1 unreachable, 3 verified copies" in real.stdout
    assert "quiesce.domino backup preview (check mode" in preview.stdout
    assert "5 hosts: 4 planned, 0 failed, 1 unreachable" in preview.stdout

    # the preview has files of its own and left the real run's alone
    runs = sorted(p.name for p in reports.glob("*.json") if "latest" not in p.name)
    assert len(runs) == 2 and runs[1].startswith("backup-report-preview-"), runs
    assert {ext: (reports / ("backup-report-latest." + ext)).read_bytes() for ext in latest} == latest
    assert not list(reports.glob("*preview*.xml"))
    doc = json.loads((reports / "backup-report-preview-latest.json").read_text())
    assert doc["preview"] is True and doc["summary"]["backed_up"] == 0 and doc["summary"]["planned"] == 4

    # the real report, wide and narrow
    for width, shot in ((1280, "report.png"), (900, "report-narrow.png")):
        probe, dom = layout(tmp_path, reports / "backup-report-latest.html", width, shot)
        assert_timeline_layout(probe)
        rows = {row["host"]: row for row in probe["rows"]}
        assert sorted(rows) == sorted(list(NAMES.values()) + [UNREACHABLE])
        for name in NAMES.values():
            row = rows[name]
            if name == FAILED:
                assert row["cls"] == "tl-row failed" and "FAILED in" in row["text"]
                assert "repeating-linear-gradient" in row["background"]
                # diskshadow ran (its bar, outlined) but nothing froze: no freeze bar
                assert [b["cls"] for b in row["bars"]] == ["bar snapshot"]
                assert all(b["outline"] == "dashed" for b in row["bars"])
            else:
                assert row["cls"] == "tl-row ok" and "FAILED" not in row["text"] and row["background"] == "none"
                assert [b["cls"] for b in row["bars"]] == ["bar freeze", "bar snapshot", "bar copy"]
                assert all(b["outline"] == "none" for b in row["bars"])
        assert rows[UNREACHABLE]["cls"] == "tl-row unreachable" and "UNREACHABLE" in rows[UNREACHABLE]["text"]
        assert rows[UNREACHABLE]["bars"] == [] and rows[UNREACHABLE]["note"] == "no connection"
        table = {row["host"]: row for row in probe["table"]}
        assert table[FAILED]["cls"] == "failed" and table[UNREACHABLE]["cls"] == "unreachable"
        for name in (FAILED, UNREACHABLE):
            assert table[name]["background"] == "rgb(253, 236, 234)" and table[name]["border"] == "4px"
        for name in set(NAMES.values()) - {FAILED}:
            assert table[name]["cls"] == "ok" and table[name]["background"] == "rgba(0, 0, 0, 0)"
            assert "\\\\backupsrv\\domino\\%s\\" % name in table[name]["text"]  # the copy destination
        assert "not frozen" in table[FAILED]["text"] and "115 ms" not in table[FAILED]["text"]

    def card(name: str) -> str:
        return re.search(r'<div class="card(?: bad)?" id="%s"><b>([^<]+)</b>' % name, dom).group(1)
    assert (card("hosts"), card("ok"), card("failed"), card("unreachable"), card("verified")) == ("5", "3", "1", "1", "3")
    assert re.fullmatch(r"[\d.]+ (ms|s)", card("median"))
    assert "Methods: shutdown: 2, vss_writer: 2." in dom
    assert "-: 0" not in dom

    # the preview
    probe, dom = layout(tmp_path, reports / "backup-report-preview-latest.html", 1280, "preview.png")
    assert "<title>quiesce.domino backup report (preview)</title>" in dom and 'id="preview"' in dom
    assert probe["rows"] == [] and 'id="timeline-none"' in dom and 'id="ok"' not in dom
    assert card("planned") == "4" and card("unreachable") == "1"
    plans = {row["host"]: row for row in probe["table"]}
    assert {plans[name]["cls"] for name in NAMES.values()} == {"planned"} and plans[UNREACHABLE]["cls"] == "unreachable"
    assert "Domino will be stopped for the snapshot and started again" in dom
    assert "\\\\backupsrv\\domino\\%s\\" % NAMES["dom01"] in plans[NAMES["dom01"]]["text"]

    # the index of runs, newest first
    probe, dom = layout(tmp_path, reports / "index.html", 1280, "index.png")
    assert [(run["run"], run["cls"]) for run in probe["runs"]] == [(runs[1][:-5], "preview"), (runs[0][:-5], "failed")]
    assert probe["runs"][1]["links"] == [runs[0][:-5] + ext for ext in (".html", ".json", ".junit.xml")]
    assert all((reports / link).exists() for run in probe["runs"] for link in run["links"])
    assert "5 hosts: 4 planned" in probe["runs"][0]["text"] and "3 backed up, 1 failed" in probe["runs"][1]["text"]
