"""module_utils/restic.py: option checks, argv, restic 0.14's JSON output, the host-side comparison step, the
forget guards and the password kept out of argv and shown plans."""
from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import restic as rs
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

TOOLS = cli.resolve_tools(None, "windows")

# restic 0.14.0 (Debian), captured on this machine: backup --json (status and summary)
BACKUP_OUT = (
    '{"message_type":"status","percent_done":0,"total_files":1,"total_bytes":200000}\n'
    '{"message_type":"summary","files_new":2,"files_changed":0,"files_unmodified":0,"dirs_new":2,"dirs_changed":0,'
    '"dirs_unmodified":0,"data_blobs":2,"tree_blobs":3,"data_added":201405,"total_files_processed":2,'
    '"total_bytes_processed":200003,"total_duration":0.218427603,"snapshot_id":"5597edf0"}\n')
UNITS = [{"prefix": "data\\", "source": "Z:\\Domino\\data"}, {"prefix": "daos\\", "source": "Y:\\DAOS"},
         {"prefix": "files\\", "source": "Z:\\Domino"}]


def test_restic_path_is_how_restic_stores_a_windows_path():
    assert rs.restic_path("Z:\\Domino\\data") == "/Z/Domino/data"
    assert rs.restic_path("z:\\") == "/Z"


def test_backup_summary_is_read():
    summary = rs.backup_summary(BACKUP_OUT)
    assert summary["data_added"] == 201405 and summary["snapshot_id"] == "5597edf0"
    assert rs.backup_summary('{"message_type":"status"}\nFatal: wrong password or no key found\n') is None


def _compare_data(step):
    import base64
    script = base64.b64decode(step["argv"][-1]).decode("utf-16-le")
    return script, json.loads(step["stdin"])


def test_the_comparison_runs_on_the_host_with_the_listing_file_and_restic_ls_of_this_run():
    step = rs.compare_step(TOOLS, "\\\\backup\\restic", None, "C:\\ProgramData\\restic.pw", "run:20261123T020000Z", "dom01",
                           rs.manifest_path("dom01", "20261123T020000Z"), UNITS, 3600)
    script, data = _compare_data(step)
    assert script.startswith("# quiesce.domino:restic_compare\n") and step["name"] == rs.COMPARE_STEP and step["timeout"] == 3600
    assert data["manifest"] == "C:\\ProgramData\\quiesce.domino\\restic\\dom01\\manifest-20261123T020000Z.tsv"
    assert data["argv"] == [TOOLS["restic"], "--repo", "\\\\backup\\restic", "--quiet", "--password-file",
                            "C:\\ProgramData\\restic.pw", "ls", "--json", "--host", "dom01", "--tag", "run:20261123T020000Z",
                            "latest"]
    assert data["password"] is None and data["limit"] == 20
    # a manifest row <name>\<rel> is the snapshot's file <restic path of the source>/<rel>
    assert data["units"] == [{"prefix": "data\\", "root": "/Z/Domino/data"}, {"prefix": "daos\\", "root": "/Y/DAOS"},
                             {"prefix": "files\\", "root": "/Z/Domino"}]


@pytest.mark.parametrize("secret", ["s3cret %x& (pw)", 'quote " and back\\slash', "pässwörd ✓"])
def test_a_password_inside_the_comparison_data_is_no_logged_and_redacted(secret):
    """The compare script's data is JSON: the password in it is escaped (quotes, backslashes, non-ASCII), and is
    found and hidden all the same."""
    step = rs.compare_step(TOOLS, "E:\\restic", secret, None, "run:x", "dom01", "C:\\m.tsv", UNITS, 600)
    assert json.loads(step["stdin"])["password"] == secret and not any(secret in a for a in step["argv"])
    plan = planlib.build_plan("restic backup", "windows", [step])
    assert rs.carries_secret(plan, secret)
    shown = json.dumps(rs.redact_plan(plan, secret))
    assert secret not in shown and json.dumps(secret)[1:-1] not in shown
    assert not rs.carries_secret(plan, "another password")


