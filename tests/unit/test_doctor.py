"""quiesce.domino.doctor: parsing the writers by shape, the verdicts, the table, the transcripts' names and the
plans (read-only look, try only outside check mode)."""
from __future__ import annotations

import json

import pytest

from ansible_collections.quiesce.domino.plugins.module_utils import doctor
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.action import doctor as doctor_action
from test_actions_mocked import run_action

# The shape of Microsoft's published `vssadmin list writers` samples (MicrosoftDocs troubleshooting articles).
EN = """vssadmin 1.1 - Volume Shadow Copy Service administrative command-line tool
(C) Copyright 2001-2013 Microsoft Corp.

Writer name: 'System Writer'
   Writer Id: {e8132975-6f93-4464-a53e-1050253ae220}
   Writer Instance Id: {04cf6316-f0c5-4ce7-bbe4-e56e6334124c}
   State: [1] Stable
   Last error: No error

Writer name: 'Domino VSS Writer'
   Writer Id: {6B7B1C84-3A5E-4F0C-9D38-2D5E6AD8E0B1}
   Writer Instance Id: {11111111-2222-3333-4444-555555555555}
   State: [8] Failed
   Last error: Retryable error
"""
# Constructed (no localized capture published): German labels, the same shape.
DE = """Verfassername: "System Writer" ist kein Anführungszeichen
Verfassername: 'Domino VSS Writer'
   Verfasserkennung: {6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}
   Verfasserinstanzkennung: {11111111-2222-3333-4444-555555555555}
   Status: [1] Stabil
   Letzter Fehler: Kein Fehler
"""
TOOLS = cli.resolve_tools(None, "windows")
INST = {"service": "HCL Domino Server (DDominodata)", "version": "12.0.2", "data_dir": "D:\\Domino\\data",
        "program_dir": "C:\\Program Files\\HCL\\Domino", "service_account": "LocalSystem", "answers": True,
        "answers_by": "service running, server process alive, NRPC port accepting", "console_log": True,
        "tasks": {"backupvss": False}, "methods": {"vss_writer": {"possible": True, "why": "backupvss VSS writer"}},
        "volumes": ["D:"], "data_volume": "D:", "locations": [{"kind": "data", "path": "D:\\Domino\\data"}]}


def record(name, stdout="", status="ok", rc=0, error=None):
    return {"name": name, "status": status, "rc": rc, "stdout": stdout, "stderr": "", "error": error}


def test_writers_are_read_by_shape_in_english_and_other_languages():
    en = doctor.parse_writers(EN)
    assert [w["name"] for w in en] == ["System Writer", "Domino VSS Writer"]
    assert en[1]["id"] == "{6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}" and en[1]["instance_id"].startswith("{11111111")
    assert (en[1]["state"], en[1]["state_name"], en[1]["last_error"]) == (8, "Failed", "Retryable error")
    de = doctor.parse_writers(DE)
    assert [w["name"] for w in de] == ["Domino VSS Writer"]
    assert de[0]["state"] == 1 and de[0]["id"] == "{6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}"
    assert doctor.domino_writer(de)["name"] == "Domino VSS Writer"
    assert doctor.parse_writers("") == [] and doctor.domino_writer(doctor.parse_writers(EN)[:1]) is None


def test_writer_verdicts():
    writers = record(doctor.WRITERS_STEP, EN)
    failed = doctor.writer_check(INST, writers)
    assert failed["status"] == "fail" and "[8] Failed" in failed["found"] and failed["fix"]
    stable = doctor.writer_check(INST, record(doctor.WRITERS_STEP, EN.replace("[8] Failed", "[1] Stable")))
    assert stable["status"] == "ok" and "{6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}" in stable["found"]
    no_writer = record(doctor.WRITERS_STEP, EN.split("Writer name: 'Domino", maxsplit=1)[0])
    assert doctor.writer_check(INST, no_writer)["status"] == "warn"
    running = dict(INST, tasks={"backupvss": True})
    verdict = doctor.writer_check(running, no_writer)
    assert verdict["status"] == "fail" and "backupvss runs but no Domino writer" in verdict["found"]
    impossible = dict(INST, methods={"vss_writer": {"possible": False, "why": "needs Domino 12.0.2"}})
    assert doctor.writer_check(impossible, no_writer)["status"] == "ok"
    denied = record(doctor.WRITERS_STEP, "", status="failed", rc=2)
    assert doctor.writer_check(INST, denied)["status"] == "fail"


