"""The HTML backup report, rendered by headless Chromium, shows what a person needs to see."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is not installed (make test installs Debian's chromium package)")
    return subprocess.run([exe, *CHROMIUM_FLAGS, "--user-data-dir=%s" % (tmp_path / "profile"), *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_report_renders_in_chromium(tmp_path):
    from conftest import make_fleet, simfleet
    fleet = make_fleet(tmp_path / "fleet", 3)
    fleet.fault("dom02", "fail", {"diskshadow": "com_failure"})
    reports = tmp_path / "reports"
    try:
        fleet.playbook("quiesce.domino.fleet_backup", extra_vars={"snapshot_backup_destination": "E:\\Backups",
                                                                  "snapshot_backup_shutdown_timeout": 30,
                                                                  "snapshot_backup_allow_downtime": True},
                       env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
                            "ANSIBLE_CALLBACKS_ENABLED": "quiesce.domino.backup_report",
                            "QUIESCE_REPORT_DIR": str(reports)})
    finally:
        simfleet.down(tmp_path / "fleet")
    page = reports / "backup-report.html"
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "<title>quiesce.domino backup report</title>" in dom

    def card(name: str) -> str:
        return re.search(r'<div class="card" id="%s"><b>([^<]+)</b>' % name, dom).group(1)
    assert (card("hosts"), card("ok"), card("failed"), card("verified")) == ("3", "2", "1", "2")
    assert card("median").endswith("ms") or card("median").endswith("s")
    rows = re.findall(r"<tr class=\"(ok|failed)\" data-host=\"(dom\d+)\">", dom)
    assert rows == [("ok", "dom01"), ("failed", "dom02"), ("ok", "dom03")]
    failed_row = dom[dom.index('data-host="dom02"'):]
    failed_row = failed_row[:failed_row.index("</tr>")]
    assert "FAILED" in failed_row and "Take the snapshot" in failed_row
    assert "COM call \"(*vssObject)-&gt;InitializeForBackup\" failed." in failed_row  # as Chromium serialises it
    assert dom.count('class="bar freeze"') == 3 and dom.count('class="bar copy"') == 2
    shot = tmp_path / "report.png"
    chromium(tmp_path, "--window-size=1280,900", "--screenshot=%s" % shot, page.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000  # a rendered page, not a blank one
