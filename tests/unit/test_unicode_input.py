"""The character rules of windows_cli: Unicode no path, share, service name, owner or free text needs,
look-alikes of ASCII specials, device names spelt with superscript digits, and ASCII-only diskshadow scripts.

Sources: Microsoft "Naming Files, Paths, and Namespaces" (COM\u00b9 ... LPT\u00b3 are reserved); Orange Tsai /
DEVCORE, "WorstFit: Unveiling Hidden Transformers in Windows ANSI" (2025) and Microsoft's best-fit tables
(full-width and other look-alikes become the ASCII character for a program that reads ANSI text)."""
from __future__ import annotations

import unicodedata

import pytest

from test_actions_mocked import run_action

from ansible_collections.quiesce.domino.plugins.action import diskshadow as diskshadow_action
from ansible_collections.quiesce.domino.plugins.action import snapshot as snapshot_action
from ansible_collections.quiesce.domino.plugins.module_utils import diskshadow as ds
from ansible_collections.quiesce.domino.plugins.module_utils import hostlock
from ansible_collections.quiesce.domino.plugins.module_utils import restore
from ansible_collections.quiesce.domino.plugins.module_utils import robocopy as rc
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

SID = "{eef6f0be-3c60-4e69-985d-3bc400a24ff1}"

# (character, its name as the message must give it)
INVISIBLE = [
    ("\u202e", "RIGHT-TO-LEFT OVERRIDE"), ("\u202a", "LEFT-TO-RIGHT EMBEDDING"), ("\u202b", "RIGHT-TO-LEFT EMBEDDING"),
    ("\u202c", "POP DIRECTIONAL FORMATTING"), ("\u202d", "LEFT-TO-RIGHT OVERRIDE"), ("\u2066", "LEFT-TO-RIGHT ISOLATE"),
    ("\u2067", "RIGHT-TO-LEFT ISOLATE"), ("\u2068", "FIRST STRONG ISOLATE"), ("\u2069", "POP DIRECTIONAL ISOLATE"),
    ("\u200e", "LEFT-TO-RIGHT MARK"), ("\u200f", "RIGHT-TO-LEFT MARK"), ("\u2028", "LINE SEPARATOR"),
    ("\u2029", "PARAGRAPH SEPARATOR"), ("\x85", "NEXT LINE"), ("\xa0", "NO-BREAK SPACE"), ("\u200b", "ZERO WIDTH SPACE"),
    ("\u200c", "ZERO WIDTH NON-JOINER"), ("\u200d", "ZERO WIDTH JOINER"), ("\ufeff", "ZERO WIDTH NO-BREAK SPACE"),
    ("\u3000", "IDEOGRAPHIC SPACE"), ("\u202f", "NARROW NO-BREAK SPACE"), ("\xad", "SOFT HYPHEN"),
    ("\u2060", "WORD JOINER"), ("\t", "CHARACTER TABULATION"), ("\x1b", "ESCAPE"), ("\x7f", "DELETE"),
]
# (character, its name, the ASCII character best-fit conversion makes of it)
LOOKALIKES = [
    ("\uff3c", "FULLWIDTH REVERSE SOLIDUS", "\\"), ("\uff02", "FULLWIDTH QUOTATION MARK", '"'),
    ("\uff05", "FULLWIDTH PERCENT SIGN", "%"), ("\uff06", "FULLWIDTH AMPERSAND", "&"),
    ("\uff5c", "FULLWIDTH VERTICAL LINE", "|"), ("\uff1c", "FULLWIDTH LESS-THAN SIGN", "<"),
    ("\uff1e", "FULLWIDTH GREATER-THAN SIGN", ">"), ("\uff3e", "FULLWIDTH CIRCUMFLEX ACCENT", "^"),
    ("\uff40", "FULLWIDTH GRAVE ACCENT", "`"), ("\uff07", "FULLWIDTH APOSTROPHE", "'"),
    ("\u2215", "DIVISION SLASH", "/"), ("\u29f5", "REVERSE SOLIDUS OPERATOR", "\\"),
    ("\ufe68", "SMALL REVERSE SOLIDUS", "\\"), ("\xa5", "YEN SIGN", "\\"), ("\u20a9", "WON SIGN", "\\"),
    ("\uffe5", "FULLWIDTH YEN SIGN", "\\"), ("\u201c", "LEFT DOUBLE QUOTATION MARK", '"'),
    ("\u2019", "RIGHT SINGLE QUOTATION MARK", "'"), ("\u02ba", "MODIFIER LETTER DOUBLE PRIME", '"'),
    ("\u066a", "ARABIC PERCENT SIGN", "%"), ("\u2236", "RATIO", ":"),
]
SUPERSCRIPT_DEVICES = ["COM\xb9", "COM\xb2", "COM\xb3", "LPT\xb9", "LPT\xb2", "LPT\xb3"]
# Paths and text with letters of other scripts: allowed as before.
LEGITIMATE = ["D:\\Donn\xe9es\\data", "E:\\Sauvegardes\\Soci\xe9t\xe9 G\xe9n\xe9rale", "D:\\\u30c7\u30fc\u30bf\\Domino",
              "D:\\Stra\xdfe\\\u0394\u03bf\u03bc\u03af\u03bd\u03bf", "D:\\Donne\u0301es", "D:\\\uff24\uff4f\uff4d\uff49\uff4e\uff4f"]


