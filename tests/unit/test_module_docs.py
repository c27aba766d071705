"""Every module's documentation is valid YAML and documents exactly its action plugin's ARGSPEC."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
ACTIONS = sorted(p.stem for p in (REPO / "plugins" / "action").glob("*.py") if p.stem != "__init__")


def docs(name: str) -> dict:
    mod = importlib.import_module("ansible_collections.quiesce.domino.plugins.modules." + name)
    return {part: yaml.safe_load(getattr(mod, part)) for part in ("DOCUMENTATION", "EXAMPLES", "RETURN")}


@pytest.mark.parametrize("name", MODULES)
def test_documentation_parses(name):
    parsed = docs(name)
    assert parsed["DOCUMENTATION"]["module"] == name
    assert parsed["EXAMPLES"], "examples are missing"
    for task in parsed["EXAMPLES"]:
        modules = [k for k in task if k.startswith("quiesce.domino.") or k.startswith("ansible.builtin.")]
        assert modules, "example %r uses no FQCN module" % task.get("name")


def test_every_action_has_documentation():
    assert set(ACTIONS) <= set(MODULES)


@pytest.mark.parametrize("name", ACTIONS)
def test_documented_options_match_the_argspec(name):
    action = importlib.import_module("ansible_collections.quiesce.domino.plugins.action." + name)
    options = docs(name)["DOCUMENTATION"].get("options") or {}
    spec = action.ActionModule.ARGSPEC
    assert set(options) == set(spec)
    for opt, want in spec.items():
        doc = options[opt]
        assert doc.get("type", "str") == want.get("type", "str"), opt
        assert doc.get("default") == want.get("default") or (doc.get("default") is None and want.get("default") in (None, [])), opt
        assert doc.get("choices") == want.get("choices"), opt
        assert bool(doc.get("required")) == bool(want.get("required")), opt
        if want.get("elements"):
            assert doc.get("elements") == want["elements"], opt


def _example_calls():
    for name in MODULES:
        for index, task in enumerate(docs(name)["EXAMPLES"]):
            for key, args in task.items():
                if key.startswith("quiesce.domino.") and key.split(".")[-1] in ACTIONS:
                    yield pytest.param(key.split(".")[-1], args or {}, id="%s-%d" % (name, index))


@pytest.mark.parametrize("action_name, args", list(_example_calls()))
def test_examples_are_valid_calls(action_name, args):
    """Every example's options exist, have the documented type and choices, and satisfy the required and
    exclusive rules (templated values are taken as valid strings)."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    action = importlib.import_module("ansible_collections.quiesce.domino.plugins.action." + action_name).ActionModule
    templated = {k for k, v in args.items() if isinstance(v, str) and "{{" in v}
    spec = {k: (dict({kk: vv for kk, vv in v.items() if kk != "elements"}, type="raw", choices=None) if k in templated else v)
            for k, v in action.ARGSPEC.items()}
    validator = ArgumentSpecValidator(spec, mutually_exclusive=action.MUTUALLY_EXCLUSIVE, required_if=action.REQUIRED_IF,
                                      required_one_of=action.REQUIRED_ONE_OF)
    result = validator.validate(dict(args))
    assert result.error_messages == []
