"""Every .ps1 in the repository parses with tree-sitter-pwsh and follows the house rules."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import tree_sitter
import tree_sitter_pwsh

REPO = Path(__file__).resolve().parents[2]
PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_pwsh.language()))


def _ps1_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.ps1", "*.psm1"],
                         cwd=REPO, capture_output=True, text=True, check=False).stdout.split()
    return sorted(REPO / p for p in out) or sorted(list(REPO.rglob("*.ps1")) + list(REPO.rglob("*.psm1")))


def _errors(node: tree_sitter.Node) -> list[str]:
    found = []
    if node.type == "ERROR" or node.is_missing:
        what = "missing " + node.type if node.is_missing else "syntax error"
        found.append("line %d col %d: %s" % (node.start_point[0] + 1, node.start_point[1] + 1, what))
    for child in node.children:
        if child.has_error or child.type == "ERROR" or child.is_missing:
            found += _errors(child)
    return found


def test_there_are_powershell_files():
    names = {p.name for p in _ps1_files()}
    assert {"host_exec.ps1", "QuiesceExecutor.psm1", "probe.ps1", "Executor.Tests.ps1"} <= names


def _restic_scripts() -> dict[str, str]:
    from ansible_collections.quiesce.domino.plugins.module_utils import restic
    return dict(restic.RESTIC_SCRIPTS)


def _embedded_scripts() -> list[tuple[str, str]]:
    from ansible_collections.quiesce.domino.plugins.module_utils import doctor, robocopy
    return sorted([("robocopy.FS_SCRIPTS[%s]" % name, body) for name, body in robocopy.FS_SCRIPTS.items()]
                  + [("doctor.PROBE_SCRIPT", doctor.PROBE_SCRIPT), ("doctor.SHARE_SCRIPT", doctor.SHARE_SCRIPT)]
                  + [("restic.RESTIC_SCRIPTS[%s]" % name, body) for name, body in _restic_scripts().items()])


@pytest.mark.parametrize("name, body", _embedded_scripts(), ids=lambda v: v if v.startswith(("robocopy", "doctor", "restic")) else "")
def test_embedded_scripts_parse(name, body):
    """The constant scripts sent with -EncodedCommand parse too (what PowerShell receives: one line each)."""
    from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
    import base64
    sent = base64.b64decode(cli.powershell_argv({"powershell": "C:\\p.exe"}, body)[-1]).decode("utf-16-le")
    tree = PARSER.parse(sent.encode("utf-8"))
    assert not tree.root_node.has_error, "%s:\n%s" % (name, "\n".join(_errors(tree.root_node)[:20]))


@pytest.mark.parametrize("path", _ps1_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_ps1_parses(path):
    tree = PARSER.parse(path.read_bytes())
    assert not tree.root_node.has_error, "%s:\n%s" % (path, "\n".join(_errors(tree.root_node)[:20]))


@pytest.mark.parametrize("path", _ps1_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_ps1_uses_strict_mode_and_stop(path):
    text = path.read_text(encoding="utf-8")
    assert "Set-StrictMode -Version 2.0" in text
    assert "$ErrorActionPreference = 'Stop'" in text


def test_parser_rejects_broken_powershell():
    assert PARSER.parse(b"function f { if ($x) { 'a' }").root_node.has_error
    assert PARSER.parse(b"$h = @{ a = 1 ").root_node.has_error


def _embedded_scripts():
    from ansible_collections.quiesce.domino.plugins.module_utils import (console, dominobackup, inventory, hostlock, robocopy,
                                                                         shadow_ledger, windows_cli)
    scripts = {"shadow-inventory": windows_cli.SHADOW_INVENTORY_SCRIPT, "domino-inventory": inventory.DOMINO_INVENTORY_SCRIPT,
               "host-inventory": inventory.HOST_INVENTORY_SCRIPT}
    scripts.update({"fs-" + name: body for name, body in robocopy.FS_SCRIPTS.items()})
    scripts["disk-type"] = robocopy._DISK_TYPE
    from ansible_collections.quiesce.domino.plugins.module_utils import restic
    scripts.update({"restic-" + name: body for name, body in restic.RESTIC_SCRIPTS.items()})
    scripts["lock"] = hostlock.LOCK_SCRIPT
    scripts["hold"] = dominobackup.HOLD_SCRIPT
    scripts["runas"] = console.RUNAS_SCRIPT
    scripts["domino-state"] = console.STATE_SCRIPT
    scripts["own-shadows"] = shadow_ledger.RECORD_SCRIPT
    scripts["exposure-owner"] = shadow_ledger.EXPOSURE_OWNER_SCRIPT
    scripts["pending-shadows"] = shadow_ledger.PENDING_SCRIPT
    from ansible_collections.quiesce.domino.plugins.module_utils import doctor
    scripts["doctor-probe"] = doctor.PROBE_SCRIPT
    scripts["doctor-share"] = doctor.SHARE_SCRIPT
    return sorted(scripts.items())


@pytest.mark.parametrize("name, script", _embedded_scripts(), ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "")
def test_embedded_constant_scripts_parse(name, script):
    """The constant PowerShell scripts the plans send with -EncodedCommand are valid PowerShell too."""
    tree = PARSER.parse(script.encode("utf-8"))
    assert not tree.root_node.has_error, "%s:\n%s\n%s" % (name, "\n".join(_errors(tree.root_node)[:10]), script)
