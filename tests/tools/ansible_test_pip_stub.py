"""Place the stand-in for ansible-test's pip bootstrap script in ~/.ansible/test/cache.

ansible-test downloads get-pip-<version>.py from a host this machine cannot reach and
caches it as ~/.ansible/test/cache/get_pip_<version>.py.  The stand-in does the same job
with what Python ships: ``ensurepip``, then ``pip install`` of the requested pip, without
the --no-setuptools/--no-wheel flags that the ensurepip'd pip 23 does not know.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

STUB = '''"""Stand-in for get-pip.py written by quiesce.domino's Makefile (no network needed)."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
'''


def pip_version() -> str:
    import ansible_test  # noqa: F401 - located through the running venv
    source = Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
    match = re.search(r"pip='([0-9.]+)'", source.read_text())
    if not match:
        raise SystemExit("cannot find the pip version ansible-test bootstraps in %s" % source)
    return match.group(1)


def main() -> int:
    version = pip_version()
    cache = Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / ("get_pip_%s.py" % version.replace(".", "_"))
    target.write_text(STUB)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
