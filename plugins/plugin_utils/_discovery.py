# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side discovery of the Domino installations of a host, shared by the action plugins."""

from __future__ import annotations

import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import inventory
from ansible_collections.quiesce.domino.plugins.module_utils import methods
from ansible_collections.quiesce.domino.plugins.module_utils import dominobackup as dbk
from ansible_collections.quiesce.domino.plugins.module_utils import hostlocale
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message


def discover(action: QuiesceAction, allow_downtime: bool = False) -> dict[str, t.Any]:
    """Every Domino installation with its methods and the evidence that it answers, in one read-only remote call
    (no console command: the console refuses other OS users, and its replies are not read from nserver)."""
    run = action.run_plan(inventory.info_plan(action.tools(), action.platform))
    if not run["ok"]:
        raise QuiesceActionError("Domino discovery failed: %s" % outcome_message(run))
    try:
        inv = inventory.parse_inventory(inventory.inventory_text(run["steps"][0]["stdout"], run["steps"][1]["stdout"]))
    except ValueError as exc:
        raise QuiesceActionError("Domino discovery returned unreadable output: %s" % exc)
    for inst in inv["installations"]:
        inst["backup_task_setup"] = None
        if inst.get("data_dir") and inst.get("program_dir") and inventory.version_tuple(inst.get("version")) >= (12, 0):
            try:
                inst["backup_task_setup"] = dbk.setup_fields(inst["data_dir"], inst["program_dir"] + "\\quiesce")
            except cli.OptionError:
                pass  # a data directory cmd.exe would misread: backup_task cannot signal through it
        # A host whose tools print a language the transcripts cannot be read in is refused here, before anything
        # is frozen: every method impossible, with the reason.
        inst["methods"] = hostlocale.refuse_methods(methods.possible_methods(inst, inv["os"]["build"], inv["partitioned"]),
                                                    inv["culture"])
        inst["recommended_method"] = methods.recommended_method(inst["methods"], allow_downtime)
        inst["frozen_by"] = methods.thaw_method(inst, inv.get("now_utc"))
        inst["warnings"] = inventory.backup_warnings(inst)
    return inv
