"""Where a server keeps its data and where each place goes in a copy (module_utils/locations.py), and the
restore's refusal of a layout that names paths the server does not use."""
from __future__ import annotations

import json

import pytest

from ansible_collections.quiesce.domino.plugins.module_utils import locations as locs
from ansible_collections.quiesce.domino.plugins.module_utils import restore
from ansible_collections.quiesce.domino.plugins.module_utils import robocopy as rc
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.module_utils.windows_cli import OptionError

INI = {"translog_status": "1", "translog_path": "L:\\translog", "daosenable": "1", "daosbasepath": "N:\\DAOS",
       "serverkeyfilename": "server.id"}
LINKS = [{"path": "D:\\Domino\\data\\archive.dir", "target": "F:\\archive"},
         {"path": "D:\\Domino\\data\\sub\\archive.dir", "target": "G:\\archive2"}]


def places():
    return locs.server_locations("D:\\Domino\\data", INI, "C:\\Lotus\\Domino\\notes.ini", LINKS)


def test_every_place_outside_the_data_directory_has_its_own_folder_in_the_copy():
    found = [(p["kind"], p["path"], p["name"]) for p in places()]
    assert found == [("data", "D:\\Domino\\data", "data"), ("translog", "L:\\translog", "translog"),
                     ("daos", "N:\\DAOS", "daos"), ("link", "F:\\archive", "links\\archive.dir"),
                     ("link", "G:\\archive2", "links\\archive.dir_"),  # two links of one name stay apart
                     ("notes_ini", "C:\\Lotus\\Domino\\notes.ini", "files")]


def test_every_volume_is_exposed_at_a_free_letter_and_each_place_is_read_from_its_shadow():
    exposed = locs.exposure_letters(["D:", "L:", "N:", "F:"], "S:", ["C:\\", "D:\\", "Z:\\", "E:\\"])
    assert exposed == {"D:": "S:", "L:": "Y:", "N:": "X:", "F:": "W:"}
    rows = locs.copy_locations(places(), exposed)
    assert [(r["name"], r["source"]) for r in rows] == [
        ("data", "S:\\Domino\\data"), ("translog", "Y:\\translog"), ("daos", "X:\\DAOS"), ("links\\archive.dir", "W:\\archive")]
    # G: (one link's target) and C: (notes.ini) are not in the set: left out, the snapshot warns about them
    with pytest.raises(ValueError, match="no free drive letter"):
        locs.exposure_letters(["D:", "L:"], "S:", ["%s:" % chr(c) for c in range(ord("D"), ord("Z") + 1)])


def test_locations_are_validated_like_paths_and_must_agree_with_their_kind():
    good = [{"name": "data", "kind": "data", "source": "S:\\Domino\\data", "path": "D:\\Domino\\data"},
            {"name": "files", "kind": "notes_ini", "source": "T:\\Lotus\\Domino\\notes.ini", "path": "C:\\Lotus\\Domino\\notes.ini",
             "file": True},
            {"name": "files", "kind": "server_id", "source": "T:\\Lotus\\Domino\\server.id", "path": "C:\\Lotus\\Domino\\server.id",
             "file": True}]
    units = locs.copy_units("locations", good)
    assert [u["name"] for u in units] == ["data", "files", "files"]
    # the two single files of one folder are one robocopy run with both names
    assert locs.robocopy_units(units)[1] == {"name": "files", "source": "T:\\Lotus\\Domino", "files": ["notes.ini", "server.id"]}
    bad = [
        ([{"name": "..\\x", "kind": "translog", "source": "T:\\t"}], "locations[0].name"),
        ([{"name": "translog", "kind": "shell", "source": "T:\\t"}], "locations[0].kind"),
        ([{"name": "translog", "kind": "translog", "source": "T:\\t\r\nexec calc"}], "locations[0].source"),
        ([{"name": "translog", "kind": "translog", "source": "T:\\t", "path": "L:\\..\\Windows"}], "locations[0].path"),
        ([{"name": "files", "kind": "translog", "source": "T:\\t"}], "do not go together"),
        ([{"name": "daos", "kind": "daos", "source": "T:\\a"}, {"name": "daos", "kind": "daos", "source": "T:\\b"}], "appears twice"),
        ([{"name": "daos", "kind": "daos", "source": "T:\\a", "shell": "x"}], "unknown keys shell"),
        ("S:\\Domino\\data", "a list of places"),
    ]
    for value, words in bad:
        with pytest.raises(OptionError, match=words.replace("\\", "\\\\").replace("[", "\\[").replace(".", "\\.")):
            locs.copy_units("locations", value)


