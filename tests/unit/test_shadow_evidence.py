"""What an expose, unexpose or delete left behind is judged by Win32_ShadowCopy read back after diskshadow
(diskshadow.SHADOW_PROBE_SCRIPT), whatever language diskshadow printed in: English, German, French and Japanese
transcripts (tests/unit/data/locale, SOURCES.md), the English sentence present while the facts say it failed,
and the reverse."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.quiesce.domino.plugins.module_utils import diskshadow as ds
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib

DATA = Path(__file__).with_name("data") / "locale"
SID = "{e11c7a09-e980-49d8-9e30-e8f4ed101d3c}"
OTHER = "{7079f7ea-1111-2222-3333-444455556666}"
LANGUAGES = ("en", "de", "fr", "ja")


def section(language: str, operation: str) -> str:
    text = (DATA / ("diskshadow_%s_expose_unexpose_delete.constructed.txt" % language)).read_text(encoding="utf-8")
    parts = dict(part.split("\n", 1) for part in text.split("##### ")[1:])
    return parts[operation].replace("\n", "\r\n")


def probe(shadows=(), drives=("C:", "D:", "E:"), status="ok") -> dict:
    """The probe step's record as the executor returns it: the script's JSON (ConvertTo-Json -Compress)."""
    rows = [{"ID": sid.upper(), "SetID": (set_id or "").upper() or None, "ExposedLocally": bool(at),
             "ExposedName": (at + "\\") if at else None} for sid, set_id, at in shadows]
    return {"name": ds.PROBE_STEP, "status": status, "rc": 0 if status == "ok" else 1,
            "stdout": json.dumps({"shadows": rows, "drives": list(drives), "unmet": []}) + "\r\n"}


EXPOSED = probe([(SID, "{b1f2a3c4-1111-2222-3333-444455556666}", "Z:")], drives=("C:", "D:", "E:", "Z:"))
NOT_EXPOSED = probe([(SID, "{b1f2a3c4-1111-2222-3333-444455556666}", None)])
OTHER_AT_Z = probe([(SID, None, None), (OTHER, None, "Z:")], drives=("C:", "D:", "Z:"))
GONE = probe([(OTHER, None, None)])


def test_the_published_format_sample_is_read():
    doc = ds.parse_probe({"status": "ok", "stdout": (DATA / "shadow_probe_after_expose.constructed.json").read_text()})
    assert doc["drives"] == ["C:", "D:", "E:", "Z:"]
    assert ds.exposed_at(doc, "z:") == [SID] and ds.exposed_at(doc, "Z:\\") == [SID]
    assert [s["exposed_as"] for s in doc["shadows"]] == ["Z:", None]
    assert doc["shadows"][0]["set_id"] == "{b1f2a3c4-1111-2222-3333-444455556666}"


@pytest.mark.parametrize("record", [None, {"status": "skipped"}, {"status": "error", "stdout": ""},
                                    {"status": "failed", "stdout": "Get-CimInstance : Invalid class"},
                                    {"status": "ok", "stdout": "[1, 2]"}])
def test_no_readable_probe_is_no_evidence(record):
    assert ds.parse_probe(record) is None


@pytest.mark.parametrize("language", LANGUAGES)
def test_expose_is_judged_by_the_facts_in_every_language(language):
    parsed = ds.parse_transcript(section(language, "expose"))
    expect = {"exposed": ["Z:"], "exposed_ids": [SID]}
    assert ds.judge(0, parsed, expect, ds.parse_probe(EXPOSED)) is None
    reason = ds.judge(0, parsed, expect, ds.parse_probe(NOT_EXPOSED))
    assert reason.startswith("the shadow copy is not exposed as Z: after the run (Win32_ShadowCopy.ExposedName)")
    wrong = ds.judge(0, parsed, expect, ds.parse_probe(OTHER_AT_Z))
    assert wrong.startswith("Z: exposes shadow copy %s, not %s" % (OTHER, SID))
    # without the read-back only diskshadow's English sentence is left: it is read in English only
    alone = ds.judge(0, parsed, expect)
    assert (alone is None) == (language == "en"), alone


def test_the_english_confirmation_is_no_evidence_when_the_facts_disagree():
    parsed = ds.parse_transcript(section("en", "expose"))
    assert parsed["exposed"] == ["Z:"]  # diskshadow said it did
    reason = ds.judge(0, parsed, {"exposed": ["Z:"], "exposed_ids": [SID]}, ds.parse_probe(NOT_EXPOSED))
    assert reason.endswith("although diskshadow printed its English confirmation"), reason


def test_the_facts_decide_when_no_english_confirmation_was_printed():
    # the reverse: the English sentence is missing (output cut short), the read-back shows the exposure
    parsed = ds.parse_transcript("-> expose %s Z:\r\n" % SID)
    assert parsed["exposed"] == []
    assert ds.judge(0, parsed, {"exposed": ["Z:"]}) == "diskshadow did not confirm the exposure as Z:"
    assert ds.judge(0, parsed, {"exposed": ["Z:"], "exposed_ids": [SID]}, ds.parse_probe(EXPOSED)) is None


def test_a_create_and_expose_must_expose_the_shadow_copy_it_made():
    text = ("-> add volume D: alias vol_d\r\n-> create\r\n"
            "\t* Shadow copy ID = %s\t\t%%vol_d%%\r\n"
            "\t\t- Shadow copy set: {b1f2a3c4-1111-2222-3333-444455556666}\t%%VSS_SHADOW_SET%%\r\n"
            "\t\t- Original count of shadow copies = 1\r\n"
            "\t\t- Original volume name: \\\\?\\Volume{67a44989-8413-4a7c-a616-79385dae8605}\\ [D:\\]\r\n"
            "\t\t- Creation time: 9/21/2020 12:12:51 AM\r\n"
            "\t\t- Shadow copy device name: \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy4\r\n"
            "-> expose %%vol_d%% Z:\r\n" % SID)
    parsed = ds.parse_transcript(text)
    expect = {"shadows": 1, "exposed": ["Z:"]}
    assert ds.judge(0, parsed, expect, ds.parse_probe(EXPOSED)) is None
    # another program's shadow copy at Z: is no exposure of this run
    assert ds.judge(0, parsed, expect, ds.parse_probe(OTHER_AT_Z)).startswith("Z: exposes shadow copy %s" % OTHER)
    # a non-zero exit or no shadow copy still fails first, whatever the read-back says
    assert ds.judge(1, parsed, expect, ds.parse_probe(EXPOSED)).startswith("diskshadow exited with rc 1")
    assert ds.judge(0, ds.parse_transcript("-> create\r\n"), expect, ds.parse_probe(EXPOSED)) == \
        "diskshadow reported 0 shadow copies, expected 1"


@pytest.mark.parametrize("language", LANGUAGES)
def test_unexpose_is_judged_by_the_facts_in_every_language(language):
    parsed = ds.parse_transcript(section(language, "unexpose"))
    expect = {"unexposed": 1, "freed": ["Z:"]}
    assert ds.judge(0, parsed, expect, ds.parse_probe(NOT_EXPOSED)) is None
    still = ds.judge(0, parsed, expect, ds.parse_probe(EXPOSED))
    assert still == "shadow copy %s is still exposed as Z: after the unexposure (Win32_ShadowCopy.ExposedName)" % SID
    # the letter taken by something else (a mapped drive) is not free either
    taken = ds.judge(0, parsed, expect, ds.parse_probe(probe([(SID, None, None)], drives=("C:", "Z:"))))
    assert taken == "drive letter Z: is still in use after the unexposure"
    assert (ds.judge(0, parsed, expect) is None) == (language == "en")


def test_an_unexposure_the_english_sentence_denies_but_the_facts_confirm():
    # the reverse in English: diskshadow printed no confirmation, the letter is free: the facts decide
    parsed = ds.parse_transcript("-> unexpose Z:\r\n")
    assert ds.judge(0, parsed, {"unexposed": 1}) == "diskshadow did not confirm the unexposure"
    assert ds.judge(0, parsed, {"unexposed": 1, "freed": ["Z:"]}, ds.parse_probe(NOT_EXPOSED)) is None


@pytest.mark.parametrize("language", LANGUAGES)
def test_delete_is_judged_by_the_facts_in_every_language(language):
    parsed = ds.parse_transcript(section(language, "delete"))
    expect = {"deleted": 1, "gone": [SID]}
    assert ds.judge(0, parsed, expect, ds.parse_probe(GONE)) is None
    assert ds.judge(0, parsed, expect, ds.parse_probe(EXPOSED)) == \
        "shadow copy %s still exists after the deletion (Win32_ShadowCopy)" % SID
    assert (ds.judge(0, parsed, expect) is None) == (language == "en")


def test_a_deleted_set_leaves_no_shadow_copy_of_it():
    set_id = "{b1f2a3c4-1111-2222-3333-444455556666}"
    parsed = ds.parse_transcript("-> delete shadows set %s\r\n" % set_id)
    assert ds.judge(0, parsed, {"sets_gone": [set_id.upper()]}, ds.parse_probe(GONE)) is None
    assert ds.judge(0, parsed, {"sets_gone": [set_id]}, ds.parse_probe(NOT_EXPOSED)) == \
        "shadow copies %s of the deleted set still exist (Win32_ShadowCopy)" % SID


def test_probe_expectations_are_validated_and_sent_as_json():
    tools = {"powershell": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"}
    checks = [ds.expectation("exposed", "z:", SID.upper()), ds.expectation("free", "E:\\mnt\\snap\\"),
              ds.expectation("gone", shadow_id=SID)]
    assert checks == [{"state": "exposed", "at": "Z:", "id": SID}, {"state": "free", "at": "E:\\mnt\\snap", "id": None},
                      {"state": "gone", "at": None, "id": SID}]
    step = ds.probe_step(tools, checks)
    assert step["name"] == ds.PROBE_STEP and step["allow_failure"] is True
    assert json.loads(step["stdin"]) == {"expect": checks}
    plan = planlib.build_plan("probe", "windows", [step])
    assert planlib.validate_plan(plan)["steps"][0]["stdin"] == step["stdin"]
    fatal = ds.probe_step(tools, checks[:1], name="data is exposed at Z:", allow_failure=False)
    assert fatal.get("allow_failure", False) is False
    for bad in (lambda: ds.expectation("mounted", "Z:"), lambda: ds.expectation("exposed"),
                lambda: ds.expectation("gone"), lambda: ds.expectation("exposed", "Z: & calc"),
                lambda: ds.expectation("gone", shadow_id="%x%")):
        with pytest.raises(ds.DiskShadowError):
            bad()


def test_the_probe_script_reads_the_documented_properties_and_changes_nothing():
    script = ds.SHADOW_PROBE_SCRIPT
    assert script.startswith("# quiesce.domino:shadow-probe\n")
    assert "Win32_ShadowCopy" in script and "ExposedName" in script and "ExposedPath" not in script
    assert "Set-StrictMode -Version 2.0" in script and "$ErrorActionPreference = 'Stop'" in script
    for verb in ("Remove-", "Set-Item", "New-Item", "Invoke-CimMethod", "Delete"):
        assert verb not in script
    assert ".where(" not in script.lower()


def test_the_read_back_is_no_part_of_the_freeze_window():
    run = {"steps": [{"name": "create shadow copy"}, {"name": ds.PROBE_STEP}],
           "finally": [{"name": "start Domino service"}, {"name": ds.PROBE_STEP}], "ok": True}
    bare = ds.without_probe(run)
    assert [r["name"] for r in bare["steps"]] == ["create shadow copy"]
    assert [r["name"] for r in bare["finally"]] == ["start Domino service"] and bare["ok"] is True
    assert len(run["finally"]) == 2


def test_vssadmin_exposure_read_by_shape_in_german():
    # the fallback listing when CIM is unavailable, as the twin's de-DE host prints it (labels: our guesses)
    text = ("vssadmin 1.1 - Verwaltungsbefehlszeilenprogramm des Volumeschattenkopie-Dienstes\r\n\r\n"
            "Inhalt der Schattenkopiesatz-ID: {43dd2d4b-3a58-487a-842d-564143d0501f}\r\n"
            "   1 Schattenkopien waren zum Erstellungszeitpunkt enthalten: 10.09.2021 17:49:26\r\n"
            "      Schattenkopie-ID: %s\r\n"
            "         Ursprüngliches Volume: (D:)\\\\?\\Volume{67a44989-8413-4a7c-a616-79385dae8605}\\\r\n"
            "         Schattenkopievolume: \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy3\r\n"
            "         Ursprungscomputer: DOM01.example.local\r\n"
            "         Verfügbar gemachter Name: Q:\\\r\n"
            "         Anbieter: 'Microsoft Software Shadow Copy provider 1.0'\r\n" % SID)
    [shadow] = ds.parse_vssadmin_list(text)
    assert shadow["id"] == SID and shadow["volume"] == "D:" and shadow["exposed_as"] == "Q:"
    folder = ds.parse_vssadmin_list(text.replace("Name: Q:\\", "Name: E:\\mnt\\snap\\"))
    assert folder[0]["exposed_as"] == "E:\\mnt\\snap"
    hidden = ds.parse_vssadmin_list(text.replace("         Verfügbar gemachter Name: Q:\\\r\n", ""))
    assert hidden[0]["exposed_as"] is None