def _refused(func, *args):
    with pytest.raises(cli.OptionError) as err:
        func(*args)
    return str(err.value)


# ------------------------------------------------------------------ the rule itself

@pytest.mark.parametrize("ch, name", INVISIBLE, ids=[n for _c, n in INVISIBLE])
def test_invisible_and_separator_characters_are_refused_by_name(ch, name):
    assert cli.char_label(ch) == "U+%04X %s" % (ord(ch), name)
    assert cli.char_problem(ch) is not None
    for func in (cli.safe_text, cli.windows_folder, cli.service_name):
        value = "D:\\Domino" + ch + "data" if func is not cli.service_name else "Domino" + ch + "Server"
        msg = _refused(func, "my_option", value)
        assert msg.startswith("my_option: "), msg
        if ch not in cli.UNSAFE_CHARS:
            assert "U+%04X %s" % (ord(ch), name) in msg, msg


@pytest.mark.parametrize("ch, name, ascii", LOOKALIKES, ids=[n for _c, n, _a in LOOKALIKES])
def test_lookalikes_of_ascii_specials_are_refused_naming_both(ch, name, ascii):
    assert unicodedata.name(ch) == name
    assert cli.lookalike_of(ch) == ascii
    msg = _refused(cli.windows_folder, "path", "D:\\Domino" + ch + "data")
    assert msg.startswith("path: "), msg
    assert "U+%04X %s" % (ord(ch), name) in msg
    assert "look-alike of %s %s" % (ascii, unicodedata.name(ascii)) in msg
    assert "best-fit" in msg


def test_the_message_of_the_issue():
    msg = _refused(cli.windows_folder, "path", "D:\\Domino\u202edata")
    assert msg.startswith("path: 'D:\\\\Domino\\u202edata' is not valid; it contains U+202E RIGHT-TO-LEFT OVERRIDE"), msg


def test_several_characters_are_named_once_each():
    msg = _refused(cli.safe_text, "note", "a\u200bb\u200bc\uff02d")
    assert msg.count("U+200B ZERO WIDTH SPACE") == 1
    assert "U+FF02 FULLWIDTH QUOTATION MARK" in msg and msg.endswith(")")


def test_every_control_format_separator_and_odd_space_of_the_bmp_is_refused():
    refused = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
    for code in range(0x10000):
        ch = chr(code)
        category = unicodedata.category(ch)
        if category in refused or (category == "Zs" and ch != " "):
            assert cli.char_problem(ch) is not None, "U+%04X %s (%s)" % (code, unicodedata.name(ch, "?"), category)


def test_every_full_width_form_of_an_ascii_special_is_refused():
    for code in range(0xFF01, 0xFF5F):
        ascii = chr(code - 0xFEE0)
        if ascii in cli.SPECIALS:
            assert cli.lookalike_of(chr(code)) == ascii
            assert cli.char_problem(chr(code)) is not None
        elif ascii.isalnum():
            assert cli.char_problem(chr(code)) is None  # full-width letters and digits are letters and digits


