# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""restic knowledge: option checks, argv, JSON parsers, the manifest comparison and the forget guards.

Pure functions, no I/O.  restic 0.14 (the version Debian packages; the same commands on Windows):

- the repository password is read from standard input when it is not a terminal (one line), or from
  ``--password-file``; it is never an argument (tests/sim/README.md names the sources);
- ``backup --json`` prints status lines and one ``{"message_type": "summary", ...}`` line with
  ``snapshot_id``, ``data_added``, ``files_new``, ``files_changed``, ``files_unmodified``,
  ``total_files_processed``, ``total_bytes_processed``; exit 0 ok, 1 fatal (no snapshot), 3 some source
  files could not be read (an incomplete snapshot);
- ``ls --json`` prints the snapshot as the first line, then one node per line (``path``, ``type``,
  ``size``, ``mtime``); a Windows path ``Z:\\Domino\\data`` is stored as ``/Z/Domino/data``;
- ``forget --dry-run --json`` prints groups with ``keep`` and ``remove`` lists of snapshots.
"""

from __future__ import annotations

import datetime
import json
import re
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

BACKENDS = ("robocopy", "restic")
DEFAULT_PATH = "C:\\Program Files\\restic\\restic.exe"
# Every snapshot the collection makes carries this tag; retention only ever looks at these.
COLLECTION_TAG = "quiesce.domino"
# Added once a snapshot matched the source listing (and restic check passed); restore of "latest" and retention see
# only snapshots that carry it, so one left behind unverified (a lost connection) is never taken for a backup.
VERIFIED_TAG = "quiesce.domino:verified"
# restic's --tag a,b selects snapshots with both tags
VERIFIED_FILTER = COLLECTION_TAG + "," + VERIFIED_TAG
REDACTED = "********"
RC_MEANINGS = {0: "success", 1: "fatal error (no snapshot was created)",
               3: "some source files could not be read (an incomplete snapshot was created)"}

OPEN_STEP = "open the restic repository"
INIT_STEP = "initialize the restic repository"
BACKUP_STEP = "restic backup"
COMPARE_STEP = "compare the snapshot with the manifest"
REMOVE_LISTING_STEP = "remove the source listing"
CHECK_STEP = "restic check"
FORGET_PLAN_STEP = "restic forget (dry run)"
FORGET_STEP = "restic forget"
PRUNE_STEP = "restic prune"
RESTORE_STEP = "restic restore"
SNAPSHOTS_STEP = "restic snapshots"
MARK_STEP = "mark the snapshot verified"
MARKED_STEP = "the verified snapshot"

_REMOTE_RE = re.compile(r"^(?:rest:https?://[A-Za-z0-9.-]{1,253}(?::\d{1,5})?(?:/[A-Za-z0-9._~/-]*)?"
                        r"|sftp:[A-Za-z0-9._-]{1,64}@[A-Za-z0-9.-]{1,253}:/?[A-Za-z0-9._~/-]{1,200})$")
_TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$")
_SNAPSHOT_ID_RE = re.compile(r"^[0-9a-f]{8}(?:[0-9a-f]{56})?$")
_LOCKED_RE = re.compile(r"repository is already locked")
_WRONG_PASSWORD_RE = re.compile(r"wrong password or no key found")
_NO_REPO_RE = re.compile(r"(unable to open config file|unable to open repository|Is there a repository at the following "
                         r"location|network path was not found|network name cannot be found)")
_DISK_FULL_RE = re.compile(r"(not enough space on the disk|no space left on device)", re.I)


# ------------------------------------------------------------------ options

def repository(option: str, value: t.Any) -> str:
    """A local folder, a share (``\\\\server\\share\\restic``), ``rest:https://host:8000/path`` or
    ``sftp:user@host:/path``.  Backends that need credentials in environment variables (S3, B2, Azure) are
    not offered: a plan passes no environment."""
    text = cli.require_str(option, value)
    if text.startswith(("rest:", "sftp:")):
        cli.safe_text(option, text, cli.MAX_PATH)
        if not _REMOTE_RE.fullmatch(text) or ".." in text.split("/"):
            # the address is not repeated: it may hold a password (rest:https://user:secret@host/)
            shown = re.sub(r"//[^/@]*@", "//***@", text) if text.startswith("rest:") else text
            raise cli.OptionError("%s: %r is not valid; use a folder (E:\\restic), a share (\\\\server\\share\\restic), "
                                  "rest:https://host:8000/repo or sftp:user@host:/srv/restic (no credentials in the "
                                  "address)" % (option, shown))
        return text
    try:
        return cli.destination(option, text)
    except cli.OptionError as exc:
        raise cli.OptionError("%s; or rest:https://host:8000/repo, sftp:user@host:/srv/restic" % exc)


def password(option: str, value: t.Any) -> str:
    """The repository password: one line (restic reads one line from standard input)."""
    text = cli.require_str(option, value)
    if not text or len(text) > 1024 or any(ch in text for ch in "\r\n\x00"):
        # the value is never shown
        raise cli.OptionError("%s: the password must be 1-1024 characters on one line (restic reads one line from "
                              "standard input)" % option)
    return text


def tag(option: str, value: t.Any) -> str:
    """A restic tag: no comma (restic splits --tag at commas), no spaces."""
    text = cli.safe_text(option, value, 128)
    if not _TAG_RE.fullmatch(text):
        raise cli.OptionError("%s: %r is not valid; a tag is 1-128 letters, digits and ._:@+- (no comma or space)"
                              % (option, text))
    return text


def snapshot_id(option: str, value: t.Any) -> str:
    """A snapshot ID: 8 (short) or 64 lower-case hexadecimal digits, or ``latest``."""
    text = cli.safe_text(option, value, 64)
    if text != "latest" and not _SNAPSHOT_ID_RE.fullmatch(text.lower()):
        raise cli.OptionError("%s: %r is not valid; a restic snapshot ID (8 or 64 hexadecimal digits) or latest"
                              % (option, text))
    return text.lower()


def read_fraction(option: str, value: t.Any) -> str:
    """``restic check --read-data-subset`` as a percentage (``2.5%``); 0 disables the read check ("")."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(str(value).strip())
        except ValueError:
            raise cli.OptionError("%s: %r is not valid; a fraction from 0 to 1 (0.05 reads 5%% of the data)"
                                  % (option, value))
    if not 0 <= value <= 1:
        raise cli.OptionError("%s: %r is not valid; a fraction from 0 to 1 (0.05 reads 5%% of the data)" % (option, value))
    if value == 0:
        return ""
    if value < 0.0001:
        raise cli.OptionError("%s: %r is not valid; 0 (no read check) or at least 0.0001 (0.01%% of the data)"
                              % (option, value))
    return "%s%%" % ("%.4f" % (value * 100)).rstrip("0").rstrip(".")


