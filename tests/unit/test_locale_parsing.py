"""Locale-proof reading: sc query, robocopy, diskshadow and vssadmin in English, German, French, Japanese and Chinese,
from the published samples in tests/unit/data/locale (SOURCES.md names each source; *.constructed.txt are ours),
the harmless COM message judged by evidence, and the host culture that decides whether a host is refused."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ansible_collections.quiesce.domino.plugins.module_utils import diskshadow as ds
from ansible_collections.quiesce.domino.plugins.module_utils import inventory as inventory_lib
from ansible_collections.quiesce.domino.plugins.module_utils import methods as method_lib
from ansible_collections.quiesce.domino.plugins.module_utils import services
from ansible_collections.quiesce.domino.plugins.module_utils.errors import DominoError
from ansible_collections.quiesce.domino.plugins.module_utils import hostlocale
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import process
from ansible_collections.quiesce.domino.plugins.module_utils import robocopy as rc
from ansible_collections.quiesce.domino.plugins.plugin_utils import _discovery

DATA = Path(__file__).with_name("data") / "locale"


def sample(name: str, crlf: bool = False) -> str:
    text = (DATA / name).read_bytes().decode("utf-8")
    return text.replace("\n", "\r\n") if crlf else text


def test_every_sample_is_named_in_sources():
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in DATA.glob("*.txt"))
    assert files and [f for f in files if "`%s`" % f not in sources] == []


# ------------------------------------------------------------------ sc query

def _blocks(text: str) -> list[str]:
    return [b for b in re.split(r"(?=SERVICE_NAME:)", text) if "SERVICE_NAME:" in b]


@pytest.mark.parametrize("crlf", [False, True])
def test_sc_state_by_code_english_kernel_driver(crlf):
    # TYPE "1  KERNEL_DRIVER" shares the code 1 with STOPPED: the state line is told apart by the name after the code
    stopped, running = _blocks(sample("sc_query_en_kernel_driver.txt", crlf))
    assert services.sc_state(stopped) == "STOPPED"
    assert services.sc_state(running) == "RUNNING"
    assert re.search(services.STOPPED_RE, stopped) and not re.search(services.RUNNING_RE, stopped)
    assert re.search(services.RUNNING_RE, running) and not re.search(services.STOPPED_RE, running)


@pytest.mark.parametrize("name, state", [
    ("sc_query_zh_cn_stopped.txt", "STOPPED"),
    ("sc_query_de_running.constructed.txt", "RUNNING"),
    ("sc_query_fr_stop_pending.constructed.txt", "STOP_PENDING"),
    ("sc_query_ja_stopped.constructed.txt", "STOPPED"),
])
def test_sc_state_whatever_the_label(name, state):
    text = sample(name, crlf=True)
    assert services.sc_state(text) == state
    assert bool(re.search(services.STOPPED_RE, text)) is (state == "STOPPED")
    assert bool(re.search(services.RUNNING_RE, text)) is (state == "RUNNING")


def test_sc_state_unreadable_output_is_no_state():
    assert services.sc_state("") is None
    assert services.sc_state("[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\r\n\r\nThe specified service does "
                             "not exist as an installed service.\r\n") is None
    # the exit code 1077 and a name that only starts like a state are not a state
    assert services.sc_state("        WIN32_EXIT_CODE    : 1  STOPPEDX\r\n        X : 1077  (0x435)\r\n") is None


def test_the_retry_condition_of_a_plan_holds_on_a_localized_host():
    # the same pattern the executor searches in until_stdout (process.py, the POSIX executor and the twin)
    plan = planlib.validate_plan(planlib.build_plan("wait", "windows", [planlib.step(
        "wait", ["C:\\Windows\\System32\\sc.exe", "query", "x"], ok_rc="any",
        retry=planlib.retry_until(5, 0.5, until_stdout=services.RUNNING_RE))]))
    retry = plan["steps"][0]["retry"]
    record = {"status": "ok", "rc": 0, "stdout": sample("sc_query_de_running.constructed.txt", crlf=True)}
    assert process._condition_met(record, retry)
    record["stdout"] = sample("sc_query_ja_stopped.constructed.txt", crlf=True)
    assert not process._condition_met(record, retry)


def test_every_sc_wait_in_the_plans_reads_the_code():
    for pattern in (services.STOPPED_RE, services.RUNNING_RE):
        assert "STATE" not in pattern.replace("STATES", "")
        re.compile(pattern)


# ------------------------------------------------------------------ robocopy

G, M, K, T = 1024 ** 3, 1024 ** 2, 1024, 1024 ** 4


def test_robocopy_english_units_and_failed_column():
    s = rc.parse_summary(sample("robocopy_en_units.txt", crlf=True))
    assert s["dirs"] == {"total": 41, "copied": 0, "skipped": 41, "mismatch": 0, "failed": 0, "extras": 0}
    assert s["files"]["failed"] == 1 and s["files"]["copied"] == 59
    assert s["bytes"]["total"] == round(22.13 * M) and s["bytes"]["failed"] == round(562.0 * K)
    assert s["bytes"]["extras"] == 7 * K
    assert s["bytes_per_second"] == 396600


def test_robocopy_german_header_words_run_together():
    # "Kopiert�bersprungenKeine �bereinstimmung": four "words" for six columns, as published (wrong code page)
    text = sample("robocopy_de_units.txt", crlf=True)
    assert "\ufffd" in text
    s = rc.parse_summary(text)
    assert s["dirs"]["total"] == 26 and s["files"] == {"total": 4321, "copied": 4321, "skipped": 0, "mismatch": 0,
                                                       "failed": 0, "extras": 0}
    assert s["bytes"]["copied"] == round(2.032 * T)  # decimal point, "t" for terabytes, on German Windows
    assert s["bytes_per_second"] == 163428952


def test_robocopy_german_plain_bytes_without_speed_lines():
    s = rc.parse_summary(sample("robocopy_de_bytes.txt"))
    assert s["bytes"]["total"] == 2968068139 and s["files"]["copied"] == 1892
    assert s["bytes_per_second"] is None


def test_robocopy_german_gigabytes_and_speed():
    s = rc.parse_summary(sample("robocopy_de_mirror.txt", crlf=True))
    assert s["dirs"] == {"total": 25, "copied": 24, "skipped": 1, "mismatch": 0, "failed": 0, "extras": 0}
    assert s["bytes"]["copied"] == round(45.476 * G)
    assert s["bytes_per_second"] == 2354175723


def test_robocopy_japanese():
    s = rc.parse_summary(sample("robocopy_ja_units.txt", crlf=True))
    assert s["dirs"]["total"] == 1869 and s["files"]["skipped"] == 10940 and s["files"]["copied"] == 0
    assert s["bytes"]["total"] == round(26.725 * G) and s["bytes"]["copied"] == 0
    assert s["bytes_per_second"] is None  # nothing copied: robocopy printed no speed


def test_robocopy_french_decimal_comma_and_no_break_space():
    s = rc.parse_summary(sample("robocopy_fr_decimal_comma.constructed.txt", crlf=True))
    assert s["files"]["total"] == 1234 and s["files"]["copied"] == 1200
    assert s["bytes"]["total"] == round(1023.5 * M)
    assert s["bytes"]["copied"] == round(12.34 * G)
    assert s["bytes"]["skipped"] == 512 * K
    assert s["bytes"]["extras"] == round(1.5 * T)
    assert s["bytes_per_second"] == 1234567


@pytest.mark.parametrize("token, value", [
    ("16.00 m", 16 * M), ("1,234.5 m", round(1234.5 * M)), ("1.234,5 m", round(1234.5 * M)),
    ("1\u00a0234,5 m", round(1234.5 * M)), ("1\u202f234,5 m", round(1234.5 * M)), ("1'234.5 m", round(1234.5 * M)),
    ("45,476 g", round(45.476 * G)), ("562.0 k", 562 * K), ("2.032 T", round(2.032 * T)),
    ("1,234", 1234), ("1.234", 1234), ("1\u00a0234\u00a0567", 1234567), ("2968068139", 2968068139), ("0", 0),
])
def test_robocopy_numbers_in_every_notation(token, value):
    assert rc._number(token) == value


def test_robocopy_takes_the_last_summary_and_ignores_file_lines():
    first = sample("robocopy_ja_units.txt")
    second = sample("robocopy_de_mirror.txt")
    s = rc.parse_summary(first + "\n\t    New File  \t\t      10\tC:\\a 1 2 3 4 5 6.txt\n" + second)
    assert s["dirs"]["total"] == 25
    assert rc.parse_summary("no summary here\n   Dirs : 1 2 3\n") is None


def test_robocopy_error_lines_by_code_in_every_language():
    found = rc.error_lines(sample("robocopy_errors.constructed.txt", crlf=True))
    assert [line.split(" - ")[0].split()[2] for line in found] == ["ERROR", "FEHLER", "\u30a8\u30e9\u30fc", "ERREUR"]
    assert found[1].endswith("- Zugriff verweigert")
    assert found[0].startswith("2022/12/10 15:20:46 ERROR 32 (0x00000020) Copying File")
    # a file name with "(0x...)" in it and a code whose decimal and hex disagree are no error lines
    assert rc.error_lines("Copie du fichier D:\\a (0x00000001) b.nsf\nx FEHLER 5 (0x00000020) y\n") == []


# ------------------------------------------------------------------ diskshadow and vssadmin

def test_harmless_com_message_with_the_shadow_created_is_a_success():
    parsed = ds.parse_transcript(sample("diskshadow_en_share_harmless_com.txt", crlf=True))
    assert parsed["errors"] == []
    [notice] = parsed["notices"]
    assert notice["line"] == 'COM call "lvssObject4->GetRootAndLogicalPrefixPaths" failed.'
    assert "KB 3025158" in notice["source"]
    [shadow] = parsed["shadows"]
    assert shadow["id"] == "{e4c28c5f-6e9b-4c26-a61d-87321d3f7568}" and shadow["alias"] == "VSS_SHADOW_1"
    assert shadow["set_id"] == "{8356e764-3956-4625-b191-c42ea5dd30d5}"
    assert shadow["device_object"] == "\\\\ONEALFSNODE2\\E$@{A87B8E80-D56E-4D24-AB60-6DECA9C30667}$"
    assert shadow["created_text"] == "2/12/2018 1:50:55 PM" and shadow["created"] == "2018-02-12T13:50:55"
    assert shadow["originating_machine"] == "ONEALFSNODE2" and shadow["provider_id"] == "{89300202-3cec-4981-9171-19f59559e0f2}"
    assert shadow["attributes"] == ["Auto_Release", "FileShare"] and shadow["exposed_as"] is None
    assert parsed["shadow_set_id"] == "{8356e764-3956-4625-b191-c42ea5dd30d5}"
    assert ds.judge(0, parsed, {"shadows": 1}) is None


def test_harmless_com_message_without_the_shadow_is_a_failure():
    parsed = ds.parse_transcript('-> add volume C: alias data\r\n-> create\r\n'
                                 'COM call "lvssObject4->GetRootAndLogicalPrefixPaths" failed.\r\n')
    assert parsed["errors"] == [] and len(parsed["notices"]) == 1
    reason = ds.judge(0, parsed, {"shadows": 1})
    assert reason.startswith("a VSS COM call failed and the shadow copy was not created: COM call")
    assert "rc 3" in ds.judge(3, parsed, {"shadows": 1})
    # a shadow without its device printed is no evidence either
    text = sample("diskshadow_en_share_harmless_com.txt").replace("\t\t- Shadow copy device name:", "\t\t- Nope")
    assert ds.judge(0, ds.parse_transcript(text), {"shadows": 1}).startswith("a VSS COM call failed")


def test_other_com_failures_stay_fatal_even_with_a_shadow():
    text = sample("diskshadow_en_share_harmless_com.txt").replace("GetRootAndLogicalPrefixPaths", "DoSnapshotSet")
    parsed = ds.parse_transcript(text)
    assert parsed["notices"] == []
    assert ds.judge(0, parsed, {"shadows": 1}) == 'a VSS COM call failed: COM call "lvssObject4->DoSnapshotSet" failed.'


def test_every_harmless_message_has_a_source():
    assert all(source.strip() for _pattern, source in ds.HARMLESS_MESSAGES)
    assert ds.HARMLESS_PATTERNS == [pattern for pattern, _source in ds.HARMLESS_MESSAGES]


def test_german_transcript_read_by_shape():
    parsed = ds.parse_transcript(sample("diskshadow_de_create.constructed.txt", crlf=True))
    d, ell = parsed["shadows"]
    assert parsed["aliases"] == {"vol_d": "{7079f7ea-1111-2222-3333-444455556666}",
                                 "vol_l": "{8189f7ea-1111-2222-3333-444455556666}"}
    assert parsed["shadow_set_id"] == "{ebd0bb10-1111-2222-3333-444455556666}"
    assert (d["volume"], ell["volume"]) == ("D:", "L:") and d["count"] == 2
    assert d["volume_guid"] == "\\\\?\\Volume{67a44989-8413-4a7c-a616-79385dae8605}\\"
    assert ell["device_object"] == "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy5"
    assert d["created_text"] == "04.03.2023 23:02:03" and d["created"] is None  # only English dates are parsed
    assert (d["originating_machine"], d["service_machine"]) == ("DOM01.example.local", "DOM01.example.local")
    assert d["exposed_as"] is None and ell["exposed_as"] == "Z:"
    assert d["provider_id"] == "{b5946137-7b9f-4925-af80-51abd60b20d5}" and d["persistent"] and d["no_writers"]
    assert all(ds.shadow_evidence(s) for s in parsed["shadows"])
    # the German COM failure is found by its HRESULT and VSS error constant, not by its words
    assert [e["reason"] for e in parsed["errors"]] == ["VSS reported an error", "VSS reported an error"]
    assert ds.judge(0, parsed, {"shadows": 2}).startswith("VSS reported an error")
    clean = ds.parse_transcript(sample("diskshadow_de_create.constructed.txt").split("Der COM-Aufruf")[0])
    assert clean["errors"] == [] and ds.judge(0, clean, {"shadows": 2}) is None
    # the exposure is confirmed by an English sentence only: a German exposure is not taken on trust
    assert ds.judge(0, clean, {"shadows": 2, "exposed": ["Z:"]}) == "diskshadow did not confirm the exposure as Z:"


def test_japanese_transcript_read_by_shape():
    parsed = ds.parse_transcript(sample("diskshadow_ja_create.constructed.txt", crlf=True))
    [shadow] = parsed["shadows"]
    assert parsed["aliases"] == {"vol_d": "{7079f7ea-1111-2222-3333-444455556666}"}
    assert parsed["shadow_set_id"] == shadow["set_id"] == "{ebd0bb10-1111-2222-3333-444455556666}"
    assert shadow["volume"] == "D:" and shadow["device_object"].endswith("HarddiskVolumeShadowCopy4")
    assert shadow["exposed_as"] is None and parsed["errors"] == []
    assert ds.judge(0, parsed, {"shadows": 1}) is None


def test_vssadmin_german_by_shape():
    [shadow] = ds.parse_vssadmin_list(sample("vssadmin_de_list.constructed.txt", crlf=True))
    assert shadow["set_id"] == "{43dd2d4b-3a58-487a-842d-564143d0501f}"
    assert shadow["id"] == "{eef18c41-c6bc-40bb-9863-5491249d2458}"
    assert shadow["count"] == 1 and shadow["created_text"] == "10.09.2021 17:49:26"
    assert shadow["volume"] == "D:" and shadow["device_object"].endswith("HarddiskVolumeShadowCopy3")


def test_diskshadow_japanese_list_and_delete_capture():
    # a published Japanese capture (SOURCES.md): "<No Alias>" after the GUIDs, the labels translated, a year-first date
    text = sample("diskshadow_ja_list_delete.txt", crlf=True)
    parsed = ds.parse_transcript(text)
    [shadow] = parsed["shadows"]
    assert shadow["id"] == "{66f52f76-6ac2-46b0-8160-6ee32c7da178}" and shadow["alias"] is None
    assert shadow["set_id"] == parsed["shadow_set_id"] == "{305fd2bb-9a64-4775-9444-7f024af2c562}"
    assert shadow["count"] == 1 and shadow["volume"] == "E:"
    assert shadow["volume_guid"] == "\\\\?\\Volume{afdd4c4b-9dfd-46e8-9697-72262ec00f6f}\\"
    assert shadow["created_text"] == "2023/01/27 10:56:00" and shadow["created"] == "2023-01-27T10:56:00"
    assert shadow["device_object"] == "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1"
    assert (shadow["originating_machine"], shadow["service_machine"]) == ("WIN-9QD96QOMPTG", "WIN-9QD96QOMPTG")
    assert shadow["exposed_as"] is None and shadow["provider_id"] == "{b5946137-7b9f-4925-af80-51abd60b20d5}"
    assert shadow["attributes"] == ["No_Auto_Release", "Persistent", "Differential"] and shadow["persistent"]
    assert shadow["no_writers"] is False and ds.shadow_evidence(shadow)
    assert parsed["aliases"] == {} and parsed["errors"] == [] and parsed["notices"] == []
    # the delete: "[Attributes: 0x0002001d]" is no HRESULT; its Japanese sentences are not taken on trust, the facts are
    deleted = ["{66f52f76-6ac2-46b0-8160-6ee32c7da178}", "{25893e62-7f53-49b1-855c-26e6da62b1c4}"]
    delete = ds.parse_transcript(text.split("DISKSHADOW> delete")[1])
    assert delete["errors"] == [] and delete["deleted"] == [] and delete["deleted_count"] is None
    assert ds.judge(0, delete, {"deleted": 2}) == "diskshadow did not confirm the deletion"
    gone = {"shadows": [], "drives": ["C:", "E:"]}
    assert ds.judge(0, delete, {"deleted": 2, "gone": deleted}, gone) is None
    left = {"shadows": [{"id": deleted[1], "set_id": None, "exposed_as": None}], "drives": ["C:", "E:"]}
    assert ds.judge(0, delete, {"deleted": 2, "gone": deleted}, left) == \
        "shadow copy %s still exists after the deletion (Win32_ShadowCopy)" % deleted[1]


@pytest.mark.parametrize("after", ["%VSS_SHADOW_1%", "<No Alias>", ""])
def test_what_follows_the_shadow_id(after):
    line = "* Shadow copy ID = {e4c28c5f-6e9b-4c26-a61d-87321d3f7568}    " + after
    [shadow] = ds.parse_shadow_blocks([line, "\t- Shadow copy set: {8356e764-3956-4625-b191-c42ea5dd30d5}  " + after])
    assert shadow["id"] == "{e4c28c5f-6e9b-4c26-a61d-87321d3f7568}"
    assert shadow["alias"] == ("VSS_SHADOW_1" if after.startswith("%") else None)
    assert shadow["set_id"] == "{8356e764-3956-4625-b191-c42ea5dd30d5}"


def test_vssadmin_writers_japanese_capture():
    from ansible_collections.quiesce.domino.plugins.module_utils import doctor
    # as published: typographic quotes around the names (the blog's), "Id" labels, no indentation
    writers = doctor.parse_writers(sample("vssadmin_ja_writers.txt", crlf=True))
    assert [w["name"] for w in writers] == ["System Writer", "ASR Writer", "Registry Writer", "WMI Writer",
                                            "COM+ REGDB Writer", "Shadow Copy Optimization Writer"]
    assert writers[0]["id"] == "{a1111111-1a11-2222-a33a-1050253ae220}"
    assert writers[0]["instance_id"] == "{a1111111-1a11-2222-a33a-eacf897c2bb2}"
    assert {(w["state"], w["state_name"], w["last_error"]) for w in writers} == {(1, "\u5b89\u5b9a", "\u30a8\u30e9\u30fc\u306a\u3057")}
    assert doctor.domino_writer(writers) is None
    # the same with the ASCII quotes vssadmin prints
    ascii_quotes = sample("vssadmin_ja_writers.txt").replace("\u2018", "'").replace("\u2019", "'")
    assert [w["name"] for w in doctor.parse_writers(ascii_quotes)] == [w["name"] for w in writers]


def test_vssadmin_writers_french_capture():
    from ansible_collections.quiesce.domino.plugins.module_utils import doctor
    # "Nom du r\u00e9dacteur : 'X'", a typographic apostrophe in "ID de l\u2019instance du r\u00e9dacteur", "Aucune erreur"
    writers = doctor.parse_writers(sample("vssadmin_fr_writers.txt", crlf=True))
    assert [w["name"] for w in writers] == ["Task Scheduler Writer", "VSS Metadata Store Writer",
                                            "Performance Counters Writer", "System Writer"]
    system = writers[3]
    assert system["id"] == "{e8132975-6f93-4464-a53e-1050253ae220}"  # the System Writer's ID on every Windows
    assert system["instance_id"] == "{3a440350-edf0-4b35-bbc0-2af9898666f7}"
    assert {(w["state"], w["state_name"], w["last_error"]) for w in writers} == {(1, "Stable", "Aucune erreur")}


def test_guid_hex_is_no_hresult():
    parsed = ds.parse_transcript("-> create\n\t* Shadow copy ID = {80042306-1111-2222-3333-444455556666}\n")
    assert parsed["errors"] == []


# ------------------------------------------------------------------ host culture

@pytest.mark.parametrize("ui, installed, oem, supported, sentences", [
    ("en-US", "en-US", "437", True, True), ("en-GB", "de-DE", None, True, True), (None, "en-US", None, True, True),
    ("de-DE", "de-DE", "850", True, False), ("fr-FR", "en-US", 850, True, False), ("ja-JP", "ja-JP", "932", True, False),
    ("zh-CN", None, "936", True, False),
    # what stays refused: no culture at all, or a language other than English whose output cannot be decoded
    ("de-DE", "de-DE", None, False, False), ("ja-JP", None, "x", False, False),
    (None, None, "437", False, False), ("", "not a culture!", "437", False, False),
])
def test_culture_support(ui, installed, oem, supported, sentences):
    verdict = hostlocale.culture_support(ui, installed, oem)
    assert verdict["supported"] is supported and verdict["sentences"] is sentences
    assert verdict["reason"]
    if ui and not supported:
        assert ui in verdict["reason"] and "before anything is frozen" in verdict["reason"]
    if supported and not sentences:
        assert "domino_writer_id" in verdict["reason"]


def test_parse_culture_from_the_inventory():
    facts = hostlocale.parse_culture({"installed_ui": "de-DE", "ui": "de-DE", "format": "de-CH", "oem_code_page": "850"})
    assert facts["installed_ui_culture"] == "de-DE" and facts["format_culture"] == "de-CH"
    assert facts["oem_code_page"] == 850 and facts["supported"] is True and facts["language"] == "de"
    assert facts["sentences"] is False
    assert hostlocale.parse_culture(None)["supported"] is False
    assert hostlocale.parse_culture({"ui": "en-US", "oem_code_page": "x"})["oem_code_page"] is None
    assert hostlocale.parse_culture({"ui": "de-DE", "oem_code_page": "x"})["supported"] is False


def test_vss_writer_on_a_host_not_in_english_needs_the_writer_id():
    possible = {"vss_writer": {"possible": True, "why": "backupvss VSS writer"}, "shutdown": {"possible": True, "why": ""}}
    german = hostlocale.culture_support("de-DE", None, "850")
    refused = hostlocale.writer_methods(possible, german, None)
    assert refused["vss_writer"]["possible"] is False and "domino_writer_id" in refused["vss_writer"]["why"]
    assert refused["shutdown"] == possible["shutdown"] and possible["vss_writer"]["possible"] is True
    assert hostlocale.writer_methods(possible, german, "{6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}") == possible
    assert hostlocale.writer_methods(possible, hostlocale.culture_support("en-US"), None) == possible
    # facts registered before the key existed: decided by the language
    assert hostlocale.writer_methods(possible, {"supported": True, "language": "fr"}, None)["vss_writer"]["possible"] is False
    with pytest.raises(DominoError, match="domino_writer_id"):
        method_lib.choose_method("vss_writer", refused, allow_downtime=False)


def _host_doc(culture):
    return json.dumps({"processes": [], "os": {"Caption": "Microsoft Windows Server 2022", "BuildNumber": "20348"},
                       "volumes": [], "watchdogs": [], "drives": ["C:\\", "D:\\"], "now_utc": "2026-01-01T00:00:00Z",
                       "culture": culture})


def _domino_doc():
    ini = "[Notes]\r\nDirectory=D:\\Domino\\data\r\nServerName=srv/ACME\r\n"
    return json.dumps({"services": [{"Name": "Lotus Domino Server (DDominodata)", "State": "Running", "ProcessId": 100,
                                     "PathName": '"C:\\Domino\\nservice.exe" "=D:\\Domino\\data\\notes.ini"'}],
                       "registry": [{"key": "HKEY_LOCAL_MACHINE\\SOFTWARE\\Lotus\\Domino", "path": "C:\\Domino",
                                     "data_path": "D:\\Domino\\data", "version": "12.0.2"}],
                       "ini": {"D:\\Domino\\data\\notes.ini": ini},
                       "places": {"D:\\Domino\\data\\notes.ini": {"data_dir": "D:\\Domino\\data", "port_open": True}}})


class _Action:
    platform = "windows"

    def __init__(self, culture):
        self.culture = culture

    def tools(self, *_args):
        return {"powershell": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"}

    def run_plan(self, plan):
        assert plan["check_mode_safe"]
        return {"ok": True, "steps": [{"stdout": _domino_doc()}, {"stdout": _host_doc(self.culture)}]}


def test_an_unsupported_culture_refuses_every_method_before_anything_is_frozen():
    # a German host whose OEM code page is unknown: its output could not be decoded
    inv = _discovery.discover(_Action({"installed_ui": "de-DE", "ui": "de-DE", "format": "de-DE"}))
    assert inv["culture"]["supported"] is False and inv["culture"]["oem_code_page"] is None
    [inst] = inv["installations"]
    assert all(not m["possible"] and "de-DE" in m["why"] for m in inst["methods"].values())
    assert inst["recommended_method"] is None
    for method in ("auto", "vss_writer", "backup_task", "shutdown", "none"):
        with pytest.raises(DominoError, match="de-DE"):
            method_lib.choose_method(method, inst["methods"], allow_downtime=True)


def test_a_german_host_keeps_its_methods():
    inv = _discovery.discover(_Action({"installed_ui": "de-DE", "ui": "de-DE", "format": "de-DE", "oem_code_page": "850"}))
    assert inv["culture"]["supported"] is True and inv["culture"]["sentences"] is False
    [inst] = inv["installations"]
    assert inst["methods"]["none"]["possible"] and inst["methods"]["shutdown"]["possible"]
    assert method_lib.choose_method("shutdown", inst["methods"]) == "shutdown"


def test_an_english_host_keeps_its_methods():
    inv = _discovery.discover(_Action({"installed_ui": "en-US", "ui": "en-US", "format": "de-DE", "oem_code_page": "437"}))
    assert inv["culture"]["supported"] is True and inv["culture"]["format_culture"] == "de-DE"
    [inst] = inv["installations"]
    assert inst["methods"]["none"]["possible"] and inst["methods"]["shutdown"]["possible"]
    assert method_lib.choose_method("shutdown", inst["methods"]) == "shutdown"


def test_the_host_inventory_script_reports_the_culture():
    script = inventory_lib.HOST_INVENTORY_SCRIPT
    for needle in ("[System.Globalization.CultureInfo]::InstalledUICulture.Name", "(Get-UICulture).Name",
                   "(Get-Culture).Name", "Nls\\CodePage", "'OEMCP'", "culture = $culture"):
        assert needle in script


# ------------------------------------------------------------------ review of issue 15: exit code, ID line, accounts

def test_a_create_with_a_nonzero_exit_code_is_accepted_when_only_the_harmless_message_and_the_evidence_agree():
    parsed = ds.parse_transcript(sample("diskshadow_en_share_harmless_com.txt", crlf=True))
    shadow_id = "{e4c28c5f-6e9b-4c26-a61d-87321d3f7568}"
    warnings: list = []
    # the transcript's words alone do not outweigh the exit code: without Win32_ShadowCopy read back it fails
    unconfirmed = ds.judge(1, parsed, {"shadows": 1}, None, warnings)
    assert "could not be read back to confirm it" in unconfirmed and warnings == []
    # read back: the shadow copy exists in Win32_ShadowCopy
    there = {"shadows": [{"id": shadow_id, "set_id": None, "exposed_as": None}], "drives": ["C:"]}
    warnings = []
    assert ds.judge(1, parsed, {"shadows": 1}, there, warnings) is None and "read back" in warnings[0]
    [warning] = warnings
    assert "rc 1" in warning and "KB 3025158" in warning and shadow_id in warning
    # ... or it does not: the message was not harmless this time
    gone = {"shadows": [], "drives": ["C:"]}
    reason = ds.judge(1, parsed, {"shadows": 1}, gone, warnings := [])
    assert "does not exist (Win32_ShadowCopy)" in reason and warnings == []
    # without a harmless message, or without the evidence, a nonzero exit code still fails
    quiet = ds.parse_transcript(sample("diskshadow_en_share_harmless_com.txt", crlf=True).replace(
        'COM call "lvssObject4->GetRootAndLogicalPrefixPaths" failed.', ""))
    assert "rc 1 and no recognised message" in ds.judge(1, quiet, {"shadows": 1})
    assert "rc 1" in ds.judge(1, parsed, {"shadows": 2})
    # not a create: an exit code other than 0 is never explained away
    assert "rc 1" in ds.judge(1, parsed, {"deleted": 1})


@pytest.mark.parametrize("separator", ["=", ":", "\uff1a", " :"])
def test_the_shadow_id_line_may_use_a_colon(separator):
    line = "* Schattenkopie-ID%s {e4c28c5f-6e9b-4c26-a61d-87321d3f7568} %%VSS_SHADOW_1%%" % separator
    [shadow] = ds.parse_shadow_blocks([line, "\t- Schattenkopiesatz: {8356e764-3956-4625-b191-c42ea5dd30d5}"])
    assert shadow["id"] == "{e4c28c5f-6e9b-4c26-a61d-87321d3f7568}" and shadow["alias"] == "VSS_SHADOW_1"
    assert shadow["set_id"] == "{8356e764-3956-4625-b191-c42ea5dd30d5}"


# Localized names of the built-in service accounts: Microsoft SQL Server docs "Configure Windows Service Accounts
# and Permissions" (localized names table).  Windows reports them by name (Win32_Service.StartName); the inventory
# reads their SID too.
@pytest.mark.parametrize("name, sid", [("NT-AUTORITÄT\\LOKALER DIENST", "S-1-5-19"),
                                       ("AUTORITE NT\\SERVICE RÉSEAU", "S-1-5-20"),
                                       ("NT AUTHORITY\\СИСТЕМА", "S-1-5-18")])
def test_localized_builtin_service_accounts_run_by_their_sid(name, sid):
    from ansible_collections.quiesce.domino.plugins.module_utils import console
    assert console.principal(name, sid) == {"user_id": sid, "logon_type": "ServiceAccount", "account": name}
    assert console.principal(name, sid.lower())["user_id"] == sid
    with pytest.raises(console.ConsoleError, match="its SID could not be read"):
        console.principal(name, None)


def test_a_user_account_with_a_name_that_is_not_ascii_runs_by_its_sid():
    from ansible_collections.quiesce.domino.plugins.module_utils import console
    sid = "S-1-5-21-1004336348-1177238915-682003330-1105"
    assert console.principal("DOMÄNE\\dömino", sid) == {"user_id": sid, "logon_type": "S4U", "account": "DOMÄNE\\dömino"}
    assert console.principal("ACME\\domino", sid)["user_id"] == "ACME\\domino"  # plain ASCII: by name, as before
    for bad_sid in ("S-1-5-21-x", "1-5-18", "S-1-5-18; evil", ""):
        with pytest.raises(console.ConsoleError):
            console.principal("DOMÄNE\\dömino", bad_sid)
    with pytest.raises(console.ConsoleError):
        console.principal("DOMÄNE\\dö\u202emino", sid)  # a control character is never passed on
    xml = console.runas_xml(console.principal("DOMÄNE\\dömino", sid), ["C:\\D\\nserver.exe", "-c", "x"], "D:\\d", "t", 60)
    assert "<UserId>%s</UserId><LogonType>S4U</LogonType>" % sid in xml


def test_the_inventory_reads_the_service_accounts_sid():
    assert "Translate([System.Security.Principal.SecurityIdentifier])" in inventory_lib.DOMINO_INVENTORY_SCRIPT
    assert "catch { return $null }" in inventory_lib.DOMINO_INVENTORY_SCRIPT
    german = {"Name": "Domino", "State": "Running", "StartName": "NT-AUTORITÄT\\LOKALER DIENST", "StartSid": "S-1-5-19",
              "PathName": '"C:\\Domino\\nservice.exe" "=D:\\data\\notes.ini"', "ProcessId": 0}
    unknown = {"Name": "Domino2", "State": "Stopped", "StartName": "x", "StartSid": "no sid",
               "PathName": '"C:\\Domino\\nservice.exe" "=E:\\data\\notes.ini"', "ProcessId": 0}
    doc = {"services": [german, unknown],
           "registry": [], "ini": {}, "places": {}, "processes": [], "os": {"BuildNumber": "20348"}, "drives": []}
    first, second = inventory_lib.parse_inventory(json.dumps(doc))["installations"]
    assert first["service_sid"] == "S-1-5-19" and second["service_sid"] is None
