"""Every free-form option of every module against a corpus of hostile and malformed values.

Each case must fail with a message naming the option, and the fake host proves that no plan (not even
read-only discovery) was sent: nothing reached the host."""
from __future__ import annotations

import importlib

import pytest

from test_actions_mocked import run_action

SID = "{eef6f0be-3c60-4e69-985d-3bc400a24ff1}"

HOSTILE = {
    "newline": "D:\nexec evil.cmd",
    "carriage return": "D:\rdelete shadows all",
    "environment variable": "%SystemRoot%",
    "double quote": 'D:" & calc.exe & "',
    "ampersand": "data&calc",
    "pipe": "data|calc",
    "caret and redirection": "data^>C:\\x",
    "parent folder": "..\\..\\Windows\\System32",
    "UNC device path": "\\\\?\\GLOBALROOT\\Device\\HarddiskVolume1\\x",
    "over-long": "A" * 5000,
    "NUL": "data\x00x",
    # Unicode that no path, share, service name, owner or free text needs (categories Cc, Cf, Zl, Zp, Zs but
    # the space): invisible, reorders what is shown, or ends a line for a reader that is not Python.
    "bidi override": "D:\\Domino\u202edata",
    "bidi isolate": "D:\\Domino\u2066data\u2069",
    "left-to-right mark": "D:\\Domino\u200edata",
    "line separator": "D:\\Domino\u2028exec evil.cmd",
    "paragraph separator": "D:\\Domino\u2029data",
    "next line": "D:\\Domino\x85data",
    "tab": "D:\\Domino\tdata",
    "no-break space": "D:\\Domino\xa0data",
    "ideographic space": "D:\\Domino\u3000data",
    "zero-width space": "D:\\Domino\u200bdata",
    "zero-width joiner": "D:\\Domino\u200ddata",
    "BOM": "\ufeffD:\\Domino\\data",
    # Look-alikes that Windows' best-fit conversion turns into the ASCII special for a program that reads an
    # ANSI command line (WorstFit, Orange Tsai / DEVCORE 2025; Microsoft's best-fit tables).
    "full-width backslash": "D:\\Domino\uff3c..\uff3c..\uff3cWindows",
    "full-width quote": "D:\\Domino\uff02 \uff06 calc.exe \uff06 \uff02",
    "full-width percent": "\uff05SystemRoot\uff05",
    "full-width pipe and redirection": "data\uff5ccalc\uff1eC:\\x",
    "full-width caret and backtick": "data\uff3e\uff40x",
    "full-width apostrophe and less-than": "data\uff07\uff1cx",
    "division slash": "D:\u2215Domino\u2215data",
    "reverse solidus operator": "D:\\Domino\u29f5..\u29f5Windows",
    "small reverse solidus": "D:\\Domino\ufe68..\ufe68Windows",
    "yen sign as backslash": "D:\\Domino\xa5..\xa5..\xa5Windows",
    "won sign as backslash": "D:\\Domino\u20a9..\u20a9Windows",
    "typographic quote": "D:\\Domino\u201d & calc.exe & \u201c",
    # Device names Windows reserves in every folder, spelt with the superscript digits it reads as digits.
    "superscript device name": "D:\\Domino\\COM\xb9",
    "superscript device name with extension": "D:\\Domino\\LPT\xb3.log",
    "console device name": "D:\\Domino\\CONIN$",
    "console device name on a share": "\\\\backupsrv\\domino\\CONOUT$.txt",
    "trailing dot on a share": "\\\\backupsrv\\domino\\dom01.",
    "trailing space on a share": "\\\\backupsrv\\domino\\dom01 ",
}
WRONG_TYPES = {"mapping": {"a": 1}, "nested list": [["D:"]]}

