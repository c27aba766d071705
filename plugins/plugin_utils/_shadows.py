# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shadow copies of a host as the controller sees them (shared by the shadow_info, diskshadow and snapshot
actions): the inventory (with the ledger of the collection's own), exposure targets, summaries."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import diskshadow as ds
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message


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
    shadows = [dict(s, owned=False) for s in ds.parse_vssadmin_list(run["steps"][0]["stdout"])]
    problems.append("vssadmin does not say which shadow copies are the collection's own: none is taken as ours")
    return {"shadows": shadows, "volumes": [], "drives_in_use": [], "source": "vssadmin", "warnings": problems}


def exposure_target(option: str, value: str) -> str:
    """An exposure target: a drive letter, or an absolute mount folder without spaces."""
    if re.fullmatch(r"[A-Za-z]:?\\?", value):
        return cli.drive_letter(option, value)
    folder = cli.ascii_only(option, cli.windows_folder(option, value), cli.DISKSHADOW_ASCII)
    if " " in folder:
        raise cli.OptionError("%s: %r is not valid; mount folders may not contain spaces "
                              "(diskshadow splits its arguments on blanks)" % (option, value))
    if len(folder) <= 3:
        raise cli.OptionError("%s: %r is not valid; mount the shadow into an empty folder, not a drive root" % (option, value))
    return folder


def volume_alias(volume: str, index: int) -> str:
    """A script alias for a volume: ``vol_d`` for D:, ``vol_<n>`` for a GUID path."""
    return "vol_%s" % volume[0].lower() if re.match(r"^[A-Z]:$", volume) else "vol_%d" % index


def shadow_summary(shadow: dict[str, t.Any]) -> dict[str, t.Any]:
    return {key: shadow.get(key) for key in ("id", "set_id", "volume", "volume_guid", "device_object", "exposed_as",
                                             "created")}


def probe_expectations(expect: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """What the read-back after a diskshadow run checks, from ``judge``'s expectation: each exposure target (of
    the shadow copy named in ``exposed_ids`` when there is one), each freed target, each deleted shadow ID."""
    ids = list(expect.get("exposed_ids") or [])
    checks = [ds.expectation("exposed", target, ids[0] if len(ids) == 1 else None) for target in expect.get("exposed", [])]
    checks += [ds.expectation("free", target) for target in expect.get("freed", [])]
    checks += [ds.expectation("gone", shadow_id=sid) for sid in expect.get("gone", [])]
    return checks


def evidence_missing(run: dict[str, t.Any]) -> str:
    """The warning when the read-back gave no evidence: diskshadow's English confirmation was all there was."""
    record = planlib.find_record(run, ds.PROBE_STEP) or {}
    detail = (record.get("error") or record.get("stderr") or record.get("status") or "it did not run").strip()
    return ("the shadow copies could not be read back after diskshadow (%s); the outcome was judged by diskshadow's "
            "English confirmation alone, which a host in another language does not print"
            % (detail.splitlines()[0][:200] if detail else "no detail"))
