# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore points (a kept shadow copy recorded on the host) and restoring Domino data from one. Pure."""

from __future__ import annotations

import datetime
import re
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import diskshadow as ds
from ansible_collections.quiesce.domino.plugins.module_utils import services
from ansible_collections.quiesce.domino.plugins.module_utils import locations as locs
from ansible_collections.quiesce.domino.plugins.module_utils import methods
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import robocopy as rc
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

ROOT = "HKLM\\SOFTWARE\\quiesce.domino\\RestorePoints"
PLACE_VALUE = "Place"
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def point_name(option: str, value: t.Any) -> str:
    value = cli.check_chars(option, cli.require_str(option, value))
    if not _NAME_RE.fullmatch(value):
        raise cli.OptionError("%s: %r is not valid; 1-64 characters of letters, digits and _.- starting with a letter "
                              "or digit" % (option, value))
    return value


def key(name: str) -> str:
    return "%s\\%s" % (ROOT, name)


def record_plan(tools: dict[str, str], platform: str, name: str, values: dict[str, str],
                replace: bool = False) -> dict[str, t.Any]:
    """Write a restore point's values; ``replace`` deletes the key first, so no value of an earlier record (a
    PlaceN beyond the new places) survives."""
    steps = [planlib.step("forget the earlier record", [tools["reg"], "delete", key(name), "/f"], ok_rc="any")] if replace else []
    steps += [planlib.step("record %s" % field,
                           [tools["reg"], "add", key(name), "/v", field, "/t", "REG_SZ", "/d", cli.safe_text(field, value, 400), "/f"])
              for field, value in values.items()]
    return planlib.build_plan("record restore point", platform, steps)


def query_plan(tools: dict[str, str], platform: str) -> dict[str, t.Any]:
    return planlib.build_plan("list restore points", platform,
                              [planlib.step("query", [tools["reg"], "query", ROOT, "/s"], ok_rc="any")],
                              check_mode_safe=True)


def parse_points(text: str) -> dict[str, dict[str, str]]:
    """``reg query ROOT /s`` -> {name: {ShadowId, Service, DataDir, Created, Note}}."""
    points: dict[str, dict[str, str]] = {}
    current = None
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        match = re.match(r"^HKEY_LOCAL_MACHINE\\SOFTWARE\\quiesce\.domino\\RestorePoints\\([^\\]+)$", line.strip(), re.I)
        if match:
            current = points.setdefault(match.group(1), {})
            continue
        match = re.match(r"^\s+(\S+)\s+REG_SZ\s+(.*)$", line)
        if match and current is not None:
            current[match.group(1)] = match.group(2).strip()
    return points


def find_point(points: dict[str, dict[str, str]], name: str) -> t.Optional[dict[str, str]]:
    """Registry key names are case-insensitive on Windows."""
    return next((v for k, v in points.items() if k.lower() == name.lower()), None)


SET_ASIDE_STEP = "set the transaction log aside"
UNDO_ASIDE_STEP = "put the transaction log back"