@pytest.mark.parametrize("record, expected", [
    ({"rc": 0, "stdout": '{"snapshot_id":"ab","snapshot_time":"t","files":3,"difference_count":0,"differences":[]}\r\n'},
     {"snapshot_id": "ab", "snapshot_time": "t", "files": 3, "difference_count": 0, "differences": []}),
    ({"rc": 1, "stdout": '{"snapshot_id":"ab","files":3,"difference_count":2,"differences":["missing in the snapshot: '
                         'data\\\\a.nsf"]}'},
     {"snapshot_id": "ab", "files": 3, "difference_count": 2, "differences": ["missing in the snapshot: data\\a.nsf"]}),
    ({"rc": 3, "stdout": "", "stderr": "Fatal: wrong password or no key found"}, None),
    ({"rc": 0, "stdout": "not json"}, None),
    ({"rc": 0, "stdout": '{"files": 3}'}, None),
    (None, None),
])
def test_the_comparisons_verdict_is_read_only_from_a_finished_comparison(record, expected):
    assert rs.compare_verdict(record) == expected


def test_forget_guards_keep_the_newest_verified_and_young_snapshots():
    dry = json.dumps([{"host": "dom01", "keep": [], "remove": [
        {"id": "a" * 64, "time": "2026-11-20T02:00:00Z"},
        {"id": "b" * 64, "time": "2026-11-23T01:00:00+01:00"},
        {"id": "c" * 64, "time": "2026-11-10T02:00:00Z"},
    ]}])
    now = int(datetime.datetime(2026, 11, 23, 2, 0, tzinfo=datetime.timezone.utc).timestamp())
    forget, kept = rs.guard_forget(rs.forget_candidates(dry), ["cccccccc"], 86400, now)
    assert forget == ["a" * 64]
    reasons = {k["id"]: k["reason"] for k in kept}
    assert reasons == {"b" * 64: "younger than the minimum age", "c" * 64: "the newest verified snapshot"}


def test_the_password_goes_to_stdin_never_argv_and_is_redacted_in_a_shown_plan():
    secret = "s3cret %x& (pw)"
    step = rs.step(rs.BACKUP_STEP, TOOLS, "E:\\restic", secret, None,
                   rs.backup_args(["Z:\\Domino\\data"], "dom01", ["quiesce.domino"]))
    assert step["stdin"] == secret + "\n" and not any(secret in a for a in step["argv"])
    assert step["argv"][:4] == [TOOLS["restic"], "--repo", "E:\\restic", "--quiet"]
    # no --time: restic would read it as the host's local time; it stamps the backup's start itself
    assert step["argv"][-1] == "Z:\\Domino\\data" and "--time" not in step["argv"]
    plan = planlib.build_plan("restic backup", "windows", [step])
    assert rs.carries_secret(plan, secret)
    shown = rs.redact_plan(plan, secret)
    assert secret not in json.dumps(shown) and shown["steps"][0]["stdin"] == rs.REDACTED
    assert plan["steps"][0]["stdin"] == secret + "\n"  # the plan itself is unchanged
    with_file = rs.step(rs.CHECK_STEP, TOOLS, "E:\\restic", None, "C:\\ProgramData\\restic.pw", rs.check_args(""))
    assert with_file.get("stdin") is None and "--password-file" in with_file["argv"]


@pytest.mark.parametrize("value, shown", [(0.05, "5%"), (0.025, "2.5%"), (1, "100%"), ("0.1", "10%"), (0, "")])
def test_read_fraction_becomes_a_percentage(value, shown):
    assert rs.read_fraction("verify_read_fraction", value) == shown
    assert rs.check_args(shown) == (["check", "--read-data-subset=%s" % shown] if shown else ["check"])


