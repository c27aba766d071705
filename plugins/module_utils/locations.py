# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a Domino server keeps its data, and where each place goes in a copy.  Pure functions, no I/O.

A server is more than its data directory: the transaction log (``TRANSLOG_Path``), the DAOS store
(``DAOSBasePath``), the targets of directory links and notes.ini or the server ID can live elsewhere,
often on other volumes.  A copy made by quiesce.domino.snapshot_copy is one backup folder::

    <copy>\\quiesce_domino.json   the layout: every place, its kind and its path on the server
    <copy>\\data\\                 the data directory
    <copy>\\translog\\             the transaction log, when it is outside the data directory
    <copy>\\daos\\                 the DAOS store, when it is outside the data directory
    <copy>\\links\\<name>\\         targets of directory links outside the data directory
    <copy>\\files\\                notes.ini and the server ID, when they are outside the data directory

A copy without ``quiesce_domino.json`` (made before 0.2.0) is the data directory itself.
"""

from __future__ import annotations

import json
import re
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

LAYOUT_FILE = "quiesce_domino.json"
LAYOUT_FORMAT = 1
KINDS = ("data", "translog", "daos", "link", "notes_ini", "server_id")
_NAME_RE = re.compile(r"^(data|translog|daos|files|links\\[A-Za-z0-9_.-]{1,60})$")
_FILE_KINDS = ("notes_ini", "server_id")


def absolute(path: t.Optional[str], base: t.Optional[str]) -> t.Optional[str]:
    """A notes.ini path as Domino reads it: absolute, or relative to the data directory."""
    if not path:
        return None
    path = path.strip().strip('"').rstrip("\\")
    if re.match(r"^[A-Za-z]:\\", path) or path.startswith("\\\\"):
        return path
    if re.match(r"^[A-Za-z]:$", path):
        return path + "\\"
    return "%s\\%s" % (base.rstrip("\\"), path.lstrip("\\")) if base else None


def inside(path: str, folder: t.Optional[str]) -> bool:
    """``path`` is ``folder`` or below it (case-insensitive, as NTFS names are)."""
    return bool(folder) and (path.lower() == folder.lower().rstrip("\\") or
                             path.lower().startswith(folder.lower().rstrip("\\") + "\\"))


def server_locations(data_dir: t.Optional[str], ini: dict[str, str], notes_ini: t.Optional[str],
                     links: t.Sequence[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """Every place the server's data lives, as {kind, path, name}: the data directory, the transaction log,
    the DAOS store, the targets of directory links, notes.ini and the server ID when they lie outside the
    data directory.  ``name`` is the folder of the place in a copy.  A backup that covers these (one shadow
    copy set, one copy) holds the whole server."""
    out: list[dict[str, t.Any]] = [{"kind": "data", "path": data_dir, "name": "data"}] if data_dir else []
    translog = absolute(ini.get("translog_path"), data_dir) if ini.get("translog_status") == "1" else None
    if translog and not inside(translog, data_dir):
        out.append({"kind": "translog", "path": translog, "name": "translog"})
    if ini.get("daosenable") == "1":
        daos = absolute(ini.get("daosbasepath") or "DAOS", data_dir)
        if daos and not inside(daos, data_dir):
            out.append({"kind": "daos", "path": daos, "name": "daos"})
    names: set[str] = set()
    for link in links:
        target = absolute(str(link.get("target") or ""), data_dir)
        if target and not inside(target, data_dir) and not any(inside(target, o["path"]) for o in out):
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(link.get("path") or "").rsplit("\\", 1)[-1])[:56] or "link"
            while name.lower() in names:
                name = name + "_"
            names.add(name.lower())
            out.append({"kind": "link", "path": target, "name": "links\\" + name, "link": link.get("path")})
    for kind, path in (("notes_ini", notes_ini), ("server_id", absolute(ini.get("serverkeyfilename"), data_dir))):
        if path and not any(inside(path, o["path"]) for o in out):
            out.append({"kind": kind, "path": path, "name": "files", "file": True})
    return out


def exposure_letters(volumes: t.Sequence[str], first: str, in_use: t.Iterable[str]) -> dict[str, str]:
    """Drive letters to expose a shadow copy set at: the first volume at ``first``, every other drive-letter
    volume at a free letter from Z: downwards (never A:, B:, C: or a letter in use).  Raises ValueError when
    the letters run out."""
    taken = {str(d).upper()[:1] for d in in_use} | {first.upper()[:1], "A", "B", "C"}
    out = {volumes[0].upper(): first.upper()} if volumes else {}
    free = [chr(c) for c in range(ord("Z"), ord("C"), -1) if chr(c) not in taken]
    for vol in volumes[1:]:
        if not re.fullmatch(r"[A-Za-z]:", vol):
            continue
        if not free:
            raise ValueError("no free drive letter is left to expose the shadow copy of %s" % vol)
        out[vol.upper()] = free.pop(0) + ":"
    return out


def copy_locations(locations: t.Sequence[dict[str, t.Any]], exposed: dict[str, str],
                   daos_inside: t.Optional[str] = None) -> list[dict[str, t.Any]]:
    """Each place of the server with ``source``: where it is read in the exposed shadow copies (its drive
    letter replaced by the letter its volume's shadow copy is exposed at).  Places on volumes that are not
    exposed (a share, a volume outside the set) are left out.  ``daos_inside``: the DAOS store when it is
    inside the data directory; the data place names it as ``daos`` (the copy tops it up)."""
    out = []
    for loc in locations:
        path = str(loc.get("path") or "")
        letter = exposed.get(path[:2].upper()) if re.match(r"^[A-Za-z]:\\", path) else None
        if letter:
            row = {"name": loc["name"], "kind": loc["kind"], "path": path, "source": letter + path[2:]}
            if loc.get("file"):
                row["file"] = True
            if loc["kind"] == "data" and daos_inside and inside(daos_inside, path) and daos_inside.lower() != path.lower():
                row["daos"] = daos_inside
            out.append(row)
    return out


def shadow_places(locations: t.Sequence[dict[str, t.Any]], shadows: t.Sequence[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """Each place of the server with the ID of the shadow copy of its volume (a kept snapshot, a restore
    point: every place can be put back from the set).  Places on volumes outside the set are left out."""
    by_volume = {str(s.get("volume") or "").upper(): s.get("id") for s in shadows if s.get("volume") and s.get("id")}
    out = []
    for loc in locations:
        path = str(loc.get("path") or "")
        shadow = by_volume.get(path[:2].upper()) if re.match(r"^[A-Za-z]:\\", path) else None
        if shadow:
            row = {"name": loc["name"], "kind": loc["kind"], "path": path, "shadow_id": shadow}
            if loc.get("file"):
                row["file"] = True
            out.append(row)
    return out


def restore_places(option: str, value: t.Any) -> list[dict[str, t.Any]]:
    """Validate ``places`` of a restore point (the snapshot's ``shadow_places``): name, kind, path, shadow_id."""
    if not isinstance(value, list):
        raise cli.OptionError("%s: a list of places is required (the shadow_places that quiesce.domino.snapshot "
                              "returned)" % option)
    out = []
    for i, item in enumerate(value):
        where = "%s[%d]" % (option, i)
        if not isinstance(item, dict):
            raise cli.OptionError("%s: a dictionary with name, kind, path and shadow_id is required" % where)
        unknown = sorted(set(item) - {"name", "kind", "path", "shadow_id", "file"})
        if unknown:
            raise cli.OptionError("%s: unknown keys %s; allowed are name, kind, path, shadow_id, file"
                                  % (where, ", ".join(unknown)))
        name = cli.safe_text(where + ".name", item.get("name"), 70)
        kind = item.get("kind")
        if not _NAME_RE.fullmatch(name) or kind not in KINDS:
            raise cli.OptionError("%s: name %r or kind %r is not valid; names are data, translog, daos, files or "
                                  "links\\<name>, kinds %s" % (where, name, kind, ", ".join(KINDS)))
        is_file = kind in _FILE_KINDS
        path = (_file_path if is_file else cli.windows_folder)(where + ".path", item.get("path"))
        row = {"name": name, "kind": kind, "path": path, "shadow_id": cli.guid(where + ".shadow_id", item.get("shadow_id"))}
        if is_file:
            row["file"] = True
        out.append(row)
    if out and not any(p["kind"] == "data" for p in out):
        raise cli.OptionError("%s: the data directory (kind data) is missing" % option)
    return out


def _file_path(option: str, value: t.Any) -> str:
    """An absolute local file path (the folder rules of windows_folder, plus a file name)."""
    text = cli.windows_folder(option, value)
    if len(text) <= 3 or text.endswith("\\"):
        raise cli.OptionError("%s: %r is not valid; give the path of a file" % (option, value))
    return text


def copy_units(option: str, value: t.Any) -> list[dict[str, t.Any]]:
    """Validate ``locations`` as given to snapshot_copy (the snapshot's ``copy_locations``): a list of
    {name, kind, source, path, file}.  Returns them normalised; raises OptionError naming the item."""
    if not isinstance(value, list):
        raise cli.OptionError("%s: a list of places is required (the copy_locations that quiesce.domino.snapshot "
                              "returned)" % option)
    out: list[dict[str, t.Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        where = "%s[%d]" % (option, i)
        if not isinstance(item, dict):
            raise cli.OptionError("%s: a dictionary with name, kind, source and path is required" % where)
        unknown = sorted(set(item) - {"name", "kind", "source", "path", "file", "daos"})
        if unknown:
            raise cli.OptionError("%s: unknown keys %s; allowed are name, kind, source, path, file, daos"
                                  % (where, ", ".join(unknown)))
        name = cli.safe_text(where + ".name", item.get("name"), 70)
        if not _NAME_RE.fullmatch(name):
            raise cli.OptionError("%s.name: %r is not valid; one of data, translog, daos, files or links\\<name> "
                                  "(letters, digits and _.-)" % (where, name))
        kind = item.get("kind")
        if kind not in KINDS:
            raise cli.OptionError("%s.kind: %r is not valid; one of %s" % (where, kind, ", ".join(KINDS)))
        is_file = bool(item.get("file"))
        if is_file != (kind in _FILE_KINDS) or (name == "files") != is_file or (name == "data") != (kind == "data"):
            raise cli.OptionError("%s: name %s, kind %s and file %s do not go together" % (where, name, kind, is_file))
        check = _file_path if is_file else cli.windows_folder
        source = check(where + ".source", item.get("source"))
        path = check(where + ".path", item.get("path")) if item.get("path") is not None else None
        key = (name + "\\" + source.rsplit("\\", 1)[-1]) if is_file else name
        if key.lower() in seen:
            raise cli.OptionError("%s: %s appears twice" % (where, key))
        seen.add(key.lower())
        row: dict[str, t.Any] = {"name": name, "kind": kind, "source": source, "path": path}
        if is_file:
            row["file"] = True
        if item.get("daos") is not None:
            daos = cli.windows_folder(where + ".daos", item["daos"])
            if kind != "data" or not path or not inside(daos, path) or daos.lower() == path.lower():
                raise cli.OptionError("%s.daos: %s is not a folder inside the data directory %s; only the data place "
                                      "names the DAOS store it holds" % (where, daos, path))
            row["daos"] = daos
        out.append(row)
    return out


def robocopy_units(units: t.Sequence[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """What robocopy is run for: one folder per place; single files grouped by their folder (robocopy
    copies named files of one folder)."""
    out: list[dict[str, t.Any]] = []
    for unit in units:
        if not unit.get("file"):
            out.append({"name": unit["name"], "source": unit["source"], "files": None})
            continue
        folder, _sep, leaf = unit["source"].rpartition("\\")
        folder = folder if len(folder) > 2 else folder + "\\"
        group = next((o for o in out if o["files"] is not None and o["name"] == unit["name"]
                      and o["source"].lower() == folder.lower()), None)
        if group is None:
            out.append({"name": unit["name"], "source": folder, "files": [leaf]})
        else:
            group["files"].append(leaf)
    return out


def layout_document(host: str, units: t.Sequence[dict[str, t.Any]]) -> dict[str, t.Any]:
    """The content of ``quiesce_domino.json``: what is where in the copy, and where it came from."""
    return {"format": LAYOUT_FORMAT, "host": host,
            "locations": [{k: v for k, v in (("name", u["name"]), ("kind", u["kind"]), ("path", u.get("path")),
                                             ("file", True if u.get("file") else None)) if v is not None}
                          for u in units]}


def folder_of(kind: str, name: str) -> str:
    """The folder a place of this kind has in a copy (a link keeps its own name under links\\)."""
    if kind == "link":
        return name if name.startswith("links\\") else "links\\" + name
    return {"data": "data", "translog": "translog", "daos": "daos"}.get(kind, "files")


def parse_layout(text: str) -> t.Optional[dict[str, t.Any]]:
    """``quiesce_domino.json`` read from a copy (``{}`` or nothing: a copy without one, the data directory
    itself).  Every place is validated as if a user had passed it: the file lies on a share others can write."""
    doc = json.loads(text) if (text or "").strip() else {}
    if not doc:
        return None
    if not isinstance(doc, dict) or doc.get("format") != LAYOUT_FORMAT or not isinstance(doc.get("locations"), list):
        raise ValueError("%s is not a layout this version reads (format %s)" % (LAYOUT_FILE, LAYOUT_FORMAT))
    places = []
    for i, loc in enumerate(doc["locations"]):
        if not isinstance(loc, dict):
            raise ValueError("%s: locations[%d] is not a dictionary" % (LAYOUT_FILE, i))
        name = str(loc.get("name") or "")
        kind = loc.get("kind")
        if not _NAME_RE.fullmatch(name) or kind not in KINDS or name != folder_of(kind, name) \
                or bool(loc.get("file")) != (kind in _FILE_KINDS):
            raise ValueError("%s: locations[%d] (%s, %s) does not name a place of a Domino server" % (LAYOUT_FILE, i, name, kind))
        path = loc.get("path")
        if path is not None:
            try:
                path = (_file_path if loc.get("file") else cli.windows_folder)("%s locations[%d].path" % (LAYOUT_FILE, i), path)
            except cli.OptionError as exc:
                raise ValueError(str(exc))
        places.append({"name": name, "kind": loc["kind"], "path": path, "file": bool(loc.get("file"))})
    return {"host": doc.get("host"), "locations": places}


def data_root(copy_root: str, layout: t.Optional[dict[str, t.Any]]) -> str:
    """Where the data directory is in a copy."""
    return copy_root.rstrip("\\") + "\\data" if layout else copy_root