def test_account_is_judged_by_the_enabled_administrators_sid():
    admin = {"account": {"name": "DOM\\svc", "sid": "S-1-5-21-1", "admin": True, "groups": ["S-1-5-32-544"]}}
    assert doctor.account_check(admin, None)["status"] == "ok"
    filtered = {"account": {"name": ".\\local", "sid": "S-1-5-21-2", "admin": False, "groups": ["S-1-5-32-544"]}}
    verdict = doctor.account_check(filtered, None)
    assert verdict["status"] == "fail" and "not enabled" in verdict["found"] and "LocalAccountTokenFilterPolicy" in verdict["fix"]
    assert "not a member" in doctor.account_check({"account": {"name": "u", "sid": "s", "admin": False}}, None)["found"]
    assert doctor.account_check({}, record(doctor.PROBE_STEP, status="failed", rc=1))["status"] == "fail"


def test_acl_verdicts_trust_only_system_and_administrators():
    trusted = {"path": "C:\\x", "exists": True, "protected": True, "writers": ["S-1-5-18", "S-1-5-32-544"]}
    assert doctor.acl_check("lock folder", trusted, "", True, "fix")["status"] == "ok"
    users = dict(trusted, writers=["S-1-5-18", "S-1-5-32-545"])
    verdict = doctor.acl_check("lock folder", users, "", True, "fix it")
    assert verdict["status"] == "fail" and "Users (S-1-5-32-545)" in verdict["reason"] and verdict["fix"] == "fix it"
    assert doctor.acl_check("lock folder", dict(trusted, protected=False), "", True, "f")["status"] == "warn"
    assert doctor.acl_check("lock folder", {"path": "C:\\x", "exists": False}, "made later", True, "f")["status"] == "ok"


def test_hook_verdicts():
    probe = {"hooks": [{"service": INST["service"], "folder": {"exists": True, "writers": ["S-1-5-18"]},
                        "script": {"path": "C:\\q\\hook.ps1", "exists": True, "writers": ["S-1-5-32-544"]}}]}
    assert doctor.hook_check(INST, probe)["status"] == "ok"
    probe["hooks"][0]["folder"]["writers"].append("S-1-5-11")
    verdict = doctor.hook_check(INST, probe)
    assert verdict["status"] == "fail" and "Authenticated Users" in verdict["found"]
    probe["hooks"][0]["script"]["exists"] = False
    assert doctor.hook_check(INST, probe)["status"] == "warn"
    assert doctor.hook_check(dict(INST, version="11.0.1"), probe) is None


def test_volume_verdicts():
    gib = 1024 ** 3
    probe = {"volumes": [{"DriveLetter": "D:", "DeviceID": "\\\\?\\Volume{a}\\", "Capacity": 100 * gib, "FreeSpace": 50 * gib}],
             "shadow_storage": [{"volume": "\\\\?\\Volume{a}\\", "max": "18446744073709551615", "used": "1024"}]}
    verdict = doctor.volumes_check(INST, probe)
    assert verdict["status"] == "ok" and "50.0 GiB free of 100.0 GiB" in verdict["found"] and "no limit" in verdict["found"]
    probe["volumes"][0]["FreeSpace"] = 5 * gib
    assert doctor.volumes_check(INST, probe)["status"] == "warn"
    assert doctor.volumes_check(dict(INST, volumes=["D:", "L:"]), probe)["status"] == "fail"


