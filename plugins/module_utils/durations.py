# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Durations such as ``90``, ``45s``, ``30m``, ``12h``, ``7d`` as seconds (pure)."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils.windows_cli import OptionError

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RE = re.compile(r"^\s*(\d{1,9})\s*([smhdw]?)\s*$", re.I)


def seconds(option: str, value: t.Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _RE.match(str(value)) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if not match:
        raise OptionError("%s: %r is not valid; use a whole number of seconds or a number with s, m, h, d or w "
                          "(for example 90, 30m, 12h, 7d)" % (option, value))
    return int(match.group(1)) * _UNITS[match.group(2).lower()]
