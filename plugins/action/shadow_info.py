# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for quiesce.domino.shadow_info (documentation: plugins/modules/shadow_info.py)."""

from __future__ import annotations

import time
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import diskshadow as ds
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.module_utils.durations import seconds
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message

ARGSPEC = {
    "volumes": {"type": "list", "elements": "str", "default": []},
    "older_than": {"type": "str"},
    "source": {"type": "str", "default": "auto", "choices": ["auto", "cim", "vssadmin"]},
}


def inventory_plan(tools: dict[str, str], platform: str) -> dict[str, t.Any]:
    """Read-only plan: shadows, volumes and drive letters in use, as JSON (CIM, locale-independent)."""
    return planlib.build_plan(
        "shadow inventory", platform,
        [planlib.step("query shadows and volumes", cli.powershell_argv(tools, cli.SHADOW_INVENTORY_SCRIPT), timeout=120)],
        check_mode_safe=True)


def vssadmin_plan(tools: dict[str, str], platform: str) -> dict[str, t.Any]:
    return planlib.build_plan(
        "vssadmin list shadows", platform,
        [planlib.step("list shadows", [tools["vssadmin"], "list", "shadows"], timeout=120)],
        check_mode_safe=True)


def read_inventory(action: QuiesceAction, tools: dict[str, str], source: str = "auto") -> dict[str, t.Any]:
    """Shadows (and, from CIM, volumes and drive letters in use) on the host: one remote call,
    a second only when CIM is unavailable and ``source`` allows the vssadmin fallback."""
    problems = []
    if source in ("auto", "cim"):
        run = action.run_plan(inventory_plan(tools, action.platform))
        if run["ok"]:
            try:
                inv = ds.parse_shadow_inventory(run["steps"][0]["stdout"])
                inv["source"] = "cim"
                return inv
            except ValueError as exc:
                problems.append("CIM output could not be read: %s" % exc)
        else:
            problems.append("CIM query failed: %s" % outcome_message(run))
        if source == "cim":
            raise QuiesceActionError("; ".join(problems))
    run = action.run_plan(vssadmin_plan(tools, action.platform))
    if not run["ok"]:
        problems.append("vssadmin failed: %s" % outcome_message(run))
        raise QuiesceActionError("cannot list shadow copies: " + "; ".join(problems))
    return {"shadows": ds.parse_vssadmin_list(run["steps"][0]["stdout"]), "volumes": [], "drives_in_use": [],
            "source": "vssadmin", "warnings": problems}


class ActionModule(QuiesceAction):
    ARGSPEC = ARGSPEC

    def perform(self, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        volumes = [cli.volume("volumes[%d]" % i, v) for i, v in enumerate(args["volumes"])]
        older = seconds("older_than", args["older_than"]) if args["older_than"] is not None else None
        inv = read_inventory(self, self.tools(), args["source"])
        now_ms = int(time.time() * 1000)
        shadows = ds.filter_shadows(inv["shadows"], volumes, older * 1000 if older is not None else None, now_ms)
        out = {"changed": False, "shadows": shadows, "volumes": inv["volumes"], "drives_in_use": inv["drives_in_use"],
               "source": inv["source"]}
        if inv.get("warnings"):
            out["warnings"] = inv["warnings"]
        return out