def test_destination_verdicts():
    share = "\\\\backupsrv\\domino"
    reachable = {"destination": {"path": share, "reachable": True}}
    assert doctor.destination_check(None, {}, None, False)["status"] == "ok"
    assert doctor.destination_check(share, {"destination": {"reachable": False}}, None, False)["status"] == "fail"
    assert doctor.destination_check(share, reachable, None, True)["status"] == "warn"
    written = record(doctor.SHARE_STEP, json.dumps({"path": share + "\\t", "created": True, "deleted": True}))
    assert doctor.destination_check(share, reachable, written, False)["status"] == "ok"
    denied = record(doctor.SHARE_STEP, json.dumps({"created": False, "error": "Access to the path is denied."}),
                    status="failed", rc=1)
    verdict = doctor.destination_check(share, reachable, denied, False)
    assert verdict["status"] == "fail" and "denied" in verdict["found"] and "Modify" in verdict["fix"]


def test_console_verdict_reads_the_task_result_and_the_log():
    def result(last, before=100, after=500, tail=""):
        names = doctor.console_step_names(0)
        return {"steps": [record(names[0], json.dumps({"console_log_size": before})),
                          record(names[1], json.dumps({"last_result": last}), status="ok" if last == 0 else "failed",
                                 rc=0 if last == 0 else 1),
                          record(names[2], json.dumps({"console_log_size": after, "console_tail": tail}))]}
    ok = doctor.console_try_check(INST, result(0), 0)
    assert ok["status"] == "ok" and "400 bytes more" in ok["found"]
    silent = doctor.console_try_check(INST, result(0, after=100), 0)
    assert silent["status"] == "ok" and "replies cannot be read" in silent["found"]
    logon = doctor.console_try_check(INST, result(0x80070569), 0)
    assert logon["status"] == "fail" and "0x80070569" in logon["found"] and "batch job" in logon["found"]
    refused = doctor.console_try_check(INST, result(1, tail="x\nrefused\n"), 0)
    assert refused["status"] == "fail" and "exit code 1" in refused["found"] and "refused" in refused["found"]
    assert doctor.console_look_check(dict(INST, service_account="bad name!"))["status"] == "fail"
    assert doctor.console_look_check(dict(INST, answers=False))["status"] == "warn"


def test_table_and_readiness():
    checks = [doctor.check("a", "ok", "fine"), doctor.check("b", "fail", "broken", "because", "do this")]
    lines = doctor.table("dom01", checks)
    assert lines[0] == "dom01: NOT READY" and lines[1].startswith("OK") and "why: because" in lines[3]
    assert "fix: do this" in lines[4] and doctor.ready(checks) is False and doctor.ready(checks[:1]) is True
    with pytest.raises(ValueError):
        doctor.check("x", "bad", "")


@pytest.mark.parametrize("host, name", [("dom01", "doctor-dom01.json"), ("../../etc/passwd", "doctor-_.._etc_passwd.json"),
                                        (".hidden", "doctor-hidden.json"), ("", "doctor-host.json"),
                                        ("dom 01\u202e", "doctor-dom_01_.json")])
def test_transcript_file_names_are_safe(host, name):
    assert doctor.transcript_file_name(host) == name
    assert "/" not in doctor.transcript_file_name(host)


