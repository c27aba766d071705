# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every quiesce.domino action plugin shares: validate, resolve tools, run one plan."""

from __future__ import annotations

import os
import re
import socket
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.module_utils.console import ConsoleError
from ansible_collections.quiesce.domino.plugins.module_utils.diskshadow import DiskShadowError
from ansible_collections.quiesce.domino.plugins.module_utils.errors import DominoError
from ansible_collections.quiesce.domino.plugins.module_utils.plan import PlanError
from ansible_collections.quiesce.domino.plugins.plugin_utils import executor


def default_owner() -> str:
    """One id per ansible-playbook run: the controller's name and the playbook process (workers' parent)."""
    return "%s:%d" % (re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname())[:100] or "controller", os.getppid())


class QuiesceActionError(Exception):
    """Stop the action with ``msg`` (and extra result keys); nothing further runs on the host."""

    def __init__(self, msg: str, **extra: t.Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.extra = extra


class QuiesceAction(ActionBase):
    """Subclasses set ARGSPEC (and optional constraints) and implement ``perform``."""

    ARGSPEC: dict[str, t.Any] = {}
    MUTUALLY_EXCLUSIVE: list[list[str]] = []
    REQUIRED_IF: list[t.Any] = []
    REQUIRED_ONE_OF: list[list[str]] = []
    SUPPORTS_ASYNC = False

    def run(self, tmp: t.Any = None, task_vars: t.Optional[dict[str, t.Any]] = None) -> dict[str, t.Any]:
        self._supports_check_mode = True
        self._supports_async = self.SUPPORTS_ASYNC
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        try:
            _validation, args = self.validate_argument_spec(
                argument_spec=self.ARGSPEC, mutually_exclusive=self.MUTUALLY_EXCLUSIVE,
                required_if=self.REQUIRED_IF, required_one_of=self.REQUIRED_ONE_OF)
        except AnsibleActionFail as exc:
            result.update(failed=True, changed=False, msg=str(exc.message if hasattr(exc, "message") else exc))
            return result
        self.platform = executor.platform_for(self)
        self.task_vars = task_vars
        try:
            result.update(self.perform(args, task_vars))
        except (QuiesceActionError,) as exc:
            result.update(exc.extra)
            result.update(failed=True, msg=exc.msg)
            result.setdefault("changed", False)
        except (cli.OptionError, PlanError) as exc:
            result.update(failed=True, changed=False, msg=str(exc))
        except (DominoError, ConsoleError, DiskShadowError) as exc:  # facts of the host that stop the action
            result.update(failed=True, changed=False, msg=str(exc))
        except cli.HostOutputError as exc:  # a script's answer that cannot be read: a message, not a traceback
            result.update(failed=True, msg="%s failed: %s" % (self._task.action, exc))
            result.setdefault("changed", False)
        return result

    # ----------------------------------------------------------- helpers
    def tools(self, program_dir: t.Optional[str] = None) -> dict[str, str]:
        overrides = self.task_vars.get(cli.TOOLS_VAR)
        if overrides is not None and hasattr(self, "_templar"):
            overrides = self._templar.template(overrides)
        return cli.resolve_tools(overrides, self.platform, program_dir)

    def run_plan(self, plan: dict[str, t.Any]) -> dict[str, t.Any]:
        """Run a plan; check mode sends only check_mode_safe plans."""
        if self._task.check_mode and not plan["check_mode_safe"]:
            raise RuntimeError("refusing to send changing plan %r in check mode" % plan["name"])
        return executor.run_plan(self, plan, self.task_vars)

    def perform(self, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        raise NotImplementedError
