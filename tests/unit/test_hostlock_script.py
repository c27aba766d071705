"""The host lock script (module_utils/hostlock.py): what keeps it safe on Windows, where no test here runs it."""
from __future__ import annotations

import base64
import json

import pytest
import tree_sitter
import tree_sitter_pwsh

from ansible_collections.quiesce.domino.plugins.module_utils import hostlock
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_pwsh.language()))


def test_the_lock_script_parses_and_fits_a_command_line():
    argv = cli.powershell_argv(dict(cli.DEFAULT_TOOLS), hostlock.LOCK_SCRIPT)
    assert len(argv[-1]) < planlib.MAX_ARG_CHARS  # plan.py refuses longer arguments
    sent = base64.b64decode(argv[-1]).decode("utf-16-le")
    assert not PARSER.parse(sent.encode("utf-8")).root_node.has_error


def test_the_lock_folder_gets_an_acl_of_its_own():
    """Only SYSTEM (S-1-5-18) and Administrators (S-1-5-32-544), nothing inherited from ProgramData, where local
    users may create folders: no local user can plant or hold the lock."""
    script = hostlock.LOCK_SCRIPT
    assert "SetAccessRuleProtection($true, $false)" in script
    assert "$ok = 'S-1-5-18', 'S-1-5-32-544'" in script and "CreateDirectory($folder, (New-LockAcl))" in script
    # the parent too (ProgramData lets users create folders there), and never through a junction
    assert "foreach ($folder in @((Split-Path -Parent $in.root), $in.root))" in script and "ReparsePoint" in script
    # checked on every run, not only at creation: a folder made earlier or by someone else is reset
    assert "$d.SetAccessControl((New-LockAcl)); $fixed = $true" in script
    assert "$a.SetOwner((New-Object System.Security.Principal.SecurityIdentifier($ok[1])))" in script


def test_owner_json_is_never_read_half_written():
    """Written to a temporary file and renamed into place; a missing or unreadable one is judged by the
    directory's creation time, and a stale lock is renamed away before it is taken over."""
    script = hostlock.LOCK_SCRIPT
    assert "[IO.File]::Move($tmp, $f)" in script
    assert "GetCreationTimeUtc($Path)" in script and "Rename-Item -LiteralPath $dir" in script
    # the renamed folder must be the lock judged stale; another run's fresh lock is put back
    assert "$m.owner -eq $h.owner -and [int64]$m.since_ms -eq [int64]$h.since_ms" in script
    assert "Rename-Item -LiteralPath $away -NewName $in.name" in script
    assert "[Math]::Abs((Get-Ms) - [int64]$h.since_ms)" in script  # a lock stamped in the future is stale too


def test_the_lock_directory_is_created_by_a_call_that_fails_when_it_exists():
    """New-Item -ItemType Directory and .NET's CreateDirectory check, then create, and succeed on an existing
    directory (PowerShell FileSystemProvider.CreateDirectory; DirectoryInfo.CreateSubdirectory: "If the subdirectory
    already exists, this method does nothing"), so two runs could both take the lock; CreateDirectoryW fails with
    ERROR_ALREADY_EXISTS."""
    script = hostlock.LOCK_SCRIPT
    assert "if ([Quiesce.LockDir]::CreateDirectoryW($dir, [IntPtr]::Zero)) { break }" in script
    assert "New-Item -ItemType Directory" not in script


def test_a_locked_plan_takes_the_lock_first_and_undoes_nothing_of_another_run():
    """hostlock.locked: the lock is the first guard, with the plan's worst case as its hold; the rescue (which
    undoes this plan's work: starts Domino, removes a partial copy) runs only when the lock is this run's, and
    the lock is given back where asked."""
    tools = dict(cli.DEFAULT_TOOLS)
    step = planlib.step("work", ["C:\\Windows\\System32\\sc.exe", "query"], timeout=100)
    undo = planlib.step("undo", ["C:\\Windows\\System32\\sc.exe", "start", "x"], timeout=50)
    evidence = planlib.step("evidence", ["C:\\Windows\\System32\\sc.exe", "query", "x"], timeout=20)
    plan = planlib.build_plan("p", "windows", [step], rescue=[undo, evidence])
    import json

    def data(record):
        return json.loads(record["stdin"])
    for where, only in (("finally", None), ("steps", None), ("rescue", "evidence"), (None, None)):
        new = hostlock.locked(plan, tools, "me:1", 600, release_in=where, release_only_if_ok=only)
        first = new["guard"][0]
        assert first["name"] == hostlock.ACQUIRE_STEP and data(first)["owner"] == "me:1"
        assert data(first)["hold_seconds"] == hostlock.hold_for(plan) >= 100 + 50 + 20
        assert new["rescue"][0]["name"] == hostlock.MINE_STEP and new["rescue"][0]["ok_rc"] == [0]
        assert [s["only_if_ok"] for s in new["rescue"][1:3]] == [hostlock.MINE_STEP, hostlock.MINE_STEP]
        released = [(section, s) for section in ("steps", "rescue", "finally") for s in new[section]
                    if s["name"] == hostlock.RELEASE_STEP]
        if where is None:
            assert released == []
        else:
            [(section, release)] = released
            assert section == where and new[section][-1] is release and data(release)["action"] == "release"
            assert release["only_if_ok"] == (only if where == "rescue" else None)
    longer = hostlock.locked(plan, tools, "me:1", 600, release_in=None, hold_seconds=99999)
    assert data(longer["guard"][0])["hold_seconds"] == 99999


