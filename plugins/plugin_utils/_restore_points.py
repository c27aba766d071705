# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the restore points recorded on a host (shared by the restore_point and restore actions)."""

from __future__ import annotations

from ansible_collections.quiesce.domino.plugins.module_utils import restore
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message


def read_points(action: QuiesceAction, tools: dict[str, str]) -> dict[str, dict[str, str]]:
    """Every restore point under HKLM\\SOFTWARE\\quiesce.domino\\RestorePoints, by name (one remote call)."""
    run = action.run_plan(restore.query_plan(tools, action.platform))
    if run["executor_error"]:
        raise QuiesceActionError("cannot read restore points: %s" % outcome_message(run))
    return restore.parse_points(run["steps"][0]["stdout"]) if run["steps"][0].get("rc") == 0 else {}