def keep_rules(option: str, rules: dict[str, t.Any]) -> dict[str, int]:
    """keep_daily / keep_weekly / keep_monthly: whole numbers from 0 (not used) to 1000."""
    out = {}
    for key in ("daily", "weekly", "monthly"):
        value = rules.get(key)
        if value is None:
            continue
        out[key] = cli.int_range("%s_%s" % (option, key), value, 0, 1000)
    return {k: v for k, v in out.items() if v}


# ------------------------------------------------------------------ argv and steps

def restic_path(win_path: str) -> str:
    """Where restic stores a Windows path in its snapshots: ``Z:\\Domino\\data`` -> ``/Z/Domino/data``."""
    rest = win_path[2:].strip("\\").replace("\\", "/")
    return "/" + win_path[0].upper() + ("/" + rest if rest else "")


def base_argv(tools: dict[str, str], repo: str, password_file: t.Optional[str]) -> list[str]:
    argv = [tools["restic"], "--repo", repo, "--quiet"]
    if password_file:
        argv += ["--password-file", password_file]
    return argv


def step(name: str, tools: dict[str, str], repo: str, secret: t.Optional[str], password_file: t.Optional[str],
         args: t.Sequence[str], **kw: t.Any) -> dict[str, t.Any]:
    """One restic step: the password on standard input (one line) unless a password file is used."""
    stdin = None if password_file else (secret or "") + "\n"
    return planlib.step(name, base_argv(tools, repo, password_file) + list(args), stdin=stdin, encoding="utf-8", **kw)


