# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for quiesce.domino.doctor (documentation: plugins/modules/doctor.py)."""

from __future__ import annotations

import json
import os
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import doctor
from ansible_collections.quiesce.domino.plugins.module_utils import inventory
from ansible_collections.quiesce.domino.plugins.module_utils import methods
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message

ARGSPEC = {
    "destination": {"type": "str"},
    "save_transcripts": {"type": "str"},
    "console_test": {"type": "bool", "default": True},
}


def transcripts_dir(option: str, value: t.Any) -> str:
    """A folder on the controller: no control, invisible or look-alike characters, nothing a shell would read,
    no '..' (the file names inside it are the doctor's own)."""
    text = cli.safe_text(option, value, 1024)
    if "\\" in text or not text.strip():
        raise cli.OptionError("%s: %r is not valid; use a folder on the controller such as ./doctor (no backslashes)"
                              % (option, value))
    if any(part == ".." for part in text.split("/")):
        raise cli.OptionError("%s: %r is not valid; '..' is not allowed in the path" % (option, value))
    return text


class ActionModule(QuiesceAction):
    ARGSPEC = ARGSPEC

    def perform(self, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        destination = cli.destination("destination", args["destination"]) if args["destination"] is not None else None
        folder = transcripts_dir("save_transcripts", args["save_transcripts"]) if args["save_transcripts"] is not None else None
        check_mode = bool(self._task.check_mode)
        tools = self.tools()
        look = self.run_plan(doctor.look_plan(tools, self.platform, destination))
        if look.get("executor_error"):
            raise QuiesceActionError("doctor could not run on the host: %s" % outcome_message(look))
        inv = self._inventory(look)
        installs = (inv or {}).get("installations") or []
        tried = None
        # a run holding the host lock may be using the console: the doctor does not try it then (its task has a
        # name of its own anyway, so it could not replace or remove the backup's task)
        consoles = installs if args["console_test"] and doctor.look_host_lock(look) is None else []
        if not check_mode:
            plan = doctor.try_plan(self.tools, self.platform, consoles, destination)
            if plan is not None:
                tried = self.run_plan(plan)
        checks = doctor.verdicts(look, tried, consoles, inv, destination, check_mode, args["console_test"])
        host = str(task_vars.get("inventory_hostname") or "host")
        result: dict[str, t.Any] = {"changed": False, "checks": checks, "ready": doctor.ready(checks),
                                    "table": doctor.table(host, checks),
                                    "remote_calls": 1 + (1 if tried is not None else 0),
                                    "culture": (inv or {}).get("culture") or {},
                                    "not_ready": [c["name"] for c in checks if c["status"] == doctor.FAIL]}
        result["summary"] = "%s: %s" % (host, "ready" if result["ready"] else "not ready (%s)" % ", ".join(result["not_ready"]))
        if folder is not None:
            doc = doctor.transcript(host, (inv or {}).get("culture"), [look, tried], checks)
            path = os.path.join(folder, doctor.transcript_file_name(host))
            try:
                os.makedirs(folder, exist_ok=True)
                with open(path, "w", encoding="utf-8") as handle:
                    json.dump(doc, handle, indent=1, ensure_ascii=False)
            except OSError as exc:
                raise QuiesceActionError("save_transcripts: cannot write %s: %s" % (path, exc), **result)
            result["transcripts"] = os.path.abspath(path)
        return result

    def _inventory(self, look: dict[str, t.Any]) -> t.Optional[dict[str, t.Any]]:
        """The inventory as domino_info reads it, with each installation's methods; None when unreadable."""
        records = {r.get("name"): r for r in look.get("steps", [])}
        try:
            inv = inventory.parse_inventory(inventory.inventory_text(records[doctor.DOMINO_STEP].get("stdout") or "",
                                                                     records[doctor.HOST_STEP].get("stdout") or ""))
        except (KeyError, ValueError):
            return None
        for inst in inv["installations"]:
            # what the server could do if its language were read (the culture has a check of its own)
            inst["methods"] = methods.possible_methods(inst, inv["os"]["build"], inv["partitioned"])
        return inv
