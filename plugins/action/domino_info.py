# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for quiesce.domino.domino_info (documentation: plugins/modules/domino_info.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.quiesce.domino.plugins.plugin_utils._discovery import discover
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction

ARGSPEC = {
    "allow_downtime": {"type": "bool", "default": False},
}


class ActionModule(QuiesceAction):
    ARGSPEC = ARGSPEC

    def perform(self, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        inv = discover(self, args["allow_downtime"])
        warnings = ["%s: %s" % (inst["service"], w) for inst in inv["installations"] for w in inst["warnings"]]
        return {"changed": False, "installations": inv["installations"], "os": inv["os"], "warnings": warnings,
                "partitioned": inv["partitioned"], "installed": bool(inv["installations"]),
                "drives_in_use": inv.get("drives_in_use", []), "culture": inv["culture"]}