def backup_args(sources: t.Sequence[str], host: str, tags: t.Sequence[str],
                exclude: t.Sequence[str] = (), iexclude: t.Sequence[str] = ()) -> list[str]:
    """``backup --json`` of the given folders and files, with host and tags.  No ``--time``: restic reads it as the
    host's local time, and stamps the backup's start itself (restic PR 2095)."""
    args = ["backup", "--json", "--host", host]
    for value in tags:
        args += ["--tag", value]
    for pattern in exclude:
        args += ["--exclude", pattern]
    for pattern in iexclude:
        args += ["--iexclude", pattern]
    return args + list(sources)


def run_tag(stamp: str) -> str:
    """The tag that names one run's snapshot (ls, restore and the report find it by this tag)."""
    return "run:" + stamp


def ls_args(run: str, host: str) -> list[str]:
    """The new snapshot's listing: this run's tag on this host (a repository shared by several hosts)."""
    return ["ls", "--json", "--host", host, "--tag", run, "latest"]


def mark_args(run: str, host: str) -> list[str]:
    """Add the verified tag to this run's snapshot (restic rewrites it under a new ID)."""
    return ["tag", "--host", host, "--tag", run, "--add", VERIFIED_TAG]


def marked_args(run: str, host: str) -> list[str]:
    """This run's snapshot after the mark: its new ID."""
    return ["snapshots", "--json", "--host", host, "--tag", run + "," + VERIFIED_TAG]


def check_args(subset: str) -> list[str]:
    return ["check"] + (["--read-data-subset=%s" % subset] if subset else [])


def forget_dry_run_args(host: str, rules: dict[str, int]) -> list[str]:
    args = ["forget", "--dry-run", "--json", "--host", host, "--tag", VERIFIED_FILTER, "--group-by", "host"]
    for key in ("daily", "weekly", "monthly"):
        if rules.get(key):
            args += ["--keep-%s" % key, str(rules[key])]
    return args


def restore_args(snapshot: str, target: str, includes: t.Sequence[str], host: t.Optional[str] = None) -> list[str]:
    args = ["restore", snapshot, "--target", target]
    if snapshot == "latest" and host:
        args += ["--host", host, "--tag", VERIFIED_FILTER]
    for include in includes:
        # without case: Windows paths (restic 0.14 --iinclude)
        args += ["--iinclude", include]
    return args


def _holds(text: t.Optional[str], secret: str) -> bool:
    """Whether a standard input holds the password as it is (a restic step) or JSON-escaped (the compare
    script's data)."""
    return bool(text) and (secret in text or json.dumps(secret)[1:-1] in text)


def redact_plan(plan: dict[str, t.Any], secret: t.Optional[str]) -> dict[str, t.Any]:
    """The plan as it may be shown (check mode): every standard input that holds the password replaced."""
    if not secret:
        return plan
    shown = json.loads(json.dumps(plan))
    for section in ("guard", "steps", "rescue", "finally"):
        for item in shown.get(section) or []:
            if _holds(item.get("stdin"), secret):
                item["stdin"] = REDACTED
    return shown


def carries_secret(plan: dict[str, t.Any], secret: t.Optional[str]) -> bool:
    return bool(secret) and any(_holds(s.get("stdin"), secret) for section in ("guard", "steps", "rescue", "finally")
                                for s in plan.get(section) or [])


# ------------------------------------------------------------------ parsers

def json_lines(text: str) -> list[dict[str, t.Any]]:
    """Every JSON object printed one per line (restic's --json output); other lines are skipped."""
    out = []
    for line in (text or "").replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            out.append(doc)
    return out


