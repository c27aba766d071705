"""Write every PowerShell script the plans embed as a Python constant to DIR/<name>.ps1, for the Pester tests in
tests/windows/HostScripts.Tests.ps1 (which run them on a Windows host as the plans do: -EncodedCommand, data as
JSON on stdin).

    python tests/tools/export_scripts.py DIR

The texts are written unchanged (UTF-8, no BOM): a test that needs another registry key than the ledger's
replaces ``HKLM:\\SOFTWARE\\quiesce.domino\\Shadows`` in its own copy.  The fit script is written as fs_step sends
it (with the GetDiskFreeSpaceEx declaration, ``robocopy._DISK_TYPE``, spliced in).  index.json lists the names.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stage_collection import stage  # noqa: E402


def scripts() -> dict[str, str]:
    """name -> script text, for every embedded constant script."""
    from ansible_collections.quiesce.domino.plugins.module_utils import (console, doctor, dominobackup, hostlock, inventory,
                                                                         robocopy, shadow_ledger, windows_cli)
    out = {
        "lock": hostlock.LOCK_SCRIPT,
        "own-shadows": shadow_ledger.RECORD_SCRIPT,
        "exposure-owner": shadow_ledger.EXPOSURE_OWNER_SCRIPT,
        "shadow-inventory": windows_cli.SHADOW_INVENTORY_SCRIPT,
        "domino-inventory": inventory.DOMINO_INVENTORY_SCRIPT,
        "host-inventory": inventory.HOST_INVENTORY_SCRIPT,
        "hold": dominobackup.HOLD_SCRIPT,
        "runas": console.RUNAS_SCRIPT,
        "kill-tree": console.KILL_TREE_SCRIPT,
        "domino-state": console.STATE_SCRIPT,
        "doctor-probe": doctor.PROBE_SCRIPT,
        "doctor-share": doctor.SHARE_SCRIPT,
    }
    pending = getattr(shadow_ledger, "PENDING_SCRIPT", None)
    if pending:
        out["pending-shadows"] = pending
    from ansible_collections.quiesce.domino.plugins.module_utils import restic
    for name, body in restic.RESTIC_SCRIPTS.items():
        out["restic-" + name.replace("restic_", "")] = body
    for name, body in robocopy.FS_SCRIPTS.items():
        if name == "fit":
            body = body.replace("$ErrorActionPreference = 'Stop'\n", "$ErrorActionPreference = 'Stop'\n" + robocopy._DISK_TYPE, 1)
        out["fs-" + name] = body
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    target = Path(argv[1])
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="quiesce-export-") as tmp:
        stage(Path(tmp))
        sys.path.insert(0, tmp)
        found = scripts()
    for name, body in found.items():
        (target / (name + ".ps1")).write_text(body, encoding="utf-8", newline="\n")
    (target / "index.json").write_text(json.dumps(sorted(found), indent=1) + "\n", encoding="utf-8")
    print("%d scripts written to %s" % (len(found), target))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