def test_a_layout_read_from_a_copy_is_checked_against_the_server_before_anything_is_written():
    doc = locs.layout_document("dom01", [
        {"name": "data", "kind": "data", "path": "D:\\Domino\\data"},
        {"name": "translog", "kind": "translog", "path": "L:\\translog"},
        {"name": "files", "kind": "notes_ini", "path": "C:\\Lotus\\Domino\\notes.ini", "file": True}])
    layout = locs.parse_layout(json.dumps(doc))
    assert locs.data_root("\\\\b\\s\\dom01\\X", layout) == "\\\\b\\s\\dom01\\X\\data"
    assert locs.data_root("\\\\b\\s\\dom01\\X", locs.parse_layout("")) == "\\\\b\\s\\dom01\\X"
    server = places()
    assert [p["name"] for p in restore.places_to_restore(layout, server)] == ["translog", "files"]
    moved = [dict(p, path="M:\\translog") if p["kind"] == "translog" else p for p in server]
    with pytest.raises(ValueError, match="does not keep its translog there now"):
        restore.places_to_restore(layout, moved)
    forged = dict(doc, locations=[{"name": "translog", "kind": "translog", "path": "C:\\Windows\\..\\x"}])
    with pytest.raises(ValueError):
        locs.parse_layout(json.dumps(forged))
    with pytest.raises(ValueError, match="format"):
        locs.parse_layout(json.dumps({"format": 99, "locations": []}))


def test_the_copy_plan_copies_every_place_into_its_folder_and_writes_the_layout():
    tools = dict(cli.DEFAULT_TOOLS)
    units = locs.robocopy_units(locs.copy_units("locations", [
        {"name": "data", "kind": "data", "source": "S:\\Domino\\data", "path": "D:\\Domino\\data"},
        {"name": "translog", "kind": "translog", "source": "Y:\\translog", "path": "L:\\translog"}]))
    where = rc.layout("E:\\Backups", "dom01", "versioned", "20261123T000000Z")
    plan = rc.copy_plan(tools, "windows", units, where, "versioned", 0, 0, 8, True, False, 1.1, 7, 600, "{}")
    names = [s["name"] for s in plan["steps"]]
    assert names[:6] == ["check free space", rc.BACKUP_MODE_STEP, "copy", "verify", "copy translog", "verify translog"]
    by_name = {s["name"]: s for s in plan["steps"]}
    assert by_name["copy"]["argv"][1:3] == ["S:\\Domino\\data", where["work"] + "\\data"]
    assert by_name["copy translog"]["argv"][1:3] == ["Y:\\translog", where["work"] + "\\translog"]
    assert json.loads(by_name[rc.LAYOUT_STEP]["stdin"])["path"] == where["work"] + "\\quiesce_domino.json"
    assert names.index(rc.LAYOUT_STEP) < names.index("finalize")
    manifest = json.loads(by_name["source manifest"]["stdin"])
    assert [(u["root"], u["prefix"]) for u in manifest["units"]] == [("S:\\Domino\\data", "data\\"), ("Y:\\translog", "translog\\")]


def test_the_vss_writer_limit_counts_volumes_with_databases_not_the_log_or_daos():
    from ansible_collections.quiesce.domino.plugins.module_utils import methods as method_lib
    inst = {"version": "12.0.2", "service": "Domino", "data_volume": "D:", "locations": places()[:3]}  # data, translog, daos
    assert method_lib.possible_methods(inst, 20348, False)["vss_writer"]["possible"] is True
    inst["locations"] = places()[:4]  # and a directory link to F:
    verdict = method_lib.possible_methods(inst, 20348, False)["vss_writer"]
    assert verdict["possible"] is False and "D:, F:" in verdict["why"]


def test_a_destination_inside_a_place_being_copied_is_refused(host):
    """Backups would nest: E:\\Domino\\data\\backups inside the data directory E:\\Domino\\data (issue 14 item 8)."""
    import importlib
    from test_actions_mocked import run_action
    action = importlib.import_module("ansible_collections.quiesce.domino.plugins.action.snapshot_copy")
    result = run_action(action, {"destination": "D:\\Domino\\data\\backups", "host_folder": "dom01", "locations": [
        {"name": "data", "kind": "data", "source": "S:\\Domino\\data", "path": "D:\\Domino\\data"}]})
    assert result["failed"] and result["msg"].startswith("destination: D:\\Domino\\data\\backups is inside D:\\Domino\\data")
    assert host["plans"] == []
    result = run_action(action, {"destination": "D:\\Domino\\data", "host_folder": "dom01", "timeout": 100000,
                                 "source": "S:\\Domino\\data"})
    assert result["failed"] and "timeout" in result["msg"] and "86400" in result["msg"]


@pytest.mark.parametrize("name", ["CON", "nul", "COM1", "lpt9", "dom01.", "CONIN$"])
def test_a_host_folder_windows_would_rename_or_take_for_a_device_is_refused(name):
    """An inventory name becomes a folder on the destination: Windows drops a final dot (dom01. would be dom01,
    another host's folder) and opens a device for a reserved name."""
    with pytest.raises(OptionError, match="host_folder: .* is not usable as a folder name"):
        rc.host_folder("host_folder", name)
