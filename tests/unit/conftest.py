"""Fixtures shared by the unit tests of the action plugins."""
from __future__ import annotations

import pytest

from ansible_collections.quiesce.domino.plugins.plugin_utils import executor


@pytest.fixture
def host(monkeypatch):
    """A fake Windows host: queue executor replies, collect the plans sent."""
    state = {"replies": [], "plans": []}

    def fake_run_plan(action, plan, task_vars, wrap_async=False):
        assert plan["platform"] == "windows"
        state["plans"].append(plan)
        if not state["replies"]:
            raise AssertionError("unexpected plan %s" % plan["name"])
        return state["replies"].pop(0)
    monkeypatch.setattr(executor, "run_plan", fake_run_plan)
    return state
