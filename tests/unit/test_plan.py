"""Plan validation: every rule in docs/executor-contract.md, with the field named in the error."""
from __future__ import annotations

import pytest

from ansible_collections.quiesce.domino.plugins.module_utils import plan as p


def good(**over):
    plan = {"version": 1, "name": "t", "platform": "windows",
            "steps": [{"name": "s", "argv": ["C:\\Windows\\System32\\sc.exe", "query"]}]}
    plan.update(over)
    return plan


def test_defaults_are_filled_in():
    plan = p.validate_plan(good())
    step = plan["steps"][0]
    assert step == {"name": "s", "argv": ["C:\\Windows\\System32\\sc.exe", "query"], "timeout": 60, "ok_rc": [0],
                    "stdin": None, "encoding": "console", "allow_failure": False, "only_if_failed": None,
                    "only_if_ok": None, "stdin_from": None, "retry": None}
    assert plan["finally"] == [] and plan["rescue"] == [] and plan["files"] == {}
    assert plan["check_mode_safe"] is False
    assert plan["max_output_bytes"] == 1024 * 1024


def test_builders_produce_valid_plans():
    plan = p.build_plan("x", "posix", [p.step("a", ["/bin/echo", p.file_ref("f.txt")], ok_rc=p.ok_rc_range(0, 7))],
                        files={"f.txt": p.plan_file("hi")},
                        watchdog={"seconds": 30, "arm": [p.step("arm", ["/bin/true"])],
                                  "disarm": [p.step("dis", ["/bin/true"])]})
    assert plan["steps"][0]["ok_rc"] == [0, 1, 2, 3, 4, 5, 6, 7]
    assert plan["watchdog"]["seconds"] == 30


STEP = {"name": "s", "argv": ["C:\\Windows\\System32\\sc.exe"]}


@pytest.mark.parametrize("plan, words", [
    ("nope", "plan: must be a mapping"),
    (good(version=2), "version: must be 1"),
    (good(platform="macos"), "platform: must be one of windows, posix"),
    (good(name="bad\nname"), "name: required"),
    (good(name="trailing\n"), "name: required"),
    (good(files={"a.txt\n": {"content": ""}}), "file names are 1-64 characters"),
    (good(steps=[]), "steps: must hold at least one step"),
    (good(steps=[dict(STEP, argv=["sc.exe"])]), "steps[0].argv[0]: 'sc.exe' is not an absolute windows executable path"),
    (good(steps=[dict(STEP, argv=["C:\\Windows\\..\\evil.exe"])]), "is not an absolute windows executable path"),
    (good(steps=[dict(STEP, argv=["C:\\Windows\\System32\\cmd.exe", "/c", "dir"])]), "is a command interpreter"),
    (good(steps=[dict(STEP, argv=["C:\\scripts\\run.BAT"])]), "is a command interpreter"),
    (good(steps=[dict(STEP, argv=["C:\\x.exe", "a\nb"])]), "steps[0].argv[1]: contains a NUL, carriage return or newline"),
    (good(steps=[dict(STEP, argv=["C:\\x.exe", 5])]), "steps[0].argv[1]: must be a string or a file reference"),
    (good(steps=[dict(STEP, argv=["C:\\x.exe", {"file": "nope"}])]), "refers to file 'nope' which the plan does not define"),
    (good(steps=[dict(STEP, timeout=0)]), "steps[0].timeout: must be a number of seconds greater than 0"),
    (good(steps=[dict(STEP, timeout=True)]), "steps[0].timeout"),
    (good(steps=[dict(STEP, ok_rc=[])]), "steps[0].ok_rc: must be a non-empty list of integers"),
    (good(steps=[dict(STEP, encoding="latin1")]), "steps[0].encoding: must be one of console, utf-8, utf-16le"),
    (good(steps=[dict(STEP, shell=True)]), "steps[0]: unknown keys shell"),
    (good(files={"../x": {"content": ""}}), "files['../x']: file names are 1-64 characters"),
    (good(files={"a.txt": {"content": "é", "encoding": "ascii"}}), "holds non-ASCII characters"),
    (good(watchdog={"seconds": 0, "arm": [STEP], "disarm": [STEP]}), "watchdog.seconds: must be an integer from 1"),
    (good(watchdog={"seconds": 5, "arm": [], "disarm": [STEP]}), "watchdog.arm: must hold at least one step"),
    (good(max_output_bytes=10), "max_output_bytes: must be an integer from 1024"),
    (good(steps=[STEP] * 201), "at most 200 are allowed"),
    (good(extra=1), "plan: unknown keys extra"),
    (good(context=["not", "a", "mapping"]), "context: must be a mapping"),
    (good(steps=[dict(STEP, ok_rc="some")]), "must be a non-empty list of integers or 'any'"),
    (good(steps=[dict(STEP, retry={"within": 5})]), "steps[0].retry: needs until_rc or until_stdout"),
    (good(steps=[dict(STEP, retry={"within": 0, "until_rc": [0]})]), "steps[0].retry.within: must be a number"),
    (good(steps=[dict(STEP, retry={"within": 5, "until_stdout": "("})]), "is not a valid regular expression"),
    (good(steps=[dict(STEP, retry={"within": 5, "until_stdout": "a\nb"})]), "one-line regular expression"),
    (good(steps=[dict(STEP, only_if_failed="later")]), "steps[0].only_if_failed: 'later' is not an earlier step"),
    (good(steps=[dict(STEP, allow_failure="yes")]), "steps[0].allow_failure: must be true or false"),
])
def test_invalid_plans_name_the_field(plan, words):
    with pytest.raises(p.PlanError) as err:
        p.validate_plan(plan)
    assert words in str(err.value)


