"""The POSIX executor passes every contract vector (tests/contract/vectors.json)."""
from __future__ import annotations

import sys

import pytest
from contract.harness import check_outcome, expand_plan, load_vectors

from ansible_collections.quiesce.domino.plugins.module_utils.plan import validate_plan
from ansible_collections.quiesce.domino.plugins.modules.posix_exec import execute_plan

PROBE = [sys.executable, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "contract" / "probe.py")]


@pytest.mark.parametrize("vector", load_vectors(), ids=lambda v: v["name"])
def test_posix_executor_obeys_contract(vector, tmp_path):
    plan = validate_plan(expand_plan(vector, "posix", PROBE, str(tmp_path / "no-such-tool.exe"), str(tmp_path)))
    result = execute_plan(plan)
    result["failed_step"] = result.pop("failed")
    assert check_outcome(result, vector["expect"], str(tmp_path)) == []