@pytest.mark.parametrize("value", [-0.1, 1.5, "half", True])
def test_read_fraction_out_of_range_is_refused(value):
    with pytest.raises(cli.OptionError, match="verify_read_fraction"):
        rs.read_fraction("verify_read_fraction", value)


@pytest.mark.parametrize("value", ["E:\\restic", "\\\\backupsrv\\restic\\dom01", "rest:https://backup.example:8000/dom01",
                                   "sftp:restic@backup.example:/srv/restic"])
def test_repository_forms(value):
    assert rs.repository("repository", value) == value


@pytest.mark.parametrize("value", ["s3:s3.amazonaws.com/bucket", "rest:https://user:pw@host/repo", "relative\\repo",
                                   "sftp:restic@host:/srv/../etc", "rest:https://host/a b"])
def test_repository_refused(value):
    with pytest.raises(cli.OptionError, match="^repository"):
        rs.repository("repository", value)


@pytest.mark.parametrize("value", ["a,b", "has space", "", "x" * 200, "-leading"])
def test_tag_refused(value):
    with pytest.raises(cli.OptionError, match="tags"):
        rs.tag("tags[0]", value)


def test_password_rules_never_echo_it():
    for bad in ("two\nlines", "", "x" * 2000, "nul\x00"):
        with pytest.raises(cli.OptionError) as err:
            rs.password("repository_password", bad)
        assert bad not in str(err.value) or bad == ""


@pytest.mark.parametrize("text, words", [
    ("unable to create lock in backend: repository is already locked exclusively by PID 20103 on vm by root",
     "locked by another restic process"),
    ("Fatal: wrong password or no key found", "wrong repository password"),
    ("Fatal: unable to open config file: stat E:\\restic\\config: The network path was not found.\n"
     "Is there a repository at the following location?", "unreachable or not initialized"),
    ("Fatal: unable to save snapshot: write E:\\restic\\data: There is not enough space on the disk.", "disk is full"),
    ("Fatal: something else", "restic exit code 1 (fatal error (no snapshot was created)): Fatal: something else"),
])
def test_failures_are_explained(text, words):
    assert words in rs.explain_failure({"rc": 1, "stderr": text, "stdout": "", "status": "failed"})


def test_forget_dry_run_args_only_look_at_the_collections_snapshots():
    args = rs.forget_dry_run_args("dom01", rs.keep_rules("keep", {"daily": 7, "weekly": 0, "monthly": 3}))
    assert args == ["forget", "--dry-run", "--json", "--host", "dom01", "--tag", "quiesce.domino,quiesce.domino:verified", "--group-by", "host",
                    "--keep-daily", "7", "--keep-monthly", "3"]


def test_the_module_call_that_carries_the_password_runs_with_no_log_and_the_failure_is_explained(monkeypatch):
    """snapshot_copy backend=restic on a mocked Windows host: the executor call that carries the password is made with
    the task's no_log set (no invocation log on the host), which is restored afterwards; the password is never in
    the result or its message."""
    from unittest.mock import MagicMock
    from ansible_collections.quiesce.domino.plugins.action import snapshot_copy
    from ansible_collections.quiesce.domino.plugins.plugin_utils import executor
    secret = "pw for the mocked host"
    seen = []

    def fake_run_plan(action, plan, task_vars, wrap_async=False):
        seen.append((plan["name"], action._task.no_log, json.dumps(plan)))
        record = {"name": rs.OPEN_STEP, "status": "failed", "rc": 1, "stdout": "",
                  "stderr": "Fatal: wrong password or no key found\n"}
        return {"ok": False, "skipped": False, "failed_step": dict(record, section="steps"), "steps": [record],
                "finally": [], "executor_error": None}
    monkeypatch.setattr(executor, "run_plan", fake_run_plan)
    task = MagicMock()
    task.args = {"backend": "restic", "source": "S:\\Domino\\data", "destination": "E:\\restic", "host_folder": "dom01",
                 "repository_password": secret}
    task.async_val = 0
    task.check_mode = False
    task.no_log = False
    connection = MagicMock()
    connection._shell._IS_WINDOWS = True
    templar = MagicMock()
    templar.template.side_effect = lambda value, **kw: value
    action = snapshot_copy.ActionModule(task, connection, MagicMock(), MagicMock(), templar, None)
    result = action.run(task_vars={"inventory_hostname": "dom01"})
    assert [(name, no_log) for name, no_log, _plan in seen] == [("restic backup", True)]
    assert secret in seen[0][2]  # the plan itself carries it on standard input, only
    assert task.no_log is False
    assert result["failed"] is True and "wrong repository password" in result["msg"]
    assert secret not in json.dumps(result, default=str)