RESTIC = {"backend": "restic", "destination": "\\\\backupsrv\\domino", "source": "S:\\Domino\\data", "host_folder": "dom01"}
RESTIC_RESTORE = {"copy": "E:\\staging", "restic_snapshot": "latest", "repository": "E:\\restic", "repository_password": "pw"}
# module -> option -> the other options a call needs so that this option is the one being judged.
CASES: dict[str, dict[str, dict]] = {
    "backup_mode": {"service": {"state": "frozen", "method": "shutdown"},
                    "lock_owner": {"state": "frozen", "method": "shutdown", "lock": True}},
    "diskshadow": {
        "volumes": {"state": "present"},
        "writer_verify": {"state": "present", "volumes": ["D:"], "writers": True},
        "writer_exclude": {"state": "present", "volumes": ["D:"], "writers": True},
        "metadata": {"state": "present", "volumes": ["D:"], "writers": True},
        "expose_as": {"state": "exposed", "shadow_id": SID},
        "shadow_id": {"state": "absent"},
        "shadow_set_id": {"state": "absent"},
        "script": {},
    },
    "doctor": {"destination": {}, "save_transcripts": {}},
    "host_lock": {"owner": {"state": "present"}},
    "restore": {"restore_point": {}, "expose_as": {"restore_point": "before-upgrade"},
                "lock_owner": {"restore_point": "before-upgrade", "lock": True},
                "copy": {}, "databases": {"copy": "\\\\backupsrv\\domino\\dom01\\20261122T020000Z"},
                "restore_to": {"copy": "\\\\backupsrv\\domino\\dom01\\20261122T020000Z"},
                "service": {"copy": "\\\\backupsrv\\domino\\dom01\\20261122T020000Z"},
                "restic_snapshot": dict(RESTIC_RESTORE, restic_snapshot=None),
                "repository": dict(RESTIC_RESTORE, repository=None),
                "repository_password": dict(RESTIC_RESTORE, repository_password=None),
                "repository_password_file": dict(RESTIC_RESTORE, repository_password=None)},
    "restore_point": {
        "name": {"state": "present", "shadow_id": SID, "service": "Lotus Domino Server (DDominodata)", "data_dir": "D:\\Domino\\data"},
        "shadow_id": {"state": "present", "name": "before", "service": "Lotus Domino Server (DDominodata)", "data_dir": "D:\\Domino\\data"},
        "service": {"state": "present", "name": "before", "shadow_id": SID, "data_dir": "D:\\Domino\\data"},
        "data_dir": {"state": "present", "name": "before", "shadow_id": SID, "service": "Lotus Domino Server (DDominodata)"},
        "note": {"state": "present", "name": "before", "shadow_id": SID, "service": "Lotus Domino Server (DDominodata)",
                 "data_dir": "D:\\Domino\\data"},
        "places": {"state": "present", "name": "before", "shadow_id": SID, "service": "Lotus Domino Server (DDominodata)",
                   "data_dir": "D:\\Domino\\data"},
    },
    "shadow_info": {"volumes": {}, "older_than": {}},
    "snapshot": {
        "service": {}, "volumes": {}, "expose_as": {}, "domino_writer_id": {"method": "vss_writer"},
        "domino_writer_match": {"method": "vss_writer"}, "preflight_destination": {},
        "preflight_host_folder": {"preflight_destination": "\\\\backupsrv\\domino"}, "lock_owner": {"lock": True},
    },
    "snapshot_copy": {
        "source": {"destination": "\\\\backupsrv\\domino", "host_folder": "dom01"},
        "destination": {"source": "S:\\Domino\\data", "host_folder": "dom01"},
        "older_than": {"destination": "\\\\backupsrv\\domino", "state": "pruned", "host_folder": "dom01"},
        "host_folder": {"destination": "\\\\backupsrv\\domino", "source": "S:\\Domino\\data"},
        "delete_exposed_shadow": {"destination": "\\\\backupsrv\\domino", "source": "S:\\Domino\\data", "host_folder": "dom01"},
        "delete_shadow_set": {"destination": "\\\\backupsrv\\domino", "source": "S:\\Domino\\data", "host_folder": "dom01"},
        "unexpose_shadow": {"destination": "\\\\backupsrv\\domino", "source": "S:\\Domino\\data", "host_folder": "dom01"},
        "lock_owner": {"destination": "\\\\backupsrv\\domino", "source": "S:\\Domino\\data", "host_folder": "dom01",
                       "release_lock": True},
        "deltas_from": {"destination": "\\\\backupsrv\\domino", "source": "S:\\Domino\\data", "host_folder": "dom01"},
        "locations": {"destination": "\\\\backupsrv\\domino", "source": "S:\\Domino\\data", "host_folder": "dom01"},
        # backend restic
        "repository": dict(RESTIC, repository_password="pw"),
        "repository_password": RESTIC,
        "repository_password_file": RESTIC,
        "forget_min_age": dict(RESTIC, repository_password="pw", keep_daily=7),
        "tags": dict(RESTIC, repository_password="pw"),
    },
}
LIST_OPTIONS = {"volumes", "writer_verify", "writer_exclude", "databases", "delete_exposed_shadow", "unexpose_shadow", "tags"}
# Options that take a list of places: a good place, and the fields the hostile value goes into one after another.
PLACE_OPTIONS = {
    "locations": ({"name": "translog", "kind": "translog", "source": "T:\\translog", "path": "L:\\translog"},
                  ("source", "path")),
    "places": ({"name": "translog", "kind": "translog", "path": "L:\\translog", "shadow_id": SID}, ("path", "shadow_id", "name")),
}
# The Unicode entries of HOSTILE: invisible or line-breaking characters, and look-alikes of ASCII specials.
INVISIBLE = {"bidi override", "bidi isolate", "left-to-right mark", "line separator", "paragraph separator", "next line",
             "tab", "no-break space", "ideographic space", "zero-width space", "zero-width joiner", "BOM"}