def backup_summary(text: str) -> t.Optional[dict[str, t.Any]]:
    """The summary line of ``backup --json`` (None when restic printed none: a fatal error)."""
    found = [d for d in json_lines(text) if d.get("message_type") == "summary"]
    return found[-1] if found else None


def snapshots(text: str) -> list[dict[str, t.Any]]:
    """``snapshots --json``: one JSON array."""
    try:
        doc = cli.parse_json_document(text)
    except ValueError:
        return []
    return [d for d in doc if isinstance(d, dict)] if isinstance(doc, list) else []


def forget_candidates(text: str) -> list[dict[str, t.Any]]:
    """The snapshots ``forget --dry-run --json`` would remove, over all groups."""
    doc = cli.parse_json_document(text)
    groups = doc if isinstance(doc, list) else []
    return [s for g in groups if isinstance(g, dict) for s in (g.get("remove") or []) if isinstance(s, dict)]


def _utc_seconds(stamp: t.Any) -> t.Optional[int]:
    """RFC 3339 with any fraction and offset (``2026-11-23T22:57:28.9600Z``, ``...+01:00``) -> epoch seconds."""
    match = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)$", str(stamp or ""))
    if not match:
        return None
    parts = [int(x) for x in match.groups()[:6]]
    when = datetime.datetime(*parts, tzinfo=datetime.timezone.utc)
    zone = match.group(7)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        when -= sign * datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return int(when.timestamp())


def guard_forget(candidates: t.Sequence[dict[str, t.Any]], protect: t.Sequence[str], min_age_seconds: int,
                 now_seconds: int) -> tuple[list[str], list[dict[str, str]]]:
    """The snapshots restic's rules would remove, less those the guards keep: the snapshots in ``protect``
    (the newest verified one, this run's), and any younger than ``min_age_seconds``.  Returns the IDs to
    forget and the kept ones with the reason."""
    protected = {p.lower() for p in protect if p}
    forget: list[str] = []
    kept: list[dict[str, str]] = []
    for snap in candidates:
        sid = str(snap.get("id") or "").lower()
        if not _SNAPSHOT_ID_RE.fullmatch(sid):
            kept.append({"id": sid, "reason": "not a snapshot ID"})
            continue
        if any(sid.startswith(p) or p.startswith(sid) for p in protected):
            kept.append({"id": sid, "reason": "the newest verified snapshot"})
            continue
        when = _utc_seconds(snap.get("time"))
        if when is None or now_seconds - when < min_age_seconds:
            kept.append({"id": sid, "reason": "younger than the minimum age"})
            continue
        forget.append(sid)
    return forget, kept


def explain_failure(record: t.Optional[dict[str, t.Any]]) -> str:
    """Why a restic step failed, in words: locked, wrong password, no repository, disk full, or restic's own line."""
    if not record:
        return "restic did not run"
    text = "%s\n%s" % (record.get("stderr") or "", record.get("stdout") or "")
    if record.get("status") == "timeout":
        return "restic timed out"
    if _LOCKED_RE.search(text):
        return ("the repository is locked by another restic process (%s); if that process is gone, run restic unlock"
                % _first(text, _LOCKED_RE))
    if _WRONG_PASSWORD_RE.search(text):
        return "wrong repository password (restic: wrong password or no key found)"
    if _DISK_FULL_RE.search(text):
        return "the repository's disk is full (%s)" % _first(text, _DISK_FULL_RE)
    if _NO_REPO_RE.search(text):
        return ("the repository cannot be opened: it is unreachable or not initialized (%s); set repository_init to "
                "create it" % _first(text, _NO_REPO_RE))
    rc = record.get("rc")
    line = _first(text, re.compile(r"\S"))
    return "restic exit code %s (%s)%s" % (rc, RC_MEANINGS.get(rc, "failure"), (": " + line) if line else "")


def _first(text: str, pattern: t.Pattern[str]) -> str:
    for line in text.replace("\r\n", "\n").split("\n"):
        if pattern.search(line) and not line.strip().startswith("{"):
            return line.strip()[:300]
    return ""


# ------------------------------------------------------------------ restore

