"""The fake Windows tools, run inside hostd against the simulated host.

Output follows the samples of real output named, with their sources, in tests/sim/README.md;
formats they do not cover (sc, tasklist, schtasks, reg, nserver, nsd) follow the tools'
well-known English output.  Lines end in CRLF, as on Windows.  Formats marked [I] in
tests/sim/README.md are inferences still to be checked on a real server.
"""
from __future__ import annotations

import base64
import datetime
import fnmatch
import json
import os
import re
import shutil
import threading
import time
import typing as t
import uuid
from pathlib import Path

from .hostd import CONNECTION_USER, SERVICE_STATES, Host, account, caller_gone, win_time
from .paths import PathError, volume_of

Result = t.Tuple[int, str, str]
PROVIDER_ID = "{b5946137-7b9f-4925-af80-51abd60b20d5}"
DOMINO_WRITER = "Domino VSS Writer"
DOMINO_WRITER_ID = "{6b7b1c84-3a5e-4f0c-9d38-2d5e6ad8e0b1}"


def crlf(lines: t.Iterable[str]) -> str:
    return "".join(line + "\r\n" for line in lines)


def split_windows_args(text: str) -> list[str]:
    """CommandLineToArgvW rules (backslashes before quotes, doubled quotes)."""
    args: list[str] = []
    cur: list[str] = []
    in_quotes = False
    have = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            j = i
            while j < len(text) and text[j] == "\\":
                j += 1
            count = j - i
            if j < len(text) and text[j] == '"':
                cur.append("\\" * (count // 2))
                if count % 2:
                    cur.append('"')
                    i = j + 1
                else:
                    i = j
                have = True
                continue
            cur.append("\\" * count)
            i = j
            have = True
            continue
        if ch == '"':
            if in_quotes and i + 1 < len(text) and text[i + 1] == '"':
                cur.append('"')
                i += 2
                continue
            in_quotes = not in_quotes
            have = True
            i += 1
            continue
        if ch in " \t" and not in_quotes:
            if have:
                args.append("".join(cur))
                cur, have = [], False
            i += 1
            continue
        cur.append(ch)
        have = True
        i += 1
    if have:
        args.append("".join(cur))
    return args


def long_time(ts: float | None = None) -> str:
    d = datetime.datetime.fromtimestamp(ts if ts is not None else time.time())
    return d.strftime("%A, %B ") + "%d, %d %d:%02d:%02d %s" % (
        d.day, d.year, (d.hour % 12) or 12, d.minute, d.second, "AM" if d.hour < 12 else "PM")


def new_guid() -> str:
    return "{%s}" % uuid.uuid4()


def _tool_fault(host: Host, tool: str) -> str | None:
    return (host.fault("fail") or {}).get(tool)


# =============================================================== diskshadow

class _DiskShadow:
    def __init__(self, host: Host) -> None:
        self.host = host
        self.out: list[str] = []
        self.persistent = False
        self.writers = True
        self.context = "volatile"
        self.client_accessible = False
        self.autorecover = True           # VSS default; "set option noautorecover" turns it off
        self.in_backup = False
        self.ended_backup = False
        self.volumes: list[tuple[str, str | None]] = []
        self.verify: list[str] = []
        self.exclude: list[str] = []
        self.aliases: dict[str, str] = {}
        self.created: list[str] = []
        self.harmless_com = False  # the create printed KB 3025158's message
        self.metadata: str | None = None
        ind = host.cfg.get("diskshadow_indent", "spaces")
        self.i1, self.i2 = ("\t", "\t\t") if ind == "tabs" else (" " * 8, " " * 16)
        self.rc = 0
        self.stop = False

    def expand(self, word: str) -> str:
        match = re.fullmatch(r"%([A-Za-z][A-Za-z0-9_]*)%", word)
        if match:
            name = match.group(1)
            value = self.aliases.get(name.lower())
            if value is None:
                raise _DsError("The alias %s was not found." % word, rc=0)  # [I]
            self.out.append("-> %s = %s" % (word, value))
            return value
        return word

    def find(self, ident: str) -> dict[str, t.Any] | None:
        return self.host.shadows.get(ident.lower())

    def shadow_block(self, shadow: dict[str, t.Any], alias: str | None) -> list[str]:
        i1, i2 = self.i1, self.i2
        fqdn = self.host.cfg["fqdn"]
        exposed = ("- Exposed locally as: %s\\" % shadow["exposed_as"].rstrip("\\")) if shadow["exposed_as"] else "- Not exposed"
        return [
            "%s* Shadow copy ID = %s%s" % (i1, shadow["id"], ("\t\t%%%s%%" % alias) if alias else ""),
            "%s- Shadow copy set: %s%s" % (i2, shadow["set_id"], "\t%VSS_SHADOW_SET%" if alias else ""),
            "%s- Original count of shadow copies = %d" % (i2, shadow["count"]),
            "%s- Original volume name: %s [%s:\\]" % (i2, shadow["volume_guid"], shadow["volume"]),
            "%s- Creation time: %s" % (i2, shadow["created"]),
            "%s- Shadow copy device name: \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy%d" % (i2, shadow["number"]),
            "%s- Originating machine: %s" % (i2, fqdn),
            "%s- Service machine: %s" % (i2, fqdn),
            "%s%s" % (i2, exposed),
            "%s- Provider ID: %s" % (i2, PROVIDER_ID),
            "%s- Attributes:  %s" % (i2, " ".join(shadow["attributes"])),
        ]

    # --- commands -------------------------------------------------------------
    def run(self, line: str) -> None:
        words = line.split()
        if not words or words[0].startswith("#"):
            return
        self.out.append("-> %s" % line)
        cmd = words[0].lower()
        args = words[1:]
        if cmd == "exec":
            self.cmd_exec(line[len(words[0]):].strip())
            return
        handler = getattr(self, "cmd_" + cmd, None)
        if handler is None:
            raise _DsError("Unknown command: %s" % words[0], rc=1)  # [I]
        handler(args)

    def cmd_set(self, args: list[str]) -> None:
        what = args[0].lower() if args else ""
        if what == "context":
            for word in (a.lower() for a in args[1:]):
                if word == "persistent":
                    self.persistent = True
                elif word == "volatile":
                    self.persistent = False
                elif word == "clientaccessible":
                    self.client_accessible = True
                elif word == "nowriters":
                    self.writers = False
                else:
                    raise _DsError("Invalid context: %s" % word, rc=1)  # [I]
        elif what == "metadata":
            target = self.host.path(" ".join(args[1:]).strip('"'))
            if target.exists():
                self.out.append("The existing file will be overwritten.")
            self.metadata = str(target)
        elif what == "option":
            if any(a.lower() == "noautorecover" for a in args[1:]):
                self.autorecover = False
        elif what == "verbose":
            pass
        else:
            raise _DsError("SET %s is not supported." % what, rc=1)  # [I]

    def cmd_begin(self, args: list[str]) -> None:
        self.in_backup = True

    def cmd_end(self, args: list[str]) -> None:
        self.ended_backup = True

    def cmd_add(self, args: list[str]) -> None:
        if not args or args[0].lower() != "volume":
            raise _DsError("ADD %s is not supported." % (args[0] if args else ""), rc=1)
        vol = args[1] if len(args) > 1 else ""
        letter = volume_of(vol) if re.fullmatch(r"[A-Za-z]:\\?", vol) else None
        if letter is None:
            for cand in self.host.real_volumes():
                if self.host.volume_guid(cand).lower() == vol.lower():
                    letter = cand
        if _tool_fault(self.host, "diskshadow") == "com_failure":
            self.out.append("")
            raise _DsError('COM call "(*vssObject)->InitializeForBackup" failed.', rc=2147754758 & 0xFF)
        if letter is None or letter not in self.host.real_volumes():
            raise _DsError("The volume name is not valid.", rc=1)  # [I]
        alias = None
        if len(args) >= 4 and args[2].lower() == "alias":
            alias = args[3]
        self.volumes.append((letter, alias))

    def cmd_writer(self, args: list[str]) -> None:
        if len(args) < 2:
            raise _DsError("WRITER requires VERIFY or EXCLUDE and a writer.", rc=1)
        target = " ".join(args[1:]).strip('"')
        (self.verify if args[0].lower() == "verify" else self.exclude).append(target)

    def _active_writers(self) -> list[tuple[str, str, list]]:
        found = [("System Writer", "{e8132975-6f93-4464-a53e-1050253ae220}", []),
                 ("Task Scheduler Writer", "{d61d61c8-d73a-4eee-8cdd-f6f9786b7124}", [])]
        servers = [s for s in self.host.dominos if "backupvss" in s.tasks and s.state == "RUNNING"
                   and _writer_registers(self.host, s)]
        if servers:
            found.append((DOMINO_WRITER, DOMINO_WRITER_ID, servers))
        return found

    def _stall(self, seconds: float, frozen: list) -> None:
        """A create that stalls with the writers frozen (a slow provider), ended as VSS ends it: when the
        requester (diskshadow) dies, VSS aborts the set and the writers thaw (OnAbort); a writer frozen
        longer than VSS's limit (60 s) times out.  Other tools run meanwhile: the host lock is released."""
        limit = float(self.host.cfg.get("vss_freeze_limit_s", 60))
        self.host.log("diskshadow stall in create (%d writers frozen)" % len(frozen))
        gone = _hang(self.host, "diskshadow create", min(seconds, limit) if frozen else seconds, self.host.io_lock)
        if gone or (frozen and limit < seconds):
            for server in frozen:
                server.leave_backup_mode()
            self.host.log("diskshadow create aborted: %s" % ("the requester died" if gone else "writer freeze limit"))
            raise _DsError('Writer "%s" experienced a transient error (VSS_E_WRITERERROR_TIMEOUT). '
                           "The shadow copy creation failed." % DOMINO_WRITER, rc=5)  # [I]

    def cmd_create(self, args: list[str]) -> None:
        if not self.volumes:
            raise _DsError("No volumes are in the shadow copy set.", rc=1)  # [I]
        if self.host.config().get("diskshadow_harmless_com"):
            # Microsoft KB 3025158: printed by create, "harmless ... the shadowcopy backup is completed successfully"
            # (diskshadow goes on and exits 0: the exit code is [I])
            self.out.append('COM call "lvssObject4->GetRootAndLogicalPrefixPaths" failed.')
            self.harmless_com = True
        set_id = new_guid()
        writers = self._active_writers() if self.writers else []
        for wanted in self.verify:
            if not any(wanted.lower() in (name.lower(), wid.lower()) for name, wid, _s in writers):
                raise _DsError('Writer "%s" is not included in the backup, or was not found.\r\n'
                               "The writer verification failed." % wanted, rc=1)  # [I]
        frozen = []
        if writers:
            for name, _wid, servers in writers:
                if any(name.lower() == e.lower() for e in self.exclude):
                    self.out.append('Excluding writer "%s", because it was excluded by the user.' % name)
                    continue
                self.out.append("")
                self.out.append('* Including writer "%s":' % name)
                self.out.append("%s+ Adding component: \\%s" % (self.i1, name.replace(" ", "")))
                for server in servers:
                    if self.host.fault("vss_timeout"):
                        raise _DsError('Writer "%s" experienced a transient error (VSS_E_WRITERERROR_TIMEOUT). '
                                       "The shadow copy creation failed." % name, rc=5)  # [I]
                    with self.host.io_lock:
                        entered = server.enter_backup_mode()
                    if not entered:
                        raise _DsError('Writer "%s" reported an error (VSS_E_WRITERERROR_RETRYABLE).' % name, rc=5)  # [I]
                    frozen.append(server)
            if frozen:
                # PrepareForSnapshot/Freeze: the Domino writer's backup task puts the databases into backup
                # mode one by one; writes go on meanwhile.
                # (diskshadow runs each line under the host lock: a wait on it lets the writers run)
                with self.host.io_lock:
                    threading.Condition(self.host.io_lock).wait(float(self.host.cfg.get("vss_prepare_ms", 200)) / 1000.0)
            self.out.append("")
        if self.host.fault("hang_in_create"):
            self._stall(float(self.host.fault("hang_in_create")), frozen)
        attributes = ["No_Auto_Release", "Persistent"] if self.persistent else ["Auto_Release"]
        if not self.writers:
            attributes.append("No_Writers")
        if self.client_accessible:
            attributes.append("Client_accessible")
        attributes.append("Differential")
        context = ("persistent" if self.persistent else "volatile") + ("" if self.writers else " nowriters")
        made = []
        # One shadow copy set is taken at one instant across its volumes (Microsoft: "a collection of shadow
        # copies of various volumes all taken at the same time"): no write lands between two of its volumes.
        with self.host.io_lock:
            for letter, alias in self.volumes:
                shadow = self.host.create_shadow(letter, set_id, new_guid(), attributes, context)
                shadow["count"] = len(self.volumes)
                made.append((shadow, alias))
                self.created.append(shadow["id"])
        # The Domino writer thaws right after the creation (OnThaw).  With VSS auto-recovery (the default)
        # it writes its change info into the shadow copy itself (PostSnapshot); with noautorecover the
        # deltas are written separately into the live data directory (HCL: install_vss_writer.md).
        for server in frozen:
            image = next((Path(sh["dir"]) for sh, _a in made if sh["volume"] == server.cfg["data_dir"][0].upper()), None)
            server.leave_backup_mode(into=image if self.autorecover else None)
        if self.metadata:
            Path(self.metadata).parent.mkdir(parents=True, exist_ok=True)
            Path(self.metadata).write_text("simulated metadata cab\n")
        for shadow, alias in made:
            if alias:
                self.aliases[alias.lower()] = shadow["id"]
                self.out.append("Alias %s for shadow ID %s set as environment variable." % (alias, shadow["id"]))
        self.aliases["vss_shadow_set"] = set_id
        self.out.append("Alias VSS_SHADOW_SET for shadow set ID %s set as environment variable." % set_id)
        if self.metadata:
            for name in ("Manifest.xml", "BCDocument.xml"):
                self.out.append("Inserted file %s into .cab file %s" % (name, Path(self.metadata).name))
        self.out.append("")
        self.out.append("Querying all shadow copies with the shadow copy set ID %s" % set_id)
        self.out.append("")
        for shadow, alias in made:
            self.out.extend(self.shadow_block(shadow, alias))
        self.out.append("")
        self.out.append("Number of shadow copies listed: %d" % len(made))

    def cmd_expose(self, args: list[str]) -> None:
        if len(args) < 2:
            raise _DsError("EXPOSE requires a shadow copy and a drive letter or mount point.", rc=1)
        ident = self.expand(args[0])
        shadow = self.find(ident)
        if shadow is None:
            raise _DsError("The shadow copy ID %s was not found." % ident, rc=1)  # [I]
        where = args[1]
        if "persistent" not in shadow["context"]:
            raise _DsError("Only persistent shadow copies can be exposed.", rc=1)  # [I]
        if shadow["exposed_as"]:
            raise _DsError("The shadow copy is already exposed.", rc=1)  # [I]
        target = self.host.path(where)
        if re.fullmatch(r"[A-Za-z]:\\?", where):
            if target.exists() or target.is_symlink():
                raise _DsError("The  drive letter is already in use.", rc=0)
            where = where[0].upper() + ":"
            if _tool_fault(self.host, "diskshadow") != "expose_not_applied":  # the words say yes, the host says no
                self.host.expose(shadow, where)
            self.out.append("The shadow copy was successfully exposed as %s\\." % where.lower())
            if self.host.fault("hang_after_expose"):
                # the run is cut off here (a test kills it): its shadow copy exists and is exposed, unrecorded
                self.host.save_state()
                _hang(self.host, "diskshadow after expose", float(self.host.fault("hang_after_expose")), self.host.io_lock)
        else:
            if not target.parent.is_dir() or (target.exists() and any(target.iterdir())):
                raise _DsError("The mount point is not valid or is not an empty folder.", rc=1)  # [I]
            if target.is_dir():
                target.rmdir()
            self.host.expose(shadow, where.rstrip("\\"))
            self.out.append("The shadow copy was successfully exposed as %s\\." % where.rstrip("\\"))

    def cmd_unexpose(self, args: list[str]) -> None:
        ident = self.expand(args[0]) if args else ""
        for shadow in self.host.shadows.values():
            exposed = (shadow["exposed_as"] or "").rstrip("\\").lower()
            if shadow["id"].lower() == ident.lower() or (exposed and exposed == ident.rstrip("\\").lower()):
                if not shadow["exposed_as"]:
                    break
                self.host.unexpose(shadow)
                self.out.append("Shadow copy ID %s is no longer exposed." % shadow["id"])
                return
        raise _DsError("The shadow copy is not exposed as %s." % ident, rc=1)  # [I]

    def cmd_delete(self, args: list[str]) -> None:
        if not args or args[0].lower() != "shadows" or len(args) < 2:
            raise _DsError("DELETE SHADOWS requires ALL, VOLUME, OLDEST, SET, ID or EXPOSED.", rc=1)
        kind = args[1].lower()
        value = self.expand(args[2]) if len(args) > 2 else ""
        if _tool_fault(self.host, "diskshadow") == "delete_failure":
            raise _DsError("COM call \"lvssObject->DeleteSnapshots\" failed.", rc=5)  # [I]
        shadows = list(self.host.shadows.values())
        if kind == "all":
            chosen = shadows
        elif kind == "volume":
            chosen = [s for s in shadows if s["volume"] == (volume_of(value) or "")]
        elif kind == "oldest":
            on = sorted((s for s in shadows if s["volume"] == (volume_of(value) or "")), key=lambda s: s["created_ms"])
            chosen = on[:1]
        elif kind == "set":
            chosen = [s for s in shadows if s["set_id"].lower() == value.lower()]
        elif kind == "id":
            chosen = [s for s in shadows if s["id"].lower() == value.lower()]
        elif kind == "exposed":
            chosen = [s for s in shadows if (s["exposed_as"] or "").rstrip("\\").lower() == value.rstrip("\\").lower()]
        else:
            raise _DsError("DELETE SHADOWS %s is not supported." % kind, rc=1)
        if not chosen and kind in ("id", "set", "exposed"):
            raise _DsError("The shadow copy ID %s was not found." % value, rc=1)  # [I]
        for shadow in chosen:
            self.out.append("Deleting shadow copy %s on volume %s from provider %s [Attributes: 0x%08x]..."
                            % (shadow["id"], shadow["volume_guid"], PROVIDER_ID, 0x20019)
                            if kind == "all" else "Deleting shadow copy %s..." % shadow["id"])
            self.host.delete_shadow(shadow["id"])
        self.out.append("")
        self.out.append("Number of shadow copies deleted: %d" % len(chosen) if kind == "all"
                        else "%d shadow cop%s deleted." % (len(chosen), "y" if len(chosen) == 1 else "ies"))

    def cmd_list(self, args: list[str]) -> None:
        what = args[0].lower() if args else ""
        if what == "writers":
            for name, wid, _servers in self._active_writers():
                self.out.append("* WRITER %s" % name)
                self.out.append("%s- Writer ID   = %s" % (self.i2, wid))
                self.out.append("%s- Status: 1 (VSS_WS_STABLE)" % self.i2)
                self.out.append("%s- Writer Failure code: 0x00000000 (S_OK)" % self.i2)
            return
        if what != "shadows":
            raise _DsError("LIST %s is not supported." % what, rc=1)
        scope = args[1].lower() if len(args) > 1 else "all"
        value = self.expand(args[2]) if len(args) > 2 else ""
        shadows = sorted(self.host.shadows.values(), key=lambda s: s["number"])
        if scope == "set":
            shadows = [s for s in shadows if s["set_id"].lower() == value.lower()]
        elif scope == "id":
            shadows = [s for s in shadows if s["id"].lower() == value.lower()]
        self.out.append("Querying all shadow copies on the computer ...")  # [I]
        self.out.append("")
        if not shadows:
            self.out.append("No shadow copies found in system.")  # [I]
            return
        for shadow in shadows:
            self.out.extend(self.shadow_block(shadow, None))
            self.out.append("")
        self.out.append("Number of shadow copies listed: %d" % len(shadows))

    def cmd_reset(self, args: list[str]) -> None:
        self.__init__(self.host)  # type: ignore[misc]

    def cmd_exec(self, rest: str) -> None:
        """exec <file.cmd>: one script file, no arguments (reference: a command line is refused)."""
        name = rest[1:-1] if len(rest) > 1 and rest[0] == rest[-1] == '"' else rest
        try:
            if not name or '"' in name or not name.lower().endswith((".cmd", ".bat")):
                raise PathError(name)
            body = self.host.path(name).read_text(encoding="ascii")
        except (OSError, PathError, UnicodeDecodeError):
            usage = ["", "The script file name is not valid.", "", "EXEC <file.cmd>",
                     "        Execute a script file on the local machine.",
                     "        This command is used to duplicate or restore data as part of",
                     "        a backup or restore sequence."]
            raise _DsError("\n".join(usage), rc=1)
        # cmd.exe runs every line whatever the one before returned; the script's exit code is its exit /b value
        # (%errorlevel%: the last command's) or, without one, the last command's
        errorlevel = 0
        for raw in body.splitlines():
            line = raw.strip().lstrip("@")
            if not line or line.lower().startswith(("rem ", "::")):
                continue
            if line.lower().startswith("exit"):
                value = line.split()[-1] if len(line.split()) > 2 else "0"
                errorlevel = errorlevel if value.lower() == "%errorlevel%" else int(value)
                break
            words = split_windows_args(line)
            stdin = None
            if len(words) >= 3 and words[-2] == "<":  # cmd.exe redirects standard input from a file
                stdin = self.host.path(words[-1]).read_text(encoding="utf-8")
                words = words[:-2]
            tool = words[0].replace("\\", "/").rsplit("/", 1)[-1].lower().removesuffix(".exe")
            time.sleep(0.03)  # the tool starting on a real host
            errorlevel, out, err = run_tool(self.host, tool, words[1:], stdin)
            self.out += [x for x in (out + err).replace("\r\n", "\n").split("\n") if x]
        if errorlevel:
            raise _DsError("The script %s failed with exit code %d." % (name, errorlevel), rc=errorlevel)  # [I]

    def cmd_exit(self, args: list[str]) -> None:
        self.stop = True

    def finish(self) -> None:
        if self.in_backup and not self.ended_backup and self.writers:
            self.out.append("Note: END BACKUP was not commanded, writers not notified BackupComplete.")
        for shadow_id in self.created:
            shadow = self.host.shadows.get(shadow_id.lower())
            if shadow and "persistent" not in shadow["context"]:
                self.host.delete_shadow(shadow_id)
        self.out.append("DiskShadow is exiting.")


class _DsError(Exception):
    def __init__(self, text: str, rc: int) -> None:
        super().__init__(text)
        self.text = text
        self.rc = rc


def tool_diskshadow(host: Host, argv: list[str], stdin: str | None) -> Result:
    ds = _DiskShadow(host)
    lines: list[str] = []
    log_file = None
    i = 0
    while i < len(argv):
        opt = argv[i].lower()
        if opt in ("/s", "-s") and i + 1 < len(argv):
            try:
                lines = host.path(argv[i + 1]).read_text(encoding="utf-8-sig", errors="replace").splitlines()
            except (OSError, PathError):
                return 2, crlf(["The script file name is not valid."]), ""  # [I]
            i += 2
        elif opt in ("/l", "-l") and i + 1 < len(argv):
            log_file = host.path(argv[i + 1])
            i += 2
        else:
            i += 1
    if not lines and stdin:
        lines = stdin.splitlines()
    if (host.fault("hang") or {}).get("diskshadow") and _hang(host, "diskshadow", float(host.fault("hang")["diskshadow"])):
        return 1, "", ""  # diskshadow died while it hung: nobody reads its answer
    ds.out += ["Microsoft DiskShadow version 1.0", "Copyright (C) 2013 Microsoft Corporation",
               "On computer:  %s,  %s" % (host.cfg["hostname"].upper(), win_time()), ""]
    rc = 0
    try:
        for line in lines:
            if line.strip().lower().startswith("exec"):
                ds.run(line.strip())  # the script's tools take the host's lock themselves, as other callers do
            else:
                with host.io_lock:
                    ds.run(line.strip())
            if ds.stop:
                break
    except _DsError as exc:
        ds.out.append(exc.text)
        rc = exc.rc
    except PathError as exc:
        ds.out.append("The path is not valid: %s" % exc)
        rc = 1
    with host.io_lock:
        ds.finish()
    if rc == 0 and ds.harmless_com:
        # which exit code diskshadow returns after the harmless message is not published ([I]): 0 by default,
        # sim.json "diskshadow_harmless_com_rc" sets another one (the shadow copy is created all the same)
        rc = int(host.config().get("diskshadow_harmless_com_rc", 0))
    text = crlf(ds.out)
    if log_file:
        log_file.write_text(text)
    return rc, text, ""


# ============================================== tool output in the host's UI language

def ui_language(host: Host) -> str:
    """The language part of the host's UI culture (sim.json windows.culture.ui, default en-US): the tools print
    in it, as Windows tools print in the UI language of the session that runs them."""
    culture = host.config().get("windows", {}).get("culture") or {}
    return str(culture.get("ui") or culture.get("installed_ui") or "en-US").split("-", maxsplit=1)[0].lower()


def _speed(match: re.Match[str]) -> str:
    return "Geschwindigkeit:%21s %s" % (match.group(1).replace(",", ""), "Bytes/Sek." if match.group(2) == "Bytes/sec."
                                        else "Megabytes/Min.")


# German output, line by line (tests/sim/README.md names the source of each): robocopy's from the published German
# captures (tests/unit/data/locale/robocopy_de_*.txt), sc's labels, diskshadow's and vssadmin's sentences and
# labels as in the constructed samples (tests/unit/data/locale/*_de_*.constructed.txt; no localized capture of
# them has been published). Codes, constant names, GUIDs, paths and numbers stay as they are.
GERMAN: dict[str, list[tuple[re.Pattern[str], t.Any]]] = {
    "sc": [
        (re.compile(r"^(\s+)TYPE(\s+):"), r"\1TYP \2:"),
        (re.compile(r"^(\s+)STATE(\s+):"), r"\1STATUS\2:"),
        (re.compile(r"^(\s+)WIN32_EXIT_CODE(\s+):"), r"\1WIN32_EXITCODE \2:"),
        (re.compile(r"^(\s+)SERVICE_EXIT_CODE(\s+):"), r"\1DIENST_EXITCODE \2:"),
        (re.compile(r"^(\s+)WAIT_HINT(\s+):"), r"\1WARTEHINWEIS\2:"),
        (re.compile(r"^\[SC\] (\S+) FAILED (\d+):"), r"[SC] \1 FEHLER \2:"),
        (re.compile(r"^The service has not been started\.$"), "Der Dienst wurde nicht gestartet."),
        (re.compile(r"^An instance of the service is already running\.$"), "Es wird bereits eine Instanz des Dienstes ausgeführt."),
        (re.compile(r"^The specified service does not exist as an installed service\.$"),
         "Der angegebene Dienst ist kein installierter Dienst."),
        (re.compile(r"^Access is denied\.$"), "Zugriff verweigert"),
    ],
    "robocopy": [
        (re.compile(r"Robust File Copy for Windows"), "Robustes Dateikopieren für Windows"),
        (re.compile(r"^  Started : "), "  Gestartet: "),
        (re.compile(r"^   Source : "), "   Quelle : "),
        (re.compile(r"^     Dest : "), "     Ziel : "),
        (re.compile(r"^    Files : "), "    Dateien : "),
        (re.compile(r"^  Options : "), "  Optionen: "),
        (re.compile(r"^\s+Total\s+Copied\s+Skipped\s+Mismatch\s+FAILED\s+Extras$"),
         "           Insgesamt   KopiertÜbersprungenKeine Übereinstimmung    FEHLER    Extras"),
        (re.compile(r"^    Dirs :"), "Verzeich.:"),
        (re.compile(r"^   Files :"), "  Dateien:"),
        (re.compile(r"^   Bytes :"), "    Bytes:"),
        (re.compile(r"^   Times :"), "   Zeiten:"),
        (re.compile(r"^   Speed :\s*([\d,.]+) (Bytes/sec\.|MegaBytes/min\.)$"), _speed),
        (re.compile(r"^   Ended : "), "   Beendet: "),
        (re.compile(r"^  Log File : "), "  Protokolldatei : "),
        (re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) ERROR (\d+ \(0x[0-9A-Fa-f]{8}\)) Accessing Source Directory "),
         r"\1 FEHLER \2 Zugriff auf Quellverzeichnis "),
        (re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) ERROR (\d+ \(0x[0-9A-Fa-f]{8}\)) Accessing Destination Directory "),
         r"\1 FEHLER \2 Zugriff auf Zielverzeichnis "),
        (re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) ERROR (\d+ \(0x[0-9A-Fa-f]{8}\)) "), r"\1 FEHLER \2 "),
        (re.compile(r"^The system cannot find the file specified\.$"), "Das System kann die angegebene Datei nicht finden."),
        (re.compile(r"^The network path was not found\.$"), "Der Netzwerkpfad wurde nicht gefunden."),
    ],
    "diskshadow": [
        (re.compile(r"^Microsoft DiskShadow version 1\.0$"), "Microsoft DiskShadow-Version 1.0"),
        (re.compile(r"^On computer:  "), "Auf Computer:  "),
        (re.compile(r"^Alias VSS_SHADOW_SET for shadow set ID (\S+) set as environment variable\.$"),
         r"Der Alias VSS_SHADOW_SET für die Schattenkopiesatz-ID \1 wurde als Umgebungsvariable festgelegt."),
        (re.compile(r"^Alias (\S+) for shadow ID (\S+) set as environment variable\.$"),
         r"Der Alias \1 für die Schattenkopie-ID \2 wurde als Umgebungsvariable festgelegt."),
        (re.compile(r"^Querying all shadow copies with the shadow copy set ID (\S+)$"),
         r"Alle Schattenkopien mit der Schattenkopiesatz-ID \1 werden abgefragt."),
        (re.compile(r"^Querying all shadow copies on the computer \.\.\.$"), "Alle Schattenkopien auf dem Computer werden abgefragt..."),
        (re.compile(r"^No shadow copies found in system\.$"), "Im System wurden keine Schattenkopien gefunden."),
        (re.compile(r"^(\s*)\* Shadow copy ID = "), r"\1* Schattenkopie-ID = "),
        (re.compile(r"^(\s*)- Shadow copy set: "), r"\1- Schattenkopiesatz: "),
        (re.compile(r"^(\s*)- Original count of shadow copies = "), r"\1- Ursprüngliche Anzahl der Schattenkopien = "),
        (re.compile(r"^(\s*)- Original volume name: "), r"\1- Ursprünglicher Volumename: "),
        (re.compile(r"^(\s*)- Creation time: "), r"\1- Erstellungszeit: "),
        (re.compile(r"^(\s*)- Shadow copy device name: "), r"\1- Gerätename der Schattenkopie: "),
        (re.compile(r"^(\s*)- Originating machine: "), r"\1- Ursprungscomputer: "),
        (re.compile(r"^(\s*)- Service machine: "), r"\1- Dienstcomputer: "),
        (re.compile(r"^(\s*)- Not exposed$"), r"\1- Nicht verfügbar gemacht"),
        (re.compile(r"^(\s*)- Exposed locally as: "), r"\1- Verfügbar gemacht lokal als: "),
        (re.compile(r"^(\s*)- Provider ID: "), r"\1- Anbieter-ID: "),
        (re.compile(r"^(\s*)- Attributes: "), r"\1- Attribute: "),
        (re.compile(r"^Number of shadow copies listed: (\d+)$"), r"Anzahl der aufgelisteten Schattenkopien: \1"),
        (re.compile(r'^\* Including writer "([^"]+)":$'), r'* Verfasser "\1" wird eingeschlossen:'),
        (re.compile(r'^Excluding writer "([^"]+)", because it was excluded by the user\.$'),
         r'Verfasser "\1" wird ausgeschlossen, da er vom Benutzer ausgeschlossen wurde.'),
        (re.compile(r"^(\s*)\+ Adding component: "), r"\1+ Komponente wird hinzugefügt: "),
        (re.compile(r"^The shadow copy was successfully exposed as (.+)\.$"),
         r"Die Schattenkopie wurde erfolgreich als \1 verfügbar gemacht."),
        (re.compile(r"^Shadow copy ID (\S+) is no longer exposed\.$"), r"Die Schattenkopie-ID \1 ist nicht mehr verfügbar gemacht."),
        (re.compile(r"^Deleting shadow copy (\S+) on volume (\S+) from provider (\S+) \[Attributes: (0x[0-9a-f]+)\]\.\.\.$"),
         r"Die Schattenkopie \1 auf Volume \2 von Anbieter \3 [Attribute: \4] wird gelöscht..."),
        (re.compile(r"^Deleting shadow copy (\S+)\.\.\.$"), r"Die Schattenkopie \1 wird gelöscht..."),
        (re.compile(r"^Number of shadow copies deleted: (\d+)$"), r"Anzahl der gelöschten Schattenkopien: \1"),
        (re.compile(r"^(\d+) shadow cop(?:y|ies) deleted\.$"), r"\1 Schattenkopie(n) gelöscht."),
        (re.compile(r'^COM call "([^"]+)" failed\.$'), r'Der COM-Aufruf "\1" ist fehlgeschlagen.'),
        (re.compile(r"^The  drive letter is already in use\.$"), "Der Laufwerkbuchstabe wird bereits verwendet."),
        (re.compile(r'^Writer "([^"]+)" is not included in the backup, or was not found\.$'),
         r'Der Verfasser "\1" ist nicht in der Sicherung enthalten oder wurde nicht gefunden.'),
        (re.compile(r"^The writer verification failed\.$"), "Die Überprüfung der Verfasser ist fehlgeschlagen."),
        (re.compile(r"^The shadow copy ID (\S+) was not found\.$"), r"Die Schattenkopie-ID \1 wurde nicht gefunden."),
        (re.compile(r"^The shadow copy is already exposed\.$"), "Die Schattenkopie ist bereits verfügbar gemacht."),
        (re.compile(r"^The shadow copy is not exposed as (.+)\.$"), r"Die Schattenkopie ist nicht als \1 verfügbar gemacht."),
        (re.compile(r"^DiskShadow is exiting\.$"), "DiskShadow wird beendet."),
    ],
    "vssadmin": [
        (re.compile(r"^vssadmin 1\.1 - Volume Shadow Copy Service administrative command-line tool$"),
         "vssadmin 1.1 - Verwaltungsbefehlszeilenprogramm des Volumeschattenkopie-Dienstes"),
        (re.compile(r"^Contents of shadow copy set ID: "), "Inhalt der Schattenkopiesatz-ID: "),
        (re.compile(r"^(\s+)Contained (\d+) shadow copies at creation time: "),
         r"\1\2 Schattenkopien waren zum Erstellungszeitpunkt enthalten: "),
        (re.compile(r"^(\s+)Shadow Copy ID: "), r"\1Schattenkopie-ID: "),
        (re.compile(r"^(\s+)Original Volume: "), r"\1Ursprüngliches Volume: "),
        (re.compile(r"^(\s+)Shadow Copy Volume: "), r"\1Schattenkopievolume: "),
        (re.compile(r"^(\s+)Originating Machine: "), r"\1Ursprungscomputer: "),
        (re.compile(r"^(\s+)Service Machine: "), r"\1Dienstcomputer: "),
        (re.compile(r"^(\s+)Exposed Name: "), r"\1Verfügbar gemachter Name: "),
        (re.compile(r"^(\s+)Provider: "), r"\1Anbieter: "),
        (re.compile(r"^(\s+)Type: "), r"\1Typ: "),
        (re.compile(r"^(\s+)Attributes: "), r"\1Attribute: "),
        (re.compile(r"Client-accessible"), "Clientzugriff möglich"),
        (re.compile(r"No auto release"), "Keine automatische Freigabe"),
        (re.compile(r"No writers"), "Keine Verfasser"),
        (re.compile(r"Differential"), "Differenziell"),
        (re.compile(r"Auto recovered"), "Automatisch wiederhergestellt"),
        (re.compile(r"^No items found that satisfy the query\.$"), "Es wurden keine Elemente gefunden, die die Abfrage erfüllen."),
        # vssadmin list writers: the name in double quotes (tests/unit/data/locale/vssadmin_de_writers.constructed.txt)
        (re.compile(r"^Waiting for responses\. $"), "Warten auf Antworten. "),
        (re.compile(r"^These may be delayed if a shadow copy is being prepared\.$"),
         "Dies kann etwas dauern, wenn eine Schattenkopie vorbereitet wird."),
        (re.compile(r"^Writer name: '(.+)'$"), r'Verfassername: "\1"'),
        (re.compile(r"^(\s+)Writer Id: "), r"\1Verfasserkennung: "),
        (re.compile(r"^(\s+)Writer Instance Id: "), r"\1Verfasserinstanzkennung: "),
        (re.compile(r"^(\s+)State: \[1\] Stable$"), r"\1Status: [1] Stabil"),
        (re.compile(r"^(\s+)Last error: No error$"), r"\1Letzter Fehler: Kein Fehler"),
        (re.compile(r"^Successfully deleted (\d+) shadow copies\.$"), r"\1 Schattenkopien wurden erfolgreich gelöscht."),
    ],
}
LANGUAGES = {"de": GERMAN}


