"""The backup_report callback: what it writes where, when a run is a preview, and the progress lines."""
from __future__ import annotations

import json
import types
import typing as t
from pathlib import Path

import pytest
import yaml
from ansible import constants as C
from ansible import context

from ansible_collections.quiesce.domino.plugins.callback import backup_report

NAME = "quiesce.domino.backup_report"

SNAP = {"method": "shutdown", "crash_consistent": False, "frozen_ms": 2000, "freeze_ms": 700, "create_ms": 65,
        "thaw_ms": 1200, "frozen_at": "2026-11-22T10:00:00.000Z", "thawed_at": "2026-11-22T10:00:02.000Z",
        "shadows": [{"id": "{aaaa}"}], "shadow_set_id": "{ssss}"}
COPY = {"destination": "\\\\backupsrv\\domino\\dom01\\20261122T100003Z", "verified": True, "bytes": 100,
        "bytes_copied": 100, "duration_ms": 50}
PLAN = {"method": "shutdown", "crash_consistent": False, "volumes": ["D:"], "changed": True}


class Named:
    def __init__(self, name: str) -> None:
        self.name = name

    def get_name(self) -> str:
        return self.name


class Task(Named):
    def __init__(self, name: str, action: str, check_mode: bool) -> None:
        super().__init__(name)
        self.action = self.resolved_action = action
        self.check_mode = check_mode


class Result:
    def __init__(self, host: str, task: Task, result: dict[str, t.Any]) -> None:
        self.host, self.task, self.result = Named(host), task, result


class Stats:
    def __init__(self, hosts: list[str]) -> None:
        self.processed = {h: 1 for h in hosts}


class Playbook:
    _file_name = "/x/fleet_backup.yml"


def new_callback() -> t.Any:
    """The callback as Ansible loads it: its options defined from its DOCUMENTATION."""
    C.config.initialize_plugin_configuration_definitions("callback", NAME,
                                                         yaml.safe_load(backup_report.DOCUMENTATION)["options"])
    callback = backup_report.CallbackModule()
    callback._load_name = NAME
    return callback


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: float, cli_check: bool = False,
        task_check: t.Optional[bool] = None, fail: bool = False) -> tuple[t.Any, list[str]]:
    """One playbook run of two hosts through the callback; the callback and what it displayed."""
    monkeypatch.setattr(context, "CLIARGS", {"check": cli_check})
    monkeypatch.setattr(backup_report, "time", types.SimpleNamespace(time=lambda: when))
    callback = new_callback()
    callback.set_options(direct={"report_dir": str(tmp_path), "report_name": "backup-report", "progress": True})
    shown: list[str] = []
    monkeypatch.setattr(callback._display, "display", lambda msg, *a, **k: shown.append(msg))
    check = cli_check if task_check is None else task_check
    callback.v2_playbook_on_start(Playbook())
    for host in ("dom01", "dom02"):
        callback.v2_runner_on_start(Named(host), None)
        snap = Task("Take the snapshot", "quiesce.domino.snapshot", check)
        if fail and host == "dom02":
            callback.v2_runner_on_failed(Result(host, snap, {"msg": "snapshot by shutdown failed: sc: Access is denied."}))
            continue
        callback.v2_runner_on_ok(Result(host, snap, PLAN if check else SNAP))
        copy = Task("Copy", "quiesce.domino.snapshot_copy", check)
        callback.v2_runner_on_ok(Result(host, copy, {"destination": COPY["destination"], "verified": False}
                                        if check else COPY))
    callback.v2_playbook_on_stats(Stats(["dom01", "dom02"]))
    return callback, shown


def files(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir())