def test_tags_and_private_use_and_unassigned_code_points_are_refused():
    for ch in ("\U000e0041", "\ue000", "\U000f0000", "\ud800"):
        assert cli.char_problem(ch) is not None
    unassigned = "\U0003fffe"
    assert unicodedata.category(unassigned) == "Cn"
    assert "U+3FFFE <unassigned>" in _refused(cli.safe_text, "note", "x" + unassigned)


@pytest.mark.parametrize("value", LEGITIMATE)
def test_letters_of_any_script_stay_allowed_in_paths_and_text(value):
    assert cli.windows_folder("data_dir", value) == value
    assert cli.safe_text("note", value.replace("\\", " ")) == value.replace("\\", " ")
    assert cli.unc_path("destination", "\\\\backupsrv\\domino" + value[2:]) == "\\\\backupsrv\\domino" + value[2:]
    assert restore.relative_path("databases", value[3:] + "\\mail.nsf") == value[3:] + "\\mail.nsf"
    assert cli.service_name("service", "Domino (%s)" % value[3:].replace("\\", " ")) is not None


def test_ascii_is_untouched_by_the_rule():
    for code in range(0x20, 0x7f):
        assert cli.char_problem(chr(code)) is None
    assert cli.windows_folder("data_dir", "D:\\Lotus Domino\\data (1)") == "D:\\Lotus Domino\\data (1)"


# ------------------------------------------------------------------ device names

@pytest.mark.parametrize("name", SUPERSCRIPT_DEVICES + [n.lower() for n in SUPERSCRIPT_DEVICES]
                         + ["COM\xb9.log", "lpt\xb3.tar.gz", "\uff23\uff2f\uff2d\uff11"])
def test_device_names_with_superscript_digits_are_reserved(name):
    assert cli.is_reserved_name(name)
    assert "reserved device names" in _refused(cli.windows_folder, "restore_to", "D:\\Domino\\" + name + "\\x")
    assert "reserved device names" in _refused(cli.unc_path, "destination", "\\\\backupsrv\\domino\\" + name)
    assert "reserved device names" in _refused(restore.relative_path, "databases", "mail\\" + name)
    assert _refused(cli.windows_folder, "restore_to", "D:\\" + name).startswith("restore_to: ")


@pytest.mark.parametrize("name", ["COM0", "COM10", "COM\xb9x", "COMMON", "LPT", "CONSOLE", "NULL.nsf", "COM\xb9data"])
def test_names_that_only_look_like_devices_stay_allowed(name):
    assert not cli.is_reserved_name(name)
    assert cli.windows_folder("restore_to", "D:\\" + name) == "D:\\" + name


@pytest.mark.parametrize("component", ["\uff0e\uff0e", "\u2025", ".\uff0e", "\u2024"])
def test_parent_folder_spelt_with_lookalike_dots_is_refused(component):
    assert cli.is_dot_component(component)
    assert "'..' are not allowed" in _refused(cli.windows_folder, "source", "D:\\Domino\\%s\\Windows" % component)
    assert "'..' are not allowed" in _refused(cli.unc_path, "destination", "\\\\srv\\share\\%s\\x" % component)


# ------------------------------------------------------------------ every validator names the character

