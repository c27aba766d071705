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