def _translate(text: str, table: list[tuple[re.Pattern[str], t.Any]]) -> str:
    if not text:
        return text
    lines = text.split("\r\n")
    for i, line in enumerate(lines):
        for pattern, repl in table:
            line = pattern.sub(repl, line)
        lines[i] = line
    return "\r\n".join(lines)


def localize(host: Host, tool: str, result: Result) -> Result:
    """A tool's output as it prints on a host whose UI language is not English (sim.json windows.culture.ui)."""
    table = LANGUAGES.get(ui_language(host), {}).get(tool)
    if not table:
        return result
    rc, out, err = result
    return rc, _translate(out, table), _translate(err, table)


# ================================================================== vssadmin

def tool_vssadmin(host: Host, argv: list[str], stdin: str | None) -> Result:
    head = ["vssadmin 1.1 - Volume Shadow Copy Service administrative command-line tool",
            "(C) Copyright 2001-2013 Microsoft Corp.", ""]
    words = [a.lower() for a in argv]
    opts = {a.split("=", 1)[0].lower(): (a.split("=", 1)[1] if "=" in a else "") for a in argv[2:]}
    if words[:2] == ["list", "writers"]:
        return _vssadmin_list_writers(host, head)
    if words[:2] == ["list", "shadows"]:
        shadows = sorted(host.shadows.values(), key=lambda s: s["number"])
        if "/for" in opts:
            shadows = [s for s in shadows if s["volume"] == (volume_of(opts["/for"]) or "")]
        if "/shadow" in opts:
            shadows = [s for s in shadows if s["id"].lower() == opts["/shadow"].lower()]
        if not shadows:
            return 0, crlf(head + ["No items found that satisfy the query."]), ""
        out = list(head)
        sets: dict[str, list] = {}
        for shadow in shadows:
            sets.setdefault(shadow["set_id"], []).append(shadow)
        for set_id, members in sets.items():
            out.append("Contents of shadow copy set ID: %s" % set_id)
            out.append("   Contained %d shadow copies at creation time: %s" % (len(members), members[0]["created"]))
            for shadow in members:
                nowriters = "No_Writers" in shadow["attributes"]
                out += [
                    "      Shadow Copy ID: %s" % shadow["id"],
                    "         Original Volume: (%s:)%s" % (shadow["volume"], shadow["volume_guid"]),
                    "         Shadow Copy Volume: \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy%d" % shadow["number"],
                    "         Originating Machine: %s" % host.cfg["fqdn"],
                    "         Service Machine: %s" % host.cfg["fqdn"],
                ]
                if shadow["exposed_as"]:
                    out.append("         Exposed Name: %s\\" % shadow["exposed_as"].rstrip("\\"))  # [I]
                out += [
                    "         Provider: 'Microsoft Software Shadow Copy provider 1.0'",
                    "         Type: %s" % ("ClientAccessible" if nowriters else "ClientAccessibleWriters"),
                    "         Attributes: Persistent, Client-accessible, No auto release, %sDifferential%s"
                    % ("No writers, " if nowriters else "", "" if nowriters else ", Auto recovered"),
                ]
            out.append("")
        return 0, crlf(out), ""
    if words[:2] == ["delete", "shadows"]:
        with host.io_lock:
            if "/shadow" in opts:
                victims = [s for s in host.shadows.values() if s["id"].lower() == opts["/shadow"].lower()]
            elif "/for" in opts:
                victims = [s for s in host.shadows.values() if s["volume"] == (volume_of(opts["/for"]) or "")]
                if "/oldest" in opts:
                    victims = sorted(victims, key=lambda s: s["created_ms"])[:1]
            elif "/all" in opts:
                victims = list(host.shadows.values())
            else:
                return 1, crlf(head + ["Error: Invalid command."]), ""
            if not victims:
                return 1, crlf(head + ["No items found that satisfy the query."]), ""
            for shadow in victims:
                host.delete_shadow(shadow["id"])
        return 0, crlf(head + ["Successfully deleted %d shadow copies." % len(victims)]), ""  # [I]
    return 1, crlf(head + ["Error: Invalid command."]), ""


