"""Map the Windows paths a tool receives onto a simulated host's directory."""
from __future__ import annotations

import re
from pathlib import Path

_DRIVE_RE = re.compile(r"^([A-Za-z]):(?:[\\/](.*))?$")
_SHADOW_RE = re.compile(r"^\\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy(\d+)(?:\\(.*))?$", re.I)
_UNC_RE = re.compile(r"^\\\\([^\\?.][^\\]*)\\([^\\]+)(?:\\(.*))?$")


class PathError(ValueError):
    pass


def _join(base: Path, rest: str | None) -> Path:
    path = base
    for part in re.split(r"[\\/]+", rest or ""):
        if part in ("", "."):
            continue
        if part == "..":
            raise PathError("'..' is not allowed in simulated paths")
        path = path / part
    return path


def to_host_path(host_dir: Path, fleet_dir: Path, win_path: str, shadow_dirs: dict[int, Path] | None = None) -> Path:
    """The real directory behind ``win_path`` on this simulated host."""
    if win_path.startswith("/"):
        # the executor's own temp files are real POSIX paths; a plan joins names to @@PLAN_DIR@@ with "\\"
        return _join(Path("/"), win_path)
    match = _SHADOW_RE.match(win_path)
    if match:
        number = int(match.group(1))
        if not shadow_dirs or number not in shadow_dirs:
            raise PathError("shadow copy device %d does not exist" % number)
        return _join(shadow_dirs[number], match.group(2))
    match = _DRIVE_RE.match(win_path)
    if match:
        return _join(host_dir / "volumes" / match.group(1).upper(), match.group(2))
    match = _UNC_RE.match(win_path)
    if match:
        return _join(fleet_dir / "shares" / match.group(1).lower() / match.group(2).lower(), match.group(3))
    raise PathError("not an absolute Windows path: %r" % win_path)


def volume_of(win_path: str) -> str | None:
    match = _DRIVE_RE.match(win_path)
    return match.group(1).upper() if match else None
