"""The simulated Domino server's data: multi-step transactions in .nsf files, and the checker.

A transaction ``T`` is three writes: ``TXN T 1/3`` into one database, ``TXN T 2/3`` into a
second one, ``TXN T 3/3`` (the commit) into the first again.  A copy of the data directory
is consistent when every transaction it mentions is complete in it; a torn transaction is
one with some of its steps present and others missing.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

STEPS = 3
_LINE_RE = re.compile(r"^TXN (\d+) (\d)/(\d) ")


def write_step(db: Path, txn: int, step: int, payload: str) -> None:
    with open(db, "a", encoding="ascii") as handle:
        handle.write("TXN %d %d/%d %s\n" % (txn, step, STEPS, payload))


def scan(data_dir: Path) -> dict[int, set[int]]:
    """Transaction number -> the steps of it found in the .nsf files under ``data_dir``."""
    seen: dict[int, set[int]] = {}
    for root, _dirs, files in os.walk(data_dir):
        for name in files:
            if not name.lower().endswith(".nsf"):
                continue
            with open(os.path.join(root, name), encoding="ascii", errors="replace") as handle:
                for line in handle:
                    match = _LINE_RE.match(line)
                    if match:
                        seen.setdefault(int(match.group(1)), set()).add(int(match.group(2)))
    return seen


def torn_transactions(data_dir: Path) -> list[int]:
    """Transactions only partly present in a copy of the data directory (empty: consistent)."""
    return sorted(txn for txn, steps in scan(data_dir).items() if len(steps) != STEPS)


def last_transaction(data_dir: Path) -> int:
    seen = scan(data_dir)
    return max(seen) if seen else 0


def repair(data_dir: Path) -> list[int]:
    """What Domino's restart recovery does after a kill: drop the steps of torn transactions."""
    torn = set(torn_transactions(data_dir))
    if not torn:
        return []
    for root, _dirs, files in os.walk(data_dir):
        for name in files:
            if not name.lower().endswith(".nsf"):
                continue
            path = os.path.join(root, name)
            with open(path, encoding="ascii", errors="replace") as handle:
                lines = handle.readlines()
            keep = [ln for ln in lines if not (_LINE_RE.match(ln) and int(_LINE_RE.match(ln).group(1)) in torn)]
            if len(keep) != len(lines):
                with open(path, "w", encoding="ascii") as handle:
                    handle.writelines(keep)
    return sorted(torn)