# ========================================================= powershell (CIM)

# The collection's ledger of its own shadow copies (plugins/module_utils/shadow_ledger.py), as reg.exe keys it.
LEDGER_KEY = "HKEY_LOCAL_MACHINE\\SOFTWARE\\QUIESCE.DOMINO\\SHADOWS"
_GUID_RE = re.compile(r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}")


PENDING_KEY = LEDGER_KEY + "\\PENDING"
_EXPOSE_ECHO_RE = re.compile(r"^\s*->\s*expose\s+\S+\s+(\S+)\s*$", re.I)


def _own_shadows(host: Host, transcript: str) -> Result:
    """What the own-shadows script does: record the shadow copies of the set the transcript names with
    %VSS_SHADOW_SET% (without one: the existing shadow copies it names), drop the entries of shadow copies that
    are gone, clear the pending notes of the targets the transcript exposed."""
    if _tool_fault(host, "powershell") == "ledger_denied":
        return 1, "", crlf(["New-ItemProperty : Requested registry access is not allowed."])
    named: set[str] = set()
    sets: set[str] = set()
    exposed: set[str] = set()
    for line in transcript.splitlines():
        for match in _GUID_RE.finditer(line):
            named.add(match.group(0).lower())
            if "VSS_SHADOW_SET" in line:
                sets.add(match.group(0).lower())
        echo = _EXPOSE_ECHO_RE.match(line)
        if echo:
            exposed.add(echo.group(1).rstrip("\\").upper())
    with host.io_lock:
        existing = {s["id"].lower(): s for s in host.shadows.values()}
        entry = host.registry.get(LEDGER_KEY)
        recorded = sorted(i for i, s in existing.items() if (s["set_id"].lower() in sets if sets else i in named))
        if recorded and entry is None:
            entry = host.registry[LEDGER_KEY] = {"display": "HKEY_LOCAL_MACHINE\\SOFTWARE\\quiesce.domino\\Shadows",
                                                 "values": {}}
        for sid in recorded:
            entry["values"][sid] = ["REG_SZ", existing[sid]["set_id"].lower()]
        dropped = sorted(n for n in (entry or {}).get("values", {}) if n.lower() not in existing)
        for name in dropped:
            del entry["values"][name]
        notes = host.registry.get(PENDING_KEY, {}).get("values", {})
        for target in exposed:
            notes.pop(target, None)
    return 0, json.dumps({"recorded": recorded, "dropped": dropped}) + "\r\n", ""


def _pending_shadows(host: Host, data: dict) -> Result:
    """What the pending-shadows script does: adopt a shadow copy exposed at a noted target within the note's
    window and not in the ledger yet, then note this run's window for its targets."""
    if _tool_fault(host, "powershell") == "ledger_denied":
        return 1, "", crlf(["New-Item : Requested registry access is not allowed."])
    now = int(time.time() * 1000)
    adopted = []
    with host.io_lock:
        ledger = host.registry.setdefault(LEDGER_KEY, {"display": "HKEY_LOCAL_MACHINE\\SOFTWARE\\quiesce.domino\\Shadows",
                                                       "values": {}})
        notes = host.registry.setdefault(PENDING_KEY, {"display": "HKEY_LOCAL_MACHINE\\SOFTWARE\\quiesce.domino\\Shadows\\Pending",
                                                       "values": {}})["values"]
        owned = {n.lower() for n in ledger["values"]}
        for shadow in host.shadows.values():
            at = (shadow.get("exposed_as") or "").rstrip("\\").upper()
            window = str(notes.get(at, ["", ""])[1]).split(";")
            if not at or at not in notes or shadow["id"].lower() in owned or len(window) != 2:
                continue
            if int(window[0]) - 5000 <= shadow["created_ms"] <= int(window[1]):
                ledger["values"][shadow["id"].lower()] = ["REG_SZ", shadow["set_id"].lower()]
                adopted.append(shadow["id"].lower())
        for target in data.get("targets") or []:
            notes[str(target).rstrip("\\").upper()] = ["REG_SZ", "%d;%d" % (now, now + int(data.get("seconds") or 0) * 1000)]
    return 0, json.dumps({"adopted": sorted(adopted)}) + "\r\n", ""


def _shadow_probe(host: Host, stdin: str) -> Result:
    """What diskshadow.SHADOW_PROBE_SCRIPT does: Win32_ShadowCopy (ID, SetID, ExposedName, InstallDate) and the drive letters in
    use, read back after diskshadow; exit 1 when an expectation is not met."""
    expect = json.loads(stdin or "{}").get("expect") or []
    with host.io_lock:
        shadows = [{"ID": s["id"].upper(), "SetID": s["set_id"].upper(), "ExposedLocally": bool(s["exposed_as"]),
                    "ExposedName": (s["exposed_as"].rstrip("\\") + "\\") if s["exposed_as"] else None,
                    "InstallDate": _dotnet_date(s["created_ms"])}
                   for s in sorted(host.shadows.values(), key=lambda s: s["number"])]
        drives = sorted(e.name.upper() + ":" for e in (host.dir / "volumes").iterdir() if len(e.name) == 1)

    def norm(path: t.Any) -> str:
        return str(path or "").rstrip("\\").upper()
    unmet = []
    for item in expect:
        at, sid = norm(item.get("at")), str(item.get("id") or "").lower()
        there = [s for s in shadows if s["ExposedName"] and at and norm(s["ExposedName"]) == at]
        if item.get("state") == "exposed":
            met = bool(there) and (not sid or any(s["ID"].lower() == sid for s in there))
        elif item.get("state") == "free":
            met = not there and not (len(at) == 2 and at in drives)
        else:
            met = not any(s["ID"].lower() == sid for s in shadows)
        if not met:
            unmet.append(item)
    return (1 if unmet else 0), json.dumps({"shadows": shadows, "drives": drives, "unmet": unmet}) + "\r\n", ""


def _dotnet_date(ms: int) -> str:
    return "/Date(%d)/" % ms


def tool_powershell(host: Host, argv: list[str], stdin: str | None) -> Result:
    """Only the constant scripts the collection issues are simulated, recognised by their marker line."""
    lowered = [a.lower() for a in argv]
    script = argv[lowered.index("-command") + 1] if "-command" in lowered else ""
    if "-encodedcommand" in lowered:
        script = base64.b64decode(argv[lowered.index("-encodedcommand") + 1]).decode("utf-16-le")
    if _tool_fault(host, "powershell") == "cim_unavailable":
        return 1, "", crlf(["Get-CimInstance : Invalid class ", "+ CategoryInfo          : MetadataError: "
                            "(root\\cimv2:Win32_ShadowCopy:String) [Get-CimInstance], CimException"])
    if "quiesce.domino:shadow-inventory" in script:
        shadows = []
        for shadow in sorted(host.shadows.values(), key=lambda s: s["number"]):
            attrs = shadow["attributes"]
            shadows.append({
                "ID": shadow["id"].upper(), "SetID": shadow["set_id"].upper(),
                "VolumeName": shadow["volume_guid"],
                "DeviceObject": "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy%d" % shadow["number"],
                "InstallDate": _dotnet_date(shadow["created_ms"]), "Count": shadow["count"],
                "Persistent": "Persistent" in attrs, "NoWriters": "No_Writers" in attrs,
                "ClientAccessible": "Client_accessible" in attrs, "NoAutoRelease": "No_Auto_Release" in attrs,
                "ExposedLocally": bool(shadow["exposed_as"]),
                "ExposedName": (shadow["exposed_as"].rstrip("\\") + "\\") if shadow["exposed_as"] else None,
                "State": 12,
                "OriginatingMachine": host.cfg["fqdn"], "ServiceMachine": host.cfg["fqdn"],
                "ProviderID": PROVIDER_ID.upper(),
            })
        volumes = []
        for letter, cfg in sorted(host.cfg["volumes"].items()):
            cap = cfg["size_mb"] * 1024 * 1024
            volumes.append({"DriveLetter": letter + ":", "DeviceID": cfg["guid"], "FileSystem": cfg.get("fs", "NTFS"),
                            "Capacity": cap, "FreeSpace": max(cap - _dir_size(host.volume_dir(letter)), 0),
                            "Label": cfg.get("label", "")})
        drives = sorted(e.name + ":\\" for e in (host.dir / "volumes").iterdir() if len(e.name) == 1)
        ledger = host.registry.get(LEDGER_KEY, {}).get("values", {})
        doc = {"shadows": shadows, "volumes": volumes, "drives": drives, "owned": sorted(ledger)}
        return 0, json.dumps(doc, separators=(",", ":")).replace("/Date(", "\\/Date(").replace(")/", ")\\/") + "\r\n", ""
    for name, func in _FS_SCRIPTS.items():
        if "quiesce.domino:%s\n" % name in script:
            try:
                data = json.loads(stdin or "{}")
                return func(host, data)
            except (OSError, PathError, ValueError) as exc:
                return 1, "", crlf(["%s : %s" % (name, exc)])
    if script.startswith("# quiesce.domino:doctor-probe\n"):
        return _doctor_probe(host, json.loads(stdin or "{}"))
    if script.startswith("# quiesce.domino:doctor-share\n"):
        return _doctor_share(host, json.loads(stdin or "{}"))
    if script.startswith("# quiesce.domino:shadow-probe\n"):
        return _shadow_probe(host, stdin or "")
    if script.startswith("# quiesce.domino:own-shadows\n"):
        return _own_shadows(host, stdin or "")
    if script.startswith("# quiesce.domino:pending-shadows\n"):
        return _pending_shadows(host, json.loads(stdin or "{}"))
    if script.startswith("# quiesce.domino:exposure-owner\n"):
        want = str(json.loads(stdin or "{}").get("at") or "").rstrip("\\").upper()
        with host.io_lock:
            owned = {n.lower() for n in host.registry.get(LEDGER_KEY, {}).get("values", {})}
            foreign = sorted(s["id"].lower() for s in host.shadows.values()
                             if (s.get("exposed_as") or "").rstrip("\\").upper() == want and s["id"].lower() not in owned)
        return (1 if foreign else 0), json.dumps({"foreign": foreign}) + "\r\n", ""
    if script.startswith("# quiesce.domino:hold\n"):
        try:
            return _hold(host, json.loads(stdin or "{}"))
        except (OSError, PathError, ValueError, KeyError) as exc:
            return 1, "", crlf(["hold : %s" % exc])
    if script.startswith("# quiesce.domino:runas\n"):
        return _runas(host, json.loads(stdin or "{}"))
    if script.startswith("# quiesce.domino:kill-tree\n"):
        data = json.loads(stdin or "{}")
        killed = []
        with host.io_lock:
            for server in host.dominos:
                if server.service.lower() == data["service"].lower() and server.state != "STOPPED":
                    killed = [pid for _name, pid in server.processes()]
                    server.kill("its process tree ended (Stop-Process)")
        return 0, json.dumps({"killed": killed}) + "\r\n", ""
    if script.startswith("# quiesce.domino:domino-state\n"):
        with host.io_lock:
            return _domino_state(host, json.loads(stdin or "{}"))
    if "quiesce.domino:domino-inventory" in script or "quiesce.domino:host-inventory" in script:
        doc = _domino_inventory(host)
        part = ("services", "registry", "ini", "places") if "domino-inventory" in script else \
            ("processes", "os", "volumes", "watchdogs", "drives", "now_utc", "culture")
        return 0, json.dumps({k: doc[k] for k in part}, separators=(",", ":")) + "\r\n", ""
    return 1, "", "The term '%s' is not simulated.\r\n" % script[:60]