def test_look_is_read_only_and_try_leaves_out_what_cannot_run():
    look = doctor.look_plan(TOOLS, "windows", "\\\\backupsrv\\domino")
    assert look["check_mode_safe"] is True
    assert all(s["ok_rc"] == "any" and s["allow_failure"] for s in look["steps"])
    assert [s["name"] for s in look["steps"]] == [doctor.DOMINO_STEP, doctor.HOST_STEP, doctor.DISKSHADOW_STEP,
                                                  doctor.WRITERS_STEP, doctor.PROBE_STEP, doctor.SC_SAMPLE_STEP,
                                                  doctor.SHADOWS_SAMPLE_STEP, doctor.DS_SAMPLE_STEP]
    # the samples for save_transcripts only read: sc query, vssadmin list shadows, diskshadow list shadows all
    samples = {s["name"]: s for s in look["steps"][5:]}
    assert samples[doctor.SC_SAMPLE_STEP]["argv"][1:] == ["query", "EventLog"]
    assert samples[doctor.SHADOWS_SAMPLE_STEP]["argv"][1:] == ["list", "shadows"]
    assert samples[doctor.DS_SAMPLE_STEP]["stdin"] == "list shadows all\r\nexit\r\n"

    def tools_for(program_dir):
        return cli.resolve_tools(None, "windows", program_dir)
    tried = doctor.try_plan(tools_for, "windows", [INST, dict(INST, service_account="bad name!")], "E:\\Backups", "t.tmp")
    assert tried["check_mode_safe"] is False
    assert [s["name"] for s in tried["steps"]] == list(doctor.console_step_names(0)) + [doctor.SHARE_STEP]
    assert json.loads(tried["steps"][-1]["stdin"]) == {"destination": "E:\\Backups", "name": "t.tmp"}
    assert tried["steps"][1]["argv"][0] == "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    assert "C:\\\\Program Files\\\\HCL\\\\Domino\\\\nserver.exe" in tried["steps"][1]["stdin"]
    assert doctor.try_plan(tools_for, "windows", [], None) is None


def test_check_mode_sends_only_the_look(host):
    host["replies"] = [{"ok": True, "skipped": False, "failed_step": None, "executor_error": None, "finally": [],
                        "steps": [record(doctor.DOMINO_STEP, "{}"), record(doctor.HOST_STEP, "{}")]}]
    result = run_action(doctor_action, {"destination": "\\\\backupsrv\\domino"}, check_mode=True)
    assert [p["name"] for p in host["plans"]] == ["doctor look"], result
    assert result["remote_calls"] == 1 and result["ready"] is False
    assert {c["name"]: c["status"] for c in result["checks"]}["destination"] == "fail"


@pytest.mark.parametrize("value", ["a\\b", "../x", "x/../y", " "])
def test_save_transcripts_refuses_bad_folders(host, value):
    result = run_action(doctor_action, {"save_transcripts": value})
    assert result["failed"] is True and "save_transcripts" in result["msg"] and host["plans"] == []


# ------------------------------------------------------------------ review of issue 15

def _tools_for(program_dir):
    return cli.resolve_tools(None, "windows", program_dir)


def _look(probe):
    return {"steps": [record(doctor.PROBE_STEP, json.dumps(probe))]}


def test_a_stopped_server_is_not_sent_show_server_and_is_a_warning():
    stopped = dict(INST, answers=False, answers_by="not answering: no service running", state="STOPPED")
    assert doctor.try_plan(_tools_for, "windows", [stopped], None) is None
    tried = doctor.try_plan(_tools_for, "windows", [stopped], "E:\\Backups", "t.tmp")
    assert [s["name"] for s in tried["steps"]] == [doctor.SHARE_STEP]
    inv = {"installations": [stopped], "culture": {"supported": True, "language": "en", "sentences": True}}
    checks = doctor.verdicts(_look({}), tried, [stopped], inv, None, False, True)
    console_check = next(c for c in checks if c["name"].startswith("console "))
    assert console_check["status"] == "warn" and "does not answer" in console_check["reason"], console_check


