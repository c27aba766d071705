"""Copy the collection (files git tracks, plus untracked ones it does not ignore) into
DEST/ansible_collections/quiesce/domino and print that path.

ansible-test and ansible-playbook need the collection inside an ``ansible_collections``
tree; the repository root is the collection root, so tests stage a copy.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SKIP_TOP = {".git", ".venv", ".venv-test", ".tox", "build", "dist"}


def tracked_files(repo: Path) -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=repo, check=True, capture_output=True).stdout
        return [p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for root, dirs, names in os.walk(repo):
            rel = os.path.relpath(root, repo)
            if rel == ".":
                dirs[:] = [d for d in dirs if d not in SKIP_TOP]
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            files.extend(os.path.normpath(os.path.join(rel, n)) for n in names)
        return files


def stage(dest: Path, repo: Path = REPO) -> Path:
    target = dest / "ansible_collections" / "quiesce" / "domino"
    if target.exists():
        shutil.rmtree(target)
    for rel in tracked_files(repo):
        src = repo / rel
        if not src.is_file() or rel.split("/")[0] in SKIP_TOP:
            continue
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, out)
    return target


if __name__ == "__main__":
    print(stage(Path(sys.argv[1]).resolve()))
