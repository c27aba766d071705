# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for quiesce.domino.restore (documentation: plugins/modules/restore.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.quiesce.domino.plugins.action.restore_point import read_points
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import restore
from ansible_collections.quiesce.domino.plugins.module_utils import robocopy as rc
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message, step_summary

ARGSPEC = {
    "restore_point": {"type": "str", "required": True},
    "expose_as": {"type": "str", "default": "R:"},
    "timeout": {"type": "int", "default": 21600},
}


class ActionModule(QuiesceAction):
    ARGSPEC = ARGSPEC

    def perform(self, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        name = restore.point_name("restore_point", args["restore_point"])
        letter = cli.drive_letter("expose_as", args["expose_as"])
        timeout = cli.int_range("timeout", args["timeout"], 60, 604800)
        tools = self.tools()
        point = restore.find_point(read_points(self, tools), name)
        if point is None:
            raise QuiesceActionError("restore_point: %s is not recorded on this host" % name)
        plan = restore.restore_plan(tools, self.platform, point["Service"], cli.guid("ShadowId", point["ShadowId"]),
                                    cli.windows_folder("DataDir", point["DataDir"]), letter, timeout)
        out: dict[str, t.Any] = {"changed": True, "restore_point": dict(point, Name=name)}
        if self._task.check_mode:
            out["plan"] = plan
            return out
        run = self.run_plan(plan)
        out["steps"] = step_summary(r for _section, r in planlib.iter_records(run))
        copy = planlib.find_record(run, "restore the data directory") or {}
        summary = rc.parse_summary(copy.get("stdout") or "")
        if summary:
            out.update(files_restored=summary["files"]["copied"], files_removed=summary["files"]["extras"],
                       bytes_restored=summary["bytes"]["copied"])
        if not run["ok"]:
            failed = (run.get("failed_step") or {}).get("name")
            hint = " (stop Domino first, for example with quiesce.domino.backup_mode state=frozen method=shutdown)" \
                if failed == "Domino must be stopped" else ""
            raise QuiesceActionError("restore from %s failed: %s%s" % (name, outcome_message(run), hint), **out)
        return out
