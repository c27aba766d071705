"""The contract probe: a tiny program the executor test vectors run (POSIX twin of probe.ps1).

Usage: probe.py ACTION [ARGS...] [ACTION [ARGS...]]...
  out TEXT         write TEXT and a newline to stdout
  err TEXT         write TEXT and a newline to stderr
  exit N           exit with code N
  sleep S          sleep S seconds
  stdin            copy standard input to stdout
  big N            write N bytes ('x', a newline every 100) to stdout
  cat PATH         write the content of PATH to stdout
  mark PATH        create the file PATH
  child-mark S P   start a child that sleeps S seconds then creates P; wait for it
  count PATH       append a line to PATH and print count=N (N lines so far)
"""
import os
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    i = 0
    while i < len(argv):
        action = argv[i]
        if action == "out":
            sys.stdout.write(argv[i + 1] + "\n")
            sys.stdout.flush()
            i += 2
        elif action == "err":
            sys.stderr.write(argv[i + 1] + "\n")
            sys.stderr.flush()
            i += 2
        elif action == "exit":
            return int(argv[i + 1])
        elif action == "sleep":
            time.sleep(float(argv[i + 1]))
            i += 2
        elif action == "stdin":
            sys.stdout.write(sys.stdin.read())
            i += 1
        elif action == "big":
            remaining = int(argv[i + 1])
            line = b"x" * 99 + b"\n"
            out = sys.stdout.buffer
            while remaining >= 100:
                out.write(line)
                remaining -= 100
            out.write(b"x" * remaining)
            out.flush()
            i += 2
        elif action == "cat":
            with open(argv[i + 1], "rb") as handle:
                sys.stdout.buffer.write(handle.read())
            sys.stdout.flush()
            i += 2
        elif action == "mark":
            with open(argv[i + 1], "w") as handle:
                handle.write("marked\n")
            i += 2
        elif action == "child-mark":
            code = "import time,sys; time.sleep(float(sys.argv[1])); open(sys.argv[2], 'w').write('child')"
            subprocess.call([sys.executable, "-c", code, argv[i + 1], argv[i + 2]])
            i += 3
        elif action == "count":
            with open(argv[i + 1], "a") as handle:
                handle.write("x\n")
            with open(argv[i + 1]) as handle:
                sys.stdout.write("count=%d\n" % len(handle.readlines()))
            i += 2
        else:
            sys.stderr.write("probe: unknown action %r\n" % action)
            return 99
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
