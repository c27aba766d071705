# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watchdog: a Task Scheduler task that releases Domino at a deadline (as SYSTEM) if the run that froze it
never thaws; its XML, its description (the record of a freeze), arming and disarming, and the freeze time it records."""

from __future__ import annotations

import datetime
import typing as t
from xml.sax.saxutils import escape as xml_escape

from ansible_collections.quiesce.domino.plugins.module_utils import dominobackup as dbk
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.module_utils.services import slug


TASK_FOLDER = "quiesce.domino"


def parse_watchdog_description(text: str) -> dict[str, str]:
    """``quiesce.domino watchdog; method=shutdown; seconds=300; service=...`` -> fields."""
    fields = {}
    for part in (text or "").split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            fields[key.strip()] = value.strip()
    return fields


def task_name(inst: dict[str, t.Any]) -> str:
    return "\\%s\\watchdog-%s" % (TASK_FOLDER, slug(inst["service"]))


def watchdog_xml(inst: dict[str, t.Any], method: str, seconds: int, actions: t.Sequence[t.Sequence[str]]) -> str:
    """Task Scheduler XML: run ``actions`` (argv lists) as SYSTEM at the deadline, substituted by the executor
    as UTC with ``Z`` (a StartBoundary without an offset is local wall-clock time, which a daylight-saving change
    moves by an hour against the deadline the budget checks), so no locale-dependent /SD /ST arguments are needed."""
    execs = "".join(
        "<Exec><Command>%s</Command><Arguments>%s</Arguments></Exec>" % (xml_escape(a[0]), xml_escape(cli.windows_cmdline(a[1:])))
        for a in actions)
    description = "quiesce.domino watchdog; method=%s; seconds=%d; deadline_utc=%s; service=%s" % (
        method, seconds, planlib.DEADLINE_UTC_TOKEN, inst["service"])
    return (
        '<?xml version="1.0" encoding="UTF-16"?>\r\n'
        '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">'
        "<RegistrationInfo><Description>%s</Description></RegistrationInfo>"
        "<Triggers><TimeTrigger><StartBoundary>%s</StartBoundary><Enabled>true</Enabled></TimeTrigger></Triggers>"
        '<Principals><Principal id="Author"><UserId>S-1-5-18</UserId><RunLevel>HighestAvailable</RunLevel>'
        "</Principal></Principals>"
        "<Settings><MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy><StartWhenAvailable>true</StartWhenAvailable>"
        "<DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries><StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>"
        "<ExecutionTimeLimit>PT30M</ExecutionTimeLimit><Enabled>true</Enabled></Settings>"
        '<Actions Context="Author">%s</Actions></Task>\r\n'
        % (xml_escape(description), planlib.DEADLINE_UTC_TOKEN, execs))


def release_argvs(inst: dict[str, t.Any], method: str, tools: dict[str, str]) -> list[list[str]]:
    """What releases Domino: the thaw's core, the rescue of a failed freeze, the watchdog's action."""
    if method == "shutdown":
        return [[tools["sc"], "start", inst["service"]]]
    if method == "backup_task":
        return [dbk.release_argv(tools, inst["data_dir"])]
    return []


def arm_steps(inst: dict[str, t.Any], tools: dict[str, str]) -> list[dict[str, t.Any]]:
    return [planlib.step("arm watchdog", [tools["schtasks"], "/Create", "/TN", task_name(inst), "/XML",
                                          planlib.file_ref("watchdog.xml"), "/F"], timeout=60)]


def disarm_step(inst: dict[str, t.Any], tools: dict[str, str]) -> dict[str, t.Any]:
    # A task that already fired and is gone is fine: the exit code does not decide.
    return planlib.step("disarm watchdog", [tools["schtasks"], "/Delete", "/TN", task_name(inst), "/F"],
                        timeout=60, ok_rc="any")


def frozen_ms(watchdog: t.Optional[dict[str, t.Any]]) -> t.Optional[int]:
    """When the freeze armed its watchdog: the UTC deadline in the task description minus its seconds
    (both written on the host clock, so controller clock and time zone do not matter)."""
    if not watchdog or not watchdog.get("deadline_utc") or not watchdog.get("seconds"):
        return None
    try:
        deadline = datetime.datetime.strptime(watchdog["deadline_utc"], "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    deadline = deadline.replace(tzinfo=datetime.timezone.utc)
    return int((deadline.timestamp() - int(watchdog["seconds"])) * 1000)


def iso_ms(ms: t.Optional[int]) -> t.Optional[str]:
    if ms is None:
        return None
    return datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
