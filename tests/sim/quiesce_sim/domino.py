"""The simulated Domino server's data: multi-step transactions in .nsf files, backup mode with change
info and .DELTA files, and a fake of Domino's restore (apply the delta, recover) that judges a backup.

A transaction ``T`` is three writes: ``TXN T 1/3`` into one database, ``TXN T 2/3`` into a second one,
``TXN T 3/3`` (the commit) into the first again.  A copy is consistent when every transaction it
mentions is complete in it; a torn transaction is one with some of its steps present and others missing.

Backup mode (HCL: writes go on, the change info is kept and must be applied; sources in
tests/sim/README.md).  Every database starts with a fixed-size header line.  The first write to a
database in backup mode marks its header with the backup's id: from then on its file alone is not a
consistent backup.  Leaving backup mode writes ``<db>.DELTA`` (the header line ``DELTA backup=<id>
base=<bytes>`` and every byte the database grew by since backup mode began) and clears the mark.
Domino's restore applies a ``.DELTA`` found beside a restored database (back to ``base`` bytes, then
the delta's bytes: the database as it was when it left backup mode) and then recovers (transactions
torn across databases are rolled back, as the transaction log does).  A restored database whose
header is still marked and that has no matching delta cannot be recovered: the backup is not consistent.
"""
from __future__ import annotations

import os
import re
import shutil
import typing as t
from pathlib import Path

STEPS = 3
HEADER_LEN = 64
DELTA_SUFFIX = ".DELTA"
_LINE_RE = re.compile(r"^TXN (\d+) (\d)/(\d) ")
_HEADER_RE = re.compile(r"^NSF backup=(\S+)")
_DELTA_RE = re.compile(rb"^DELTA backup=(\S+) base=(\d+)\n")


def header(backup_id: t.Optional[str]) -> bytes:
    text = "NSF backup=%s" % (backup_id or "-")
    return (text.ljust(HEADER_LEN - 1) + "\n").encode("ascii")


def create_db(path: Path, pad_lines: t.Iterable[str]) -> None:
    with open(path, "wb") as handle:
        handle.write(header(None))
        handle.write("".join(pad_lines).encode("ascii"))


def backup_mark(db: Path) -> t.Optional[str]:
    """The backup id in the database's header, or None when it is not marked."""
    with open(db, "rb") as handle:
        first = handle.read(HEADER_LEN).decode("ascii", "replace")
    match = _HEADER_RE.match(first)
    if not match or match.group(1) == "-":
        return None
    return match.group(1)


def set_mark(db: Path, backup_id: t.Optional[str]) -> None:
    with open(db, "r+b") as handle:
        handle.write(header(backup_id))


def write_step(db: Path, txn: int, step: int, payload: str) -> None:
    with open(db, "a", encoding="ascii") as handle:
        handle.write("TXN %d %d/%d %s\n" % (txn, step, STEPS, payload))


def write_delta(db: Path, backup_id: str, base: int) -> t.Optional[Path]:
    """Leaving backup mode: the change info of a changed database as ``<db>.DELTA`` (None: unchanged)."""
    data = db.read_bytes()
    if len(data) <= base and backup_mark(db) is None:
        return None
    target = db.with_name(db.name + DELTA_SUFFIX)
    target.write_bytes(b"DELTA backup=%s base=%d\n" % (backup_id.encode("ascii"), base) + data[base:])
    return target


def apply_delta(db: Path, delta: Path) -> bool:
    """What Domino's restore does with a delta beside a database: the database as it left backup mode."""
    blob = delta.read_bytes()
    match = _DELTA_RE.match(blob)
    if not match:
        return False
    mark = backup_mark(db)
    if mark is not None and mark != match.group(1).decode("ascii"):
        return False  # the change info of another backup
    base = int(match.group(2))
    data = db.read_bytes()
    if len(data) < base:
        return False
    db.write_bytes(header(None) + data[HEADER_LEN:base] + blob[match.end():])
    return True


def databases(data_dir: Path) -> list[Path]:
    return sorted(Path(root) / name for root, _dirs, files in os.walk(data_dir)
                  for name in files if name.lower().endswith(".nsf"))


def scan(data_dir: Path) -> dict[int, set[int]]:
    """Transaction number -> the steps of it found in the .nsf files under ``data_dir``."""
    seen: dict[int, set[int]] = {}
    for db in databases(data_dir):
        with open(db, encoding="ascii", errors="replace") as handle:
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
    """Recovery (Domino's restart after a kill, or the recovery after a restore): drop the steps of torn
    transactions, as the transaction log rolls back what never committed everywhere."""
    torn = set(torn_transactions(data_dir))
    if not torn:
        return []
    for db in databases(data_dir):
        with open(db, "rb") as handle:
            head = handle.read(HEADER_LEN)
            lines = handle.read().decode("ascii", "replace").splitlines(keepends=True)
        keep = [ln for ln in lines if not (_LINE_RE.match(ln) and int(_LINE_RE.match(ln).group(1)) in torn)]
        if len(keep) != len(lines):
            db.write_bytes(head + "".join(keep).encode("ascii"))
    return sorted(torn)


def recover(data_dir: Path) -> dict[str, t.Any]:
    """A fake of Domino's restore over a restored folder: apply every ``.DELTA`` found beside its database
    (and remove it, as Domino removes its temporary delta file), then recover."""
    applied, refused, needs = [], [], []
    for db in databases(data_dir):
        rel = str(db.relative_to(data_dir)).replace("/", "\\")
        delta = db.with_name(db.name + DELTA_SUFFIX)
        if delta.exists():
            if apply_delta(db, delta):
                applied.append(rel)
                delta.unlink()
            else:
                refused.append(rel)
        if backup_mark(db) is not None:
            needs.append(rel)
    torn_before = torn_transactions(data_dir)
    repair(data_dir)
    torn_after = torn_transactions(data_dir)
    return {"databases": len(databases(data_dir)), "deltas_applied": applied, "deltas_refused": refused,
            "needs_change_info": needs, "torn_before_recovery": len(torn_before), "torn_after_recovery": torn_after,
            "last_transaction": last_transaction(data_dir),
            "consistent": not needs and not refused and not torn_after}


def restore_check(copy_dir: Path, scratch: Path) -> dict[str, t.Any]:
    """The collection's documented restore of a copy into a scratch folder (databases with their .DELTA
    files beside them), then Domino's restore; the copy itself is not touched."""
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(copy_dir, scratch, symlinks=False)
    return recover(scratch)


def verdict_text(result: dict[str, t.Any]) -> str:
    if result["consistent"]:
        return "consistent after restore (%d databases, %d deltas applied)" % (
            result["databases"], len(result["deltas_applied"]))
    parts = []
    if result["needs_change_info"]:
        parts.append("%d databases lack their change info (.DELTA)" % len(result["needs_change_info"]))
    if result["deltas_refused"]:
        parts.append("%d deltas do not match their database" % len(result["deltas_refused"]))
    if result["torn_after_recovery"]:
        parts.append("%d transactions torn after recovery" % len(result["torn_after_recovery"]))
    return "NOT consistent: " + "; ".join(parts)