def _script_of(argv: list[str]) -> str:
    lowered = [a.lower() for a in argv]
    if "-encodedcommand" not in lowered or lowered.index("-encodedcommand") + 1 >= len(argv):
        return ""
    try:
        return base64.b64decode(argv[lowered.index("-encodedcommand") + 1]).decode("utf-16-le")
    except (ValueError, UnicodeDecodeError):
        return ""


def _is_unlocked_script(argv: list[str]) -> bool:
    """The hold and runas scripts wait a long time and must not hold the host's lock meanwhile."""
    return _script_of(argv).startswith(("# quiesce.domino:hold\n", "# quiesce.domino:runas\n"))


def _hold(host: Host, data: dict) -> Result:
    """dominobackup.HOLD_SCRIPT: reset, release, or wait for the hook's records (every 10 ms)."""
    action = data["action"]
    hold = host.path(data["hold"]) if data.get("hold") else Path("/nonexistent")
    if action == "reset":
        if hold.is_dir():
            for entry in hold.iterdir():
                entry.unlink()
        hold.mkdir(parents=True, exist_ok=True)
        (hold / "request").write_text("request")
        if host.fault("stray_release"):
            # a release this run did not make, right after its request (another run's watchdog, a stray file)
            time.sleep(0.02)
            (hold / "release").write_text("release")
        return 0, "", ""
    if action == "release":
        hold.mkdir(parents=True, exist_ok=True)
        (hold / "release").write_text("release")
        return 0, "", ""
    deadline = time.time() + float(data["seconds"])
    while True:
        out = None
        held = hold / "held.json"
        if action == "wait_held" and held.exists():
            # already let go before this run's release: diskshadow stops here (the product's HOLD_SCRIPT)
            for gone in ("release", "done.json"):
                if (hold / gone).exists():
                    return 2, "", "wait_held: the hook was released before the shadow copy was made (%s)\r\n" % gone
            out = {"held": json.loads(held.read_text())}
        elif action == "wait_done" and held.exists() and (hold / "done.json").exists():
            out = {"held": json.loads(held.read_text()), "done": json.loads((hold / "done.json").read_text())}
        elif action == "wait_deltas" and held.exists():
            h = json.loads(held.read_text())
            collected = host.path(data["deltas"]) / str(h["backup_start"]) / "collected.json"
            if collected.exists():
                out = {"held": h, "collected": json.loads(collected.read_text())}
        elif action == "wait_collected" and (host.path(data["folder"]) / "collected.json").exists():
            out = {"collected": json.loads((host.path(data["folder"]) / "collected.json").read_text())}
        if out is not None:
            time.sleep(0.015)  # PowerShell ending its process
            return 0, json.dumps(out, separators=(",", ":")) + "\r\n", ""
        if time.time() >= deadline:
            return 1, "", "%s: not within %s s\r\n" % (action, data["seconds"])
        time.sleep(0.01)


_TASK_NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
_PRINCIPALS = {"s-1-5-18": "LocalSystem", "s-1-5-19": "NT AUTHORITY\\LocalService", "s-1-5-20": "NT AUTHORITY\\NetworkService"}


def task_principal(root: t.Any) -> str:
    """The account a task runs as (the UserId of its principal)."""
    user = (root.findtext(".//t:Principals/t:Principal/t:UserId", default="", namespaces=_TASK_NS) or "").strip()
    return _PRINCIPALS.get(user.lower(), user or "LocalSystem")


def _runas(host: Host, data: dict) -> Result:
    """console.RUNAS_SCRIPT: register the task, run its action once as its principal in its working
    directory, wait, unregister, print the result (Task Scheduler runs it; nothing of its output is kept)."""
    import xml.etree.ElementTree as ET
    root = ET.fromstring(data["xml"])
    exe = root.find(".//t:Actions/t:Exec", _TASK_NS)
    command = (exe.findtext("t:Command", default="", namespaces=_TASK_NS) or "").strip()
    arguments = (exe.findtext("t:Arguments", default="", namespaces=_TASK_NS) or "").strip()
    workdir = (exe.findtext("t:WorkingDirectory", default="", namespaces=_TASK_NS) or "").strip() or None
    user = task_principal(root)
    started = int(time.time() * 1000)
    tool = Path(command.replace("\\", "/")).name.lower().removesuffix(".exe")
    program_dir = command.rsplit("\\", 1)[0] if "\\" in command else None
    rc, out, err = run_tool(host, tool, split_windows_args(arguments), None, program_dir, user, workdir)
    host.log("runas task %s: %s as %s in %s -> rc %d %s" % (
        data.get("name"), command, user, workdir, rc, (out + err).strip()[:160]))
    doc = {"state": "Ready", "last_result": rc, "started_ms": started, "ended_ms": int(time.time() * 1000)}
    return (0 if rc == 0 else 1), json.dumps(doc) + "\r\n", ""


def _domino_state(host: Host, data: dict) -> Result:
    """console.STATE_SCRIPT: the service, its server process and tasks, the NRPC port, the console log."""
    server = next((d for d in host.dominos if d.service.lower() == data["service"].lower()), None)
    log = host.path(data["data_dir"].rstrip("\\") + "\\" + data["console_log"])
    size = log.stat().st_size if log.exists() else -1
    tail = ""
    if size > int(data["offset"]):
        with open(log, "rb") as handle:
            handle.seek(int(data["offset"]))
            tail = handle.read().decode("utf-8", "replace")[-4000:]
    alive = server is not None and server.state in ("RUNNING", "STOP_PENDING")
    doc = {"service_state": _WIN32_STATES[server.state] if server else None, "server_process": alive,
           "tasks": [name for name, _pid in server.processes()[1:]] if alive else [],
           "port_open": bool(server and server.answers()), "console_log_size": size, "console_tail": tail}
    doc["answers"] = doc["service_state"] == "Running" and alive and doc["port_open"]
    return 0, json.dumps(doc) + "\r\n", ""


def tool_fsutil(host: Host, argv: list[str], stdin: str | None) -> Result:
    """``fsutil file createnew <file> <length>`` (the only form the collection uses)."""
    if len(argv) != 4 or [a.lower() for a in argv[:2]] != ["file", "createnew"] or not argv[3].isdigit():
        return 1, crlf(["Usage : fsutil file createNew <filename> <length>"]), ""
    target = host.path(argv[2])
    if target.exists():
        return 1, crlf(["Error:  The file exists."]), ""  # [I]
    if not target.parent.is_dir():
        return 1, crlf(["Error:  The system cannot find the path specified."]), ""
    target.write_bytes(b"\0" * int(argv[3]))
    return 0, crlf(["File %s is created" % argv[2]]), ""  # [I]


def _free_bytes(host: Host, win_path: str) -> int:
    left = _capacity_left(host, win_path, host.path(win_path))
    return left if left is not None else 1 << 40


def _fs_fit(host: Host, data: dict) -> Result:
    files: list[Path] = []
    for source in data["sources"]:
        src = host.path(source["path"])
        if source.get("files") is None:
            for root, dirs, names in os.walk(src):
                dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))
                           and d not in ("System Volume Information", "$RECYCLE.BIN")]
                files += [Path(root) / n for n in names if not os.path.islink(os.path.join(root, n))]
        else:
            for name in source["files"]:
                if not (src / name).is_file():
                    return 1, "", crlf(["Get-Item : Cannot find path '%s\\%s' because it does not exist." % (source["path"], name)])
                files.append(src / name)
    need = sum(p.stat().st_size for p in files)
    host.path(data["base"]).mkdir(parents=True, exist_ok=True)
    free = _free_bytes(host, data["base"])
    doc = {"source_bytes": need, "source_files": len(files), "free_bytes": free}
    return (112 if free < need * float(data["margin"]) else 0), json.dumps(doc) + "\r\n", ""


def _listing_key(rel: str) -> str:
    """The manifest script's listing order: upper case, '\\' below every other character (U+0001)."""
    # one character for one, as .NET maps case (Python would turn "ß" into "SS")
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in rel).replace("\\", "\x01")


