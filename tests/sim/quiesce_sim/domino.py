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

Data outside the data directory (sources in tests/sim/README.md).  With transaction logging on, every write
is first recorded in the log (``TXN T s/3 <db>`` in ``<TRANSLOG_Path>\\S0000001.TXN``: write-ahead).  With DAOS
on, a commit first writes its attachment object ``<DAOSBasePath>\\0001\\<T as 012d>.nlo`` (never changed
afterwards) and then the commit line that refers to it (``nlo=<T as 012d>``).  Change info applied to a
database (a .DELTA at restore, or the VSS writer's auto-recovery in a shadow copy) is newer than the snapshot:
the header remembers where it begins (``applied=<offset>``).

A copy is either the data directory itself (the old layout) or a backup folder with ``quiesce_domino.json``
(``data``, ``translog``, ``daos``, ``links\\<name>``, ``files``: see ``restore_check``).  Its restore is
consistent when, besides the above, every attachment object a restored note refers to is in the restored DAOS
store and the restored transaction log is not behind the databases.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import typing as t
from pathlib import Path

STEPS = 3
HEADER_LEN = 64
DELTA_SUFFIX = ".DELTA"
_LINE_RE = re.compile(r"^TXN (\d+) (\d)/(\d) ")
_HEADER_RE = re.compile(r"^NSF backup=(\S+)(?: applied=(\d+))?")
_DELTA_RE = re.compile(rb"^DELTA backup=(\S+) base=(\d+)\n")
LOG_EXTENT = "S0000001.TXN"       # the twin's one log extent (Domino: Sxxxxxxx.TXN extents)
NLO_FOLDER = "0001"               # DAOS keeps its objects in numbered subfolders of the base path
NLO_SUFFIX = ".nlo"
LAYOUT_FILE = "quiesce_domino.json"
_NLO_REF_RE = re.compile(r"\bnlo=(\d+)")
_ABS_RE = re.compile(r"^(?:[A-Za-z]:(?:\\|$)|\\\\)")


def header(backup_id: t.Optional[str], applied: t.Optional[int] = None) -> bytes:
    text = "NSF backup=%s" % (backup_id or "-")
    if applied is not None:
        text += " applied=%d" % applied
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


def applied_from(db: Path) -> t.Optional[int]:
    """Where change info applied to this database begins (byte offset), or None: nothing was applied."""
    with open(db, "rb") as handle:
        first = handle.read(HEADER_LEN).decode("ascii", "replace")
    match = _HEADER_RE.match(first)
    return int(match.group(2)) if match and match.group(2) else None


def set_mark(db: Path, backup_id: t.Optional[str]) -> None:
    with open(db, "r+b") as handle:
        handle.write(header(backup_id))


def write_step(db: Path, txn: int, step: int, payload: str) -> None:
    with open(db, "a", encoding="ascii") as handle:
        handle.write("TXN %d %d/%d %s\n" % (txn, step, STEPS, payload))


def log_step(log_dir: Path, txn: int, step: int, db_name: str) -> Path:
    """The transaction log's record of one write, appended before the write itself (write-ahead)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    extent = log_dir / LOG_EXTENT
    with open(extent, "a", encoding="ascii") as handle:
        handle.write("TXN %d %d/%d %s\n" % (txn, step, STEPS, db_name))
    return extent


def nlo_name(txn: int) -> str:
    return "%012d%s" % (txn, NLO_SUFFIX)


def write_nlo(daos_dir: Path, txn: int) -> Path:
    """A commit's attachment object, written before any note refers to it; an existing one is never changed."""
    target = daos_dir / NLO_FOLDER / nlo_name(txn)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.write_text("NLO %d\n" % txn, encoding="ascii")
    return target


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
    earlier = applied_from(db)
    start = base if earlier is None else min(base, earlier)
    db.write_bytes(header(None, start) + data[HEADER_LEN:base] + blob[match.end():])
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
            db.write_bytes(_shift_applied(head, lines, torn) + "".join(keep).encode("ascii"))
    return sorted(torn)


def _shift_applied(head: bytes, lines: list[str], torn: set[int]) -> bytes:
    """The header after torn lines are removed: an applied offset moves back by the bytes removed before it."""
    match = _HEADER_RE.match(head.decode("ascii", "replace"))
    if not match or not match.group(2):
        return head
    applied, offset, removed = int(match.group(2)), HEADER_LEN, 0
    for line in lines:
        if offset >= applied:
            break
        found = _LINE_RE.match(line)
        if found and int(found.group(1)) in torn:
            removed += len(line.encode("ascii", "replace"))
        offset += len(line.encode("ascii", "replace"))
    backup = None if match.group(1) == "-" else match.group(1)
    return header(backup, applied - removed)


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


# --- the whole server: transaction log, DAOS store, the copy layout ---------------------------------------

def _norm(win: str) -> str:
    return win.strip().strip('"').rstrip("\\")


def _inside(win: str, folder: t.Optional[str]) -> bool:
    """``win`` is ``folder`` or below it (case-insensitive, as NTFS names are)."""
    if not folder:
        return False
    path, base = _norm(win).lower(), _norm(folder).lower()
    return path == base or path.startswith(base + "\\")


def _below(root: Path, win_rest: str) -> Path:
    path = root
    for part in re.split(r"[\\/]+", win_rest):
        if part not in ("", ".", ".."):
            path = path / part
    return path


def absolute(win: str, data_dir: t.Optional[str]) -> str:
    """A notes.ini path as Domino reads it: absolute, or relative to the data directory."""
    win = _norm(win)
    if _ABS_RE.match(win) or not data_dir:
        return win
    return _norm(data_dir) + "\\" + win.lstrip("\\")


def read_ini(path: t.Optional[Path]) -> dict[str, str]:
    """notes.ini as name (lower case) -> value; {} when there is none."""
    if path is None or not path.is_file():
        return {}
    out: dict[str, str] = {}
    for line in path.read_bytes().decode("latin-1").splitlines():
        name, sep, value = line.partition("=")
        if sep and not name.strip().startswith("["):
            out.setdefault(name.strip().lower(), value.strip())
    return out


def read_layout(copy_root: Path) -> t.Optional[dict[str, t.Any]]:
    """``quiesce_domino.json`` of a copy (format 1), or None: the old layout (the copy is the data directory)."""
    path = copy_root / LAYOUT_FILE
    if not path.is_file():
        return None
    doc = json.loads(path.read_text(encoding="utf-8-sig") or "{}")
    if not isinstance(doc, dict) or doc.get("format") != 1 or not isinstance(doc.get("locations"), list):
        raise ValueError("%s: not a copy layout of format 1" % path)
    return doc


def _find_notes_ini(data_dir: Path, layout: t.Optional[dict[str, t.Any]], copy_root: Path) -> t.Optional[Path]:
    """notes.ini in the restored data directory, else the one the layout keeps under ``files``."""
    found = [p for p in data_dir.glob("*") if p.name.lower() == "notes.ini" and p.is_file()]
    if found:
        return found[0]
    for loc in (layout or {}).get("locations", []):
        if loc.get("kind") == "notes_ini" and loc.get("path"):
            candidate = _below(copy_root, loc.get("name") or "files") / _norm(loc["path"]).rsplit("\\", 1)[-1]
            if candidate.is_file():
                return candidate
    return None


def locate_in_copy(win: str, data_win: t.Optional[str], data_dir: Path, layout: t.Optional[dict[str, t.Any]],
                   copy_root: Path) -> t.Optional[Path]:
    """Where a folder of the server (absolute Windows path) is in a restored copy: inside the data directory
    under the data directory, else under the ``name`` of the (most specific) layout location that holds it;
    None when the copy has no place for it."""
    if not _ABS_RE.match(_norm(win)):  # relative, and the data directory's own path is unknown
        return _below(data_dir, _norm(win))
    if data_win and _inside(win, data_win):
        return _below(data_dir, _norm(win)[len(_norm(data_win)):])
    best: t.Optional[dict[str, t.Any]] = None
    for loc in (layout or {}).get("locations", []):
        path = loc.get("path")
        if loc.get("file") or loc.get("kind") == "data" or not path or not _inside(win, path):
            continue
        if best is None or len(_norm(path)) > len(_norm(best["path"])):
            best = loc
    if best is None:
        return None
    return _below(_below(copy_root, best["name"]), _norm(win)[len(_norm(best["path"])):])


def snapshot_commits(data_dir: Path) -> set[int]:
    """Transactions whose commit (step 3) is in the databases as the snapshot saw them: lines that came with
    change info (a .DELTA beside the database, or applied by the VSS writer: the header's ``applied``) are
    newer than the snapshot and left out."""
    out: set[int] = set()
    for db in databases(data_dir):
        blob = db.read_bytes()
        end = applied_from(db)
        out |= _commits(blob[HEADER_LEN:end if end is not None else len(blob)].decode("ascii", "replace"))
    return out


def _commits(text: str) -> set[int]:
    """The transactions whose commit line (step 3 of 3) is in ``text``."""
    return {int(m.group(1)) for m in map(_LINE_RE.match, text.splitlines()) if m and int(m.group(2)) == STEPS}


def logged_commits(log_dir: Path) -> set[int]:
    """Transactions whose commit record (``3/3``) is in the log extents (``*.TXN``) of a transaction log folder."""
    out: set[int] = set()
    for extent in sorted(p for p in log_dir.rglob("*") if p.is_file() and p.name.lower().endswith(".txn")):
        out |= _commits(extent.read_text(encoding="ascii", errors="replace"))
    return out


def nlo_references(data_dir: Path) -> set[str]:
    """The attachment objects (``<n>.nlo``) that transaction lines in the databases refer to."""
    out: set[str] = set()
    for db in databases(data_dir):
        for line in db.read_text(encoding="ascii", errors="replace").splitlines():
            if _LINE_RE.match(line):
                out.update(match + NLO_SUFFIX for match in _NLO_REF_RE.findall(line))
    return out


def nlo_files(daos_dir: t.Optional[Path]) -> set[str]:
    """The attachment objects in a DAOS store (any subfolder), by file name."""
    if daos_dir is None or not daos_dir.is_dir():
        return set()
    return {p.name.lower() for p in daos_dir.rglob("*") if p.is_file() and p.name.lower().endswith(NLO_SUFFIX)}


def _server_places(ini: dict[str, str], data_win: t.Optional[str]) -> tuple[t.Optional[str], t.Optional[str]]:
    """The transaction log folder and the DAOS store as notes.ini names them (None: off)."""
    translog = absolute(ini.get("translog_path") or "logdir", data_win) if ini.get("translog_status") == "1" else None
    daos = absolute(ini.get("daosbasepath") or "DAOS", data_win) if ini.get("daosenable") == "1" else None
    return translog, daos


def restore_check(copy_dir: Path, scratch: Path) -> dict[str, t.Any]:
    """The collection's documented restore of a copy into a scratch folder, then Domino's restore; the copy
    itself is not touched.  A copy is the data directory itself (old layout: databases with their .DELTA
    files beside them) or a backup folder with ``quiesce_domino.json``: ``data\\`` (the data directory),
    ``translog\\``, ``daos\\``, ``links\\<name>\\`` and ``files\\`` for what lives outside it.  As Domino
    would after a restore, the check finds the transaction log and the DAOS store by the restored notes.ini
    (mapped into the copy by the layout's locations), recovers the databases (deltas, torn transactions), and
    then checks that every attachment object a restored note refers to is in the restored DAOS store and
    that the restored transaction log is not behind the databases (every commit the snapshot holds has its
    ``3/3`` record in the log; commits that came with change info are newer than the snapshot and exempt).
    The log is judged when logging is on and the copy has a place for it (a layout copy, or a log inside the
    data directory); an old-layout copy of a server whose log lies elsewhere is judged as before."""
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(copy_dir, scratch, symlinks=False)
    layout = read_layout(scratch)
    data_dir = scratch / "data" if layout is not None else scratch
    ini = read_ini(_find_notes_ini(data_dir, layout, scratch))
    data_loc = next((loc for loc in (layout or {}).get("locations", []) if loc.get("kind") == "data"), None)
    data_win = (data_loc or {}).get("path") or ini.get("directory")
    translog_win, daos_win = _server_places(ini, data_win)
    log_dir = locate_in_copy(translog_win, data_win, data_dir, layout, scratch) if translog_win else None
    daos_dir = locate_in_copy(daos_win, data_win, data_dir, layout, scratch) if daos_win else None
    log_checked = translog_win is not None and (layout is not None or log_dir is not None)
    log_present = log_dir is not None and log_dir.is_dir()
    needed = snapshot_commits(data_dir) if log_checked else set()
    missing_commits = needed - (logged_commits(log_dir) if log_present and log_dir is not None else set())
    result = recover(data_dir)
    referenced = nlo_references(data_dir)
    nlo_missing = sorted(referenced - nlo_files(daos_dir))
    result.update({
        "layout": "locations" if layout is not None else "data_dir",
        "translog_path": translog_win, "log_checked": log_checked, "log_present": log_present,
        "log_missing_commits": len(missing_commits),
        "daos_path": daos_win, "daos_present": daos_dir is not None and daos_dir.is_dir(),
        "nlo_referenced": len(referenced), "nlo_missing": nlo_missing,
    })
    log_ok = not log_checked or (log_present and not missing_commits)
    result["consistent"] = bool(result["consistent"] and not nlo_missing and log_ok)
    return result


def check_copy(copy_dir: Path) -> dict[str, t.Any]:
    """``restore_check`` with a scratch folder of its own (``quiesce_sim.fleet check``)."""
    scratch = Path(tempfile.mkdtemp(prefix="quiesce-check-"))
    try:
        return restore_check(copy_dir, scratch / "restore")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def verdict_text(result: dict[str, t.Any]) -> str:
    if result["consistent"]:
        extra = ""
        if result.get("nlo_referenced"):
            extra += ", %d attachment objects present" % result["nlo_referenced"]
        if result.get("log_checked"):
            extra += ", transaction log not behind"
        return "consistent after restore (%d databases, %d deltas applied%s)" % (
            result["databases"], len(result["deltas_applied"]), extra)
    parts = []
    if result["needs_change_info"]:
        parts.append("%d databases lack their change info (.DELTA)" % len(result["needs_change_info"]))
    if result["deltas_refused"]:
        parts.append("%d deltas do not match their database" % len(result["deltas_refused"]))
    if result["torn_after_recovery"]:
        parts.append("%d transactions torn after recovery" % len(result["torn_after_recovery"]))
    missing = result.get("nlo_missing") or []
    if missing:
        parts.append("%d of %d referenced attachment objects missing (%s%s)%s" % (
            len(missing), result["nlo_referenced"], ", ".join(missing[:3]), ", ..." if len(missing) > 3 else "",
            "" if result.get("daos_present") else ": the DAOS store %s is not in the copy" % result.get("daos_path")))
    if result.get("log_checked") and not result.get("log_present"):
        parts.append("the transaction log %s is not in the copy" % result.get("translog_path"))
    elif result.get("log_missing_commits"):
        parts.append("the transaction log is behind the databases (%d commits not in it)" % result["log_missing_commits"])
    return "NOT consistent: " + "; ".join(parts)