def log_handling(inst: dict[str, t.Any], stamp: str, held: bool, allow_archive: bool = False) -> dict[str, t.Any]:
    """How a whole-server restore in place treats the server's transaction log (as notes.ini sets it now).

    Restart recovery replays the log onto the databases, and a file-level restore keeps each database's DBIID
    (only Domino's own restore assigns a new one: HCL "Transaction logging with backup and restore"), so after
    the restore the log must be the one from the backup's moment, never a newer one.

    ``replace``: the current log folder is set aside (renamed to ``<name>.before-restore-<stamp>``, beside the
    data directory when the log is inside it; nothing is deleted, a failed restore renames it back) and the
    backup's log is put back.  With archive-style logging only when ``allow_archive`` (its extents may not be
    archived yet: archive the set-aside ones, and take a new full backup right away).
    ``refuse``: archive-style logging without ``allow_archive``, or a log (or data directory holding it) at a
    volume root, which cannot be set aside; ``why`` says what to do.
    ``keep``: the backup holds no log (``held`` false): nothing to put back, the restore warns.
    ``None``: transaction logging is off."""
    log = inst.get("translog") or {}
    path = str(log.get("path") or "").rstrip("\\")
    data = str(inst.get("data_dir") or "").rstrip("\\")
    if log.get("status") != "1" or not re.match(r"^[A-Za-z]:(\\.|$)", path):
        return {"action": None}
    inside = locs.inside(path, data)
    out: dict[str, t.Any] = {"path": path, "inside_data": inside, "rel": path[len(data) + 1:] if inside else None,
                             "style": log.get("style_name")}
    if not held:
        return dict(out, action="keep", why="the backup holds no transaction log; the current one is left as it is, "
                                            "so restart recovery may replay newer records onto the restored databases")
    if log.get("style_name") == "archive" and not allow_archive:
        return dict(out, action="refuse", why="archive-style transaction logging: putting the databases back without "
                                              "their log mixes two histories; set allow_archive_log=true to set the "
                                              "current log aside and put the backup's back (then archive the set-aside "
                                              "extents and take a new full backup), or restore through Domino's restore")
    parent, _sep, leaf = path.rpartition("\\")
    if inside:
        # set aside outside the data directory, so that a mirror of the data directory cannot remove it
        parent, _sep, data_leaf = data.rpartition("\\")
        leaf = "%s-%s" % (data_leaf, leaf)
    if len(parent) < 2 or not leaf:
        return dict(out, action="refuse", why="the transaction log (or the data directory holding it) is at a volume "
                                              "root and cannot be set aside; restore it by hand, or set "
                                              "other_locations=false to restore the data directory alone")
    return dict(out, action="replace", aside="%s\\%s.before-restore-%s" % (parent, leaf, stamp),
                failed="%s\\%s.failed-restore-%s" % (parent, leaf, stamp))


def set_aside_step(tools: dict[str, str], handling: dict[str, t.Any]) -> dict[str, t.Any]:
    return rc.fs_step(SET_ASIDE_STEP, tools, "set_aside", {"path": handling["path"], "to": handling["aside"]}, timeout=600)


def undo_aside_step(tools: dict[str, str], handling: dict[str, t.Any]) -> dict[str, t.Any]:
    """Rescue: a restore that failed after the log was set aside puts the log back (a half-restored log folder
    is renamed to ``.failed-restore-<stamp>`` first), so the server never starts without its log."""
    data = {"path": handling["path"], "aside": handling["aside"], "failed": handling["failed"]}
    return rc.fs_step(UNDO_ASIDE_STEP, tools, "undo_aside", data, ok_rc="any", timeout=600)


def _skip_log_place(place: dict[str, t.Any], log: dict[str, t.Any], tools: dict[str, str],
                    steps: list[dict[str, t.Any]]) -> bool:
    """A transaction log place is put back only when ``log`` says replace (then set aside first) and the log is
    not inside the data directory (which the data directory's own restore brings back).  True: skip it."""
    if place["kind"] != "translog":
        return False
    if log["action"] != "replace" or log.get("inside_data"):
        return True
    steps.append(set_aside_step(tools, log))
    return False


def _place_label(place: dict[str, t.Any]) -> str:
    """A place in step names: its folder in the copy, and the file name for a single file."""
    return place["name"] if not place.get("file") else "%s %s" % (place["name"], place["path"].rsplit("\\", 1)[-1])


