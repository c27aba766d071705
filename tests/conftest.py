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

# ------------------------------------------------------------------ simulated fleet
import json  # noqa: E402
import subprocess  # noqa: E402
import typing as t  # noqa: E402

import pytest  # noqa: E402

sys.path.insert(0, str(TESTS / "sim"))
from quiesce_sim import domino as simdomino  # noqa: E402
from quiesce_sim import fleet as simfleet  # noqa: E402

BIN = Path(sys.executable).parent


class Fleet:
    """A running simulated fleet and a way to run playbooks against it."""

    def __init__(self, root: Path, hosts: list[dict[str, t.Any]]) -> None:
        self.root = root
        self.hosts = hosts
        self.inventory = root / "inventory.yml"

    def host_dir(self, name: str) -> Path:
        return self.root / "hosts" / name

    def state(self, name: str) -> dict[str, t.Any]:
        return simfleet.state(self.host_dir(name))

    def fault(self, name: str, fault: str, value: t.Any) -> None:
        simfleet.set_fault(self.host_dir(name), fault, value)

    def lock_dir(self, name: str) -> Path:
        """Where the host lock (C:\\ProgramData\\quiesce.domino\\locks\\backup) lives on the simulated host."""
        return self.host_dir(name) / "volumes" / "C" / "ProgramData" / "quiesce.domino" / "locks" / "backup"

    def restore_verdict(self, name: str, image: Path, backup_start: t.Optional[str] = None) -> dict[str, t.Any]:
        """Restore ``image`` (a data directory: an exposed shadow copy or a copy) into a scratch folder the way
        docs/restore.md says, with the .DELTA files of ``backup_start`` (kept by the backup_task hook on the
        host) beside their databases, and let the twin's Domino restore judge it."""
        scratch = Path(tempfile.mkdtemp(prefix="restore-")) / "data"
        shutil.copytree(image, scratch, symlinks=False)
        if backup_start:
            kept = self.host_dir(name) / "volumes" / "D" / "Domino" / "data" / "quiesce_domino" / "deltas" / backup_start
            for delta in kept.rglob("*.DELTA"):
                target = scratch / delta.relative_to(kept)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(delta, target)
        try:
            return simdomino.recover(scratch)
        finally:
            shutil.rmtree(scratch.parent, ignore_errors=True)

    def tool(self, name: str, tool: str) -> str:
        return next(h for h in self.hosts if h["name"] == name)["tools"][tool]

    def run_tool(self, name: str, tool: str, *args: str, stdin: t.Optional[str] = None) -> subprocess.CompletedProcess:
        return subprocess.run([self.tool(name, tool), *args], input=stdin, capture_output=True, text=True, timeout=60,
                              check=False)

    def _command(self, text: str, limit: t.Optional[str], extra_vars: t.Optional[dict[str, t.Any]], check: bool,
                 env: t.Optional[dict[str, str]]) -> tuple[list[str], dict[str, str]]:
        if text.startswith("quiesce.domino."):
            target = text  # a playbook of the collection, by its FQCN
        else:
            path = self.root / ("play-%d.yml" % len(list(self.root.glob("play-*.yml"))))
            path.write_text(text)
            target = str(path)
        cmd = [str(BIN / "ansible-playbook"), "-i", str(self.inventory), target]
        if limit:
            cmd += ["--limit", limit]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        if check:
            cmd.append("--check")
        run_env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_HOST_KEY_CHECKING="False",
                       ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_LOCALHOST_WARNING="False",
                       ANSIBLE_INVENTORY_UNPARSED_WARNING="False", ANSIBLE_NOCOLOR="1")
        run_env.update(env or {})
        return cmd, run_env

    def playbook(self, text: str, limit: t.Optional[str] = None, extra_vars: t.Optional[dict[str, t.Any]] = None,
                 check: bool = False, timeout: int = 300, env: t.Optional[dict[str, str]] = None) -> "PlaybookRun":
        cmd, run_env = self._command(text, limit, extra_vars, check, env)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=run_env, timeout=timeout, cwd=str(self.root),
                              check=False)
        return PlaybookRun(proc)

    def start_playbook(self, text: str, limit: t.Optional[str] = None, extra_vars: t.Optional[dict[str, t.Any]] = None,
                       env: t.Optional[dict[str, str]] = None) -> subprocess.Popen:
        """Start a playbook in a session of its own (a controller a test can kill with its process group)."""
        cmd, run_env = self._command(text, limit, extra_vars, False, env)
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                env=run_env, cwd=str(self.root), start_new_session=True)


