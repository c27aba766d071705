"""The body of every fake Windows tool: forward argv to the host's hostd and print its answer.

Usage (from the generated tool files): client.py HOST_DIR TOOL PROGRAM_DIR [ARGS...]
Kept free of package imports so that it starts fast.
"""
import json
import os
import socket
import sys
import time


def main() -> int:
    host_dir, tool, program_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    args = sys.argv[4:]
    stdin = None
    if not sys.stdin.isatty():
        try:
            stdin = sys.stdin.read() or None
        except (OSError, ValueError):
            stdin = None
    # ppid: the process that started this tool (the tool files exec this script), i.e. the executor running the
    # plan, as a Windows tool's parent process is
    request = json.dumps({"tool": tool, "argv": args, "stdin": stdin, "program_dir": program_dir or None,
                          "ppid": os.getppid()}).encode() + b"\n"
    port_file = os.path.join(host_dir, "run", "hostd.port")
    deadline = time.time() + 10
    while True:
        try:
            with open(port_file) as handle:
                port = int(handle.read().strip())
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except (OSError, ValueError):
            if time.time() > deadline:
                sys.stderr.write("The RPC server is unavailable.\r\n")
                return 1722
            time.sleep(0.1)
    with sock:
        sock.settimeout(None)
        sock.sendall(request)
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    reply = json.loads(data)
    sys.stdout.write(reply["stdout"])
    sys.stderr.write(reply["stderr"])
    sys.stdout.flush()
    sys.stderr.flush()
    # POSIX exit codes are 8 bits: a Windows code such as 1060 arrives as 1060 & 0xFF, never as 0.
    return (reply["rc"] & 0xFF) or (1 if reply["rc"] else 0)


if __name__ == "__main__":
    sys.exit(main())
