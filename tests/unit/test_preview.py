"""Check mode in words (module_utils/preview.py): what an administrator reads before a run."""
from __future__ import annotations

from ansible_collections.quiesce.domino.plugins.module_utils import preview

SVC = "Lotus Domino Server (DDominodata)"


def test_shutdown_says_the_server_stops_and_for_how_long_at_most():
    lines = preview.snapshot_lines(SVC, "shutdown", False, ["D:", "L:"], {"D:": "S:", "L:": "T:"}, True, True,
                                   900, 300, 300, 120, 600, "\\\\backupsrv\\domino")
    text = preview.message(lines)
    assert "Domino (%s) will be STOPPED" % SVC in text
    # stop 300 + sc stop and the wait after nsd -kill 120 + create 600 + start 300
    assert "at most about 1320 s" in text
    assert "take the host lock" in lines[0] and "\\\\backupsrv\\domino has room" in lines[1]
    assert "arm a watchdog task that releases Domino after 900 s if this run is cut off" in lines
    assert "expose it at D: as S:, L: as T:" in lines
    assert any("still exposed at S:" in line and "never deleted" in line for line in lines)


def test_online_methods_say_users_keep_working():
    writer = preview.snapshot_lines(SVC, "vss_writer", False, ["D:"], {}, False, False, 600, 300, 300, 120, 600, None)
    assert any("keeps serving users" in line for line in writer)
    assert not any("STOPPED" in line or "watchdog" in line for line in writer)
    task = preview.freeze_lines(SVC, "backup_task", 300, 300, 120, 600)
    assert ".DELTA files" in task[0] and "at most about 720 s" in task[0]
    assert "crash-consistent" in preview.freeze_lines(SVC, "none", 300, 300, 120)[0]


def test_a_stopped_server_stays_stopped():
    lines = preview.snapshot_lines(SVC, "shutdown", True, ["D:"], {}, False, False, 600, 300, 300, 120, 600, None)
    assert any("stays stopped" in line for line in lines)
    assert not any("will be STOPPED" in line for line in lines)


def test_copy_and_restore_name_where_data_goes():
    units = [{"source": "S:\\Domino\\data"}, {"source": "T:\\translog"}]
    lines = preview.copy_lines(units, "E:\\Backups\\dom01\\20261123T020000Z", "versioned", 7, "SHA-256 of every file")
    assert lines[0] == "copy S:\\Domino\\data, T:\\translog with robocopy to E:\\Backups\\dom01\\20261123T020000Z.partial"
    assert "keep the newest 7 verified copies" in lines[2]
    restored = preview.restore_lines([{"kind": "data", "path": "D:\\Domino\\data"}], "copy \\\\b\\d\\dom01\\x", False)
    assert restored == ["copy back data D:\\Domino\\data from copy \\\\b\\d\\dom01\\x (nothing already there is deleted)"]
    mirrored = preview.restore_lines([{"kind": "data", "path": "D:\\Domino\\data"}], "restore point before", True)
    assert mirrored[0].startswith("mirror back data D:\\Domino\\data from restore point before (files the restore point")
