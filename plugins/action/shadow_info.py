# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for quiesce.domino.shadow_info (documentation: plugins/modules/shadow_info.py)."""

from __future__ import annotations

import time
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import diskshadow as ds
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.module_utils.durations import seconds
from ansible_collections.quiesce.domino.plugins.plugin_utils._shadows import read_inventory
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction

ARGSPEC = {
    "volumes": {"type": "list", "elements": "str", "default": []},
    "older_than": {"type": "str"},
    "source": {"type": "str", "default": "auto", "choices": ["auto", "cim", "vssadmin"]},
    "owned_only": {"type": "bool", "default": False},
}


class ActionModule(QuiesceAction):
    ARGSPEC = ARGSPEC

    def perform(self, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        volumes = [cli.volume("volumes[%d]" % i, v) for i, v in enumerate(args["volumes"])]
        older = seconds("older_than", args["older_than"]) if args["older_than"] is not None else None
        inv = read_inventory(self, self.tools(), args["source"])
        now_ms = int(time.time() * 1000)
        shadows = ds.filter_shadows(inv["shadows"], volumes, older * 1000 if older is not None else None, now_ms)
        if args["owned_only"]:
            shadows = [s for s in shadows if s.get("owned")]
        out = {"changed": False, "shadows": shadows, "volumes": inv["volumes"], "drives_in_use": inv["drives_in_use"],
               "source": inv["source"]}
        if inv.get("warnings"):
            out["warnings"] = inv["warnings"]
        return out
