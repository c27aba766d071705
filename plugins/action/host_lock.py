# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for quiesce.domino.host_lock (documentation: plugins/modules/host_lock.py)."""

from __future__ import annotations

import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import hostlock
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError, default_owner
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message

ARGSPEC = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "owner": {"type": "str"},
    "stale_seconds": {"type": "int", "default": 21600},
}


class ActionModule(QuiesceAction):
    ARGSPEC = ARGSPEC

    def perform(self, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        who = hostlock.owner("owner", args["owner"] or default_owner())
        stale = cli.int_range("stale_seconds", args["stale_seconds"], 60, 604800)
        action = "acquire" if args["state"] == "present" else "release"
        step = hostlock.lock_step(self.tools(), action, "backup", who, stale, ok_rc=[0, hostlock.BUSY_RC])
        plan = planlib.build_plan("host lock", self.platform, [step])
        if self._task.check_mode:
            return {"changed": True, "owner": who}
        run = self.run_plan(plan)
        if run["executor_error"] or not run["steps"] or run["steps"][0]["status"] != "ok":
            raise QuiesceActionError("host lock failed: %s" % outcome_message(run))
        record = run["steps"][0]
        if record["rc"] == hostlock.BUSY_RC:
            raise QuiesceActionError(hostlock.busy_message(record), owner=who)
        doc = hostlock.read_result(record)
        if not doc:
            raise QuiesceActionError("host lock failed: the lock script printed no result (%s)"
                                     % (record.get("stderr") or record.get("stdout") or "no output").strip()[:300], owner=who)
        warnings = hostlock.lock_warnings(doc)
        doc.update(changed=bool(doc.get("acquired") or doc.get("released")), owner=who)
        if warnings:
            doc["warnings"] = warnings
        return doc