# The copy layout (locations.layout_document) with where each place was read from (``restic_sources``) is written
# here before each backup and backed up with it, so a restore can put each place where a copy has it.
LAYOUT_DIR = "C:\\ProgramData\\quiesce.domino\\restic"
LAYOUT_FILE = "quiesce_domino.json"
STAGING = ".restic"
LAYOUT_STEP = "write the restic layout"
ARRANGE_STEP = "arrange the restored snapshot as a copy"
READ_LAYOUT_STEP = "restic restore the layout"


def layout_path(host: str) -> str:
    return "%s\\%s\\%s" % (LAYOUT_DIR, host, LAYOUT_FILE)


def manifest_path(host: str, stamp: str) -> str:
    """Where a backup's source listing is written on the host for the comparison (removed after it)."""
    return "%s\\%s\\manifest-%s.tsv" % (LAYOUT_DIR, host, stamp)


def layout_sources(runits: t.Sequence[dict[str, t.Any]], deltas_folder: t.Optional[str],
                   daos_live: t.Optional[dict[str, str]] = None) -> list[dict[str, t.Any]]:
    """Where each place of a copy (``to``, relative to the copy) was read from (``from``, a Windows path).  With
    deltas: the data directory's stale ``.DELTA`` files and the hook's folder are dropped, then this backup's
    deltas are put beside their databases (as the robocopy backend's copy has them)."""
    out: list[dict[str, t.Any]] = []
    for unit in runits:
        if unit.get("files") is None:
            entry: dict[str, t.Any] = {"to": unit["name"], "from": unit["source"]}
            if deltas_folder and unit is runits[0]:
                entry.update(drop_dirs=["quiesce_domino"], drop_files=["*.DELTA"])
            out.append(entry)
        else:
            out += [{"to": "%s\\%s" % (unit["name"], f), "from": "%s\\%s" % (unit["source"].rstrip("\\"), f)}
                    for f in unit["files"]]
    if deltas_folder:
        out.append({"to": runits[0]["name"], "from": deltas_folder, "merge": True, "drop_files": ["collected.json"]})
    if daos_live:
        # the live DAOS store: only objects the shadow copy's store lacks (written after the snapshot, referenced by
        # change info applied after it), never replacing one
        out.append({"to": daos_live["to"], "from": daos_live["source"], "merge": True, "keep_existing": True,
                    "only": "*.nlo"})
    return out


def restore_includes(layout: dict[str, t.Any], host: str, databases: t.Sequence[str]) -> list[str]:
    """``--include`` patterns: the layout file, and for databases each one with its ``.DELTA`` (in the data
    directory and in this backup's deltas folder); no databases: nothing more (the whole snapshot)."""
    if not databases:
        return []
    includes = [restic_path(layout_path(host))]
    for entry in layout.get("restic_sources") or []:
        if entry.get("to") != "data":
            continue
        root = restic_path(str(entry["from"]))
        for rel in databases:
            tail = rel.replace("\\", "/")
            includes += [root + "/" + tail, root + "/" + tail + ".DELTA"] if rel.lower().endswith((".nsf", ".ntf", ".box")) \
                else [root + "/" + tail]
    return includes


