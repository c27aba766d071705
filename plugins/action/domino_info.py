# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for quiesce.domino.domino_info (documentation: plugins/modules/domino_info.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import domino as dom
from ansible_collections.quiesce.domino.plugins.module_utils import dominobackup as dbk
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message

ARGSPEC = {
    "console": {"type": "bool", "default": True},
}


def discover(action: QuiesceAction, console: bool = True) -> dict[str, t.Any]:
    """Every Domino installation with methods, in one remote call (two with console probes)."""
    run = action.run_plan(dom.info_plan(action.tools(), action.platform))
    if not run["ok"]:
        raise QuiesceActionError("Domino discovery failed: %s" % outcome_message(run))
    try:
        inv = dom.parse_inventory(run["steps"][0]["stdout"])
    except ValueError as exc:
        raise QuiesceActionError("Domino discovery returned unreadable output: %s" % exc)
    installs = inv["installations"]
    for inst in installs:
        inst["answers"] = False
        inst["tasks"] = {"backup": False, "backupvss": False}
    plan = dom.console_plan(installs, lambda i: action.tools(i["program_dir"]), action.platform) if console else None
    if plan is not None:
        probe = action.run_plan(plan)
        records = {r["name"]: r for r in probe["steps"]}
        for index, inst in enumerate(installs):
            if "show server %d" % index in records:
                dom.add_console_facts(inst, records["show server %d" % index], records.get("show tasks %d" % index))
    for inst in installs:
        inst["backup_task_setup"] = None
        if inst.get("data_dir") and inst.get("program_dir") and dom.version_tuple(inst.get("version")) >= (12, 0):
            try:
                inst["backup_task_setup"] = dbk.setup_fields(inst["data_dir"], inst["program_dir"] + "\\quiesce")
            except cli.OptionError:
                pass  # a data directory cmd.exe would misread: backup_task cannot signal through it
        inst["methods"] = dom.possible_methods(inst, inv["os"]["build"], inv["partitioned"])
        inst["recommended_method"] = dom.recommended_method(inst["methods"])
        inst["frozen_by"] = dom.thaw_method(inst, inv.get("now_utc"))
    return inv


class ActionModule(QuiesceAction):
    ARGSPEC = ARGSPEC

    def perform(self, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        inv = discover(self, args["console"])
        return {"changed": False, "installations": inv["installations"], "os": inv["os"],
                "partitioned": inv["partitioned"], "installed": bool(inv["installations"]),
                "drives_in_use": inv.get("drives_in_use", [])}
