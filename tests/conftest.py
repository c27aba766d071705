"""Stage the collection into a temporary ansible_collections tree before any test imports it."""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS / "tools"))
sys.path.insert(0, str(TESTS))

from stage_collection import stage  # noqa: E402

_ROOT = Path(os.environ.get("QUIESCE_STAGE_DIR") or tempfile.mkdtemp(prefix="quiesce-coll-"))
if not os.environ.get("QUIESCE_STAGE_DIR"):
    atexit.register(shutil.rmtree, _ROOT, True)
COLLECTION = stage(_ROOT)
sys.path.insert(0, str(_ROOT))
os.environ["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(
    [str(_ROOT)] + [p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p])