LOOKALIKES = {"full-width backslash", "full-width quote", "full-width percent", "full-width pipe and redirection",
              "full-width caret and backtick", "full-width apostrophe and less-than", "division slash",
              "reverse solidus operator", "small reverse solidus", "yen sign as backslash", "won sign as backslash",
              "typographic quote"}
# Options that never reach the host as code, a command line or a path: only their own hazards count.
DATA_ONLY = {
    # stored as data (a registry value), but through reg.exe's command line: look-alikes of quotes count as
    # quotes do.  A device name (COM\xb9) is harmless text in a note.
    ("restore_point", "note"): {"newline", "carriage return", "over-long", "NUL"} | INVISIBLE | LOOKALIKES,
    # a Python regex on the controller: an invisible character makes it match something else than it shows.
    # Look-alikes and device names mean nothing to it (safe_text refuses look-alikes all the same).
    ("snapshot", "domino_writer_match"): {"newline", "carriage return", "over-long", "NUL"} | INVISIBLE,
    # the restic repository password goes to restic's standard input, never a command line or a path: any
    # character is a password character except what ends its one line (restic reads one line) and NUL.
    ("snapshot_copy", "repository_password"): {"newline", "carriage return", "over-long", "NUL"},
    ("restore", "repository_password"): {"newline", "carriage return", "over-long", "NUL"},
}
# Options whose value is written into a diskshadow script, which is ASCII: a letter that is normal in a data
# directory (D:\Donn\xe9es\data, which only robocopy and PowerShell read) must be refused here, by name.
SCRIPT_ASCII = {"non-ASCII letter": "C:\\Mounts\\Donn\xe9es", "non-ASCII script": "C:\\Mounts\\\u30c7\u30fc\u30bf"}
SCRIPT_OPTIONS = {("diskshadow", "expose_as"), ("diskshadow", "metadata"), ("snapshot", "expose_as")}
# Values that are hostile elsewhere but legitimately valid for one option.
VALID_HERE = {
    ("snapshot_copy", "destination", "UNC device path"),  # rejected, but as "not a share": covered by its own case
}


