"""playbooks/cleanup.yml: retention for shadow copies (restore points kept) and for destination copies."""
from __future__ import annotations

import os
import time


def test_cleanup_keeps_restore_points_and_prunes_copies(solo_fleet):
    run = solo_fleet.playbook("""
- hosts: dom01
  gather_facts: false
  tasks:
    - name: Kept shadow
      quiesce.domino.diskshadow:
        volumes: ["D:"]
      register: kept
    - name: Stale shadow
      quiesce.domino.diskshadow:
        volumes: ["D:"]
      register: stale
    - name: Record the restore point
      quiesce.domino.restore_point:
        name: keep-me
        shadow_id: "{{ kept.shadows[0].id }}"
        service: HCL Domino Server (DDominodata)
        data_dir: 'D:\\Domino\\data'
""")
    assert run.rc == 0, run.stdout[-3000:]
    kept = run.result("Kept shadow", "dom01")["shadows"][0]["id"]
    stale = run.result("Stale shadow", "dom01")["shadows"][0]["id"]
    copies = solo_fleet.root / "shares" / "backupsrv" / "domino" / "dom01"
    for stamp in ("20200101T000000Z", "20200102T000000Z", "20991231T000000Z", "20991230T000000Z", "20991229T000000Z"):
        (copies / stamp).mkdir(parents=True)
        (copies / (stamp + ".manifest.json")).write_text("[]")
    partial = copies / "20200103T000000Z.partial"
    partial.mkdir()
    os.utime(partial, (time.time() - 90 * 86400, time.time() - 90 * 86400))
    time.sleep(2)
    settings = {"snapshot_cleanup_shadow_max_age": "1s", "snapshot_cleanup_destination": "\\\\backupsrv\\domino",
                "snapshot_cleanup_keep": 2, "snapshot_cleanup_copy_max_age": "30d"}
    before = sorted(p.name for p in copies.iterdir())
    # The dry run (check mode) lists what the real run deletes, and is changed exactly when it is; it deletes nothing.
    dry = solo_fleet.playbook("quiesce.domino.cleanup", extra_vars=settings, check=True)
    assert dry.rc == 0, dry.stdout[-3000:]
    would = dry.result("Prune the copies of this host", "dom01")
    assert would["changed"] is True and would["removed"] == ["20200101T000000Z", "20200102T000000Z", "20991229T000000Z"]
    assert would["partials_removed"] == ["20200103T000000Z.partial"]
    assert "remove the copies 20200101T000000Z, 20200102T000000Z, 20991229T000000Z" in would["msg"]
    assert [r["item"]["id"] for r in dry.result("Delete old shadow copies that are not restore points", "dom01")["results"]] \
        == [stale]
    assert sorted(p.name for p in copies.iterdir()) == before and stale in solo_fleet.state("dom01")["shadows"]
    run = solo_fleet.playbook("quiesce.domino.cleanup", extra_vars=settings)
    assert run.rc == 0, run.stdout[-3000:]
    assert set(solo_fleet.state("dom01")["shadows"]) == {kept}
    deleted = run.result("Delete old shadow copies that are not restore points", "dom01")["results"]
    assert [r["item"]["id"] for r in deleted] == [stale]
    left = sorted(p.name for p in copies.iterdir())
    assert left == ["20991230T000000Z", "20991230T000000Z.manifest.json", "20991231T000000Z",
                    "20991231T000000Z.manifest.json"], left
    pruned = run.result("Prune the copies of this host", "dom01")
    assert pruned["changed"] is True and pruned["removed"] == would["removed"]