def test_the_doctor_console_task_has_a_name_of_its_own():
    tried = doctor.try_plan(_tools_for, "windows", [INST], None)
    show = json.loads(tried["steps"][1]["stdin"])
    assert show["name"].startswith("doctor-HCLDominoServerDDominodata-") and len(show["name"]) > 40
    again = json.loads(doctor.try_plan(_tools_for, "windows", [INST], None)["steps"][1]["stdin"])
    assert again["name"] != show["name"]
    from ansible_collections.quiesce.domino.plugins.module_utils import console
    backup = json.loads(console.console_command_step("load backupvss", _tools_for(INST["program_dir"]), INST,
                                                     "load backupvss")["stdin"])
    assert backup["name"] == "console-HCLDominoServerDDominodata" and backup["name"] != show["name"]
    with pytest.raises(console.ConsoleError):
        console.console_command_step("x", _tools_for(INST["program_dir"]), INST, "show server", task_suffix="a-b")


def test_the_console_is_not_tried_while_a_run_holds_the_host_lock():
    held = {"host_lock": {"path": "C:\\ProgramData\\quiesce.domino\\locks\\backup", "owner": "snapshot-1", "since_ms": 5}}
    assert doctor.look_host_lock(_look(held))["owner"] == "snapshot-1"
    assert doctor.look_host_lock(_look({"host_lock": None})) is None
    look = doctor.look_plan(TOOLS, "windows", None)
    assert json.loads(planlib.find_record({"steps": look["steps"]}, doctor.PROBE_STEP)["stdin"])["lock_name"] == "backup"
    assert "$in.lock_name" in doctor.PROBE_SCRIPT and "host_lock = $held" in doctor.PROBE_SCRIPT
    inv = {"installations": [INST], "culture": {"supported": True, "language": "en", "sentences": True}}
    checks = doctor.verdicts(_look(held), None, [], inv, None, False, True)
    console_check = next(c for c in checks if c["name"].startswith("console "))
    assert console_check["status"] == "warn" and "a run holds the host lock" in console_check["found"]
    assert "snapshot-1" in console_check["found"]


# Constructed (no German capture published): the German name in double quotes.  OTHERS: forms the parser survives
# (guillemets, an apostrophe in the label, a full-width colon and corner brackets), not seen in a capture.
DE_QUOTED = """Verfassername: "Domino VSS Writer"
   Verfasserkennung: {6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}
   Verfasserinstanzkennung: {11111111-2222-3333-4444-555555555555}
   Status: [1] Stabil
   Letzter Fehler: Kein Fehler
"""
# French labels as the published capture prints them (tests/unit/data/locale/vssadmin_fr_writers.txt, SOURCES.md)
FR = """Nom du rédacteur : 'Domino VSS Writer'
   ID du rédacteur : {6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}
   ID de l’instance du rédacteur : {11111111-2222-3333-4444-555555555555}
   État : [1] Stable
   Dernière erreur : Aucune erreur
"""
OTHERS = ("Nom de l'enregistreur : « System Writer »\nライター名：「Registry Writer」\n"
          "Writer name: 'Bob's Writer'\n")


def test_writer_names_in_double_quotes_guillemets_and_after_a_label_with_an_apostrophe():
    for text in (DE_QUOTED, FR):
        [writer] = doctor.parse_writers(text)
        assert writer["name"] == "Domino VSS Writer" and writer["id"] == "{6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}"
        assert writer["state"] == 1 and writer["last_error"] in ("Kein Fehler", "Aucune erreur")
    assert [w["name"] for w in doctor.parse_writers(OTHERS)] == ["System Writer", "Registry Writer", "Bob's Writer"]


def test_the_samples_of_localized_writers_are_read(tmp_path):
    from pathlib import Path
    data = Path(__file__).with_name("data") / "locale"
    writers = doctor.parse_writers((data / "vssadmin_de_writers.constructed.txt").read_text(encoding="utf-8"))
    assert [w["name"] for w in writers] == ["System Writer", "Domino VSS Writer"]
    assert doctor.domino_writer(writers)["id"] == "{6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}"
    # the published French and Japanese captures (no Domino writer on those hosts)
    for name, count in (("vssadmin_fr_writers.txt", 4), ("vssadmin_ja_writers.txt", 6)):
        writers = doctor.parse_writers((data / name).read_text(encoding="utf-8"))
        assert len(writers) == count and "System Writer" in [w["name"] for w in writers], name
        assert doctor.domino_writer(writers) is None