@pytest.mark.parametrize("method", ["shutdown", "backup_task", "vss_writer"])
def test_a_snapshot_plan_never_gives_its_lock_back_on_the_host(method):
    """The executor runs a plan's rescue before its finally (the thaw) and the watchdog's disarm: a lock given back
    in the rescue would be free while this run still starts Domino and deletes the watchdog task.  The snapshot
    plan takes the lock as its first guard and gives it back nowhere; the action frees it after the plan."""
    from ansible_collections.quiesce.domino.plugins.module_utils import plans
    tools = plans._budget_tools()
    locks = (hostlock.lock_step(tools, "acquire", "backup", "ctl:1", 600, hold_seconds=600),
             hostlock.lock_step(tools, "release", "backup", "ctl:1", 600, ok_rc="any"))
    script = "exec \"%s\"\r\nexec \"%s\"\r\n" % (plans.WAIT_CMD_PATH, plans.RELEASE_CMD_PATH)
    plan = plans.snapshot_plan(dict(plans._BUDGET_INST), method, tools, "windows", script, 1200, 120, 300, 60, 300,
                               lock_steps=locks)
    assert plan["guard"][0]["name"] == hostlock.ACQUIRE_STEP
    sections = [plan[s] for s in ("guard", "steps", "rescue", "finally")]
    if plan.get("watchdog"):
        sections += [plan["watchdog"]["arm"], plan["watchdog"]["disarm"]]
    assert not [s["name"] for section in sections for s in section if s["name"] == hostlock.RELEASE_STEP]


def test_a_plan_without_lock_takes_the_lock_for_itself_only():
    """hostlock.temporary (a task without lock): the lock is the first guard (refused while another run holds it),
    the rescue runs only when the lock is this run's, and finally gives it back unless this owner held it before."""
    tools = {"powershell": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"}
    step = planlib.step("stop Domino service", ["C:\\Windows\\System32\\sc.exe", "stop", "x"], timeout=30)
    undo = planlib.step("start Domino service", ["C:\\Windows\\System32\\sc.exe", "start", "x"], timeout=30)
    plan = planlib.build_plan("p", "windows", [step], rescue=[undo])
    new = hostlock.temporary(plan, tools, "ctl:1", 600)
    first = json.loads(new["guard"][0]["stdin"])
    assert new["guard"][0]["name"] == hostlock.ACQUIRE_STEP and first["action"] == "acquire" and first["temporary"] is True
    assert first["hold_seconds"] == hostlock.hold_for(plan)
    assert [s["name"] for s in new["rescue"]] == [hostlock.MINE_STEP, "start Domino service"]
    assert new["rescue"][0]["ok_rc"] == [0] and new["rescue"][1]["only_if_ok"] == hostlock.MINE_STEP
    release = new["finally"][-1]
    assert release["name"] == hostlock.RELEASE_STEP and json.loads(release["stdin"])["temporary"] is True
    refused = {"steps": [], "guard": [{"name": hostlock.ACQUIRE_STEP, "status": "failed", "rc": 75,
                                       "stdout": '{"acquired": false, "owner": "other:2", "since_ms": 1}'}]}
    record = hostlock.refusal(refused)
    assert record is not None and "owner other:2" in hostlock.busy_message(record)
    assert hostlock.refusal({"guard": [{"name": hostlock.ACQUIRE_STEP, "status": "ok"}], "steps": []}) is None


def test_a_temporary_lock_leaves_an_owners_lock_alone_and_is_given_back_only_by_its_executor():
    script = hostlock.LOCK_SCRIPT
    renewal = script[script.index("if ($renewed -and $in.temporary)"):]
    # a renewal as a temporary lock writes nothing and answers renewed
    assert renewal.index("exit 0") < renewal.index("WriteAllText")
    assert "renewed = $true" in renewal[:renewal.index("exit 0")]
    release = script[script.index("if ($in.action -eq 'release')"):script.index("$took = $null")]
    assert "$in.temporary" in release and "[int]$hp.Value -eq (Get-ParentPid)" in release and "Test-HolderAlive $h" in release
    assert "temporary = [bool]$in.temporary" in script