@pytest.mark.parametrize("func, option, value, shown", [
    (cli.service_name, "service", "HCL Domino\u202e (DDominodata)", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    (cli.drive_letter, "expose_as", "\uff3a:", None),  # a full-width letter is a letter, but no drive letter
    (cli.drive_letter, "expose_as", "Z:\uff3c", "U+FF3C FULLWIDTH REVERSE SOLIDUS"),
    (cli.volume, "volumes[0]", "D:\u200b", "U+200B ZERO WIDTH SPACE"),
    (cli.guid, "shadow_id", "\uff5b" + SID[1:-1] + "\uff5d", None),
    (cli.guid, "shadow_id", SID + "\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    (cli.destination, "destination", "\\\\backupsrv\\domino\u2028x", "U+2028 LINE SEPARATOR"),
    (cli.destination, "destination", "\\\\backupsrv\\domino\\\xa5..\xa5x", "U+00A5 YEN SIGN"),
    (hostlock.owner, "lock_owner", "ctl01:4242\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    (hostlock.owner, "lock_owner", "ctl01\uff1a4242", "U+FF1A FULLWIDTH COLON"),
    (rc.host_folder, "host_folder", "dom01\u200d", "U+200D ZERO WIDTH JOINER"),
    (rc.host_folder, "host_folder", "dom01\uff0f..", "U+FF0F FULLWIDTH SOLIDUS"),
    (restore.point_name, "name", "before\u2066upgrade", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    (restore.relative_path, "databases", "mail\uff3c..\uff3cnames.nsf", "U+FF3C FULLWIDTH REVERSE SOLIDUS"),
    (restore.relative_path, "databases", "mail\\jdoe\x85.nsf", "U+0085 NEXT LINE"),
])
def test_each_validator_refuses_and_names_the_character(func, option, value, shown):
    msg = _refused(func, option, value)
    assert msg.startswith(option + ": "), msg
    if shown:
        assert shown in msg, msg


def test_tool_overrides_are_checked_too():
    msg = _refused(cli.resolve_tools, {"robocopy": "C:\\Tools\u202e\\robocopy.exe"}, "windows")
    assert msg.startswith("quiesce_domino_tools.robocopy: ") and "U+202E" in msg


# ------------------------------------------------------------------ ASCII diskshadow scripts

def test_a_non_ascii_mount_folder_is_refused_before_the_host_is_touched(host):
    result = run_action(diskshadow_action, {"state": "exposed", "shadow_id": SID, "expose_as": "C:\\Mounts\\Donn\xe9es"})
    assert result["failed"] is True
    assert result["msg"].startswith("expose_as: "), result["msg"]
    assert "U+00E9 LATIN SMALL LETTER E WITH ACUTE" in result["msg"] and "ASCII" in result["msg"]
    assert host["plans"] == []


def test_a_non_ascii_metadata_path_is_refused_before_the_host_is_touched(host):
    result = run_action(diskshadow_action, {"state": "present", "volumes": ["D:"], "writers": True,
                                            "metadata": "C:\\Temp\\m\xe9ta.cab"})
    assert result["failed"] is True and result["msg"].startswith("metadata: "), result["msg"]
    assert "U+00E9" in result["msg"]
    assert host["plans"] == []


def test_snapshot_expose_as_must_be_ascii(host):
    result = run_action(snapshot_action, {"expose_as": "C:\\Mounts\\\u30c7\u30fc\u30bf"})
    assert result["failed"] is True and result["msg"].startswith("expose_as: "), result["msg"]
    assert "U+30C7 KATAKANA LETTER DE" in result["msg"]
    assert host["plans"] == []


def test_render_names_the_non_ascii_character():
    with pytest.raises(ds.DiskShadowError) as err:
        ds.render(ds.render_expose(SID, "C:\\Mounts\\Donn\xe9es"))
    assert "U+00E9 LATIN SMALL LETTER E WITH ACUTE" in str(err.value)


@pytest.mark.parametrize("script, shown", [
    ("add volume d:\u2028delete shadows all", "U+2028 LINE SEPARATOR"),
    ("expose %vol_d% C:\\Mounts\\Donn\xe9es", "U+00E9 LATIN SMALL LETTER E WITH ACUTE"),
    ("add volume d:\x0bdelete shadows all", "U+000B LINE TABULATION"),
    ("delete shadows exposed \uff3a:", "U+FF3A FULLWIDTH LATIN CAPITAL LETTER Z"),
])
def test_a_user_script_names_the_character_it_may_not_hold(script, shown):
    msg = _refused(ds.check_user_script, "script", script)
    assert msg.startswith("script: line 1: diskshadow scripts are ASCII only"), msg
    assert shown in msg


def test_a_user_script_may_still_be_indented_with_tabs():
    assert ds.check_user_script("script", "set context persistent\n\tadd volume d:\talias x\ncreate") == [
        "set context persistent", "add volume d:\talias x", "create"]