GERMAN = {"supported": True, "language": "de", "sentences": False, "ui_culture": "de-DE"}


def test_a_non_english_host_needs_the_writer_id_and_the_doctor_names_it():
    stable = record(doctor.WRITERS_STEP, DE_QUOTED)
    verdict = doctor.writer_check(INST, stable, GERMAN)
    assert verdict["status"] == "warn" and "domino_writer_id" in verdict["reason"]
    assert verdict["fix"].startswith('set snapshot_backup_domino_writer_id: "{6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}"')
    english = dict(GERMAN, language="en", sentences=True)
    assert doctor.writer_check(INST, stable, english)["status"] == "ok"
    none_yet = doctor.writer_check(INST, record(doctor.WRITERS_STEP, ""), GERMAN)
    assert none_yet["status"] == "warn" and "snapshot_backup_domino_writer_id" in none_yet["fix"]


def test_the_culture_fix_matches_the_reason():
    no_code_page = {"culture": {"ui_culture": "de-DE", "supported": False, "language": "de",
                                "reason": "UI culture de-DE: the host did not report its OEM code page"}}
    verdict = doctor.culture_check(no_code_page)
    assert verdict["status"] == "fail" and "OEMCP" in verdict["fix"] and "English" not in verdict["fix"]
    no_culture = doctor.culture_check({"culture": {"supported": False, "language": None, "reason": "no UI culture"}})
    assert "Get-UICulture" in no_culture["fix"] and "English" not in no_culture["fix"]


def test_delete_child_is_a_write_right():
    import re
    masks = [int(m, 16) for m in re.findall(r"-band (0x[0-9A-Fa-f]+)\) -eq 0", doctor.PROBE_SCRIPT)]
    assert masks[0] == doctor.WRITE_RIGHTS and masks[1] == doctor.GENERIC_WRITE_RIGHTS
    assert doctor.WRITE_RIGHTS & 0x40  # FILE_DELETE_CHILD
    for bit in (0x2, 0x4, 0x10000, 0x40000, 0x80000):
        assert doctor.WRITE_RIGHTS & bit


def test_a_nearly_full_shadow_storage_is_a_warning_naming_the_diff_area_volume():
    gib = 1024 ** 3
    probe = {"volumes": [{"DriveLetter": "D:", "DeviceID": "\\\\?\\Volume{a}\\", "Capacity": 100 * gib, "FreeSpace": 50 * gib},
                         {"DriveLetter": "V:", "DeviceID": "\\\\?\\Volume{v}\\", "Capacity": 100 * gib, "FreeSpace": 90 * gib}],
             "shadow_storage": [{"volume": "\\\\?\\Volume{a}\\", "diff_volume": "\\\\?\\Volume{v}\\",
                                 "max": str(10 * gib), "used": str(int(9.5 * gib))}]}
    verdict = doctor.volumes_check(INST, probe)
    assert verdict["status"] == "warn" and "diff area on V:" in verdict["reason"], verdict
    assert "shadow storage on V: used 9.5 GiB of 10.0 GiB" in verdict["found"] and "resize shadowstorage" in verdict["fix"]
    probe["shadow_storage"][0]["used"] = str(5 * gib)
    assert doctor.volumes_check(INST, probe)["status"] == "ok"


@pytest.mark.parametrize("value, status", [(1, "ok"), (0, "warn"), (None, "warn")])
def test_long_paths_off_is_a_warning_naming_the_registry_value(value, status):
    from ansible_collections.quiesce.domino.plugins.module_utils import doctor as doc
    found = doc.long_paths_check({"long_paths_enabled": value})
    assert found["name"] == "long paths" and found["status"] == status
    if status == "warn":
        assert "260 characters" in found["reason"] and "LongPathsEnabled (DWORD) to 1" in found["fix"]
