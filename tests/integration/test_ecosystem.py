"""The collection in the Ansible ecosystem: ansible-builder reads its execution-environment metadata, and
ansible-runner (how AWX / AAP run playbooks) runs the fleet backup against the simulated fleet."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _requirement_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_ansible_builder_introspect_finds_the_collections_dependencies():
    collections_root = Path(os.environ["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0])
    proc = subprocess.run([str(BIN / "ansible-builder"), "introspect", "--sanitize", str(collections_root)],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    found = yaml.safe_load(proc.stdout)
    ours = "  # from collection quiesce.domino"
    assert found["python"] == [line + ours for line in _requirement_lines(REPO / "meta" / "ee-requirements.txt")]
    assert found["system"] == [line + ours for line in _requirement_lines(REPO / "meta" / "ee-bindep.txt")]
    assert any(line.startswith("pywinrm>=") for line in found["python"])


def test_ansible_builder_creates_the_build_context(tmp_path):
    definition = REPO / "docs" / "execution-environment" / "execution-environment.yml"
    proc = subprocess.run([str(BIN / "ansible-builder"), "create", "-f", str(definition), "-c", str(tmp_path / "ctx"),
                           "--output-filename", "Containerfile"],
                          capture_output=True, text=True, check=False, timeout=120, cwd=str(definition.parent))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = (tmp_path / "ctx" / "Containerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="quay.io/fedora/fedora:41"' in containerfile
    assert "ansible-galaxy collection install" in containerfile
    wanted = yaml.safe_load((tmp_path / "ctx" / "_build" / "requirements.yml").read_text())
    assert {c["name"] for c in wanted["collections"]} == {"ansible.windows", "quiesce.domino"}
    assert "pywinrm[kerberos]" in (tmp_path / "ctx" / "_build" / "requirements.txt").read_text()


def test_ansible_runner_runs_the_fleet_backup(tmp_path):
    """The documented ansible-runner layout (docs/ansible-runner.md) against two simulated hosts."""
    from conftest import make_fleet, simfleet
    fleet = make_fleet(tmp_path / "fleet", 2)
    private = tmp_path / "runner"
    for sub in ("project", "inventory", "env"):
        (private / sub).mkdir(parents=True)
    (private / "project" / "backup.yml").write_text(
        "---\n- name: Fleet backup\n  ansible.builtin.import_playbook: quiesce.domino.fleet_backup\n")
    (private / "inventory" / "hosts.yml").write_text(fleet.inventory.read_text())
    reports = tmp_path / "reports"
    (private / "env" / "envvars").write_text(yaml.safe_dump({
        "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"],
        "ANSIBLE_CALLBACKS_ENABLED": "quiesce.domino.backup_report",
        "QUIESCE_REPORT_DIR": str(reports)}))
    (private / "env" / "extravars").write_text(yaml.safe_dump({
        "snapshot_backup_destination": "\\\\backupsrv\\domino", "snapshot_backup_shutdown_timeout": 30,
        "snapshot_backup_allow_downtime": True}))
    env = dict(os.environ, PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")))
    try:
        proc = subprocess.run([str(BIN / "ansible-runner"), "run", str(private), "-p", "backup.yml", "--ident", "first"],
                              capture_output=True, text=True, check=False, timeout=600, env=env, cwd=str(tmp_path))
    finally:
        simfleet.down(fleet.root)
    artifacts = private / "artifacts" / "first"
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert (artifacts / "status").read_text() == "successful"
    assert (artifacts / "rc").read_text() == "0"
    events = [json.loads(p.read_text()) for p in sorted((artifacts / "job_events").glob("*.json"))]
    snapshots = [e["event_data"] for e in events
                 if e["event"] == "runner_on_ok" and e["event_data"].get("resolved_action") == "quiesce.domino.snapshot"]
    assert sorted(s["host"] for s in snapshots) == ["dom01", "dom02"]
    assert all(s["res"]["shadow_set_id"] for s in snapshots)
    report = json.loads((reports / "backup-report-latest.json").read_text())
    assert report["summary"]["backed_up"] == 2 and report["summary"]["failed"] == 0
    for name in ("dom01", "dom02"):
        assert not fleet.state(name)["dominos"][0]["backup_mode"]