RESTIC_SCRIPTS = {
    # The verification on the host: the source manifest (the tab-separated listing the manifest script wrote)
    # against the files of the new snapshot, read from `restic ls --json` line by line as restic prints them.
    # Only the host's listing is held (a dictionary by restic path, without case); the snapshot's listing is never
    # stored, and only a bounded summary comes back.  Exit 0: equal; 1: differences (printed); 3: restic failed
    # (its error on standard error).  The password, when given, is written to restic's standard input as UTF-8.
    # The command line is quoted by the rules Windows programs (Go's included) use to split it.
    "restic_compare": r"""# quiesce.domino:restic_compare
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$in = [Console]::In.ReadToEnd() | ConvertFrom-Json
Add-Type -AssemblyName System.Web.Extensions
$parser = New-Object System.Web.Script.Serialization.JavaScriptSerializer
$parser.MaxJsonLength = [int]::MaxValue
$utf8 = New-Object Text.UTF8Encoding($false)
$inv = [Globalization.CultureInfo]::InvariantCulture
$state = @{ count = 0; snapshot_id = $null; snapshot_time = $null }
$shown = New-Object System.Collections.Generic.List[string]
function Add-Problem([string]$Text) { $state.count++; if ($shown.Count -lt [int]$in.limit) { $shown.Add($Text) } }
function Get-Key($Doc, [string]$Name) { if ($Doc.ContainsKey($Name)) { return $Doc[$Name] }; return $null }
function Get-UtcTicks([string]$Stamp) {
  $m = [regex]::Match($Stamp, '^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)$')
  if (-not $m.Success) { return $null }
  $zone = $m.Groups[2].Value
  if ($zone -eq 'Z') { $zone = '+00:00' }
  return [DateTimeOffset]::ParseExact($m.Groups[1].Value + $zone, "yyyy-MM-dd'T'HH:mm:sszzz", $inv).UtcTicks }
function ConvertTo-Argument([string]$Text) {
  if ($Text.Length -gt 0 -and $Text.IndexOfAny([char[]]@([char]32, [char]9, [char]34)) -lt 0) { return $Text }
  $out = New-Object Text.StringBuilder
  [void]$out.Append([char]34)
  $slashes = 0
  foreach ($ch in $Text.ToCharArray()) {
    if ($ch -ceq [char]92) { $slashes++; continue }
    if ($ch -ceq [char]34) { [void]$out.Append([char]92, 2 * $slashes + 1) } else { [void]$out.Append([char]92, $slashes) }
    $slashes = 0
    [void]$out.Append($ch) }
  [void]$out.Append([char]92, 2 * $slashes)
  [void]$out.Append([char]34)
  return $out.ToString() }
$want = New-Object 'System.Collections.Generic.Dictionary[string,string[]]' ([StringComparer]::Ordinal)
$roots = New-Object System.Collections.Generic.List[object]
foreach ($u in @($in.units)) { $roots.Add(@{ prefix = ([string]$u.prefix).ToLowerInvariant(); root = ([string]$u.root).ToLowerInvariant().TrimEnd('/') }) }
$tsv = New-Object IO.StreamReader([string]$in.manifest, $utf8)
try {
  while ($null -ne ($line = $tsv.ReadLine())) {
    $p = $line.Split("`t")
    if ($p.Count -lt 3) { continue }
    $lower = $p[0].ToLowerInvariant()
    foreach ($r in $roots) {
      if ($lower.StartsWith($r.prefix, [StringComparison]::Ordinal)) {
        $want[$r.root + '/' + $lower.Substring($r.prefix.Length).Replace('\', '/')] = $p
        break } } } }
finally { $tsv.Close() }
$files = $want.Count
$argv = [string[]]@($in.argv)
$psi = New-Object Diagnostics.ProcessStartInfo
$psi.FileName = $argv[0]
$psi.Arguments = [string]::Join(' ', [string[]]@(for ($i = 1; $i -lt $argv.Length; $i++) { ConvertTo-Argument $argv[$i] }))
$psi.UseShellExecute = $false
$psi.CreateNoWindow = $true
$psi.RedirectStandardInput = $true
$psi.RedirectStandardOutput = $true
$psi.RedirectStandardError = $true
$psi.StandardOutputEncoding = $utf8
$psi.StandardErrorEncoding = $utf8
$proc = [Diagnostics.Process]::Start($psi)
$errors = $proc.StandardError.ReadToEndAsync()
$secret = $in.PSObject.Properties['password']
if ($null -ne $secret -and $null -ne $secret.Value) {
  $bytes = $utf8.GetBytes([string]$secret.Value + "`n")
  $proc.StandardInput.BaseStream.Write($bytes, 0, $bytes.Length) }
$proc.StandardInput.Close()
while ($null -ne ($line = $proc.StandardOutput.ReadLine())) {
  if (-not $line.StartsWith('{')) { continue }
  try { $doc = $parser.DeserializeObject($line) } catch { continue }
  if ($doc -isnot [System.Collections.Generic.Dictionary[string,object]]) { continue }
  $kind = [string](Get-Key $doc 'struct_type')
  if (-not $kind) { $kind = [string](Get-Key $doc 'message_type') }
  if ($kind -eq 'snapshot') {
    if ($null -eq $state.snapshot_id) { $state.snapshot_id = [string](Get-Key $doc 'id'); $state.snapshot_time = [string](Get-Key $doc 'time') }
    continue }
  if ([string](Get-Key $doc 'type') -ne 'file') { continue }
  $path = [string](Get-Key $doc 'path')
  $key = $path.ToLowerInvariant()
  $row = $null
  if ($want.TryGetValue($key, [ref]$row)) {
    [void]$want.Remove($key)
    $size = [int64](Get-Key $doc 'size')
    if ($size -ne [int64]::Parse($row[1], $inv)) { Add-Problem ('size differs: {0} ({1} != {2})' -f $row[0], $row[1], $size); continue }
    $left = Get-UtcTicks $row[2]
    $right = Get-UtcTicks ([string](Get-Key $doc 'mtime'))
    if ($null -ne $left -and $null -ne $right -and [Math]::Abs($left - $right) -gt 10000000) { Add-Problem ('modification time differs: ' + $row[0]) }
    continue }
  foreach ($r in $roots) { if ($key.StartsWith($r.root + '/', [StringComparison]::Ordinal)) { Add-Problem ('extra in the snapshot: ' + $path); break } } }
$proc.WaitForExit()
$stderr = $errors.Result
if ($proc.ExitCode -ne 0) { [Console]::Error.Write($stderr); exit 3 }
if ($null -eq $state.snapshot_id) { [Console]::Error.Write('restic ls printed no snapshot. ' + $stderr); exit 3 }
foreach ($entry in $want.Values) { Add-Problem ('missing in the snapshot: ' + $entry[0]) }
$summary = [ordered]@{ snapshot_id = $state.snapshot_id; snapshot_time = $state.snapshot_time; files = $files
  difference_count = $state.count; differences = @($shown) }
ConvertTo-Json -Compress -Depth 3 -InputObject $summary
if ($state.count -gt 0) { exit 1 }
""",
    # Moves the places of a snapshot restored under <copy>\.restic into the copy layout (<copy>\data, ...), writes
    # the layout beside them and removes the rest of the staging tree.  Data arrives as JSON on standard input.
    "restic_arrange": r"""# quiesce.domino:restic_arrange
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$in = [Console]::In.ReadToEnd() | ConvertFrom-Json
$stage = Join-Path $in.copy '.restic'
$layoutFile = Join-Path $stage $in.layout_rel
if (-not (Test-Path -LiteralPath $layoutFile -PathType Leaf)) { [Console]::Error.WriteLine('the snapshot holds no layout file'); exit 3 }
$layout = [IO.File]::ReadAllText($layoutFile) | ConvertFrom-Json
$moved = New-Object System.Collections.Generic.List[string]
foreach ($e in @($layout.restic_sources)) {
  $rel = ([string]$e.from).Replace(':', '')
  $src = Join-Path $stage $rel
  if (-not (Test-Path -LiteralPath $src)) { continue }
  $dst = Join-Path $in.copy $e.to
  $merge = ($e.PSObject.Properties.Name -contains 'merge') -and $e.merge
  $dropDirs = @(); if ($e.PSObject.Properties.Name -contains 'drop_dirs') { $dropDirs = @($e.drop_dirs) }
  $dropFiles = @(); if ($e.PSObject.Properties.Name -contains 'drop_files') { $dropFiles = @($e.drop_files) }
  foreach ($d in $dropDirs) { $p = Join-Path $src $d; if (Test-Path -LiteralPath $p) { Remove-Item -LiteralPath $p -Recurse -Force } }
  foreach ($f in @(Get-ChildItem -LiteralPath $src -Recurse -File -Force -ErrorAction SilentlyContinue)) {
    foreach ($pattern in $dropFiles) { if ($f.Name -like $pattern) { Remove-Item -LiteralPath $f.FullName -Force; break } } }
  [void](New-Item -ItemType Directory -Force -Path (Split-Path -Parent $dst))
  if ($merge) {
    $root = (Resolve-Path -LiteralPath $src).ProviderPath.TrimEnd('\') + '\'
    $keep = ($e.PSObject.Properties.Name -contains 'keep_existing') -and $e.keep_existing
    $only = '*'; if ($e.PSObject.Properties.Name -contains 'only') { $only = [string]$e.only }
    foreach ($f in @(Get-ChildItem -LiteralPath $src -Recurse -File -Force)) {
      if ($f.Name -notlike $only) { continue }
      $to = Join-Path $dst $f.FullName.Substring($root.Length)
      if ($keep -and (Test-Path -LiteralPath $to)) { continue }
      [void](New-Item -ItemType Directory -Force -Path (Split-Path -Parent $to))
      Move-Item -LiteralPath $f.FullName -Destination $to -Force } }
  else { Move-Item -LiteralPath $src -Destination $dst }
  $moved.Add([string]$e.to) }
[IO.File]::WriteAllText((Join-Path $in.copy 'quiesce_domino.json'), [IO.File]::ReadAllText($layoutFile))
Remove-Item -LiteralPath $stage -Recurse -Force
ConvertTo-Json -Compress -InputObject @{ moved = @($moved) }
""",
}


