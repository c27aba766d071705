# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """What every quiesce.domino action module shares: it is an action plugin for Windows hosts."""

    DOCUMENTATION = r"""
attributes:
  action:
    support: full
  bypass_host_loop:
    support: none
  platform:
    support: full
    platforms: windows
notes:
  - Tool paths default to their Windows locations (C(C:\Windows\System32\...), the Domino program directory for
    C(nserver.exe) and C(nsd.exe)) and can be overridden per host with the C(quiesce_domino_tools) variable, a mapping
    of tool name to absolute path. No PATH lookups.
  - Everything runs on the host as one plan through the collection's executor module M(quiesce.domino.host_exec)
    (C(docs/executor-contract.md)); VSS needs a member of the local Administrators group.
"""