def _put_back_argvs(tools: dict[str, str], source: str, place: dict[str, t.Any], mode: str,
                    keep: t.Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """robocopy argv and its verifying listing that put one place back from ``source``: a single file by name
    (``source`` is its folder), the DAOS store only where an object is missing (an NLO never changes, a
    different one is not replaced), any other folder in ``mode``."""
    if place.get("file"):
        folder = place["path"].rpartition("\\")[0]
        folder = folder if len(folder) > 2 else folder + "\\"
        leaf = place["path"].rsplit("\\", 1)[-1]
        return (rc.files_argv(tools, source, folder, [leaf], 1, 1, 8, False, None),
                rc.files_argv(tools, source, folder, [leaf], 0, 0, 8, False, None, listing=True))
    argv = rc.robocopy_argv(tools, source, place["path"], mode, 1, 1, 8, True, None, exclude_dirs=keep)
    listing = rc.robocopy_argv(tools, source, place["path"], mode, 0, 0, 8, False, None, listing=True,
                               ignore_extras=mode != "mirror", exclude_dirs=keep)
    if place["kind"] == "daos":
        argv += ["/XC", "/XN", "/XO"]
        listing += ["/XC", "/XN", "/XO"]
    return argv, listing


def place_values(places: t.Sequence[dict[str, t.Any]]) -> dict[str, str]:
    """A restore point's places as registry values ``Place1`` .. ``PlaceN``: ``kind;name;path;shadow_id``."""
    return {"%s%d" % (PLACE_VALUE, i + 1): ";".join((p["kind"], p["name"], p["path"], p["shadow_id"]))
            for i, p in enumerate(places)}


def point_places(point: dict[str, str]) -> list[dict[str, t.Any]]:
    """Where a restore point puts data back: its recorded places (each validated again, the registry is read
    back as text), or, for a point recorded before 0.2.0, the data directory from its one shadow copy."""
    rows = sorted((int(k[len(PLACE_VALUE):]), v) for k, v in point.items()
                  if k.startswith(PLACE_VALUE) and k[len(PLACE_VALUE):].isdigit())
    if not rows:
        return [{"name": "data", "kind": "data", "path": cli.windows_folder("DataDir", point.get("DataDir")),
                 "shadow_id": cli.guid("ShadowId", point.get("ShadowId"))}]
    raw = []
    for number, text in rows:
        # kind and name never hold ';', a shadow ID neither; a path may
        head = text.split(";", 2)
        tail = head[2].rsplit(";", 1) if len(head) == 3 else []
        if len(tail) != 2:
            raise cli.OptionError("%s%d: %r is not kind;name;path;shadow_id" % (PLACE_VALUE, number, text))
        raw.append({"kind": head[0], "name": head[1], "path": tail[0], "shadow_id": tail[1]})
    return locs.restore_places("restore point", raw)


def raw_shadow_ids(point: dict[str, str]) -> list[str]:
    """Every GUID in a restore point's values, read without validating them: what a damaged record still keeps."""
    found: list[str] = []
    for value in point.values():
        for match in re.findall(r"\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?", str(value)):
            guid = "{%s}" % match.lower()
            if guid not in found:
                found.append(guid)
    return found


def point_shadow_ids(point: dict[str, str]) -> list[str]:
    """Every shadow copy a restore point keeps (one per volume of its set)."""
    ids = [cli.guid("ShadowId", point["ShadowId"])] if point.get("ShadowId") else []
    for place in point_places(point) if any(k.startswith(PLACE_VALUE) for k in point) else []:
        if place["shadow_id"].lower() not in {i.lower() for i in ids}:
            ids.append(place["shadow_id"])
    return ids


def delete_plan(tools: dict[str, str], platform: str, name: str, shadow_ids: t.Sequence[str]) -> dict[str, t.Any]:
    steps = []
    files = {}
    for index, shadow_id in enumerate(shadow_ids):
        files["delete%d.dsh" % index] = planlib.plan_file(ds.render(ds.render_delete("id", shadow_id)), encoding="ascii")
        steps.append(planlib.step("delete the shadow copy" + (" %d" % index if index else ""),
                                  [tools["diskshadow"], "/s", planlib.file_ref("delete%d.dsh" % index)],
                                  timeout=600, allow_failure=True))
    steps.append(planlib.step("delete the record", [tools["reg"], "delete", key(name), "/f"], ok_rc="any"))
    # Win32_ShadowCopy read back: each shadow copy is gone (or was already), judged in any language
    return planlib.build_plan("delete restore point", platform, steps, files=files,
                              finally_steps=[ds.probe_step(tools, [ds.expectation("gone", shadow_id=i) for i in shadow_ids])])


def restore_plan(tools: dict[str, str], platform: str, service: str, places: t.Sequence[dict[str, t.Any]],
                 expose_as: str, timeout: int, log: t.Optional[dict[str, t.Any]] = None) -> dict[str, t.Any]:
    """Domino must be stopped; for each place, expose the shadow copy of its volume at ``expose_as``, put the
    place back, verify, unexpose (one letter serves every volume in turn).  The data directory and link
    targets are mirrored (the server as it was), the DAOS store only gets its missing objects, single files
    are copied by name.  The transaction log follows ``log`` (log_handling): set aside and the snapshot's put
    back, or left exactly as it is (excluded from the data directory's mirror)."""
    log = log or {"action": None}
    files = {"unexpose.dsh": planlib.plan_file(ds.render(ds.render_unexpose(expose_as)), encoding="ascii")}
    steps = [planlib.step("Domino must be stopped", [tools["sc"], "query", service], ok_rc="any",
                          retry=planlib.retry_until(10, 1.0, until_stdout=services.STOPPED_RE))]
    if log["action"] == "replace" and log["inside_data"]:
        steps.append(set_aside_step(tools, log))
    for index, place in enumerate(places):
        if _skip_log_place(place, log, tools, steps):
            continue
        label = _place_label(place)
        files["expose%d.dsh" % index] = planlib.plan_file(ds.render(ds.render_expose(place["shadow_id"], expose_as)),
                                                          encoding="ascii")
        source = expose_as + place["path"][2:]
        if place.get("file"):
            argv, listing = _put_back_argvs(tools, expose_as + (place["path"].rpartition("\\")[0][2:] or "\\"), place, "")
        else:
            keep = ["%s\\%s" % (source, log["rel"]), "%s\\%s" % (place["path"], log["rel"])] \
                if place["kind"] == "data" and log["action"] == "keep" and log.get("inside_data") else []
            if len(place["path"].rstrip("\\")) == 2:
                keep += list(rc.SKIP_DIRS)  # a volume root: never its System Volume Information or recycle bin
            argv, listing = _put_back_argvs(tools, source, place, "versioned" if place["kind"] == "daos" else "mirror", keep)
        restore_name = "restore the data directory" if place["kind"] == "data" else "restore %s" % label
        verify_name = "verify the restore" if place["kind"] == "data" else "verify the restore of %s" % label
        steps += [
            planlib.step("expose the restore point" + (" for %s" % label if index else ""),
                         [tools["diskshadow"], "/s", planlib.file_ref("expose%d.dsh" % index)], timeout=600),
            # nothing is put back unless expose_as holds this very shadow copy (Win32_ShadowCopy, any language)
            ds.probe_step(tools, [ds.expectation("exposed", expose_as, place["shadow_id"])],
                          name="%s is exposed at %s" % (label, expose_as), allow_failure=False),
            planlib.step(restore_name, argv, ok_rc=planlib.ok_rc_range(0, 7), timeout=timeout),
            planlib.step(verify_name, listing, ok_rc=[0], timeout=timeout),
            planlib.step("unexpose after %s" % label, [tools["diskshadow"], "/s", planlib.file_ref("unexpose.dsh")],
                         timeout=600),
            ds.probe_step(tools, [ds.expectation("free", expose_as)], name="%s is free after %s" % (expose_as, label),
                          allow_failure=False),
        ]
    return planlib.build_plan("restore", platform, steps, files=files,
                              rescue=[undo_aside_step(tools, log)] if log["action"] == "replace" else [],
                              finally_steps=[planlib.step("unexpose the restore point",
                                                          [tools["diskshadow"], "/s", planlib.file_ref("unexpose.dsh")],
                                                          ok_rc="any", timeout=600)])


# ------------------------------------------------------------ from a copy

DATABASE_SUFFIXES = (".nsf", ".ntf", ".box")
_REL_PART_RE = re.compile(r"^[^\\/:*?\"<>|\x00-\x1f%&^!]+$")
COPY_RESTORE_STEP = "restore from the copy"
PLACE_RESTORE_STEP = "restore the place"
IN_COPY_STEP = "the databases asked for are in the copy"
DELTA_CHECK_STEP = "the copy holds no change info to apply"


def relative_path(option: str, value: t.Any) -> str:
    """A database or folder relative to the data directory (``mail\\jdoe.nsf``, ``mail``)."""
    text = cli.safe_text(option, value, cli.MAX_PATH).strip("\\")
    parts = text.split("\\")
    if not text or re.match(r"^[A-Za-z]:", text) or text.startswith("\\\\") or "/" in text:
        raise cli.OptionError("%s: %r is not valid; give a path relative to the data directory such as mail\\jdoe.nsf "
                              "or mail" % (option, value))
    for part in parts:
        if cli.is_dot_component(part) or not _REL_PART_RE.fullmatch(part) or part != part.rstrip(" .") \
                or cli.is_reserved_name(part):
            raise cli.OptionError("%s: %r is not valid; '.', '..', reserved device names and the characters "
                                  "\\ / : * ? \" < > | %% & ^ ! are not allowed in a path component" % (option, value))
    return text


def copy_entries(databases: t.Sequence[str]) -> list[dict[str, str]]:
    """What to restore: the whole data directory (no databases), database files with their .DELTA, folders."""
    if not databases:
        return [{"kind": "all", "path": ""}]
    out = []
    for rel in databases:
        kind = "database" if rel.lower().endswith(DATABASE_SUFFIXES) else "folder"
        out.append({"kind": kind, "path": rel})
    return out


def copy_restore_plan(tools: dict[str, str], platform: str, service: str, copy_root: str, target: str,
                      entries: t.Sequence[dict[str, str]], in_place: bool, timeout: int,
                      refuse_deltas: bool = False, copy_base: str = "",
                      others: t.Sequence[dict[str, t.Any]] = (),
                      log: t.Optional[dict[str, t.Any]] = None) -> dict[str, t.Any]:
    """Put databases (each with its ``.DELTA`` from the copy beside it, so Domino's restore applies it) from a
    copy made by snapshot_copy into the data directory (Domino stopped) or a restore folder.  A ``.DELTA``
    left in the target beside a database that the copy restores without one is removed first: Domino must
    not apply another backup's change info to it.

    ``others``: places outside the data directory (the copy's layout, each checked against where the server
    keeps it now) put back from ``<copy_base>\\<name>``: link targets copied without deleting anything, the
    DAOS store only where an object is missing (NLO files never change; an existing one is never replaced),
    single files by name.  ``log`` (log_handling, whole data directory in place): the transaction log is set
    aside and the backup's put back, or left alone (``keep``), wherever it lives."""
    steps = []
    if in_place:
        steps.append(planlib.step("Domino must be stopped", [tools["sc"], "query", service], ok_rc="any",
                                  retry=planlib.retry_until(10, 1.0, until_stdout=services.STOPPED_RE)))
    if refuse_deltas:
        # Nothing in HCL's documentation applies a .DELTA that lies beside a database when Domino starts or opens
        # it: only Domino's restore does.  So databases with change info are not copied back in place unasked.
        probe = []
        for entry in entries:
            rel = entry["path"]
            if entry["kind"] == "database":
                probe.append({"path": "%s\\%s.DELTA" % (copy_root, rel), "recurse": False})
            else:
                probe.append({"path": copy_root + ("\\" + rel if rel else ""), "recurse": True})
        steps.append(rc.fs_step(DELTA_CHECK_STEP, tools, "no_deltas", {"places": probe}, timeout=600))
    named = [{"path": copy_root + "\\" + entry["path"]} for entry in entries if entry["path"]]
    if named:
        # every database or folder asked for is in the copy (a name robocopy does not find is copied as nothing)
        steps.append(rc.fs_step(IN_COPY_STEP, tools, "in_copy", {"places": named}, timeout=120))
    log = log or {"action": None}
    if log["action"] == "replace" and log["inside_data"]:
        steps.append(set_aside_step(tools, log))
    for index, entry in enumerate(entries):
        rel = entry["path"]
        if entry["kind"] == "database":
            folder, _sep, name = rel.rpartition("\\")
            src = copy_root + ("\\" + folder if folder else "")
            dst = target + ("\\" + folder if folder else "")
            steps.append(rc.fs_step("remove a stale delta %d" % index, tools, "remove",
                                    {"paths": ["%s\\%s.DELTA" % (dst, name)]}, ok_rc="any"))
            argv = rc.files_argv(tools, src, dst, [name, name + ".DELTA"], 1, 1, 8, True, None, ignore_extras=False)
            listing = rc.files_argv(tools, src, dst, [name, name + ".DELTA"], 0, 0, 8, False, None, listing=True)
        else:
            src = copy_root + ("\\" + rel if rel else "")
            dst = target + ("\\" + rel if rel else "")
            steps.append(rc.fs_step("remove stale deltas %d" % index, tools, "remove_stale_deltas",
                                    {"copy": src, "target": dst}, ok_rc="any", timeout=600))
            keep = ["%s\\%s" % (src, log["rel"]), "%s\\%s" % (dst, log["rel"])] \
                if log["action"] == "keep" and log.get("inside_data") and not rel else []
            argv = rc.robocopy_argv(tools, src, dst, "versioned", 1, 1, 8, True, None, exclude_dirs=keep)
            listing = rc.robocopy_argv(tools, src, dst, "versioned", 0, 0, 8, False, None, listing=True, ignore_extras=True,
                                       exclude_dirs=keep)
        steps.append(planlib.step("%s %d" % (COPY_RESTORE_STEP, index), argv, ok_rc=planlib.ok_rc_range(0, 7),
                                  timeout=timeout))
        steps.append(planlib.step("verify the restore %d" % index, listing, ok_rc=[0], timeout=timeout))
    for place in others:
        if _skip_log_place(place, log, tools, steps):
            continue
        argv, listing = _put_back_argvs(tools, "%s\\%s" % (copy_base.rstrip("\\"), place["name"]), place, "versioned")
        label = _place_label(place)
        steps.append(planlib.step("%s %s" % (PLACE_RESTORE_STEP, label), argv, ok_rc=planlib.ok_rc_range(0, 7),
                                  timeout=timeout))
        steps.append(planlib.step("verify the restore of %s" % label, listing, ok_rc=[0], timeout=timeout))
    rescue = [undo_aside_step(tools, log)] if log["action"] == "replace" else []
    return planlib.build_plan("restore from a copy", platform, steps, rescue=rescue, max_output_bytes=8 * 1024 * 1024)


def places_to_restore(layout: t.Optional[dict[str, t.Any]], server_places: t.Sequence[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    """The places outside the data directory that a copy holds, each only where the server keeps it now.
    The layout file lies with the copy (often on a share): a place whose path the server does not use is
    refused rather than written to, with ValueError naming it."""
    if not layout:
        return []
    known = {(str(p.get("kind")), str(p.get("path") or "").lower()) for p in server_places}
    out = []
    for place in layout["locations"]:
        if place["name"] == "data":
            continue
        if (place["kind"], str(place.get("path") or "").lower()) not in known:
            raise ValueError("the copy holds %s (%s %s), but the server does not keep its %s there now; restore it by "
                             "hand or set other_locations=false"
                             % (place["name"], place["kind"], place.get("path"), place["kind"]))
        out.append(place)
    return out


def restored_deltas(stdout: str) -> list[str]:
    """The .DELTA files robocopy put into place (its file lines end with the file name)."""
    names = []
    for line in (stdout or "").replace("\r\n", "\n").split("\n"):
        # a file line (any language): <tab> class <tab> size <tab> name; headers have no size column
        match = re.search(r"\t\s*\d+\t([^\t]+)$", line.rstrip())
        if match and match.group(1).strip().upper().endswith(".DELTA"):
            names.append(match.group(1).strip().rsplit("\\", 1)[-1])
    return names


def point_facts(name: str, point: dict[str, str]) -> dict[str, t.Any]:
    """A restore point as the module returns it, in the snake_case keys of every other module (the registry keeps
    its values as ShadowId, Service, DataDir, Created, Note, Place1..N)."""
    try:
        places = point_places(point)
        problem = None
    except cli.OptionError as exc:  # a damaged record is still shown, with what is wrong with it
        places, problem = [], str(exc)
    facts: dict[str, t.Any] = {"name": name, "shadow_id": (point.get("ShadowId") or "").lower() or None,
                               "service": point.get("Service"), "data_dir": point.get("DataDir"),
                               "created": point.get("Created"), "note": point.get("Note") or "",
                               "places": places, "shadow_ids": raw_shadow_ids(point)}
    if problem:
        facts["problem"] = problem
    return facts


# ------------------------------------------------------------ the watchdog's budget

# What the restore keeps free before the watchdog's deadline on top of its worst case: the executor's own work
# between steps, and the seconds between the discovery that read the host clock and the plan's first step.
RESTORE_MARGIN = 60


def _utc(text: t.Any) -> t.Optional[datetime.datetime]:
    try:
        return datetime.datetime.strptime(str(text or ""), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None


def watchdog_refusal(plan: dict[str, t.Any], inst: dict[str, t.Any], now_utc: t.Optional[str],
                     option: str = "timeout") -> t.Optional[str]:
    """None, or why ``plan`` (a restore) must not start: the service is stopped by a freeze of ours
    (backup_mode method=shutdown) whose watchdog starts Domino at its deadline, and the restore's worst case
    (every step, the rescue and the final unexpose, each at its timeout: plan.worst_case_seconds) does not end
    ``RESTORE_MARGIN`` s before it.  Domino would start while robocopy still writes its data.  Deadline and
    ``now_utc`` are both the host's clock (the watchdog's description, the discovery).  A server stopped without
    our watchdog, or one whose watchdog already fired, is not limited: nothing will start it."""
    if methods.frozen_state(inst, now_utc) != "shutdown":
        return None
    watchdog = inst.get("watchdog") or {}
    deadline, now = _utc(watchdog.get("deadline_utc")), _utc(now_utc)
    if deadline is None or now is None:
        return ("%s: %s is stopped by a freeze whose watchdog starts it again, but its deadline (%r) or the host's "
                "time (%r) cannot be read, so the restore cannot be shown to end before it; nothing was touched"
                % (option, inst.get("service"), watchdog.get("deadline_utc"), now_utc))
    left = int((deadline - now).total_seconds())
    terms = planlib.worst_case_terms(list(plan["steps"]) + list(plan["rescue"]) + list(plan["finally"]))
    worst = int(-(-sum(seconds for _name, seconds, _how in terms) // 1))
    if worst + RESTORE_MARGIN <= left:
        return None
    return ("%s: not restored, nothing was touched: the restore may take up to %d s (%s), but the watchdog task %s of "
            "the freeze that stopped %s starts Domino at %s, in %d s (host clock); with %d s margin the restore would "
            "still write the data while Domino starts. Lower %s, or thaw (quiesce.domino.backup_mode state=thawed) "
            "and freeze again with a watchdog_seconds of more than %d s plus the time the stop takes"
            % (option, worst, planlib.describe_terms(terms), watchdog.get("name") or "", inst.get("service"),
               watchdog.get("deadline_utc"), left, RESTORE_MARGIN, option, worst + RESTORE_MARGIN))
