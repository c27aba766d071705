# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Domino Windows service as Windows shows it: its state as ``sc query`` prints it in any language, and the
registry- and task-name-safe id derived from its name."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils.errors import DominoError


# sc query's state line is "<label> : <code>  <NAME>": the label is translated on localized Windows (STATE,
# STATUS, ...), the numeric code (SERVICE_STATUS.dwCurrentState) and the constant name after it are not (the
# zh-CN capture prints both as on English Windows; tests/unit/data/locale/SOURCES.md).  The state is read by
# the code together with its name, so the type line ("1  KERNEL_DRIVER") and the exit codes ("1077  (0x435)")
# never match.  The patterns use only what .NET's and Python's regular expressions share: both executors
# search them (retry until_stdout).
SERVICE_STATES = {1: "STOPPED", 2: "START_PENDING", 3: "STOP_PENDING", 4: "RUNNING", 5: "CONTINUE_PENDING",
                  6: "PAUSE_PENDING", 7: "PAUSED"}


def sc_state_pattern(code: int) -> str:
    """The until_stdout pattern that holds when sc query reports the state ``code``, in any language."""
    # the colon after the label may be a full-width one (U+FF1A) where the label is East Asian: both are accepted
    return r"[:\uFF1A][ \t]*%d[ \t]+%s(?![A-Za-z0-9_])" % (code, SERVICE_STATES[code])


def sc_state(stdout: str) -> t.Optional[str]:
    """The state sc query reports (``RUNNING``, ``STOPPED``, ...), or None when the output shows none."""
    return next((name for code, name in SERVICE_STATES.items() if re.search(sc_state_pattern(code), stdout or "")), None)


STOPPED_RE = sc_state_pattern(1)
RUNNING_RE = sc_state_pattern(4)


def slug(service: str) -> str:
    """A registry- and task-name-safe id of a Domino service: letters and digits only."""
    text = re.sub(r"[^A-Za-z0-9]", "", service)[:60]
    if not text:
        raise DominoError("service name %r has no letters or digits" % service)
    return text
