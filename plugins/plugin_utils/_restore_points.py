# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the restore points recorded on a host (shared by the restore_point and restore actions)."""

from __future__ import annotations

from ansible_collections.quiesce.domino.plugins.module_utils import restore
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message


def read_points(action: QuiesceAction, tools: dict[str, str]) -> dict[str, dict[str, str]]:
    """Every restore point under HKLM\\SOFTWARE\\quiesce.domino\\RestorePoints, by name (one remote call)."""
    run = action.run_plan(restore.query_plan(tools, action.platform))
    if run["executor_error"]:
        raise QuiesceActionError("cannot read restore points: %s" % outcome_message(run))
    return restore.parse_points(run["steps"][0]["stdout"]) if run["steps"][0].get("rc") == 0 else {}


def kept_shadow_ids(points: dict[str, dict[str, str]]) -> list[str]:
    """Every shadow copy ID the restore points need (every GUID of a damaged record too), lower case."""
    kept: list[str] = []
    for point in points.values():
        try:
            ids = restore.point_shadow_ids(point)
        except cli.OptionError:
            ids = restore.raw_shadow_ids(point)  # a damaged record still keeps every shadow it names
        kept += [i.lower() for i in ids if i.lower() not in kept]
    return kept