def test_every_run_keeps_its_files_and_the_index_lists_them(tmp_path, monkeypatch):
    run(tmp_path, monkeypatch, 1795341600.0)  # 2026-11-22T10:00:00Z
    first = (tmp_path / "backup-report-latest.json").read_text()
    shown = run(tmp_path, monkeypatch, 1795345200.0, fail=True)[1]  # an hour later, dom02 fails
    assert files(tmp_path) == [
        "backup-report-20261122T100000Z.html", "backup-report-20261122T100000Z.json",
        "backup-report-20261122T100000Z.junit.xml", "backup-report-20261122T110000Z.html",
        "backup-report-20261122T110000Z.json", "backup-report-20261122T110000Z.junit.xml",
        "backup-report-latest.html", "backup-report-latest.json", "backup-report-latest.junit.xml", "index.html"]
    assert (tmp_path / "backup-report-20261122T100000Z.json").read_text() == first
    latest = json.loads((tmp_path / "backup-report-latest.json").read_text())
    assert latest["meta"]["name"] == "backup-report-20261122T110000Z" and latest["summary"]["failed"] == 1
    index = (tmp_path / "index.html").read_text()
    assert index.index("data-run='backup-report-20261122T110000Z'") < index.index("data-run='backup-report-20261122T100000Z'")
    assert "2 hosts: 1 backed up, 1 failed" in index and "2 hosts: 2 backed up, 0 failed" in index
    # a progress line per host as it finished, then the summary
    assert shown[0].startswith("quiesce.domino    0.0 s  dom01: backed up (shutdown; Domino frozen 2000 ms")
    assert shown[1].startswith("quiesce.domino    0.0 s  dom02: FAILED (in Take the snapshot: snapshot by shutdown")
    assert "2 hosts: 1 backed up, 1 failed" in shown[2]


def test_two_runs_in_one_second_do_not_overwrite_each_other(tmp_path, monkeypatch):
    run(tmp_path, monkeypatch, 1795341600.0)
    run(tmp_path, monkeypatch, 1795341600.4, fail=True)
    assert (tmp_path / "backup-report-20261122T100000Z-2.json").exists()
    assert json.loads((tmp_path / "backup-report-20261122T100000Z.json").read_text())["summary"]["failed"] == 0


@pytest.mark.parametrize("cli_check,task_check", [(True, None), (False, True)], ids=["--check", "check_mode: true"])
def test_a_check_mode_run_is_a_preview_that_leaves_real_results_alone(tmp_path, monkeypatch, cli_check, task_check):
    run(tmp_path, monkeypatch, 1795341600.0)
    real = {name: (tmp_path / name).read_bytes() for name in files(tmp_path) if name != "index.html"}
    shown = run(tmp_path, monkeypatch, 1795345200.0, cli_check=cli_check, task_check=task_check)[1]
    assert {name: (tmp_path / name).read_bytes() for name in real} == real
    new = sorted(set(files(tmp_path)) - set(real) - {"index.html"})
    assert new == ["backup-report-preview-20261122T110000Z.html", "backup-report-preview-20261122T110000Z.json",
                   "backup-report-preview-latest.html", "backup-report-preview-latest.json"]  # no JUnit
    doc = json.loads((tmp_path / "backup-report-preview-latest.json").read_text())
    assert doc["preview"] is True and doc["summary"]["planned"] == 2 and doc["summary"]["backed_up"] == 0
    assert "PREVIEW" in (tmp_path / "index.html").read_text()
    assert shown[0].startswith("quiesce.domino    0.0 s  dom01: planned (shutdown; Domino will be stopped")
    assert shown[2].startswith("\nquiesce.domino backup preview (check mode")


def test_a_task_that_ran_for_real_under_check_makes_a_real_run(tmp_path, monkeypatch):
    # --check on the command line, but the changing tasks say check_mode: false: things were done
    run(tmp_path, monkeypatch, 1795341600.0, cli_check=True, task_check=False)
    assert "backup-report-latest.junit.xml" in files(tmp_path)
    assert json.loads((tmp_path / "backup-report-latest.json").read_text())["summary"]["backed_up"] == 2


def test_progress_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("QUIESCE_REPORT_PROGRESS", "false")
    monkeypatch.setattr(context, "CLIARGS", {"check": False})
    callback = new_callback()
    callback.set_options()
    assert callback.get_option("progress") is False