def test_the_context_comes_back_unchanged_from_the_posix_executor(monkeypatch):
    """A plan's context is returned with the result as it was sent (snapshot_copy state=report reads it)."""
    import json
    from ansible_collections.quiesce.domino.plugins.modules import posix_exec
    context = {"kind": "k/1", "where": {"final": "E:\\B\\x"}, "units": [{"name": "data"}]}
    plan = p.build_plan("ctx", "posix", [p.step("true", ["/bin/true"])], check_mode_safe=True, context=context)
    assert plan["context"] == context
    from ansible.module_utils import basic
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": {"plan": plan}}).encode())
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    sent = []

    class Exited(Exception):
        pass

    def exit_json(_self, **result):
        sent.append(result)
        raise Exited()
    monkeypatch.setattr(posix_exec.AnsibleModule, "exit_json", exit_json)
    with pytest.raises(Exited):
        posix_exec.main()
    assert sent and json.loads(json.dumps(sent[0]["context"])) == context and sent[0]["ok"] is True


def test_posix_paths_for_posix_plans():
    assert p.validate_plan(good(platform="posix", steps=[dict(STEP, argv=["/usr/bin/true"])]))
    with pytest.raises(p.PlanError, match="absolute posix executable"):
        p.validate_plan(good(platform="posix"))


def test_failure_message_names_step_and_reason():
    result = {"failed": {"name": "create shadow", "section": "steps", "status": "failed", "rc": 1,
                         "stdout": "line\nThe  drive letter is already in use.\n", "stderr": ""}}
    assert p.failure_message(result) == ("step 'create shadow' (steps) failed: exit code 1: "
                                         "The  drive letter is already in use.")
    timeout = {"failed": {"name": "x", "section": "finally", "status": "timeout", "error": "timed out after 5 s"}}
    assert p.failure_message(timeout) == "step 'x' (finally) failed: timed out after 5 s"
    assert p.failure_message({"failed": None}) == ""


def test_template_rendering_only_replaces_tokens():
    assert p.render_template("<a>@@WATCHDOG_DEADLINE_LOCAL@@</a>{guid}", "L", "U") == "<a>L</a>{guid}"


def test_stdin_from_names_an_earlier_main_step():
    step = {"name": "s", "argv": ["C:\\Windows\\System32\\sc.exe", "query"]}
    reader = dict(step, name="r", stdin_from="s")
    plan = p.validate_plan(good(steps=[step, reader], **{"finally": [dict(reader, name="f")]}))
    assert plan["steps"][1]["stdin_from"] == "s" and plan["finally"][0]["stdin_from"] == "s"
    with pytest.raises(p.PlanError, match=r"steps\[0\]\.stdin_from"):
        p.validate_plan(good(steps=[dict(step, stdin_from="s")]))  # not an earlier step
    with pytest.raises(p.PlanError, match=r"guard\[0\]\.stdin_from"):
        p.validate_plan(good(guard=[dict(step, name="g", stdin_from="s")]))
    with pytest.raises(p.PlanError, match=r"rescue\[0\]\.stdin_from"):
        p.validate_plan(good(rescue=[dict(step, name="g", stdin_from="s")]))
    with pytest.raises(p.PlanError, match=r"finally\[0\]\.stdin_from"):
        p.validate_plan(good(**{"finally": [dict(step, name="f", stdin_from="nowhere")]}))
    with pytest.raises(p.PlanError, match="stdin and stdin_from exclude each other"):
        p.validate_plan(good(steps=[step, dict(reader, stdin="x")]))
    with pytest.raises(p.PlanError, match=r"watchdog\.arm\[0\]\.stdin_from"):
        p.validate_plan(good(watchdog={"seconds": 30, "arm": [dict(step, name="a", stdin_from="s")]}))


def test_a_command_line_fits_createprocess():
    """One argument may take 16000 characters, the whole quoted command line 32000 (CreateProcess: 32767)."""
    exe = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    p.build_plan("x", "windows", [p.step("long", [exe, "a" * p.MAX_ARG_CHARS])])
    with pytest.raises(p.PlanError, match=r"steps\[0\].argv\[1\].*longer than 16000 characters"):
        p.build_plan("x", "windows", [p.step("long", [exe, "a" * (p.MAX_ARG_CHARS + 1)])])
    with pytest.raises(p.PlanError, match=r"command line longer than 32000 characters"):
        p.build_plan("x", "windows", [p.step("long", [exe, "a" * 15000, "b" * 15000, "c" * 3000])])
