# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for quiesce.domino.restore_point (documentation: plugins/modules/restore_point.py)."""

from __future__ import annotations

import datetime
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import restore
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message

ARGSPEC = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent", "query"]},
    "name": {"type": "str"},
    "shadow_id": {"type": "str"},
    "service": {"type": "str"},
    "data_dir": {"type": "str"},
    "note": {"type": "str", "default": ""},
}
REQUIRED_IF = [["state", "present", ["name", "shadow_id", "service", "data_dir"]], ["state", "absent", ["name"]]]


def read_points(action: QuiesceAction, tools: dict[str, str]) -> dict[str, dict[str, str]]:
    run = action.run_plan(restore.query_plan(tools, action.platform))
    if run["executor_error"]:
        raise QuiesceActionError("cannot read restore points: %s" % outcome_message(run))
    return restore.parse_points(run["steps"][0]["stdout"]) if run["steps"][0].get("rc") == 0 else {}


class ActionModule(QuiesceAction):
    ARGSPEC = ARGSPEC
    REQUIRED_IF = REQUIRED_IF

    def perform(self, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        tools = self.tools()
        # Every value is checked before the host is asked anything.
        name = restore.point_name("name", args["name"]) if args["state"] != "query" else ""
        values: dict[str, t.Any] = {}
        if args["state"] == "present":
            values = {"ShadowId": cli.guid("shadow_id", args["shadow_id"]), "Service": cli.service_name("service", args["service"]),
                      "DataDir": cli.windows_folder("data_dir", args["data_dir"]),
                      "Note": cli.safe_text("note", args["note"], 300)}
        points = read_points(self, tools)
        if args["state"] == "query":
            return {"changed": False, "restore_points": points}
        existing = restore.find_point(points, name)
        if args["state"] == "absent":
            if existing is None:
                return {"changed": False, "restore_points": points}
            shadow = cli.guid("ShadowId", existing["ShadowId"]) if existing.get("ShadowId") else None
            if self._task.check_mode:
                return {"changed": True}
            run = self.run_plan(restore.delete_plan(tools, self.platform, name, shadow))
            if run["executor_error"]:
                raise QuiesceActionError("deleting restore point %s failed: %s" % (name, outcome_message(run)))
            dropped = planlib.find_record(run, "delete the shadow copy") or {"status": "ok"}
            if dropped["status"] != "ok" and "was not found" not in (dropped.get("stdout") or ""):
                raise QuiesceActionError("restore point %s was removed but its shadow copy %s could not be deleted: %s"
                                         % (name, shadow, (dropped.get("stdout") or "").strip().splitlines()[-2:]))
            return {"changed": True, "deleted": {"name": name, "shadow_id": shadow}}
        record = dict(values, Name=name)
        if existing and all(existing.get(k) == v for k, v in values.items()):
            return {"changed": False, "quiesce_restore_point": dict(existing, Name=name)}
        values["Created"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        record["Created"] = values["Created"]
        if self._task.check_mode:
            return {"changed": True, "quiesce_restore_point": record}
        run = self.run_plan(restore.record_plan(tools, self.platform, name, values))
        if not run["ok"]:
            raise QuiesceActionError("recording restore point %s failed: %s" % (name, outcome_message(run)))
        return {"changed": True, "quiesce_restore_point": record}