def test_places_that_share_a_name_get_a_prefix_each():
    """The single files of two folders (notes.ini in the program directory, the server ID elsewhere) are both
    named files: their manifest rows must map back to their own folder."""
    units = [{"name": "data"}, {"name": "files"}, {"name": "translog"}, {"name": "files"}]
    assert rs.unit_prefixes(units) == ["data\\", "files\\", "translog\\", "files#4\\"]
    assert rs.unit_prefixes([{"name": "data"}]) == ["data\\"]


def test_only_snapshots_marked_verified_are_restored_as_latest_or_kept_by_retention():
    """A snapshot is tagged quiesce.domino:verified only after the comparison and restic check passed; one left
    behind without it (a lost connection before the mark) is never restore's latest nor counted by retention."""
    assert rs.mark_args("run:x", "dom01") == ["tag", "--host", "dom01", "--tag", "run:x", "--add", rs.VERIFIED_TAG]
    assert rs.marked_args("run:x", "dom01")[-1] == "run:x," + rs.VERIFIED_TAG
    latest = rs.restore_args("latest", "C:\\r", [], host="dom01")
    assert latest[latest.index("--tag") + 1] == "quiesce.domino,quiesce.domino:verified"
    forget = rs.forget_dry_run_args("dom01", {"daily": 7})
    assert forget[forget.index("--tag") + 1] == "quiesce.domino,quiesce.domino:verified"


def test_restore_includes_match_without_case():
    args = rs.restore_args("5597edf0", "C:\\r", ["/Z/Domino/data/Mail/User.nsf"])
    assert args[-2:] == ["--iinclude", "/Z/Domino/data/Mail/User.nsf"] and "--include" not in args


@pytest.mark.parametrize("value", [0.00001, 1e-9])
def test_a_read_fraction_too_small_to_be_a_percentage_is_refused(value):
    with pytest.raises(cli.OptionError, match="at least 0.0001"):
        rs.read_fraction("verify_read_fraction", value)
    assert rs.read_fraction("verify_read_fraction", 0.0001) == "0.01%"


def test_a_rest_address_with_credentials_is_refused_without_repeating_them():
    with pytest.raises(cli.OptionError) as error:
        rs.repository("repository", "rest:https://backup:s3cret@restic.example.com:8000/dom01")
    assert "s3cret" not in str(error.value) and "//***@" in str(error.value)


def test_exit_code_3_an_incomplete_snapshot_fails_the_backup_step_and_is_explained():
    """restic backup exits 3 when some source files could not be read: an incomplete snapshot, never a backup.  The
    step accepts only 0, so the plan fails there; the action forgets the snapshot and says why."""
    step = rs.step(rs.BACKUP_STEP, TOOLS, "E:\\restic", "pw", None, rs.backup_args(["Z:\\Domino\\data"], "dom01", []))
    assert step["ok_rc"] == [0]
    why = rs.explain_failure({"rc": 3, "status": "failed", "stdout": "",
                              "stderr": "error: open Z:\\Domino\\data\\mail\\locked.nsf: Access is denied.\n"})
    assert why.startswith("restic exit code 3 (some source files could not be read (an incomplete snapshot was created))")
    assert "locked.nsf: Access is denied." in why
