"""diskshadow, vssadmin and CIM parsers against every captured sample in tests/unit/samples."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.quiesce.domino.plugins.module_utils import diskshadow as ds

SAMPLES = Path(__file__).with_name("samples")


def sample(name: str) -> str:
    return (SAMPLES / name).read_bytes().decode("utf-8")


def test_create_nowriters_with_expose_and_a_rejected_exec():
    parsed = ds.parse_transcript(sample("ds_create_nowriters.txt"))
    assert parsed["shadow_set_id"] == "{12b5d80f-4368-4727-a02b-1b22f5e020ef}"
    assert parsed["aliases"] == {"noraj": "{eef6f0be-3c60-4e69-985d-3bc400a24ff1}"}
    [shadow] = parsed["shadows"]
    assert shadow["id"] == "{eef6f0be-3c60-4e69-985d-3bc400a24ff1}"
    assert shadow["alias"] == "noraj"
    assert shadow["set_id"] == "{12b5d80f-4368-4727-a02b-1b22f5e020ef}"
    assert shadow["volume"] == "C:"
    assert shadow["volume_guid"] == "\\\\?\\Volume{351b4712-0000-0000-0000-602200000000}\\"
    assert shadow["device_object"] == "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1"
    assert shadow["created"] == "2020-09-21T00:12:51"
    assert shadow["attributes"] == ["No_Auto_Release", "Persistent", "No_Writers", "Differential"]
    assert shadow["persistent"] is True and shadow["no_writers"] is True
    assert shadow["originating_machine"] == "DC01.BLACKFIELD.local"
    assert parsed["exposed"] == ["Z:"]
    assert shadow["exposed_as"] == "Z:"
    assert parsed["listed_count"] == 1
    # The exec line fails: the transcript is a failure even though the shadow exists and rc may be 0.
    assert [e["line"] for e in parsed["errors"]] == ["The script file name is not valid."]
    assert "rejected the script" in ds.judge(0, parsed, {"shadows": 1, "exposed": ["Z:"]})


def test_create_with_writers_tabs_and_crlf():
    text = sample("ds_create_writers_tabs.txt").replace("\n", "\r\n")  # as Windows prints it
    assert "\t" in text
    parsed = ds.parse_transcript(text)
    [shadow] = parsed["shadows"]
    assert shadow["id"] == "{7079f7ea-1111-2222-3333-444455556666}"
    assert shadow["alias"] == "cdrive"
    assert shadow["volume"] == "C:"
    assert shadow["no_writers"] is False and shadow["persistent"] is True
    assert shadow["created"] == "2023-03-04T23:02:03"
    assert parsed["writers_included"] == ["Task Scheduler Writer"]
    assert parsed["writers_excluded"] == ["Shadow Copy Optimization Writer"]
    assert parsed["commands"][:2] == ["set verbose on", "set metadata C:\\Windows\\Temp\\meta.cab"]
    # "Excluding writer", "Inserted file" and the END BACKUP note are harmless.
    assert parsed["errors"] == []
    assert ds.judge(0, parsed, {"shadows": 1}) is None


def test_drive_letter_in_use_with_double_space_is_a_failure_even_with_rc_0():
    parsed = ds.parse_transcript(sample("ds_expose_in_use.txt"))
    assert parsed["aliases"] == {"raj": "{e11c7a09-e980-49d8-9e30-e8f4ed101d3c}"}
    assert parsed["exposed"] == []
    reason = ds.judge(0, parsed, {"exposed": ["Z:"]})
    assert reason == "the drive letter is already in use: The drive letter is already in use."


def test_add_volume_com_failure():
    parsed = ds.parse_transcript(sample("ds_add_volume_com.txt"))
    assert parsed["errors"] == [{"line": 'COM call "(*vssObject)->InitializeForBackup" failed.',
                                 "reason": "a VSS COM call failed"}]
    assert ds.judge(0, parsed, {}) .startswith("a VSS COM call failed")


def test_unexpose_and_delete_by_id():
    parsed = ds.parse_transcript(sample("ds_unexpose_delete.txt"))
    assert parsed["unexposed"] == ["{11111111-2222-3333-4444-555555555555}"]
    assert parsed["deleted"] == ["{11111111-2222-3333-4444-555555555555}"]
    assert parsed["deleted_count"] == 1
    assert ds.judge(0, parsed, {"unexposed": 1, "deleted": 1}) is None


def test_metadata_overwrite_note_is_harmless():
    parsed = ds.parse_transcript(sample("ds_metadata_overwrite.txt"))
    assert parsed["errors"] == []


def test_list_writers_status_sample_is_not_a_failure():
    parsed = ds.parse_transcript(sample("ds_list_writers.txt"))
    assert parsed["errors"] == []


def test_rc_alone_never_decides():
    parsed = ds.parse_transcript(sample("ds_unexpose_delete.txt"))
    assert ds.judge(1, parsed, {}) == "diskshadow exited with rc 1 and no recognised message"
    empty = ds.parse_transcript("-> create\n")
    assert ds.judge(0, empty, {"shadows": 1}) == "diskshadow reported 0 shadow copies, expected 1"


@pytest.mark.parametrize("line, reason", [
    ("Writer \"Domino VSS Writer\" experienced a transient error (VSS_E_WRITERERROR_TIMEOUT).", "VSS reported an error"),
    ("The writer verification failed.", "a VSS writer failed"),
    ("The  drive   letter is already in use.", "the drive letter is already in use"),
    ('COM call "(*vssObject)->GatherWriterMetadata" failed.', "a VSS COM call failed"),
    ("        - Returned HRESULT: 80042306", "VSS reported an error"),
])
def test_known_failures(line, reason):
    parsed = ds.parse_transcript("-> create\n" + line + "\n")
    assert parsed["errors"][0]["reason"] == reason


def test_vssadmin_list_shadows():
    [shadow] = ds.parse_vssadmin_list(sample("vssadmin_list.txt"))
    assert shadow["id"] == "{eef18c41-c6bc-40bb-9863-5491249d2458}"
    assert shadow["set_id"] == "{43dd2d4b-3a58-487a-842d-564143d0501f}"
    assert shadow["volume"] == "C:"
    assert shadow["volume_guid"] == "\\\\?\\Volume{67a44989-8413-4a7c-a616-79385dae8605}\\"
    assert shadow["device_object"] == "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy3"
    assert shadow["created"] == "2021-09-10T17:49:26"
    assert shadow["persistent"] is True and shadow["client_accessible"] is True
    assert shadow["no_writers"] is False


def test_cim_inventory_single_objects_and_dotnet_dates():
    inv = ds.parse_shadow_inventory(sample("cim_shadow_inventory.json"))
    [shadow] = inv["shadows"]
    assert shadow["id"] == "{b15008d8-0c63-468c-aed7-ed4db0cfd082}"
    assert shadow["set_id"] == "{083bbdba-4517-45a2-a62e-3f52020bc47c}"
    assert shadow["volume"] == "C:"  # joined through Win32_Volume.DeviceID, case-insensitively
    assert shadow["created"] == "2020-04-19T21:34:01Z"
    assert shadow["persistent"] is True and shadow["no_writers"] is True and shadow["exposed_as"] is None
    assert inv["drives_in_use"] == ["C:", "Z:"]
    assert inv["volumes"][0]["free"] == 53687091200


def test_filter_by_volume_and_age():
    shadows = [{"volume": "C:", "volume_guid": "x", "created_ms": 1000},
               {"volume": "D:", "volume_guid": "y", "created_ms": 9000}]
    assert [s["volume"] for s in ds.filter_shadows(shadows, ["d:".upper()])] == ["D:"]
    assert [s["volume"] for s in ds.filter_shadows(shadows, older_than_ms=5000, now_ms=10000)] == ["C:"]
