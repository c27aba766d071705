# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one plan step as a process: the POSIX executor's hands (used by the posix_exec module only).

This is the one module_utils file that does I/O, on purpose: it is shipped to the host with
``posix_exec`` and is never imported by action plugins.  It needs ``subprocess.Popen`` because the
contract asks for things ``AnsibleModule.run_command`` does not offer: a per-step timeout that
kills the step's whole process group, and output kept as head and tail within a byte limit while
the pipes are drained (docs/executor-contract.md).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import typing as t

_CHUNK = 65536


class _CappedReader(threading.Thread):
    """Drain a pipe, keeping at most ``limit`` bytes (head and tail) in memory."""

    def __init__(self, stream: t.IO[bytes], limit: int) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.half = limit // 2
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def run(self) -> None:
        try:
            while True:
                chunk = self.stream.read1(_CHUNK) if hasattr(self.stream, "read1") else self.stream.read(_CHUNK)
                if not chunk:
                    break
                self.total += len(chunk)
                room = self.half - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                    chunk = chunk[room:]
                if chunk:
                    self.tail += chunk
                    if len(self.tail) > self.half:
                        del self.tail[:len(self.tail) - self.half]
        except (OSError, ValueError):
            pass

    def value(self, limit: int) -> tuple[bytes, bool]:
        if self.total <= limit and self.total == len(self.head) + len(self.tail):
            return bytes(self.head + self.tail), False
        omitted = self.total - len(self.head) - len(self.tail)
        return bytes(self.head) + b"\n...[%d bytes omitted]...\n" % omitted + bytes(self.tail), True


def now_ms() -> int:
    return int(time.time() * 1000)


def _decode(data: bytes, encoding: str) -> str:
    if encoding == "utf-16le":
        return data.decode("utf-16-le", errors="replace")
    return data.decode("utf-8", errors="replace")


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill the step's process group (the step and every child it started)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except OSError:
        pass


def new_record(name: str, status: str, **extra: t.Any) -> dict[str, t.Any]:
    record: dict[str, t.Any] = {
        "name": name, "status": status, "rc": None, "stdout": "", "stderr": "",
        "stdout_bytes": 0, "stderr_bytes": 0, "truncated": False,
        "start_ms": None, "end_ms": None, "duration_ms": None, "error": None,
    }
    record.update(extra)
    return record


def run_step(step: dict[str, t.Any], file_paths: dict[str, str], max_output: int) -> dict[str, t.Any]:
    """Run one validated step and return its record."""
    argv = [file_paths[a["file"]] if isinstance(a, dict) else a for a in step["argv"]]
    start = now_ms()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if step["stdin"] is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        end = now_ms()
        if isinstance(exc, FileNotFoundError):
            why = "executable not found: %s" % argv[0]
        elif isinstance(exc, PermissionError):
            why = "executable not runnable (permission denied): %s" % argv[0]
        else:
            why = "cannot start %s: %s" % (argv[0], exc.strerror or exc)
        return new_record(step["name"], "error", argv=argv, start_ms=start, end_ms=end, duration_ms=end - start,
                          error=why)

    readers = [_CappedReader(proc.stdout, max_output), _CappedReader(proc.stderr, max_output)]
    for reader in readers:
        reader.start()
    if step["stdin"] is not None:
        try:
            proc.stdin.write(step["stdin"].encode("utf-8"))
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
    timed_out = False
    try:
        proc.wait(timeout=step["timeout"])
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_tree(proc)
        proc.wait()
    # A grandchild that escaped the process group may hold the pipes open: do not wait for it forever.
    for reader in readers:
        reader.join(timeout=5)
    end = now_ms()
    out, out_cut = readers[0].value(max_output)
    err, err_cut = readers[1].value(max_output)
    record = new_record(
        step["name"], "ok", argv=argv, rc=proc.returncode,
        stdout=_decode(out, step["encoding"]), stderr=_decode(err, step["encoding"]),
        stdout_bytes=readers[0].total, stderr_bytes=readers[1].total, truncated=out_cut or err_cut,
        start_ms=start, end_ms=end, duration_ms=end - start,
    )
    if timed_out:
        record.update(status="timeout", rc=None, error="timed out after %s s; process tree killed" % step["timeout"])
    elif step["ok_rc"] != "any" and proc.returncode not in step["ok_rc"]:
        record["status"] = "failed"
    return record


def _condition_met(record: dict[str, t.Any], retry: dict[str, t.Any]) -> bool:
    if record["status"] in ("timeout", "error"):
        return False
    if retry["until_rc"] is not None:
        rc_ok = record["rc"] in retry["until_rc"]
    else:
        rc_ok = record["status"] == "ok"
    return rc_ok and (retry["until_stdout"] is None or re.search(retry["until_stdout"], record["stdout"]) is not None)


def run_step_with_retry(step: dict[str, t.Any], file_paths: dict[str, str], max_output: int) -> dict[str, t.Any]:
    """Run a step; with ``retry`` run it again every ``interval`` s until its condition holds."""
    retry = step.get("retry")
    if not retry:
        return run_step(step, file_paths, max_output)
    deadline = time.time() + retry["within"]
    first_start = None
    attempts = 0
    while True:
        record = run_step(step, file_paths, max_output)
        attempts += 1
        first_start = record["start_ms"] if first_start is None else first_start
        if _condition_met(record, retry):
            record["status"] = "ok"
            break
        if time.time() + retry["interval"] > deadline:
            record["status"] = "failed"
            record["error"] = "condition not met within %s s (%d attempts)" % (retry["within"], attempts)
            break
        time.sleep(retry["interval"])
    record.update(attempts=attempts, start_ms=first_start, duration_ms=record["end_ms"] - first_start)
    return record
