"""robocopy versioned against restic on the same simulated data: bytes written and wall time of a first backup
and of a second one after 1% of the data changed.

  .venv/bin/python benchmarks/copy_backends.py [--gb 1.0] [--change 0.01]

One simulated host (the twin; its restic is Debian's real /usr/bin/restic) gets a data directory of
``--gb`` gigabytes of incompressible data in a Domino-like mix: large ``.nsf`` databases (90% of the bytes) and
many small ``.nlo`` DAOS objects (10%, 8-120 KB each).  quiesce.domino.snapshot_copy copies it with
``backend=robocopy mode=versioned`` and with ``backend=restic`` (verification included in both: manifests,
restic ls and check reading 5%), then 1% of the bytes change the way a Domino night changes them: half as new
DAOS objects (new attachments; an NLO never changes once written), half as rewritten runs of 256 KB pages in
a few databases.  Bytes written is the growth of the destination (the versioned copy folder with its
manifest, or the restic repository); wall time is the whole task (the module's verification included).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "sim"))
sys.path.insert(0, str(REPO / "tests" / "tools"))
from quiesce_sim import fleet as simfleet  # noqa: E402
from stage_collection import stage  # noqa: E402

PASSWORD = "benchmark only"
COPY = """
- hosts: bench01
  gather_facts: false
  tasks:
    - name: Copy
      quiesce.domino.snapshot_copy:
        source: 'D:\\Bench\\data'
        destination: '{dest}'
        backend: {backend}
        mode: versioned
        keep: 10
        retries: 0
        wait: 0
        repository_password: "{{{{ pw if '{backend}' == 'restic' else omit }}}}"
        repository_init: "{{{{ '{backend}' == 'restic' }}}}"
"""


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def generate(root: Path, total: int, rng: random.Random) -> None:
    """90% in .nsf databases of 8-64 MB, 10% in .nlo objects of 8-120 KB (DAOS layout 0001\\, 0002\\ ...)."""
    root.mkdir(parents=True)
    left = int(total * 0.9)
    n = 0
    while left > 0:
        size = min(left, rng.randint(8, 64) << 20)
        with open(root / ("db%03d.nsf" % n), "wb") as handle:
            for _block in range(0, size, 1 << 20):
                handle.write(os.urandom(min(1 << 20, size - handle.tell())))
        left -= size
        n += 1
    left = total - int(total * 0.9)
    n = 0
    while left > 0:
        size = min(left, rng.randint(8, 120) << 10)
        folder = root / "DAOS" / ("%04d" % (n // 1000 + 1))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ("%012d.nlo" % n)).write_bytes(os.urandom(size))
        left -= size
        n += 1


def change(root: Path, fraction: float, rng: random.Random) -> int:
    """Half of ``fraction`` as new .nlo objects, half as rewritten runs of 256 KB pages in a few databases."""
    total = dir_bytes(root)
    budget = int(total * fraction)
    changed = 0
    folder = root / "DAOS" / "9999"
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    while changed < budget // 2:
        size = rng.randint(8, 120) << 10
        (folder / ("new%09d.nlo" % n)).write_bytes(os.urandom(size))
        changed += size
        n += 1
    databases = sorted(root.glob("*.nsf"))
    while changed < budget:
        db = rng.choice(databases[:5])
        run = rng.randint(1, 8) * (256 << 10)
        with open(db, "r+b") as handle:
            size = db.stat().st_size
            handle.seek(rng.randrange(0, max(1, size - run)) // (256 << 10) * (256 << 10))
            handle.write(os.urandom(run))
        changed += run
    return changed


def run_copy(work: Path, coll: Path, backend: str, dest: str) -> dict:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(coll), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    book = work / ("copy-%s.yml" % backend)
    book.write_text(COPY.format(backend=backend, dest=dest))
    started = time.time()
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(work / "fleet" / "inventory.yml"),
                           str(book), "-e", json.dumps({"pw": PASSWORD})], capture_output=True, text=True, env=env, check=False)
    wall = time.time() - started
    doc = json.loads(proc.stdout[proc.stdout.index("{"):])
    result = doc["plays"][0]["tasks"][0]["hosts"]["bench01"]
    if result.get("failed") or not result.get("verified"):
        raise SystemExit("%s copy failed: %s" % (backend, result.get("msg")))
    return {"wall_s": wall, "result": result}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--change", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="quiesce-backends-"))
    coll = work / "coll"
    stage(coll)
    hosts = simfleet.create(work / "fleet", 1, "shutdown", prefix="bench", databases=2, db_kb=16, txn_interval_ms=250)
    cfg_file = Path(hosts[0]["dir"]) / "sim.json"
    cfg = json.loads(cfg_file.read_text())
    for letter in ("D", "E"):
        cfg["volumes"][letter]["size_mb"] = int(args.gb * 1024 * 8) + 4096
    cfg_file.write_text(json.dumps(cfg, indent=2))
    volumes = Path(hosts[0]["dir"]) / "volumes"
    data = volumes / "D" / "Bench" / "data"
    generate(data, int(args.gb * (1 << 30)), rng)
    files = sum(1 for p in data.rglob("*") if p.is_file())
    nsf, nlo = len(list(data.glob("*.nsf"))), len(list(data.rglob("*.nlo")))
    simfleet.up(work / "fleet")
    try:
        dest = {"robocopy": ("E:\\Backups", volumes / "E" / "Backups"), "restic": ("E:\\restic", volumes / "E" / "restic")}
        rows = {}
        changed = 0
        for round_name in ("first", "second"):
            if round_name == "second":
                changed = change(data, args.change, rng)
            for backend in ("robocopy", "restic"):
                before = dir_bytes(dest[backend][1])
                run = run_copy(work, coll, backend, dest[backend][0])
                rows[(round_name, backend)] = {"written": dir_bytes(dest[backend][1]) - before, "wall_s": run["wall_s"],
                                               "result": run["result"]}
        total = dir_bytes(data)
        print("Copy backends on the same simulated data: %d files (%d .nsf, %d .nlo) for the first backup; second "
              "backup after %.2f%% of %.2f GB changed (%d bytes, %d new .nlo)"
              % (files, nsf, nlo, 100.0 * changed / total, total / (1 << 30), changed,
                 len(list(data.rglob("*.nlo"))) - nlo))
        print("| backup | backend | bytes written | wall s |")
        print("|---|---|---:|---:|")
        for (round_name, backend), row in rows.items():
            label = "robocopy versioned" if backend == "robocopy" else "restic"
            megabytes = row["written"] / (1 << 20)
            print("| %s | %s | %d (%.1f MB) | %.1f |" % (round_name, label, row["written"], megabytes, row["wall_s"]))
        ratio = rows[("second", "restic")]["written"] / max(1, rows[("second", "robocopy")]["written"])
        print("second restic backup / second robocopy versioned copy: %.2f%% of the bytes written (target: under 5%%): %s"
              % (100 * ratio, "met" if ratio < 0.05 else "NOT met"))
        second = rows[("second", "restic")]["result"]
        print("restic second backup: data_added %s, files new %s, changed %s, unmodified %s"
              % (second.get("data_added"), second.get("files_new"), second.get("files_changed"), second.get("files_unmodified")))
        return 0
    finally:
        simfleet.down(work / "fleet")
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    sys.exit(main())
