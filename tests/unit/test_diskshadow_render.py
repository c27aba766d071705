"""Rendering diskshadow scripts, and the validators that stand in front of them."""
from __future__ import annotations

import pytest

from ansible_collections.quiesce.domino.plugins.module_utils import diskshadow as ds
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli


def test_render_create_nowriters_copy_backup_with_expose():
    lines = ds.render_create([("D:", "vol_d")], expose={"vol_d": "Z:"})
    assert lines[1:] == ["set context persistent nowriters", "add volume D: alias vol_d", "create",
                         "expose %vol_d% Z:"]
    text = ds.render(lines)
    assert text.endswith("\r\n") and "\r\n" in text


def test_render_create_with_writers_full_backup_metadata_and_verify():
    lines = ds.render_create([("D:", "vol_d"), ("E:", "vol_e")], writers=True, backup_type="full",
                             metadata="C:\\Windows\\Temp\\q.cab", verbose=True,
                             writer_verify=["{6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}"], client_accessible=True)
    assert lines[1:] == ["set verbose on", "set metadata C:\\Windows\\Temp\\q.cab", "set context persistent clientaccessible",
                         "begin backup", "add volume D: alias vol_d", "add volume E: alias vol_e",
                         "writer verify {6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}", "create", "end backup"]


@pytest.mark.parametrize("bad", ["D: & del", "a%b%", "x\ny", 'q"', "two words"])
def test_render_refuses_unsafe_tokens_even_if_validation_was_skipped(bad):
    with pytest.raises(ds.DiskShadowError):
        ds.render_create([(bad, "a")])
    with pytest.raises(ds.DiskShadowError):
        ds.render_expose("{11111111-2222-3333-4444-555555555555}", bad)


def test_render_delete_scopes():
    assert ds.render_delete("id", "{11111111-2222-3333-4444-555555555555}")[1] == \
        "delete shadows id {11111111-2222-3333-4444-555555555555}"
    assert ds.render_delete("all")[1] == "delete shadows all"
    with pytest.raises(ds.DiskShadowError):
        ds.render_delete("everything")


def test_user_script_checks():
    assert ds.check_user_script("script", "set context persistent nowriters\r\nadd volume d: alias x\ncreate\n"
                                          "expose %x% z:\n") == [
        "set context persistent nowriters", "add volume d: alias x", "create", "expose %x% z:"]
    for bad, words in [("exec c:\\evil.cmd", "not an allowed diskshadow command"),
                       ("add volume d: & calc", "may not contain '&'"),
                       ("expose %x z:", "may not contain '%'"),
                       ("", "the script is empty")]:
        with pytest.raises(cli.OptionError, match=words):
            ds.check_user_script("script", bad)


@pytest.mark.parametrize("func, value, expected", [
    (cli.drive_letter, "z", "Z:"), (cli.drive_letter, "z:", "Z:"), (cli.drive_letter, "Z:\\", "Z:"),
    (cli.volume, "d:", "D:"),
    (cli.volume, "\\\\?\\Volume{482BDB36-8A72-40A4-9B12-912D2783EF39}\\",
     "\\\\?\\Volume{482bdb36-8a72-40a4-9b12-912d2783ef39}\\"),
    (cli.guid, "B15008D8-0C63-468C-AED7-ED4DB0CFD082", "{b15008d8-0c63-468c-aed7-ed4db0cfd082}"),
    (cli.windows_folder, "e:\\Backups\\Domino\\", "E:\\Backups\\Domino"),
    (cli.unc_path, "\\\\backupsrv\\domino\\fleet", "\\\\backupsrv\\domino\\fleet"),
])
def test_validators_normalise(func, value, expected):
    assert func("opt", value) == expected


@pytest.mark.parametrize("func, value, words", [
    (cli.drive_letter, "ZZ", "use a drive letter"),
    (cli.drive_letter, 5, "a string is required"),
    (cli.volume, "D:\\data", "drive letter such as D: or a volume GUID path"),
    (cli.alias, "1abc", "aliases are 1-32 characters"),
    (cli.alias, "a-b", "aliases are 1-32 characters"),
    (cli.guid, "{not-a-guid}", "use a GUID"),
    (cli.windows_folder, "E:\\a\\..\\b", "'.' and '..' are not allowed"),
    (cli.windows_folder, "E:\\a\nb", "may not contain '\\n'"),
    (cli.windows_folder, "E:\\%TEMP%", "may not contain '%'"),
    (cli.windows_folder, "relative\\dir", "absolute local folder"),
    (cli.windows_folder, "E:\\CON\\x", "reserved device names"),
    (cli.windows_folder, "E:\\x" * 100, "at most 240 characters"),
    (cli.unc_path, "\\\\?\\C:\\x", "no device paths"),
    (cli.unc_path, "\\\\srv\\share\\..\\x", "'.' and '..' are not allowed"),
    (cli.safe_text, "a & b", "may not contain '&'"),
    (cli.safe_text, "a | b", "may not contain '|'"),
    # "$" in a regular expression also matches before a trailing newline: these must still fail.
    (cli.alias, "abc\n", "aliases are 1-32 characters"),
    (cli.drive_letter, "Z:\n", "may not contain '\\n'"),
    (cli.volume, "D:\n", "may not contain '\\n'"),
    (cli.guid, "{b15008d8-0c63-468c-aed7-ed4db0cfd082}\n", "may not contain '\\n'"),
    (cli.drive_letter, " Z:", "use a drive letter"),
])
def test_validators_refuse_with_option_name_and_allowed_values(func, value, words):
    with pytest.raises(cli.OptionError) as err:
        func("my_option", value)
    assert str(err.value).startswith("my_option: ")
    assert words in str(err.value)


def test_resolve_tools_defaults_and_overrides():
    tools = cli.resolve_tools(None, "windows", "C:\\Program Files\\HCL\\Domino")
    assert tools["diskshadow"] == "C:\\Windows\\System32\\diskshadow.exe"
    assert tools["nserver"] == "C:\\Program Files\\HCL\\Domino\\nserver.exe"
    with pytest.raises(cli.OptionError, match="not an absolute posix path"):
        cli.resolve_tools(None, "posix")
    with pytest.raises(cli.OptionError, match="unknown tool"):
        cli.resolve_tools({"calc": "/x"}, "posix")


@pytest.mark.parametrize("writers", [True, False])
def test_scripts_leave_vss_auto_recovery_on(writers):
    """Domino's VSS writer writes its change info into the shadow copy only with auto-recovery (HCL domino-backup
    install_vss_writer.md); diskshadow turns it off only with 'set option noautorecover', which is never rendered."""
    text = ds.render(ds.render_create([("D:", "vol_d")], writers=writers, expose={"vol_d": "S:"}))
    assert "option" not in text.lower() and "noautorecover" not in text.lower()
