# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for quiesce.domino.restore_point (documentation: plugins/modules/restore_point.py)."""

from __future__ import annotations

import datetime
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import diskshadow as ds
from ansible_collections.quiesce.domino.plugins.module_utils import locations as locs
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import restore
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.plugin_utils._restore_points import kept_shadow_ids, read_points
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message

ARGSPEC = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent", "query"]},
    "name": {"type": "str"},
    "shadow_id": {"type": "str"},
    "service": {"type": "str"},
    "data_dir": {"type": "str"},
    "note": {"type": "str", "default": ""},
    "places": {"type": "list", "elements": "dict", "default": []},
}
REQUIRED_IF = [["state", "present", ["name", "shadow_id", "service", "data_dir"]], ["state", "absent", ["name"]]]


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
            places = locs.restore_places("places", args["places"]) if args["places"] else []
            data = [p for p in places if p["kind"] == "data"]
            if data and (data[0]["path"].lower() != values["DataDir"].lower() or data[0]["shadow_id"].lower() != values["ShadowId"].lower()):
                raise cli.OptionError("places: its data directory (%s, shadow %s) is not data_dir and shadow_id"
                                      % (data[0]["path"], data[0]["shadow_id"]))
            values.update(restore.place_values(places))
        points = read_points(self, tools)
        if args["state"] == "query":
            return {"changed": False, "restore_points": self._facts(points), "kept_shadow_ids": kept_shadow_ids(points)}
        existing = restore.find_point(points, name)
        if args["state"] == "absent":
            if existing is None:
                return {"changed": False, "restore_points": self._facts(points)}
            shadows = restore.point_shadow_ids(existing)
            if self._task.check_mode:
                return {"changed": True}
            run = self.run_plan(restore.delete_plan(tools, self.platform, name, shadows))
            if run["executor_error"]:
                raise QuiesceActionError("deleting restore point %s failed: %s" % (name, outcome_message(run)))
            evidence = ds.parse_probe(planlib.find_record(run, ds.PROBE_STEP))
            gone = evidence is not None and ds.judge_evidence(evidence, {"gone": shadows}) is None
            for record in run["steps"][:-1]:  # Win32_ShadowCopy read back decides; the English words only without it
                if record["status"] != "ok" and not gone and (evidence is not None or
                                                              "was not found" not in (record.get("stdout") or "")):
                    raise QuiesceActionError("restore point %s was removed but a shadow copy of it could not be deleted: %s"
                                             % (name, (record.get("stdout") or "").strip().splitlines()[-2:]))
            return {"changed": True, "deleted": {"name": name, "shadow_id": shadows[0] if shadows else None,
                                                 "shadow_ids": shadows}}
        record = dict(values, Name=name)
        stale = [k for k in existing or {} if k.startswith(restore.PLACE_VALUE) and k not in values]
        if existing and not stale and all(existing.get(k) == v for k, v in values.items()):
            return {"changed": False, "quiesce_restore_point": restore.point_facts(name, existing)}
        values["Created"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        record["Created"] = values["Created"]
        if self._task.check_mode:
            return {"changed": True, "quiesce_restore_point": restore.point_facts(name, record)}
        run = self.run_plan(restore.record_plan(tools, self.platform, name, values, replace=existing is not None))
        if not run["ok"]:
            raise QuiesceActionError("recording restore point %s failed: %s" % (name, outcome_message(run)))
        return {"changed": True, "quiesce_restore_point": restore.point_facts(name, record)}

    @staticmethod
    def _facts(points: dict[str, dict[str, str]]) -> dict[str, dict[str, t.Any]]:
        return {name: restore.point_facts(name, point) for name, point in points.items()}