def _cases():
    for module, options in CASES.items():
        for option, base in options.items():
            for label, value in list(HOSTILE.items()) + list(WRONG_TYPES.items()):
                only = DATA_ONLY.get((module, option))
                if only is not None and label not in only and label not in WRONG_TYPES:
                    continue
                yield pytest.param(module, option, base, label, value, id="%s.%s-%s" % (module, option, label))
            if (module, option) in SCRIPT_OPTIONS:
                for label, value in SCRIPT_ASCII.items():
                    yield pytest.param(module, option, base, label, value, id="%s.%s-%s" % (module, option, label))


@pytest.mark.parametrize("module, option, base, label, value", list(_cases()))
def test_hostile_value_is_refused_before_the_host_is_touched(host, module, option, base, label, value):
    action = importlib.import_module("ansible_collections.quiesce.domino.plugins.action." + module)
    if option in LIST_OPTIONS and label not in WRONG_TYPES:
        value = [value]
    if option in PLACE_OPTIONS and label not in WRONG_TYPES:
        good, fields = PLACE_OPTIONS[option]
        for field in fields:
            place = dict(good, **{field: value})
            result = run_action(action, dict(base, **{option: [place]}))
            assert result.get("failed") is True, "%s.%s=%r was accepted: %s" % (option, field, value, result)
            assert option in result["msg"], result["msg"]
        assert host["plans"] == [], "a plan reached the host: %s" % [p["name"] for p in host["plans"]]
        return
    result = run_action(action, dict(base, **{option: value}))
    assert result.get("failed") is True, "%s=%r was accepted: %s" % (option, value, result)
    assert option in result["msg"], result["msg"]
    assert host["plans"] == [], "a plan reached the host: %s" % [p["name"] for p in host["plans"]]


def test_the_corpus_covers_every_free_form_option():
    """A new str/list/raw option without choices must be added to CASES (or be a number, bool or choice)."""
    missing = []
    for module in ("backup_mode", "diskshadow", "doctor", "domino_info", "host_lock", "restore", "restore_point",
                   "shadow_info", "snapshot", "snapshot_copy"):
        action = importlib.import_module("ansible_collections.quiesce.domino.plugins.action." + module)
        spec = action.ActionModule.ARGSPEC
        for option, rules in spec.items():
            if rules.get("type", "str") in ("str", "list", "path", "raw") and not rules.get("choices"):
                if option not in CASES.get(module, {}):
                    missing.append("%s.%s" % (module, option))
    assert missing == [], "options without bad-input cases: %s" % missing


def _typed_cases():
    wrong = {"int": ["ten", "5; del", {"a": 1}], "float": ["x1.5", [1.5]], "bool": ["maybe", {"a": 1}], "list": [{"a": 1}]}
    for module in ("backup_mode", "diskshadow", "doctor", "domino_info", "host_lock", "restore", "restore_point",
                   "shadow_info", "snapshot", "snapshot_copy"):
        action = importlib.import_module("ansible_collections.quiesce.domino.plugins.action." + module)
        for option, rules in action.ActionModule.ARGSPEC.items():
            for value in wrong.get(rules.get("type", "str"), []):
                base = next(iter(CASES.get(module, {}).values()), {})
                if rules.get("required") is None and module == "restore":
                    base = {"restore_point": "before-upgrade"}
                yield pytest.param(module, option, base, value, id="%s.%s-%r" % (module, option, value))


@pytest.mark.parametrize("module, option, base, value", list(_typed_cases()))
def test_wrong_type_is_refused_before_the_host_is_touched(host, module, option, base, value):
    action = importlib.import_module("ansible_collections.quiesce.domino.plugins.action." + module)
    result = run_action(action, dict(base, **{option: value}))
    assert result.get("failed") is True, "%s=%r was accepted: %s" % (option, value, result)
    assert option in result["msg"], result["msg"]
    assert host["plans"] == []