def _fs_manifest(host: Host, data: dict) -> Result:
    """The manifest script: rows in listing order (siblings by upper-case name, a folder's contents right after
    it), junctions/symbolic links skipped and reported, TSV/JSON outputs."""
    import hashlib
    rows: list[dict] = []
    links: list[str] = []
    for unit in data["units"]:
        root = host.path(unit["root"])
        if not root.is_dir():
            return 1, "", crlf(["Resolve-Path : Cannot find path '%s' because it does not exist." % unit["root"]])
        prefix = unit.get("prefix") or ""
        skip_dirs = [x.lower() for x in unit.get("exclude_dirs") or []]
        skip_files = [x.lower() for x in unit.get("exclude_files") or []]

        def rel(child: Path) -> str:
            return str(child.relative_to(root)).replace("/", "\\")

        def pushed(todo: list[Path], items: list[Path]) -> None:
            todo.extend(sorted(items, key=lambda c: _listing_key(rel(c)), reverse=True))
        todo: list[Path] = []
        if unit.get("files") is None:
            pushed(todo, list(root.iterdir()))
        else:
            named = [root / name for name in unit["files"]]
            missing = [str(p) for p in named if not p.is_file()]
            if missing:
                return 1, "", crlf(["Get-Item : Cannot find path '%s' because it does not exist." % missing[0]])
            pushed(todo, named)
        while todo:
            child = todo.pop()
            if child.is_symlink():
                links.append(prefix + rel(child))
                continue
            if child.is_dir():
                # the volume folders at any depth (robocopy /XD by name), a unit's exclude_dirs at its top
                if rel(child).split("\\", maxsplit=1)[0].lower() not in skip_dirs \
                        and child.name.lower() not in ("system volume information", "$recycle.bin"):
                    pushed(todo, list(child.iterdir()))
                continue
            if any(fnmatch.fnmatch(child.name.lower(), x) for x in skip_files):
                continue
            stat = child.stat()
            row = {"path": prefix + rel(child), "size": stat.st_size,
                   "mtime": datetime.datetime.fromtimestamp(int(stat.st_mtime), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
            if data.get("sha256"):
                row["sha256"] = hashlib.sha256(child.read_bytes()).hexdigest()
            rows.append(row)
    if data.get("out_tsv"):
        host.path(data["out_tsv"]).write_text("".join("%s\t%s\t%s\t%s\n" % (r["path"], r["size"], r["mtime"], r.get("sha256", ""))
                                                      for r in rows))
    if data.get("out_json"):
        host.path(data["out_json"]).write_text(json.dumps(rows))
    out: dict = {"files": len(rows), "bytes": sum(r["size"] for r in rows), "links_skipped": links[:20],
                 "links_count": len(links)}
    text = json.dumps(rows) if data.get("print_rows") else json.dumps(out)
    if data.get("fail_on_links") and links:
        return 3, text + "\r\n", crlf(["%d junctions, volume mount points or symbolic links in the sources are not copied "
                                       "(robocopy /XJ), so what they lead to would be missing from the copy: %s"
                                       % (len(links), ", ".join(links[:20]))])
    return 0, text + "\r\n", ""


class _ListingOrderError(Exception):
    pass


def _listing_rows(host: Host, name: str):
    """One listing's rows, checked to be in listing order as the compare script reads them."""
    last = None
    for line in host.path(name).read_text().splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        key = _listing_key(parts[0])
        if last is not None and key <= last:
            raise _ListingOrderError("%s is not in listing order at %s" % (name, parts[0]))
        last = key
        yield key, parts


def _fs_compare(host: Host, data: dict) -> Result:
    """The compare script: a merge of the copy's listing with its sources' listings (each in listing order), on
    the host; the first 20 differences in listing order come back; a later source's row wins a shared path."""
    under = [_listing_key(u) for u in data.get("under") or [] if u]
    extra_ok = [_listing_key(u) for u in data.get("extras_allowed_under") or [] if u]
    required: dict[str, str] = {}
    if data.get("required"):
        kept = json.loads(host.path(data["required"]["file"]).read_text())
        deltas = kept.get("deltas") or []
        for delta in deltas if isinstance(deltas, list) else [deltas]:
            required[_listing_key(data["required"]["prefix"] + str(delta["path"]))] = str(delta["path"])
    problems: list[str] = []
    files = 0
    try:
        want: dict[str, list[str]] = {}
        for name in data["sources"]:
            for key, row in _listing_rows(host, name):
                want[key] = row
        have = dict(_listing_rows(host, data["copy"]))
    except _ListingOrderError as error:
        return 1, "", crlf(["Exception calling \"ReadLine\": %s" % error])
    for key in sorted(set(want) | set(have)):
        row, wanted = have.get(key), want.get(key)
        if row is None or not any(key.startswith(u) for u in under):
            if wanted is not None:
                problems.append("missing in the copy: " + wanted[0])
            continue
        files += 1
        required.pop(key, None)
        if wanted is None:
            if not any(key.startswith(u) for u in extra_ok):
                problems.append("extra in the copy: " + row[0])
        elif row[1] != wanted[1]:
            problems.append("size differs: %s (%s != %s)" % (row[0], wanted[1], row[1]))
        elif row[2] != wanted[2]:
            problems.append("modification time differs: " + row[0])
        elif len(wanted) >= 4 and len(row) >= 4 and wanted[3] and row[3] and row[3] != wanted[3]:
            problems.append("SHA-256 differs: " + row[0])
    problems += ["a delta file the hook kept is not in the copy: " + rel for rel in required.values()]
    doc = {"files": files, "difference_count": len(problems), "differences": problems[:20]}
    return (1 if problems else 0), json.dumps(doc) + "\r\n", ""


def _fs_top_up(host: Host, data: dict) -> Result:
    root = host.path(data["source"])
    target = host.path(data["target"])
    copied = 0
    for path in sorted(root.rglob("*")):
        if not path.is_file() or not path.name.lower().endswith(data["extension"].lower()):
            continue
        dest = target / path.relative_to(root)
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
        copied += 1
    return 0, json.dumps({"copied": copied, "in_use": [], "in_use_count": 0}) + "\r\n", ""


def _fs_read_layout(host: Host, data: dict) -> Result:
    copy = host.path(data["copy"])
    if not copy.is_dir():
        return 2, "", ""
    file = copy / "quiesce_domino.json"
    doc = {"layout": file.read_text() if file.is_file() else None, "data_folder": (copy / "data").is_dir()}
    return 0, json.dumps(doc) + "\r\n", ""


def _fs_undo_aside(host: Host, data: dict) -> Result:
    path, aside, failed = host.path(data["path"]), host.path(data["aside"]), host.path(data["failed"])
    if not aside.exists():
        return 0, json.dumps({"undone": False}) + "\r\n", ""
    if path.exists():
        path.rename(failed)
    aside.rename(path)
    return 0, json.dumps({"undone": True, "half_restored": data["failed"]}) + "\r\n", ""


def _fs_letters_free(host: Host, data: dict) -> Result:
    taken = [letter for letter in data["letters"] if (host.dir / "volumes" / letter[0].upper()).exists()]
    return (1 if taken else 0), json.dumps({"taken": taken}) + "\r\n", ""


def _fs_plain_folder(host: Host, data: dict) -> Result:
    return (0 if host.path(data["path"]).is_dir() else 1), "", ""


def _fs_set_aside(host: Host, data: dict) -> Result:
    path, to = host.path(data["path"]), host.path(data["to"])
    moved = path.exists()
    if moved:
        if to.exists():
            return 1, "", crlf(["Move-Item : Cannot create a file when that file already exists."])
        path.rename(to)
    return 0, json.dumps({"moved": moved, "to": data["to"]}) + "\r\n", ""


def _fs_write_text(host: Host, data: dict) -> Result:
    path = host.path(data["path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(data["text"]))
    return 0, "", ""


def _fs_finalize(host: Host, data: dict) -> Result:
    if data["from"] != data["to"]:
        target = host.path(data["to"])
        if target.exists():
            return 1, "", crlf(["Rename-Item : Cannot create a file when that file already exists."])
        host.path(data["from"]).rename(target)
    if data.get("marker"):
        host.path(data["marker"]).unlink(missing_ok=True)
    for win in data.get("remove") or []:
        host.path(win).unlink(missing_ok=True)
    return 0, "", ""


def _fs_mark(host: Host, data: dict) -> Result:
    path = host.path(data["path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("copy in progress or failed; not a complete backup")
    return 0, "", ""


def _fs_remove(host: Host, data: dict) -> Result:
    for win in data["paths"]:
        path = host.path(win)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    return 0, "", ""


def _fs_taken_in_backup_mode(host: Host, data: dict) -> Result:
    hold = host.path(data["root"]) / "quiesce_domino" / "hold"
    held = (hold / "held.json").exists() and not (hold / "done.json").exists()
    return (1 if held else 0), json.dumps({"held": held}) + "\r\n", ""


def _fs_no_deltas(host: Host, data: dict) -> Result:
    found = []
    for place in data["places"]:
        path = host.path(place["path"])
        if place["recurse"] and path.is_dir():
            found += [str(p) for p in sorted(path.rglob("*")) if p.is_file() and p.name.upper().endswith(".DELTA")][:20]
        elif not place["recurse"] and path.is_file():
            found.append(place["path"])
    return (1 if found else 0), json.dumps({"deltas": found}) + "\r\n", ""


def _fs_in_copy(host: Host, data: dict) -> Result:
    """The in_copy script: the named databases and folders are in the copy (Windows paths: without case)."""
    missing = [p["path"] for p in data["places"] if not _exists_nocase(host, p["path"])]
    return (1 if missing else 0), json.dumps({"missing": missing}) + "\r\n", ""


def _exists_nocase(host: Host, win: str) -> bool:
    """Whether a Windows path exists, its names compared without case as Windows compares them."""
    path = host.path(win)
    if path.exists():
        return True
    rest: list[str] = []
    while not path.exists():
        if path.parent == path:
            return False
        rest.insert(0, path.name)
        path = path.parent
    for name in rest:
        if not path.is_dir():
            return False
        found = next((c for c in path.iterdir() if c.name.lower() == name.lower()), None)
        if found is None:
            return False
        path = found
    return True


def _fs_remove_stale_deltas(host: Host, data: dict) -> Result:
    root = host.path(data["copy"])
    gone = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix.lower() in (".nsf", ".ntf", ".box") \
                and not path.with_name(path.name + ".DELTA").exists():
            rel = str(path.relative_to(root)).replace("/", "\\")
            stale = host.path(data["target"].rstrip("\\") + "\\" + rel + ".DELTA")
            if stale.exists():
                stale.unlink()
                gone.append(rel + ".DELTA")
    return 0, json.dumps({"removed": gone}) + "\r\n", ""


def _fs_prune_siblings(host: Host, data: dict) -> Result:
    parent = host.path(data["parent"])
    gone = []
    if parent.is_dir():
        for entry in sorted(parent.iterdir()):
            if entry.is_dir() and entry.name != data["keep"]:
                shutil.rmtree(entry)
                gone.append(entry.name)
    return 0, json.dumps({"removed": gone}) + "\r\n", ""


def _fs_retention(host: Host, data: dict) -> Result:
    base = host.path(data["base"])
    done = sorted((p for p in base.iterdir() if p.is_dir() and re.fullmatch(r"\d{8}T\d{6}Z", p.name)),
                  key=lambda p: p.name, reverse=True)
    max_age = int(data.get("max_age_seconds") or 0)
    limit = time.time() - max_age

    def stamp_time(p):
        return datetime.datetime.strptime(p.name, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    victims = set(done[int(data["keep"]):]) if int(data["keep"]) > 0 else set()
    dry = bool(data.get("dry_run"))
    partials = []
    if max_age > 0:
        victims |= {p for p in done[1:] if stamp_time(p) < limit}
        for partial in sorted(base.glob("*.partial")):
            if partial.stat().st_mtime < limit:
                partials.append(partial.name)
                if not dry:
                    shutil.rmtree(partial)
    victims = {p for p in victims if p.name != data.get("protect")}
    removed = []
    for old in sorted(victims, key=lambda p: p.name):
        if not dry:
            shutil.rmtree(old)
            for suffix in (".manifest.json", ".robocopy.log"):
                (base / (old.name + suffix)).unlink(missing_ok=True)
        removed.append(old.name)
    return 0, json.dumps({"removed": removed, "partials_removed": partials, "dry_run": dry}) + "\r\n", ""


def _fs_progress(host: Host, data: dict) -> Result:
    base = host.path(data["base"])
    copies = []
    if base.is_dir():
        for entry in sorted(base.iterdir()):
            if entry.is_dir() and (entry.name.endswith(".partial") or entry.name == "current"):
                files = [p for p in entry.rglob("*") if p.is_file()]
                copies.append({"name": entry.name, "bytes": sum(p.stat().st_size for p in files), "files": len(files)})
    return 0, json.dumps({"copies": copies}) + "\r\n", ""


def _process_start(pid: int) -> t.Optional[int]:
    """A process's start time (clock ticks since boot, /proc/<pid>/stat field 22): the twin's stand-in for
    Windows' process StartTime, so a reused PID is not taken for the holder."""
    try:
        fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
        # a zombie (ended, not yet reaped: a killed executor whose parent died too) has ended
        return None if fields[0] in ("Z", "X") else int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def _holder_alive(held: dict) -> bool:
    """Whether the process that took the lock with a hold (the executor running its plan) still runs."""
    pid, started = held.get("holder_pid"), held.get("holder_started")
    return isinstance(pid, int) and started is not None and _process_start(pid) == started


def _fs_lock(host: Host, data: dict) -> Result:
    """The lock script: atomic directory creation, owner.json written by rename, a lock without a readable
    owner.json judged by the directory's time (the twin's stand-in for its creation time: its mtime), a lock
    whose time is stale_seconds away from the clock (either way) taken over by renaming it away first, and put
    back when the renamed folder turns out to be another run's fresh lock.  The lock folder's permissions: the
    twin keeps them as a word in the host directory's ``lock_root_acl`` file, first taken from sim.json's
    ``windows.lock_root_acl`` (``protected``, the default, or ``inherited``: a folder an older version made with
    the permissions it inherits from ProgramData, where local users may write), and resets them as the script
    does."""
    root = host.path(data["root"])
    acl_file = host.dir / "lock_root_acl"
    with host.io_lock:
        acl = acl_file.read_text().strip() if acl_file.exists() else host.config().get("windows", {}).get("lock_root_acl", "protected")
        acl_fixed = acl != "protected" and root.is_dir()
        acl_file.write_text("protected")
    root.mkdir(parents=True, exist_ok=True)
    lock_dir = root / data["name"]

    def read_owner(path: Path) -> t.Optional[dict]:
        for _attempt in range(20):
            try:
                held = json.loads((path / "owner.json").read_text())
                if held.get("owner"):
                    return held
            except (OSError, ValueError):
                pass
            if not path.is_dir():
                return None
            time.sleep(0.05)
        return {"owner": "unknown (no readable owner.json)", "since_ms": int(path.stat().st_mtime * 1000)}

    def busy(held: dict) -> bool:
        if held.get("temporary") and not _holder_alive(held):
            return False  # a lock taken for one plan protects nothing once its executor has ended
        limit = int(data["stale_seconds"])
        if int(held.get("hold_seconds") or 0) > limit and _holder_alive(held):
            limit = int(held["hold_seconds"])  # the holder's declared need, while the process that took it runs
        return abs(int(time.time() * 1000) - int(held["since_ms"])) < limit * 1000

    holder = getattr(threading.current_thread(), "caller_ppid", None)
    if data["action"] == "release":
        held = read_owner(lock_dir) if lock_dir.is_dir() else None
        mine = held is not None and held["owner"] == data["owner"]
        if mine and data.get("temporary"):
            # a lock taken for one plan: given back only by the executor that took it, never one it renewed
            mine = bool(held.get("temporary")) and holder is not None and held.get("holder_pid") == int(holder) \
                and _holder_alive(held)
        if mine:
            shutil.rmtree(lock_dir)
        return 0, json.dumps({"released": mine, "acl_fixed": acl_fixed}) + "\r\n", ""
    took = None
    renewed = False
    for _try in range(3):
        try:
            os.mkdir(lock_dir)
            break
        except FileExistsError:
            pass
        held = read_owner(lock_dir)
        if held is None:
            continue
        if held["owner"] == data["owner"]:
            renewed = True
            break
        if busy(held):
            return 75, json.dumps({"acquired": False, "owner": held["owner"], "since_ms": held["since_ms"],
                                   "acl_fixed": acl_fixed}) + "\r\n", ""
        away = root / ("%s.stale-%s" % (data["name"], uuid.uuid4().hex))
        try:
            lock_dir.rename(away)
        except OSError:
            continue
        moved = read_owner(away)
        if moved is not None and moved["owner"] == held["owner"] and int(moved["since_ms"]) == int(held["since_ms"]):
            took = held["owner"]
            continue
        try:
            os.rename(away, lock_dir)  # another run's fresh lock: put it back
        except OSError as exc:
            return 1, "", crlf(["the host lock taken over by another run at the same moment could not be put back: %s" % exc])
    if not lock_dir.is_dir():
        return 1, "", crlf(["the host lock could not be taken"])
    if renewed and data.get("temporary"):
        # this owner holds it already: taken for one plan, it is left as it is
        return 0, json.dumps({"acquired": True, "owner": data["owner"], "taken_over": False, "previous_owner": None,
                              "renewed": True, "acl_fixed": acl_fixed}) + "\r\n", ""
    tmp = lock_dir / ("owner.%s.tmp" % uuid.uuid4().hex)
    record = {"owner": data["owner"], "since_ms": int(time.time() * 1000), "hold_seconds": int(data["hold_seconds"]),
              "temporary": bool(data.get("temporary"))}
    if record["hold_seconds"] and holder and _process_start(int(holder)) is not None:
        record.update(holder_pid=int(holder), holder_started=_process_start(int(holder)))
    tmp.write_text(json.dumps(record))
    os.replace(tmp, lock_dir / "owner.json")
    for stale in root.glob(data["name"] + ".stale-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return 0, json.dumps({"acquired": True, "owner": data["owner"], "taken_over": took is not None,
                          "previous_owner": took, "renewed": renewed, "acl_fixed": acl_fixed}) + "\r\n", ""


def _fs_restic_arrange(host: Host, data: dict) -> Result:
    """The restic_arrange script (module_utils/restic.py): a snapshot restored under <copy>\\.restic put into the
    copy layout."""
    copy = host.path(data["copy"])
    stage = copy / ".restic"
    layout_file = stage / data["layout_rel"].replace("\\", "/")
    if not layout_file.is_file():
        return 3, "", "the snapshot holds no layout file\r\n"
    layout = json.loads(layout_file.read_text())
    moved = []
    for entry in layout.get("restic_sources") or []:
        src = stage / str(entry["from"]).replace(":", "").replace("\\", "/")
        if not src.exists():
            continue
        dst = copy / str(entry["to"]).replace("\\", "/")
        for name in entry.get("drop_dirs") or []:
            shutil.rmtree(src / name, ignore_errors=True)
        for path in [p for p in src.rglob("*") if p.is_file()] if src.is_dir() else []:
            if any(fnmatch.fnmatch(path.name.lower(), x.lower()) for x in entry.get("drop_files") or []):
                path.unlink()
        dst.parent.mkdir(parents=True, exist_ok=True)
        if entry.get("merge"):
            for path in sorted(p for p in src.rglob("*") if p.is_file()):
                to = dst / path.relative_to(src)
                if not fnmatch.fnmatch(path.name.lower(), str(entry.get("only") or "*").lower()) or \
                        (entry.get("keep_existing") and to.exists()):
                    continue
                to.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, to)
        else:
            os.rename(src, dst)
        moved.append(entry["to"])
    (copy / "quiesce_domino.json").write_text(layout_file.read_text())
    shutil.rmtree(stage)
    return 0, json.dumps({"moved": moved}) + "\r\n", ""


def _fs_restic_compare(host: Host, data: dict) -> Result:
    """The restic_compare script (module_utils/restic.py): the host's tab-separated source listing against the
    real restic's ``ls --json`` of the new snapshot, compared on the host; differences in the order found (the
    snapshot's mismatches as listed, then what it lacks), the first ``limit`` of them printed; exit 1 on any, 3
    when restic failed (its error on standard error)."""
    want: dict[str, list[str]] = {}
    roots = [(str(u["prefix"]).lower(), str(u["root"]).lower().rstrip("/")) for u in data["units"]]
    for line in host.path(data["manifest"]).read_text().splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        lower = parts[0].lower()
        for prefix, root in roots:
            if lower.startswith(prefix):
                want[root + "/" + lower[len(prefix):].replace("\\", "/")] = parts
                break
    files = len(want)
    secret = data.get("password")
    rc, out, err = tool_restic(host, [str(a) for a in data["argv"][1:]], None if secret is None else secret + "\n")
    if rc != 0:
        return 3, "", err
    problems: list[str] = []
    snapshot: dict = {}

    def ticks(stamp: object) -> int | None:
        match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)$", str(stamp or ""))
        if not match:
            return None
        zone = "+00:00" if match.group(2) == "Z" else match.group(2)
        return int(datetime.datetime.fromisoformat(match.group(1) + zone).timestamp())
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if not isinstance(doc, dict):
            continue
        kind = doc.get("struct_type") or doc.get("message_type")
        if kind == "snapshot":
            snapshot = snapshot or doc
            continue
        if doc.get("type") != "file":
            continue
        path = str(doc.get("path") or "")
        key = path.lower()
        row = want.pop(key, None)
        if row is not None:
            if int(doc.get("size") or 0) != int(row[1]):
                problems.append("size differs: %s (%s != %s)" % (row[0], row[1], int(doc.get("size") or 0)))
                continue
            left, right = ticks(row[2]), ticks(doc.get("mtime"))
            if left is not None and right is not None and abs(left - right) > 1:
                problems.append("modification time differs: " + row[0])
            continue
        if any(key.startswith(root + "/") for _prefix, root in roots):
            problems.append("extra in the snapshot: " + path)
    if not snapshot:
        return 3, "", "restic ls printed no snapshot. " + err
    problems += ["missing in the snapshot: " + row[0] for row in want.values()]
    doc = {"snapshot_id": snapshot.get("id"), "snapshot_time": snapshot.get("time"), "files": files,
           "difference_count": len(problems), "differences": problems[:int(data["limit"])]}
    return (1 if problems else 0), json.dumps(doc) + "\r\n", ""


_FS_SCRIPTS = {"restic_arrange": _fs_restic_arrange, "restic_compare": _fs_restic_compare,
               "lock": _fs_lock, "fit": _fs_fit, "manifest": _fs_manifest, "finalize": _fs_finalize, "mark": _fs_mark,
               "remove": _fs_remove, "retention": _fs_retention, "progress": _fs_progress,
               "remove_stale_deltas": _fs_remove_stale_deltas, "no_deltas": _fs_no_deltas, "in_copy": _fs_in_copy,
               "taken_in_backup_mode": _fs_taken_in_backup_mode, "prune_siblings": _fs_prune_siblings,
               "write_text": _fs_write_text, "top_up": _fs_top_up,
               "compare": _fs_compare, "set_aside": _fs_set_aside,
               "read_layout": _fs_read_layout, "plain_folder": _fs_plain_folder,
               "undo_aside": _fs_undo_aside, "letters_free": _fs_letters_free}

_BUILTIN_SIDS = {"system": "S-1-5-18", "localservice": "S-1-5-19", "networkservice": "S-1-5-20"}
_WIN32_STATES = {"RUNNING": "Running", "STOPPED": "Stopped", "START_PENDING": "Start Pending",
                 "STOP_PENDING": "Stop Pending"}


def _domino_inventory(host: Host) -> dict[str, t.Any]:
    """What DOMINO_INVENTORY_SCRIPT prints on a real host, from this host's state."""
    services, registry, ini, places, processes = [], [], {}, {}, []
    for server in host.dominos:
        cfg = server.cfg
        # nservice.exe is the service's process; nserver.exe runs under it, the server tasks under nserver.exe
        service_pid = server.pid - 2 if server.pid else 0
        services.append({"Name": server.service, "DisplayName": server.service, "State": _WIN32_STATES[server.state],
                         "PathName": cfg["image_path"], "ProcessId": service_pid, "StartName": server.service_account,
                         # NTAccount.Translate: the built-in accounts' SIDs, a user's from sim.json (else null)
                         "StartSid": cfg.get("service_sid") or _BUILTIN_SIDS.get(account(server.service_account))})
        if server.pid:
            processes.append({"Name": "nservice.exe", "ProcessId": service_pid, "ParentProcessId": 600})
            for index, (name, pid) in enumerate(server.processes()):
                processes.append({"Name": name, "ProcessId": pid, "ParentProcessId": service_pid if index == 0 else server.pid})
        key = "HKEY_LOCAL_MACHINE\\SOFTWARE\\Lotus\\Domino" + ("\\" + cfg["partition"] if cfg.get("partition") else "")
        registry.append({"key": key, "path": cfg["program_dir"], "data_path": cfg["data_dir"], "version": cfg["version"]})
        ini_file = host.path(cfg["notes_ini"])
        if ini_file.exists():
            ini[cfg["notes_ini"]] = ini_file.read_bytes().decode("latin-1")
            links = []
            for link in sorted(server.data_path.rglob("*.dir")):
                if link.is_file() and len(link.relative_to(server.data_path).parts) <= 3:
                    first = (link.read_text(encoding="latin-1").splitlines() or [""])[0]
                    win = cfg["data_dir"].rstrip("\\") + "\\" + str(link.relative_to(server.data_path)).replace("/", "\\")
                    links.append({"path": win, "target": first})
            hold = server.data_path / "quiesce_domino" / "hold"
            places[cfg["notes_ini"]] = {
                "data_dir": cfg["data_dir"], "links": links, "port_open": server.answers(),
                "held": (hold / "held.json").exists() and not (hold / "done.json").exists(),
                "console_log": (server.data_path / "IBM_TECHNICAL_SUPPORT" / "console.log").exists()}
    win = host.cfg.get("windows", {})
    watchdogs = []
    for task in host.tasks.values():
        if task["name"].lower().startswith("quiesce.domino\\watchdog"):
            watchdogs.append({"name": task["name"].split("\\", 1)[1], "description": task.get("description", ""),
                              "state": task["status"], "start": task["start_boundary"]})
    volumes = [{"DriveLetter": letter + ":", "DeviceID": cfg["guid"], "FileSystem": cfg.get("fs", "NTFS")}
               for letter, cfg in sorted(host.cfg["volumes"].items())]
    return {"services": services, "registry": registry, "ini": ini, "places": places, "processes": processes,
            "os": {"Caption": "Microsoft " + win.get("product", "Windows Server 2022 Standard"),
                   "Version": "10.0.%d" % win.get("build", 20348), "BuildNumber": str(win.get("build", 20348)),
                   "ProductType": 3},
            "volumes": volumes, "watchdogs": watchdogs,
            # what an English Windows Server in the United States reports (HOST_INVENTORY_SCRIPT's culture)
            "culture": {"installed_ui": "en-US", "ui": "en-US", "format": "en-US", "oem_code_page": "437",
                        **(host.cfg.get("windows", {}).get("culture") or {})},
            "drives": sorted(e.name + ":\\" for e in (host.dir / "volumes").iterdir() if len(e.name) == 1),
            "now_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


# =================================================================== robocopy

def _fmt_bytes(n: int, raw: bool) -> str:
    if raw:
        return str(n)
    for unit, size in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if n >= size:
            return "%.2f %s" % (n / size, unit)
    return str(n)


def _capacity_left(host: Host, dest_win: str, dest: Path) -> int | None:
    letter = volume_of(dest_win)
    if letter and letter in host.cfg["volumes"]:
        return int(host.cfg["volumes"][letter]["size_mb"] * 1024 * 1024) - _dir_size(host.volume_dir(letter))
    match = re.match(r"^\\\\([^\\]+)\\([^\\]+)", dest_win)
    if match:
        share = host.fleet_dir / "shares" / match.group(1).lower() / match.group(2).lower()
        cfg_file = share / ".share.json"
        if cfg_file.exists():
            size = json.loads(cfg_file.read_text()).get("size_mb")
            if size:
                return size * 1024 * 1024 - _dir_size(share)
    return None


def tool_robocopy(host: Host, argv: list[str], stdin: str | None) -> Result:
    started = time.time()
    # /XF and /XD take every following argument up to the next option as their values
    valued: dict[str, list[str]] = {"/XF": [], "/XD": []}
    plain: list[str] = []
    current = None
    for arg in argv:
        if arg.startswith("/"):
            current = arg.upper() if arg.upper() in valued else None
            plain.append(arg)
        elif current is not None:
            valued[current].append(arg)
        else:
            plain.append(arg)
    positional = [a for a in plain if not a.startswith("/")]
    opts = [a for a in plain if a.startswith("/")]
    upper = [o.upper() for o in opts]
    if len(positional) < 2:
        return 16, crlf(["ERROR : Invalid Parameter #1 : \"%s\"" % (argv[0] if argv else "")]), ""
    src_win, dst_win = positional[0], positional[1]
    patterns = positional[2:] or ["*.*"]
    raw_bytes = "/BYTES" in upper
    recurse = any(o in upper for o in ("/E", "/S", "/MIR"))
    purge = any(o in upper for o in ("/MIR", "/PURGE"))
    listing = "/L" in upper
    no_file_list = "/NFL" in upper
    log_path = None
    log_unicode = False
    tee = "/TEE" in upper
    excluded_files: list[str] = []
    for i, opt in enumerate(opts):
        up = opt.upper()
        if up.startswith(("/UNILOG:", "/UNILOG+:", "/LOG:", "/LOG+:")):
            log_unicode = up.startswith("/UNILOG")
            log_path = host.path(opt.split(":", 1)[1])
    excluded_files = valued["/XF"]
    no_extras = "/XX" in upper
    fault = _tool_fault(host, "robocopy")
    out: list[str] = [
        "", "-------------------------------------------------------------------------------",
        "   ROBOCOPY     ::     Robust File Copy for Windows                              ",
        "-------------------------------------------------------------------------------", "",
        "  Started : %s" % long_time(started),
        "   Source : %s\\" % src_win.rstrip("\\"),
        "     Dest : %s\\" % dst_win.rstrip("\\"), "",
        "    Files : %s" % " ".join(patterns), "",
        "  Options : %s %s" % (" ".join(patterns), " ".join(opts)), "",
        "------------------------------------------------------------------------------", "",
    ]

    def finish(rc: int, counts: dict[str, list[int]]) -> Result:
        ended = time.time()
        secs = max(ended - started, 0.001)
        speed = int(counts["bytes"][1] / secs)
        dur = "%d:%02d:%02d" % (int(secs) // 3600, int(secs) // 60 % 60, int(secs) % 60)
        out.extend([
            "", "------------------------------------------------------------------------------", "",
            "               Total    Copied   Skipped  Mismatch    FAILED    Extras",
            "    Dirs : %9d %9d %9d %9d %9d %9d" % tuple(counts["dirs"]),
            "   Files : %9d %9d %9d %9d %9d %9d" % tuple(counts["files"]),
            "   Bytes : %s" % " ".join("%9s" % _fmt_bytes(n, raw_bytes) for n in counts["bytes"]),
            "   Times : %9s %9s                     %9s %9s" % (dur, dur, "0:00:00", "0:00:00"),
            "   Speed :%21s Bytes/sec." % "{:,}".format(speed),
            "   Speed :%21s MegaBytes/min." % "{:,.3f}".format(speed * 60 / 1048576),
            "   Ended : %s" % long_time(ended), "",
        ])
        text = crlf(out)
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            mode = "ab" if "+:" in " ".join(upper) else "wb"
            with open(log_path, mode) as handle:
                handle.write((b"\xff\xfe" + text.encode("utf-16-le")) if log_unicode else text.encode("utf-8"))
            if not tee:
                text = crlf(["", "  Log File : %s" % log_path])
        return rc, text, ""

    zero = {"dirs": [0] * 6, "files": [0] * 6, "bytes": [0] * 6}
    try:
        src = host.path(src_win)
        dst = host.path(dst_win)
    except PathError as exc:
        out.append("%s ERROR 123 (0x0000007B) %s" % (time.strftime("%Y/%m/%d %H:%M:%S"), exc))
        return finish(16, zero)
    stamp = time.strftime("%Y/%m/%d %H:%M:%S")
    if fault == "share_unreachable" and dst_win.startswith("\\\\"):
        out += ["%s ERROR 53 (0x00000035) Accessing Destination Directory %s\\" % (stamp, dst_win.rstrip("\\")),
                "The network path was not found.", ""]
        return finish(16, zero)
    if not src.is_dir():
        out += ["%s ERROR 2 (0x00000002) Accessing Source Directory %s\\" % (stamp, src_win.rstrip("\\")),
                "The system cannot find the file specified.", ""]
        return finish(16, zero)
    counts = {"dirs": [0] * 6, "files": [0] * 6, "bytes": [0] * 6}
    src_files: dict[str, Path] = {}

    def excluded_dir(base: Path, root: str, name: str) -> bool:
        full = os.path.normpath(os.path.join(root, name))
        for x in valued["/XD"]:
            if "\\" in x or ":" in x:  # a full path: on the source or the destination side
                try:
                    if full == os.path.normpath(str(host.path(x))):
                        return True
                except PathError:
                    continue
                rel_x = None
                for side_win, side in ((src_win, src), (dst_win, dst)):
                    if x.lower().startswith(side_win.rstrip("\\").lower() + "\\"):
                        rel_x = x[len(side_win.rstrip("\\")) + 1:]
                if rel_x is not None and os.path.normpath(os.path.relpath(full, base)) == os.path.normpath(rel_x.replace("\\", "/")):
                    return True
            elif fnmatch.fnmatch(name.lower(), x.lower()):
                return True
        return False
    no_junctions = "/XJ" in upper  # /XJ: junction points and symbolic links are not followed or copied
    for root, dirs, files in os.walk(src, followlinks=not no_junctions):
        rel_root = os.path.relpath(root, src)
        dirs[:] = [d for d in dirs if not excluded_dir(src, root, d)
                   and not (no_junctions and os.path.islink(os.path.join(root, d)))]
        if no_junctions:
            files = [f for f in files if not os.path.islink(os.path.join(root, f))]
        if rel_root != "." and not recurse:
            dirs[:] = []
            continue
        counts["dirs"][0] += 1
        for name in files:
            if not any(fnmatch.fnmatch(name.lower(), p.lower()) for p in patterns):
                continue
            if any(fnmatch.fnmatch(name.lower(), x.lower()) for x in excluded_files):
                continue
            rel = os.path.normpath(os.path.join(rel_root, name))
            src_files[rel] = Path(root) / name
        if not recurse:
            dirs[:] = []
    left = _capacity_left(host, dst_win, dst)
    failed_pattern = (host.fault("robocopy_fail_pattern") or "*.nsf") if fault == "rc8" else None
    failed_once = False
    for rel, path in sorted(src_files.items()):
        size = path.stat().st_size
        counts["files"][0] += 1
        counts["bytes"][0] += size
        target = dst / rel
        same = target.exists() and target.stat().st_size == size and \
            int(target.stat().st_mtime) == int(path.stat().st_mtime)
        if same:
            counts["files"][2] += 1
            counts["bytes"][2] += size
            continue
        src_disp = "%s\\%s" % (src_win.rstrip("\\"), rel.replace("/", "\\"))
        if failed_pattern and not failed_once and fnmatch.fnmatch(path.name.lower(), failed_pattern.lower()):
            failed_once = True
            out += ["%s ERROR 32 (0x00000020) Copying File %s" % (stamp, src_disp),
                    "The process cannot access the file because it is being used by another process.",
                    "ERROR: RETRY LIMIT EXCEEDED.", ""]
            counts["files"][4] += 1
            counts["bytes"][4] += size
            continue
        if left is not None and size > left:
            out += ["%s ERROR 112 (0x00000070) Copying File %s" % (stamp, src_disp),
                    "There is not enough space on the disk.", ""]
            counts["files"][4] += 1
            counts["bytes"][4] += size
            continue
        if not no_file_list:
            out.append("\t  %s\t\t%12d\t%s" % ("New File" if not target.exists() else "Newer", size, src_disp))
        if not listing:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            if left is not None:
                left -= size
        counts["files"][1] += 1
        counts["bytes"][1] += size
    if dst.is_dir() and not no_extras:
        for root, dst_dirs, files in os.walk(dst):
            dst_dirs[:] = [d for d in dst_dirs if not excluded_dir(dst, root, d)]
            for name in files:
                rel = os.path.normpath(os.path.relpath(os.path.join(root, name), dst))
                if any(fnmatch.fnmatch(name.lower(), x.lower()) for x in excluded_files):
                    continue
                if rel not in src_files and any(fnmatch.fnmatch(name.lower(), p.lower()) for p in patterns):
                    counts["files"][5] += 1
                    if purge and not listing:
                        os.unlink(os.path.join(root, name))
                        if not no_file_list:
                            out.append("\t\t*EXTRA File\t\t%s" % name)
    counts["dirs"][1] = counts["dirs"][0] if counts["files"][1] else 0
    counts["dirs"][2] = counts["dirs"][0] - counts["dirs"][1]
    rc = (1 if counts["files"][1] else 0) | (2 if counts["files"][5] else 0) | (8 if counts["files"][4] else 0)
    return finish(rc, counts)


# ================================================================ services

def _service(host: Host, name: str) -> dict[str, t.Any] | None:
    return host.services.get(name.lower())


def _svc_state(svc: dict[str, t.Any]) -> tuple[str, int]:
    if "domino" in svc:
        return svc["domino"].state, svc["domino"].pid
    return svc["state"], svc["pid"]


def _sc_block(name: str, state: str, pid: int, ex: bool) -> list[str]:
    code = {v: k for k, v in SERVICE_STATES.items()}[state]
    flags = "(STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)" if state == "RUNNING" else \
        "(NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)"
    lines = ["", "SERVICE_NAME: %s " % name,
             "        TYPE               : 10  WIN32_OWN_PROCESS  ",
             "        STATE              : %d  %s " % (code, state),
             "                                %s" % flags,
             "        WIN32_EXIT_CODE    : 0  (0x0)",
             "        SERVICE_EXIT_CODE  : 0  (0x0)",
             "        CHECKPOINT         : 0x0",
             "        WAIT_HINT          : 0x%x" % (0x7530 if state.endswith("PENDING") else 0)]
    if ex:
        lines += ["        PID                : %d" % pid, "        FLAGS              : "]
    return lines


def tool_sc(host: Host, argv: list[str], stdin: str | None) -> Result:
    if len(argv) < 2:
        return 1639, crlf(["DESCRIPTION:", "        SC is a command line program used for communicating with the",
                           "        Service Control Manager and services."]), ""
    verb = argv[0].lower()
    svc = _service(host, argv[1])
    verbs = {"query": "EnumQueryServicesStatus:OpenService", "queryex": "EnumQueryServicesStatus:OpenService",
             "start": "OpenService", "stop": "OpenService", "qc": "OpenService"}
    if verb not in verbs:
        return 1639, crlf(["ERROR:  Unrecognized command"]), ""
    if _tool_fault(host, "sc") == "access_denied" and verb in ("start", "stop"):
        return 5, crlf(["[SC] OpenService FAILED 5:", "", "Access is denied.", ""]), ""
    if svc is None:
        return 1060, crlf(["[SC] %s FAILED 1060:" % verbs[verb], "",
                           "The specified service does not exist as an installed service.", ""]), ""
    state, pid = _svc_state(svc)
    if verb in ("query", "queryex"):
        return 0, crlf(_sc_block(svc["name"], state, pid, verb == "queryex")), ""
    if verb == "qc":
        image = svc["domino"].cfg["image_path"] if "domino" in svc else "C:\\Windows\\System32\\svchost.exe"
        return 0, crlf(["[SC] QueryServiceConfig SUCCESS", "", "SERVICE_NAME: %s" % svc["name"],
                        "        TYPE               : 10  WIN32_OWN_PROCESS ",
                        "        START_TYPE         : 2   AUTO_START",
                        "        ERROR_CONTROL      : 1   NORMAL",
                        "        BINARY_PATH_NAME   : %s" % image,
                        "        LOAD_ORDER_GROUP   : ", "        TAG                : 0",
                        "        DISPLAY_NAME       : %s" % svc["name"],
                        "        DEPENDENCIES       : ", "        SERVICE_START_NAME : LocalSystem"]), ""
    if verb == "start":
        if state != "STOPPED":
            return 1056, crlf(["[SC] StartService FAILED 1056:", "",
                               "An instance of the service is already running.", ""]), ""
        if "domino" in svc:
            svc["domino"].start()
        else:
            svc["state"] = "RUNNING"
        state, pid = _svc_state(svc)
        return 0, crlf(_sc_block(svc["name"], state, pid, True)), ""
    # stop
    if state == "STOPPED":
        return 1062, crlf(["[SC] ControlService FAILED 1062:", "", "The service has not been started.", ""]), ""
    if state == "STOP_PENDING":
        return 1061, crlf(["[SC] ControlService FAILED 1061:", "",
                           "The service cannot accept control messages at this time.", ""]), ""
    if "domino" in svc:
        svc["domino"].stop()
    else:
        svc["state"] = "STOPPED"
    state, pid = _svc_state(svc)
    return 0, crlf(_sc_block(svc["name"], state, pid, False)), ""


def _processes(host: Host) -> list[tuple[str, int]]:
    procs = [("System Idle Process", 0), ("System", 4), ("smss.exe", 388), ("services.exe", 640),
             ("svchost.exe", 812), ("explorer.exe", 3120)]
    for server in host.dominos:
        procs += server.processes()
    return procs


def tool_tasklist(host: Host, argv: list[str], stdin: str | None) -> Result:
    procs = _processes(host)
    upper = [a.upper() for a in argv]
    for i, arg in enumerate(upper):
        if arg == "/FI" and i + 1 < len(argv):
            match = re.match(r"^\s*(IMAGENAME|PID)\s+eq\s+(.+?)\s*$", argv[i + 1], re.I)
            if not match:
                return 1, "", crlf(["ERROR: The search filter cannot be recognized."])
            key, value = match.group(1).upper(), match.group(2)
            if key == "PID":
                procs = [p for p in procs if str(p[1]) == value]
            else:
                procs = [p for p in procs if fnmatch.fnmatch(p[0].lower(), value.lower())]
    if not procs:
        return 0, crlf(["INFO: No tasks are running which match the specified criteria."]), ""
    csv = "CSV" in upper
    no_header = "/NH" in upper
    lines = []
    if csv:
        if not no_header:
            lines.append('"Image Name","PID","Session Name","Session#","Mem Usage"')
        lines += ['"%s","%d","Services","0","%s K"' % (n, p, "{:,}".format(20000 + p % 9000)) for n, p in procs]
    else:
        if not no_header:
            lines += ["", "Image Name                     PID Session Name        Session#    Mem Usage",
                      "========================= ======== ================ =========== ============"]
        lines += ["%-25s %8d %-16s %11d %12s" % (n[:25], p, "Services", 0, "{:,} K".format(20000 + p % 9000))
                  for n, p in procs]
    return 0, crlf(lines), ""


def tool_taskkill(host: Host, argv: list[str], stdin: str | None) -> Result:
    upper = [a.upper() for a in argv]
    targets = []
    for i, arg in enumerate(upper):
        if arg in ("/PID", "/IM") and i + 1 < len(argv):
            targets.append((arg, argv[i + 1]))
    out: list[str] = []
    rc = 0
    for kind, value in targets:
        hits = [(n, p) for n, p in _processes(host)
                if (kind == "/PID" and str(p) == value) or (kind == "/IM" and fnmatch.fnmatch(n.lower(), value.lower()))]
        if not hits:
            return 128, "", crlf(['ERROR: The process "%s" not found.' % value])
        for name, pid in hits:
            for server in host.dominos:
                if (name, pid) in server.processes():
                    server.kill()
            out.append("SUCCESS: The process with PID %d has been terminated." % pid)
    return rc, crlf(out), ""


# ================================================================= schtasks

def tool_schtasks(host: Host, argv: list[str], stdin: str | None) -> Result:
    upper = [a.upper() for a in argv]

    def opt(name: str) -> str | None:
        return argv[upper.index(name) + 1] if name in upper and upper.index(name) + 1 < len(argv) else None
    name = (opt("/TN") or "").lstrip("\\")
    if _tool_fault(host, "schtasks") == "access_denied":
        return 1, "", crlf(["ERROR: Access is denied."])
    if "/CREATE" in upper:
        xml_path = opt("/XML")
        if not xml_path:
            return 1, "", crlf(["ERROR: Invalid syntax. Mandatory option '/sc' is missing."])
        if name.lower() in host.tasks and "/F" not in upper:
            return 1, "", crlf(["ERROR: Cannot create a file when that file already exists."])
        raw = host.path(xml_path).read_bytes()
        text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8-sig")
        try:
            host.create_task(name, text)
        except (ValueError, Exception) as exc:  # noqa: BLE001 - schtasks reports XML problems as text
            return 1, "", crlf(["ERROR: The task XML is malformed.", "(1,1)::ERROR: %s" % exc])
        return 0, crlf(['SUCCESS: The scheduled task "%s" has successfully been created.' % name]), ""
    task = host.tasks.get(name.lower())
    if task is None:
        return 1, "", crlf(["ERROR: The system cannot find the file specified."])
    if "/DELETE" in upper:
        del host.tasks[name.lower()]
        return 0, crlf(['SUCCESS: The scheduled task "%s" was successfully deleted.' % name]), ""
    if "/QUERY" in upper:
        nxt = host.boundary_time(task["start_boundary"])
        next_run = win_time(nxt) if task["status"] == "Ready" else "N/A"
        return 0, crlf(['"\\%s","%s","%s"' % (task["name"], next_run, task["status"])]), ""
    if "/RUN" in upper:
        task["start_boundary"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        task["status"] = "Ready"
        return 0, crlf(['SUCCESS: Attempted to run the scheduled task "%s".' % name]), ""
    return 1, "", crlf(["ERROR: Invalid syntax."])


# ====================================================================== reg

def _registry(host: Host) -> dict[str, list[tuple[str, str, str]]]:
    win = host.cfg.get("windows", {})
    keys: dict[str, list[tuple[str, str, str]]] = {
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\MICROSOFT\\WINDOWS NT\\CURRENTVERSION": [
            ("ProductName", "REG_SZ", win.get("product", "Windows Server 2022 Standard")),
            ("CurrentBuild", "REG_SZ", str(win.get("build", 20348))),
            ("EditionID", "REG_SZ", win.get("edition", "ServerStandard")),
            ("InstallationType", "REG_SZ", "Server")],
    }
    for server in host.dominos:
        cfg = server.cfg
        key = "HKEY_LOCAL_MACHINE\\SOFTWARE\\LOTUS\\DOMINO"
        if cfg.get("partition"):
            key += "\\" + cfg["partition"].upper()
        keys[key] = [("Path", "REG_SZ", cfg["program_dir"]), ("DataPath", "REG_SZ", cfg["data_dir"]),
                     ("Version", "REG_SZ", cfg["version"])]
        keys["HKEY_LOCAL_MACHINE\\SYSTEM\\CURRENTCONTROLSET\\SERVICES\\" + server.service.upper()] = [
            ("Type", "REG_DWORD", "0x10"), ("Start", "REG_DWORD", "0x2"),
            ("ImagePath", "REG_EXPAND_SZ", cfg["image_path"]), ("DisplayName", "REG_SZ", server.service),
            ("ObjectName", "REG_SZ", "LocalSystem")]
    return keys


def _reg_write(host: Host, verb: str, argv: list[str]) -> Result:
    key = _canonical_key(argv[1])
    upper = [a.upper() for a in argv]
    name = argv[upper.index("/V") + 1] if "/V" in upper else None
    if verb == "add":
        data = argv[upper.index("/D") + 1] if "/D" in upper else ""
        kind = argv[upper.index("/T") + 1] if "/T" in upper else "REG_SZ"
        entry = host.registry.setdefault(key, {"display": argv[1].replace("HKLM\\", "HKEY_LOCAL_MACHINE\\"), "values": {}})
        if name is not None:
            entry["values"][name] = [kind, data]
        return 0, crlf(["The operation completed successfully."]), ""
    victims = [k for k in host.registry if k == key or k.startswith(key + "\\")]
    if not victims or (name is not None and name not in host.registry.get(key, {}).get("values", {})):
        return 1, "", crlf(["ERROR: The system was unable to find the specified registry key or value."])
    if name is not None:
        del host.registry[key]["values"][name]
    else:
        for victim in victims:
            del host.registry[victim]
    return 0, crlf(["The operation completed successfully."]), ""


def _canonical_key(key: str) -> str:
    key = key.strip("\\")
    for short, full in (("HKLM\\", "HKEY_LOCAL_MACHINE\\"), ("HKCU\\", "HKEY_CURRENT_USER\\")):
        if key.upper().startswith(short):
            key = full + key[len(short):]
    return key.upper()


def _display_key(host_keys: dict[str, t.Any], canonical: str, original: str) -> str:
    head = "HKEY_LOCAL_MACHINE" if canonical.startswith("HKEY_LOCAL_MACHINE") else canonical.split("\\")[0]
    return head + original.strip("\\")[original.find("\\"):] if "\\" in original else canonical


def tool_reg(host: Host, argv: list[str], stdin: str | None) -> Result:
    verb = argv[0].lower() if argv else ""
    if verb in ("add", "delete") and len(argv) >= 2:
        return _reg_write(host, verb, argv)
    if len(argv) < 2 or verb != "query":
        return 1, "", crlf(["ERROR: Invalid syntax.", "Type \"REG /?\" for usage."])
    keys = _registry(host)
    shown_as = {}
    for stored in host.registry.values():
        keys[_canonical_key(stored["display"])] = [(n, v[0], v[1]) for n, v in stored["values"].items()]
        shown_as[_canonical_key(stored["display"])] = stored["display"]
    want = _canonical_key(argv[1])
    upper = [a.upper() for a in argv]
    value = argv[upper.index("/V") + 1] if "/V" in upper else None
    recurse = "/S" in upper
    hits = [(k, v) for k, v in keys.items() if k == want or (recurse and k.startswith(want + "\\"))]
    children = sorted({k[len(want) + 1:].split("\\")[0] for k in keys if k.startswith(want + "\\")})
    if not hits and not children:
        return 1, "", crlf(["ERROR: The system was unable to find the specified registry key or value."])
    lines = [""]
    for key, values in sorted(hits):
        shown = [v for v in values if value is None or v[0].lower() == value.lower()]
        if value is not None and not shown:
            continue
        if key in shown_as:  # reg.exe shows a key with the case it was created with
            lines.append(shown_as[key])
        else:
            lines.append(_display_key(keys, key, argv[1]) if key == want else
                         _display_key(keys, want, argv[1]) + key[len(want):])
        lines += ["    %s    %s    %s" % v for v in shown]
        lines.append("")
    if value is not None and len(lines) == 1:
        return 1, "", crlf(["ERROR: The system was unable to find the specified registry key or value."])
    if not recurse and value is None:
        lines += [_display_key(keys, want, argv[1]) + "\\" + c for c in children]
    if recurse:
        lines.append("End of search: %d match(es) found." % sum(len(v) for _k, v in hits))
    return 0, crlf(lines), ""


# ================================================================== Domino

def _server_for_program(host: Host, exe_dir: str | None) -> list:
    return host.dominos if exe_dir is None else [
        d for d in host.dominos if d.cfg["program_dir"].lower() == exe_dir.lower()] or host.dominos[:1]


def _partition(host: Host, program_dir: str | None, cwd: str | None) -> list:
    """The servers a console tool acts on: the partition whose data directory is the working directory;
    without one (or another folder) every partition of the program directory, the first of which answers
    the console (pessimistic: on a partitioned host that can be the wrong one)."""
    servers = _server_for_program(host, program_dir)
    if cwd:
        match = [d for d in servers if d.cfg["data_dir"].rstrip("\\").lower() == cwd.rstrip("\\").lower()]
        if match:
            return match
    return servers


def tool_nserver(host: Host, argv: list[str], stdin: str | None, program_dir: str | None = None,
                 user: str | None = None, cwd: str | None = None) -> Result:
    server = _partition(host, program_dir, cwd)[0]
    if argv and argv[0].lower() == "-q":
        if server.state == "STOPPED":
            return 1, crlf(["Unable to connect to the Domino server: the server is not running."]), ""  # [I]
        server.stop()
        return 0, crlf(["Server shutdown requested."]), ""  # [I]
    if len(argv) >= 2 and argv[0].lower() == "-c":
        command = argv[1].strip()
        if not server.answers():
            return 1, crlf(["Unable to connect to the Domino server: the server is not running."]), ""  # [I]
        # Since 11.0.1 FP3 / 12.0 the console refuses another OS user than the server's (HCL domino-backup
        # install.md); the twin refuses by default (host switch console_other_user: allow).
        other = host.fault("console_other_user") or server.cfg.get("console_other_user", "refuse")
        # the task's principal may name the account by its SID (console.principal: localized names)
        sid = server.cfg.get("service_sid")
        same = account(user) == account(server.service_account) or bool(sid and account(user) == account(sid))
        if (not same and other != "allow") or host.fault("console_refused"):
            server.console_log(["Console command refused for %s: the server runs as %s" % (user or CONNECTION_USER,
                                                                                           server.service_account)])  # [I]
            return 1, "", crlf(["Access to the server console is not allowed for this user."])  # [I]
        rc, out, err = _console(host, server, command)
        server.console_log(["> " + command] + [ln for ln in out.replace("\r\n", "\n").split("\n") if ln.strip()])
        # nserver -c is not known to print the server's reply (Nashcom's start script reads console.log):
        # by default the twin prints nothing; host switch console_stdout: true prints the reply too.
        return rc, out if (host.fault("console_stdout") or server.cfg.get("console_stdout")) else "", err
    return 1, crlf(["Usage: nserver [-c \"console command\"] [-q]"]), ""  # [I]


def _console(host: Host, server: t.Any, command: str) -> Result:
    cfg = server.cfg
    low = command.lower()
    if low == "show server":
        lines = ["", "HCL Domino (r) Server (Release %s for Windows/64) %s" % (cfg["version"], win_time()), "",
                 "Server name:            %s" % cfg["server_name"],
                 "Domino Directory:       names.nsf",
                 "Partition:              %s" % cfg["data_dir"].replace(":", "").replace("\\", "."),
                 "Elapsed time:           00:%02d:%02d" % (int(time.time()) // 60 % 60, int(time.time()) % 60),
                 "Transactional Logging:  %s" % ("Enabled" if cfg.get("translog", {}).get("status") == "1" else "Disabled"),
                 "Fault Recovery:         Enabled",
                 "Backup mode:            %s" % ("Databases held" if server.backup_mode else "Off"), ""]  # [I]
        return 0, crlf(lines), ""
    if low == "show tasks":
        lines = ["", "Task                   Description", "Database Server        Perform console commands",
                 "Router                 Idle", "Replicator             Idle", "Event Monitor          Idle"]
        if "backup" in server.tasks:
            lines.append("Backup                 %s" % ("Databases in backup mode" if server.backup_mode else "Idle"))
        if "backupvss" in server.tasks:
            lines.append("BackupVSS              VSS writer registered")  # [I]
        return 0, crlf(lines + [""]), ""
    match = re.fullmatch(r"(load|tell)\s+(\w+)(?:\s+(.*))?", command, re.I)
    if match:
        verb, task, rest = match.group(1).lower(), match.group(2).lower(), (match.group(3) or "").lower()
        if task == "backupvss":
            if verb == "load":
                if not cfg.get("vss_writer_capable"):
                    return 0, crlf(["BackupVSS: The VSS writer requires Domino 12.0.2 or later on Windows Server 2019/2022."]), ""  # [I]
                server.tasks.add("backupvss")
                return 0, crlf(["BackupVSS: VSS writer registered"]), ""  # [I]
            if rest == "quit":
                server.tasks.discard("backupvss")
                return 0, crlf(["BackupVSS: shutdown"]), ""  # [I]
        if task == "backup" and verb == "load":
            return 0, crlf([server.run_backup_task(rest)]), ""  # [I]
        if task == "backup" and rest == "quit":
            server.tasks.discard("backup")
            return 0, crlf(["Backup: Shutdown"]), ""  # [I]
        return 0, crlf(["%s: %s" % (task, "Started" if verb == "load" else "command accepted")]), ""
    if low == "quit":
        server.stop()
        return 0, crlf(["Server shutdown requested."]), ""  # [I]
    return 0, crlf(["Unknown command"]), ""  # [I]


def tool_nsd(host: Host, argv: list[str], stdin: str | None, program_dir: str | None = None,
             user: str | None = None, cwd: str | None = None) -> Result:
    if not argv or argv[0].lower() != "-kill":
        return 1, crlf(["Usage: nsd [-kill]"]), ""  # [I]
    if _tool_fault(host, "nsd") == "access_denied":
        return 5, "", crlf(["Access is denied."])  # [I] nsd cannot end the server's processes
    lines = ["NSD is in progress ...."]
    # No source limits nsd -kill to one partition: the twin ends every partition of the installation (pessimistic).
    for server in _server_for_program(host, program_dir):
        for name, pid in server.processes():
            lines.append("Killing %s (pid %d)" % (name, pid))  # [I]
        server.kill()
    lines.append("NSD completed.")
    return 0, crlf(lines), ""


# =================================================================== restic

RESTIC_BIN = "/usr/bin/restic"
# restic's global and command options that take a value (the ones the collection passes and a few more)
_RESTIC_VALUED = {"-r", "--repo", "-p", "--password-file", "--cache-dir", "-t", "--target", "--host", "-H", "--tag",
                  "--time", "--exclude", "-e", "--iexclude", "--include", "-i", "--iinclude", "--keep-daily", "-d",
                  "--keep-weekly", "-w", "--keep-monthly", "-m", "--group-by", "-g", "--path", "--parent"}
_RESTIC_PATH_OPTS = {"-r", "--repo", "-p", "--password-file", "-t", "--target"}


def _restic_repo_dir(host: Host, repo: str) -> tuple[Path | None, str | None]:
    """The real folder of a repository given as a Windows folder or share; an unreachable share maps to a
    folder that does not exist (restic then fails as it does for a missing repository)."""
    if repo.startswith(("rest:", "sftp:", "s3:")):
        return None, None
    if repo.startswith("\\\\") and host.fault("share_access") == "unreachable":
        # below a file: restic can neither open nor create it (on Windows: "The network path was not found.")
        return host.dir / "run" / "latency_ms" / "unreachable-share", None
    return host.path(repo), None


def _restic_leave_lock(repo: Path, stdin: str | None, password_file: str | None, env: dict[str, str]) -> None:
    """A real stale exclusive lock: start restic check and kill it once its lock file exists (what a crashed
    prune or check leaves behind)."""
    import subprocess
    locks = repo / "locks"
    before = set(os.listdir(locks)) if locks.is_dir() else set()
    argv = [RESTIC_BIN, "--repo", str(repo), "check", "--read-data"]
    if password_file:
        argv[1:1] = ["--password-file", password_file]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        if not password_file and proc.stdin is not None:
            proc.stdin.write((stdin or "").encode())
            proc.stdin.close()
        deadline = time.time() + 20
        while time.time() < deadline and proc.poll() is None:
            if locks.is_dir() and set(os.listdir(locks)) - before:
                break
            time.sleep(0.01)
    finally:
        proc.kill()
        proc.wait()


def tool_restic(host: Host, argv: list[str], stdin: str | None) -> Result:
    """The real restic (Debian's package) against the host's folders: Windows paths in options become the
    host's folders; the folders to back up are passed relative to the host's volume root, so that restic
    stores ``Z:\\Domino\\data`` as ``/Z/Domino/data`` as it does on Windows.  Its output is returned unchanged.
    Faults (sim.json): fail.restic = "locked" (a stale exclusive lock of a killed process, made with restic
    itself), "disk_full" (the repository's volume has no room: restic's error with Windows' text for
    ERROR_DISK_FULL), "drops_file" (the snapshot silently lacks names.nsf); share_access = "unreachable" for a repository on a share."""
    import subprocess
    if not os.path.exists(RESTIC_BIN):
        return 9009, "", "'restic' is not recognized as an internal or external command.\r\n"
    volumes = host.dir / "volumes"
    out: list[str] = []
    command = None
    i = 0
    repo_dir: Path | None = None
    password_file = None
    try:
        while i < len(argv):
            arg = argv[i]
            name, eq, inline = arg.partition("=")
            if arg.startswith("-") and name in _RESTIC_VALUED and not eq:
                value = argv[i + 1] if i + 1 < len(argv) else ""
                if name in ("-r", "--repo"):
                    repo_dir = _restic_repo_dir(host, value)[0]
                    value = str(repo_dir) if repo_dir is not None else value
                elif name in _RESTIC_PATH_OPTS and re.match(r"^[A-Za-z]:\\|^\\\\", value):
                    value = str(host.path(value))
                    if name in ("-p", "--password-file"):
                        password_file = value
                out += [name, value]
                i += 2
                continue
            if not arg.startswith("-") and command is None:
                command = arg
            elif command == "backup" and re.match(r"^[A-Za-z]:\\", arg):
                # relative to the volume root: restic keeps the relative path as the tree (Z/Domino/data)
                rel = arg[0].upper() + ("/" + arg[3:].replace("\\", "/") if arg[3:] else "")
                host.path(arg)  # refuses '..'
                arg = rel
            out.append(arg)
            i += 1
    except PathError as exc:
        return 1, "", "Fatal: %s\n" % exc
    env = {"PATH": "/usr/bin:/bin", "HOME": str(host.dir / "run"), "RESTIC_CACHE_DIR": str(host.dir / "run" / "restic-cache"),
           "TZ": "UTC", "LANG": "C.UTF-8"}
    fault = _tool_fault(host, "restic")
    if fault == "drops_file" and command == "backup":
        # the snapshot lacks a file the source listing names (what an exclude pattern or a reader that skips a
        # file without an error would leave): only the comparison with the manifest can find it
        out.insert(out.index("backup") + 1, "--exclude=names.nsf")
    if fault == "locked" and repo_dir is not None and (repo_dir / "config").exists():
        _restic_leave_lock(repo_dir, stdin, password_file, env)
    if command == "backup" and repo_dir is not None:
        full = fault == "disk_full"
        if not full:
            left = _capacity_left(host, next((argv[k + 1] for k, a in enumerate(argv[:-1]) if a in ("-r", "--repo")), ""),
                                  repo_dir)
            if left is not None:
                probe = subprocess.run([RESTIC_BIN] + out[:out.index("backup") + 1] + ["--dry-run"] +
                                       out[out.index("backup") + 1:], input=(stdin or "").encode(), capture_output=True,
                                       cwd=str(volumes), env=env, timeout=3600, check=False)
                summary = [json.loads(x) for x in probe.stdout.decode().splitlines() if '"summary"' in x]
                full = bool(summary) and int(summary[-1].get("data_added") or 0) > left
        if full:
            host.log("restic backup: the repository's disk is full")
            return 1, "", ("Fatal: unable to save snapshot: Save(<data/%s>): write %s: There is not enough space on "
                           "the disk.\n" % (uuid.uuid4().hex[:10], repo_dir / "data"))
    proc = subprocess.run([RESTIC_BIN] + out, input=(stdin or "").encode(), capture_output=True, cwd=str(volumes),
                          env=env, timeout=86400, check=False)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


TOOLS: dict[str, t.Callable[..., Result]] = {
    "restic": tool_restic,
    "diskshadow": tool_diskshadow, "vssadmin": tool_vssadmin, "robocopy": tool_robocopy, "sc": tool_sc,
    "tasklist": tool_tasklist, "taskkill": tool_taskkill, "schtasks": tool_schtasks, "reg": tool_reg,
    "nserver": tool_nserver, "nsd": tool_nsd, "powershell": tool_powershell, "fsutil": tool_fsutil,
}
_LONG_RUNNING = {"robocopy", "diskshadow", "restic"}


def _hang(host: Host, tool: str, seconds: float, held: t.Optional[t.Any] = None) -> bool:
    """The ``hang`` fault: the tool takes this long, unless its caller dies first (on Windows the tool's
    process ends with the caller's job; the twin runs tools as threads, which must not outlive it).
    ``held``: the host lock the caller holds, given up while it waits.  True when the caller died."""
    host.log("%s hangs for %g s" % (tool, seconds))
    pause = threading.Condition(held) if held is not None else None
    until = time.time() + seconds
    while time.time() < until:
        if caller_gone():
            host.log("%s ended: its caller died" % tool)
            return True
        step = min(0.1, max(0.0, until - time.time()))
        if pause is not None:
            with pause:
                pause.wait(step)
        else:
            time.sleep(step)
    return False


def run_tool(host: Host, tool: str, argv: list[str], stdin: str | None, program_dir: str | None = None,
             user: str | None = None, cwd: str | None = None) -> Result:
    """Run one fake tool.  ``user``: the OS account it runs as (None: the connection's user); ``cwd``: its
    working directory (Windows path), as a Task Scheduler action sets it.  Its output in the host's UI language."""
    return localize(host, tool, _run_tool(host, tool, argv, stdin, program_dir, user, cwd))


def _run_tool(host: Host, tool: str, argv: list[str], stdin: str | None, program_dir: str | None = None,
              user: str | None = None, cwd: str | None = None) -> Result:
    hang = (host.fault("hang") or {}).get(tool)
    if hang and tool not in ("diskshadow", "robocopy"):
        _hang(host, tool, float(hang))
    func = TOOLS.get(tool)
    if func is None:
        return 9009, "", "'%s' is not recognized as an internal or external command.\r\n" % tool
    if tool in ("nserver", "nsd"):
        with host.io_lock:
            return func(host, argv, stdin, program_dir, user, cwd)
    if tool in _LONG_RUNNING or (tool == "powershell" and _is_unlocked_script(argv)):
        result = func(host, argv, stdin)  # takes the host's lock only where it must (hold, runas: not at all)
        if hang and tool == "robocopy":
            _hang(host, tool, float(hang))  # a long copy: its data is (partly) on disk while it still runs
        return result
    with host.io_lock:
        return func(host, argv, stdin)


# ================================================================== doctor
# The probes of quiesce.domino.doctor (plugins/module_utils/doctor.py).  Switches in sim.json, per host:
# windows.account {name, sid, admin}; acl {<lower-case Windows path or registry key>: {protected, writers}};
# shadow_storage [{volume, diff_volume, max, allocated, used}]; faults.share_access "read_only" | "unreachable";
# faults.console_refused; dominos[i].vss_writer_registers false.  The backups' host lock is read as the probe
# reads it: <lock_root>\<lock_name> exists (and its owner.json).

WRITERS = [("System Writer", "{e8132975-6f93-4464-a53e-1050253ae220}"),
           ("Task Scheduler Writer", "{d61d61c8-d73a-4eee-8cdd-f6f9786b7124}"),
           ("Registry Writer", "{afbab4a2-367d-4d15-a586-71dbb18f8485}")]
TRUSTED_INSTALLER = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"
_DEFAULT_ACCOUNT = {"name": "SIM\\ansible", "sid": "S-1-5-21-1004336348-1177238915-682003330-1001", "admin": True}


def _writer_registers(host: Host, server: t.Any) -> bool:
    """Whether a running backupvss registers the Domino writer with VSS (switch: vss_writer_registers false)."""
    cfg = next((d for d in host.config().get("dominos", []) if d.get("service") == server.service), server.cfg)
    return cfg.get("vss_writer_registers", True) is not False


def _vssadmin_list_writers(host: Host, head: list[str]) -> Result:
    """``vssadmin list writers``: one block per writer, name in single quotes, writer ID, instance ID, state, last
    error (the shape of Microsoft's published samples)."""
    found = list(WRITERS)
    for server in host.dominos:
        if "backupvss" in server.tasks and server.state == "RUNNING" and _writer_registers(host, server):
            found.append((DOMINO_WRITER, DOMINO_WRITER_ID))
            break
    out = list(head) + ["Waiting for responses. ", "These may be delayed if a shadow copy is being prepared.", ""]
    for name, wid in found:
        instance = "{%s}" % uuid.uuid5(uuid.NAMESPACE_URL, host.cfg["hostname"] + wid)
        out += ["Writer name: '%s'" % name, "   Writer Id: %s" % wid, "   Writer Instance Id: %s" % instance,
                "   State: [1] Stable", "   Last error: No error", ""]
    return 0, crlf(out), ""


def _acl(host: Host, path: str, default_writers: list[str], protected: bool = False) -> dict[str, t.Any]:
    cfg = (host.cfg.get("acl") or {}).get(path.lower()) or {}
    return {"path": path, "exists": True, "protected": cfg.get("protected", protected),
            "writers": list(cfg.get("writers", default_writers))}


def _doctor_probe(host: Host, data: dict) -> Result:
    """doctor.PROBE_SCRIPT: the account's token, ACLs of the lock folder, the ledger key and the hook, volumes,
    shadow storage, the destination."""
    admins = ["S-1-5-18", "S-1-5-32-544"]
    account_cfg = dict(_DEFAULT_ACCOUNT, **(host.cfg.get("windows", {}).get("account") or {}))
    groups = ["S-1-1-0", "S-1-5-32-545", "S-1-5-11"] + (["S-1-5-32-544"] if account_cfg.get("admin") else [])
    root = data["lock_root"]
    lock = (_acl(host, root, admins, protected=True) if host.path(root).is_dir()
            else {"path": root, "exists": False})
    key = data["ledger_key"]
    ledger = (_acl(host, key, admins) if LEDGER_KEY in host.registry else {"path": key, "exists": False})
    hooks = []
    for server in host.dominos:
        folder = server.cfg["program_dir"] + "\\quiesce"
        script = folder + "\\" + data["hook_file"]
        # Program Files' default: SYSTEM, Administrators and TrustedInstaller write, Users read
        hooks.append({"service": server.service,
                      "folder": _acl(host, folder, admins + [TRUSTED_INSTALLER]) if host.path(folder).is_dir()
                      else {"path": folder, "exists": False},
                      "script": _acl(host, script, admins + [TRUSTED_INSTALLER]) if host.path(script).is_file()
                      else {"path": script, "exists": False}})
    volumes = []
    for letter, cfg in sorted(host.cfg["volumes"].items()):
        cap = cfg["size_mb"] * 1024 * 1024
        volumes.append({"DriveLetter": letter + ":", "DeviceID": cfg["guid"], "Capacity": cap,
                        "FreeSpace": max(cap - _dir_size(host.volume_dir(letter)), 0)})
    storage = host.cfg.get("shadow_storage")
    if storage is None:
        # Windows makes a storage association on the volume itself at its first shadow copy, without a limit
        with_shadows = sorted({s["volume"] for s in host.shadows.values()})
        storage = [{"volume": host.volume_guid(v[0]), "diff_volume": host.volume_guid(v[0]),
                    "max": "18446744073709551615", "allocated": "0", "used": "0"} for v in with_shadows]
    destination = None
    if data.get("destination"):
        try:
            reachable = host.path(data["destination"]).is_dir()
        except PathError:
            reachable = False
        if host.fault("share_access") == "unreachable" and data["destination"].startswith("\\\\"):
            reachable = False
        destination = {"path": data["destination"], "reachable": reachable}
    held = None
    lock_dir = root.rstrip("\\") + "\\" + data["lock_name"]
    if host.path(lock_dir).is_dir():
        try:
            owner = json.loads(host.path(lock_dir + "\\owner.json").read_text())
        except (OSError, ValueError):
            owner = {}
        held = {"path": lock_dir, "owner": owner.get("owner"), "since_ms": owner.get("since_ms")}
    doc = {"account": {"name": account_cfg["name"], "sid": account_cfg["sid"], "admin": bool(account_cfg.get("admin")),
                       "groups": groups},
           "lock": lock, "ledger": ledger, "hooks": hooks, "volumes": volumes, "shadow_storage": storage,
           "destination": destination, "host_lock": held,
           # Windows' default: not set (sim.json windows.long_paths_enabled: 1 for a host that enabled them)
           "long_paths_enabled": host.cfg.get("windows", {}).get("long_paths_enabled")}
    return 0, json.dumps(doc, separators=(",", ":")) + "\r\n", ""


def _doctor_share(host: Host, data: dict) -> Result:
    """doctor.SHARE_SCRIPT: create a new file at the destination and delete it (the .NET exception texts)."""
    dest = data["destination"]
    path = dest.rstrip("\\") + "\\" + data["name"]
    out = {"path": path, "created": False, "deleted": False, "error": None}
    access = host.fault("share_access") if dest.startswith("\\\\") else None
    target = host.path(path)
    if access == "unreachable" or not target.parent.is_dir():
        out["error"] = "Could not find a part of the path '%s'." % path
    elif access == "read_only":
        out["error"] = "Access to the path '%s' is denied." % path
    elif target.exists():
        out["error"] = "The file '%s' already exists." % path
    else:
        target.write_text("quiesce.domino doctor")
        out["created"] = True
        target.unlink()
        out["deleted"] = not target.exists()
    return (0 if out["deleted"] else 1), json.dumps(out) + "\r\n", ""