class PlaybookRun:
    def __init__(self, proc: subprocess.CompletedProcess) -> None:
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        try:
            self.data = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError:
            self.data = {"plays": [], "stats": {}}

    def results(self, task_name: str) -> dict[str, dict[str, t.Any]]:
        """Host -> result of the task called ``task_name`` (the last one of that name)."""
        found: dict[str, dict[str, t.Any]] = {}
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                if task["task"]["name"] == task_name or task["task"]["name"].endswith(" : " + task_name):
                    found.update(task["hosts"])
        if not found:
            raise AssertionError("no task %r in the run:\n%s\n%s" % (task_name, self.stdout[-3000:], self.stderr[-3000:]))
        return found

    def result(self, task_name: str, host: str) -> dict[str, t.Any]:
        return self.results(task_name)[host]


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), also those that started a session of their own."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def wait_released(fleet: Fleet, host: str, until: float) -> t.Optional[float]:
    """When Domino on ``host`` runs again, answers and is out of backup mode (None if not by ``until``)."""
    import time
    while time.time() < until:
        dom = fleet.state(host)["dominos"][0]
        if dom["state"] == "RUNNING" and dom["answers"] and not dom["backup_mode"]:
            return time.time()
        time.sleep(0.2)
    return None


def reach_deadline(fleet: Fleet, host: str, task: str) -> float:
    """Let the host's clock reach a watchdog's deadline at once: the twin runs the task now (``schtasks /Run``,
    which the twin models by moving its start boundary to now), as Task Scheduler runs it at the deadline.  A
    watchdog must outlive the worst case of the steps it guards (minutes), so the tests that watch it fire
    check its deadline and then skip the wait, as the fault matrix ages a stale host lock.  Returns when."""
    import time
    done = fleet.run_tool(host, "schtasks", "/Run", "/TN", task)
    assert done.returncode == 0, done.stdout + done.stderr
    return time.time()


def kill_controller(proc: subprocess.Popen, executor_too: bool) -> None:
    """SIGKILL a playbook started with Fleet.start_playbook: the controller dies mid-call, and with
    ``executor_too`` the host-side executor and the tools it runs die with it (as when the WinRM shell goes)."""
    import signal
    below = descendants(proc.pid) if executor_too else []
    os.killpg(proc.pid, signal.SIGKILL)
    for pid in below:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def make_fleet(root: Path, hosts: int, profile: str = "mixed", **kw: t.Any) -> Fleet:
    made = simfleet.create(root, hosts, profile, **kw)
    simfleet.up(root)
    return Fleet(root, made)


@pytest.fixture
def solo_fleet_backup_task(tmp_path: Path) -> t.Iterator[Fleet]:
    """One Domino 12.0.1 host (Domino Backup with the collection's integration), for one test."""
    made = make_fleet(tmp_path / "fleet", 1, "backup_task")
    try:
        yield made
    finally:
        simfleet.down(tmp_path / "fleet")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Fleet]:
    """Three simulated hosts (vss, backup_task, shutdown profiles), shared by a test module."""
    root = tmp_path_factory.mktemp("fleet")
    made = make_fleet(root, 3)
    yield made
    simfleet.down(root)


@pytest.fixture
def solo_fleet(tmp_path: Path) -> t.Iterator[Fleet]:
    """One fresh simulated host for a test that changes faults or breaks things."""
    made = make_fleet(tmp_path / "fleet", 1)
    yield made
    simfleet.down(tmp_path / "fleet")


# ------------------------------------------------------------------ unit tests of action plugins
@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> dict[str, t.Any]:
    """A fake Windows host: queue executor replies, collect the plans sent."""
    from ansible_collections.quiesce.domino.plugins.plugin_utils import executor
    state: dict[str, t.Any] = {"replies": [], "plans": []}

    def fake_run_plan(action, plan, task_vars, wrap_async=False):
        assert plan["platform"] == "windows"
        state["plans"].append(plan)
        if not state["replies"]:
            raise AssertionError("unexpected plan %s" % plan["name"])
        return state["replies"].pop(0)
    monkeypatch.setattr(executor, "run_plan", fake_run_plan)
    return state


def pytest_sessionstart(session: pytest.Session) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        for old in (TESTS / "output").glob("fault-matrix-*.json"):
            old.unlink()


def pytest_terminal_summary(terminalreporter: t.Any) -> None:
    """Print the fault matrix (issue: proof under faults) when its test ran."""
    files = sorted((TESTS / "output").glob("fault-matrix-*.json"))
    if not files:
        return
    sys.path.insert(0, str(TESTS / "integration"))
    from test_fault_matrix import render_matrix
    cells = {}
    for path in files:
        for fault, method, value in json.loads(path.read_text()):
            cells[(fault, method)] = value
    terminalreporter.write_line("")
    for line in render_matrix(cells).splitlines():
        terminalreporter.write_line(line)
