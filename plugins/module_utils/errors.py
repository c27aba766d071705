# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The error a Domino fact or decision raises when the action cannot go on; its message says why."""

from __future__ import annotations


class DominoError(ValueError):
    """Discovery or a method decision cannot go on; the message says why."""