def arrange_step(tools: dict[str, str], copy: str, host: str, timeout: int) -> dict[str, t.Any]:
    rel = layout_path(host)
    return planlib.step(ARRANGE_STEP, cli.powershell_argv(tools, RESTIC_SCRIPTS["restic_arrange"]),
                        stdin=json.dumps({"copy": copy, "layout_rel": rel[0] + rel[2:]}), timeout=timeout)


def compare_step(tools: dict[str, str], repo: str, secret: t.Optional[str], password_file: t.Optional[str], run: str,
                 host: str, manifest: str, units: t.Sequence[dict[str, t.Any]], timeout: int,
                 limit: int = 20) -> dict[str, t.Any]:
    """The verification on the host (RESTIC_SCRIPTS["restic_compare"]): ``manifest``, the source manifest's
    tab-separated listing on the host, against ``restic ls --json`` of this run's snapshot.  ``units``: {"prefix",
    "source"}; a manifest row ``<prefix><rel>`` is the snapshot's file ``<restic path of source>/<rel>``."""
    data = {"manifest": manifest, "limit": limit,
            "argv": base_argv(tools, repo, password_file) + ls_args(run, host),
            "password": None if password_file else secret,
            "units": [{"prefix": u["prefix"], "root": restic_path(u["source"])} for u in units]}
    return planlib.step(COMPARE_STEP, cli.powershell_argv(tools, RESTIC_SCRIPTS["restic_compare"]),
                        stdin=json.dumps(data), timeout=timeout)


def unit_prefixes(units: t.Sequence[dict[str, t.Any]]) -> list[str]:
    """The manifest prefix of each place (``<name>\\``); a name several places share (the single files of
    different folders, all ``files``) is told apart by the place's number: ``files#2\\``."""
    names = [u["name"] for u in units]
    return ["%s\\" % n if names.count(n) == 1 or names.index(n) == i else "%s#%d\\" % (n, i + 1)
            for i, n in enumerate(names)]


def compare_verdict(record: t.Optional[dict[str, t.Any]]) -> t.Optional[dict[str, t.Any]]:
    """What the compare step printed (exit 0 or 1): snapshot_id, snapshot_time, files, difference_count and the
    first differences; None when it printed nothing readable (restic failed: its error is on standard error)."""
    if not record or record.get("rc") not in (0, 1):
        return None
    try:
        doc = cli.parse_json_document(record.get("stdout") or "")
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("difference_count"), int):
        return None
    differences = doc.get("differences")
    doc["differences"] = [str(d) for d in differences] if isinstance(differences, list) else []
    return doc
