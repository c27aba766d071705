# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""robocopy knowledge and the copy layout: argv, summary parsing, exit codes, manifests.

Pure functions, no I/O.  robocopy's words are translated on non-English Windows (German "Verzeich.:",
"FEHLER", Japanese labels and "error" in katakana; samples in tests/unit/data/locale/SOURCES.md), so nothing here reads a
word: the summary table is read by position (the last header line without digits, then rows Dirs, Files,
Bytes, Times in that order, each ``label: six values``; columns Total, Copied, Skipped, Mismatch, FAILED,
Extras), the speed by its place after the Times row, error lines by their ``<code> (0x<code in hex>)`` pair.
Numbers may carry the unit letters k m g t (the same letters in the German and Japanese captures) and the
separators of any locale: ``1,234.5 m``, ``1.234,5 m``, ``1 234,5 m`` (no-break space), ``1'234.5 m``.
"""

from __future__ import annotations

import datetime
import json
import re
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils.locations import LAYOUT_FILE
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli

MODES = ("versioned", "mirror")
RELEASE_STEP = "delete the exposed shadow copy"
COLUMNS = ("total", "copied", "skipped", "mismatch", "failed", "extras")
RC_BITS = {
    16: "serious error: robocopy did not copy any files",
    8: "some files or directories could not be copied (retry limit exceeded)",
    4: "mismatched files or directories were detected",
    2: "extra files or directories were detected",
    1: "one or more files were copied",
}
_STAMP_RE = re.compile(r"^\d{8}T\d{6}Z$")
_HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # an FQDN inventory name as a folder name
_UNIT = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}


def decode_rc(rc: t.Optional[int]) -> dict[str, t.Any]:
    """The robocopy exit code as success flag and the meaning of each bit set."""
    if rc is None:
        return {"ok": False, "meanings": ["robocopy did not finish"]}
    meanings = [text for bit, text in sorted(RC_BITS.items(), reverse=True) if rc & bit]
    return {"ok": rc < 8, "meanings": meanings or ["no errors occurred and no copying was done"]}


# Grouping separators robocopy's numbers may carry besides "." and ",": space, no-break space (U+00A0, fr-FR),
# narrow no-break space (U+202F), apostrophes (de-CH).  Columns are separated by ASCII spaces or tabs only.
_GROUPING = " \u00a0\u202f'\u2019"
_NUM = r"\d[\d.,\u00a0\u202f'\u2019]*"
_VALUE = r"(%s)(?:[ \t]+([kmgtKMGT]))?(?=[ \t]|$)" % _NUM
_ROW_RE = re.compile(r"^[^:]+:(?:[ \t]*%s(?:[ \t]+[kmgtKMGT])?(?=[ \t]|$)){6,}[ \t]*$" % _NUM)
_SPEED_RE = re.compile(r"^[^:]+:[ \t]*(%s)[ \t]+\S*/" % _NUM)
_ERROR_CODE_RE = re.compile(r"(?:^|[ \t])\S+[ \t]+(\d{1,10})[ \t]+\(0x([0-9A-Fa-f]{8})\)")


def _decimal(raw: str) -> float:
    """A number in any locale's notation.  Both "." and ",": the last one is the decimal mark.  One of them
    once: the decimal mark (robocopy prints unit values as a mantissa below 1024 with decimals, 45.476 g);
    several times: grouping.  Spaces and apostrophes always group."""
    text = "".join(ch for ch in raw.strip() if ch not in _GROUPING)
    if "," in text and "." in text:
        mark = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if mark == "," else ",", "").replace(mark, ".")
    elif text.count(",") + text.count(".") > 1:
        text = text.replace(",", "").replace(".", "")
    else:
        text = text.replace(",", ".")
    return float(text)


def _integer(raw: str) -> int:
    """A count or byte number without unit: every separator groups digits."""
    digits = re.sub(r"\D", "", raw)
    if not digits:
        raise ValueError(raw)
    return int(digits)


def _number(token: str) -> int:
    """``16.00 m``, ``1,5 g``, ``1 234`` or plain numbers (with thousands separators) -> bytes/count."""
    match = re.fullmatch(r"(%s)[ \t]*([kmgtKMGT]?)" % _NUM, token.strip())
    if not match:
        raise ValueError(token)
    raw, unit = match.groups()
    if unit:
        return int(round(_decimal(raw) * _UNIT[unit.lower()]))
    return _integer(raw)


def _row_values(line: str) -> t.Optional[list[int]]:
    """The values of a summary row ``<any label>: v v v v v v`` (six or more), or None."""
    if not _ROW_RE.match(line):
        return None
    values = line.split(":", 1)[1]
    return [_number(raw + (" " + unit if unit else "")) for raw, unit in re.findall(_VALUE, values)]


def parse_summary(text: str) -> t.Optional[dict[str, t.Any]]:
    """The last summary table: dirs, files, bytes (each six columns) and the speed in bytes/s (None when
    robocopy printed none, as it does when nothing was copied)."""
    lines = [line.rstrip("\r") for line in text.replace("\r\n", "\n").split("\n")]
    start = None
    for i in range(1, len(lines) - 2):
        header = lines[i - 1].strip()
        if header and not re.search(r"\d", header) and ":" not in header and \
                all(_row_values(line) is not None for line in lines[i:i + 3]):
            start = i
    if start is None:
        return None
    rows = [_row_values(line) or [] for line in lines[start:start + 3]]
    summary: dict[str, t.Any] = {name: dict(zip(COLUMNS, row[:6])) for name, row in zip(("dirs", "files", "bytes"), rows)}
    # After the Times row (start + 3) come two speed lines, bytes per second first, then the end time.
    speed = None
    for line in lines[start + 4:start + 10]:
        match = _SPEED_RE.match(line)
        if match:
            speed = _integer(match.group(1))  # whole bytes per second; any separator only groups digits
            break
    summary["bytes_per_second"] = speed
    return summary


def error_lines(text: str) -> list[str]:
    """robocopy's error lines with the message that follows each: ``<date> <time> ERROR 32 (0x00000020)
    Copying File ...`` (``FEHLER`` in German, katakana in Japanese), found by the code printed twice, in
    decimal and in hex, whatever the word before it."""
    lines = text.replace("\r\n", "\n").split("\n")
    found = []
    for i, line in enumerate(lines):
        match = _ERROR_CODE_RE.search(line)
        if match and int(match.group(1)) == int(match.group(2), 16):
            detail = lines[i + 1].strip() if i + 1 < len(lines) else ""
            found.append((line.strip() + (" - " + detail if detail else "")).strip())
    return found


def stamp(now: datetime.datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ")


def host_folder(option: str, name: str) -> str:
    if isinstance(name, str):
        cli.check_chars(option, name)
    if not _HOST_RE.fullmatch(name or ""):
        raise cli.OptionError("%s: %r is not usable as a folder name; use letters, digits and ._-" % (option, name))
    if name.endswith(".") or cli.is_reserved_name(name):
        raise cli.OptionError("%s: %r is not usable as a folder name; Windows drops a final dot and reserves device "
                              "names (CON, NUL, COM1, LPT1...)" % (option, name))
    return name


def layout(destination: str, host: str, mode: str, when: str) -> dict[str, str]:
    """Where a copy goes: versioned ``<dest>\\<host>\\<stamp>`` (data first in ``.partial``), or the
    rolling mirror ``<dest>\\<host>\\current`` with an ``.INCOMPLETE`` marker while it is written."""
    base = "%s\\%s" % (destination.rstrip("\\"), host)
    if mode == "mirror":
        return {"base": base, "work": base + "\\current", "final": base + "\\current",
                "manifest": base + "\\current.manifest.json", "log": base + "\\current.robocopy.log",
                "marker": base + "\\current.INCOMPLETE", "source_tsv": base + "\\current.source.tsv", "copy_tsv": base + "\\current.copy.tsv",
                "deltas_tsv": base + "\\current.deltas.tsv"}
    return {"base": base, "work": "%s\\%s.partial" % (base, when), "final": "%s\\%s" % (base, when),
            "manifest": "%s\\%s.manifest.json" % (base, when), "log": "%s\\%s.robocopy.log" % (base, when),
            "marker": "", "source_tsv": "%s\\%s.source.tsv" % (base, when), "copy_tsv": "%s\\%s.copy.tsv" % (base, when),
            "deltas_tsv": "%s\\%s.deltas.tsv" % (base, when)}


def robocopy_argv(tools: dict[str, str], source: str, target: str, mode: str, retries: int, wait: int, threads: int,
                  unbuffered: bool, log: t.Optional[str], listing: bool = False, exclude_dirs: t.Sequence[str] = (),
                  exclude_files: t.Sequence[str] = (), ignore_extras: bool = False) -> list[str]:
    """``exclude_dirs`` (/XD, full paths), ``exclude_files`` (/XF, names); ``ignore_extras`` (/XX) leaves
    files that are only in the target alone (with /L: does not count them as differences)."""
    argv = [tools["robocopy"], source, target, "/MIR" if mode == "mirror" else "/E", "/B", "/R:%d" % retries,
            "/W:%d" % wait, "/MT:%d" % threads, "/COPY:DAT", "/DCOPY:DAT", "/BYTES", "/NP", "/NDL", "/XJ"]
    if unbuffered:
        argv.append("/J")
    if exclude_dirs:
        argv += ["/XD"] + list(exclude_dirs)
    if exclude_files:
        argv += ["/XF"] + list(exclude_files)
    if ignore_extras:
        argv.append("/XX")
    if listing:
        argv += ["/L", "/NFL"]
    elif log:
        argv += ["/UNILOG:%s" % log, "/TEE"]
    return argv


# Constant PowerShell scripts; their data arrives as JSON on standard input, never as code.
FS_SCRIPTS = {
    # The same walk as the manifest: junctions and symbolic links are not followed (robocopy /XJ), a volume's
    # System Volume Information and recycle bin are not counted.
    "fit": r"""# quiesce.domino:fit
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$in = [Console]::In.ReadToEnd() | ConvertFrom-Json
$need = [int64]0; $count = 0
foreach ($s in @($in.sources)) {
  if ($null -ne $s.files) { foreach ($n in @($s.files)) { $need += (Get-Item -LiteralPath (Join-Path $s.path $n) -Force).Length; $count++ }; continue }
  $todo = New-Object System.Collections.Generic.Stack[string]
  $todo.Push($s.path)
  while ($todo.Count -gt 0) {
    foreach ($c in @(Get-ChildItem -LiteralPath $todo.Pop() -Force)) {
      if (($c.Attributes -band [IO.FileAttributes]::ReparsePoint) -and @('Junction', 'SymbolicLink') -contains [string]$c.LinkType) { continue }
      if ($c.PSIsContainer) { if (@('System Volume Information', '$RECYCLE.BIN') -notcontains $c.Name) { $todo.Push($c.FullName) }; continue }
      $need += $c.Length; $count++ } } }
[void](New-Item -ItemType Directory -Force -Path $in.base)
$free = [int64]0; $null = [Quiesce.Disk]::GetDiskFreeSpaceEx($in.base, [ref]$free, [ref]0, [ref]0)
ConvertTo-Json -Compress -InputObject @{ source_bytes = $need; source_files = $count; free_bytes = $free }
if ($free -lt [int64]($need * $in.margin)) { exit 112 }
""",
    # The listing skips junctions and symbolic links (robocopy /XJ does not copy them either) and reports them;
    # with fail_on_links (the source listing of a copy, unless skip_links) it then exits 3: a volume mounted in a
    # data directory, or a junction to another folder, would be missing from a copy marked verified.
    # System Volume Information and $RECYCLE.BIN are skipped at any depth, as robocopy's /XD with a bare name skips
    # them; a unit's exclude_dirs (the hook's state folder) only at its top.
    # Nothing is held per file: each row is written when its file is found, to a tab-separated file for the
    # host-side comparison, to the JSON manifest beside the copy, or to standard output (print_rows, small
    # listings only); the summary is printed otherwise.  Listing order (listing_key): siblings in ordinal
    # order of their upper-case names and a folder's contents right after it, so every listing is sorted by
    # its path with '\' below every other character and the compare script merges listings line by line.
    # Win32 names hold no control characters or '"' (Naming Files, Paths, and Namespaces), so a path needs
    # only '\' escaped in JSON.
    "manifest": r"""# quiesce.domino:manifest
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$in = [Console]::In.ReadToEnd() | ConvertFrom-Json
$inv = [Globalization.CultureInfo]::InvariantCulture
$utf8 = New-Object Text.UTF8Encoding($false)
$state = @{ files = 0; bytes = [int64]0; rows = 0; links = 0 }
$links = New-Object System.Collections.Generic.List[string]
$anyDepth = @('System Volume Information', '$RECYCLE.BIN')
function Get-Prop($Object, [string]$Name) { $found = $Object.PSObject.Properties[$Name]; if ($null -eq $found) { return $null }; return $found.Value }
$failLinks = [bool](Get-Prop $in 'fail_on_links')
$tsv = $null; $json = $null; $printed = $null
function Get-ListingKey([string]$Rel) { return $Rel.ToUpperInvariant().Replace('\', [string][char]1) }
function Push-Sorted($Stack, [object[]]$Items, [string]$Root) {
  if ($Items.Count -eq 0) { return }
  $keys = [string[]]@(foreach ($i in $Items) { Get-ListingKey $i.FullName.Substring($Root.Length) })
  [Array]::Sort($keys, $Items, [StringComparer]::Ordinal)
  for ($n = $Items.Count - 1; $n -ge 0; $n--) { $Stack.Push($Items[$n]) } }
function Write-Row([string]$Path, [int64]$Size, [string]$Mtime, [string]$Sha) {
  $state.files++; $state.bytes += $Size
  if ($null -ne $tsv) { $tsv.WriteLine($Path + "`t" + $Size.ToString($inv) + "`t" + $Mtime + "`t" + $Sha) }
  if ($null -ne $json -or $null -ne $printed) {
    $text = '{"path":"' + $Path.Replace('\', '\\') + '","size":' + $Size.ToString($inv) + ',"mtime":"' + $Mtime + '"'
    if ($Sha) { $text += ',"sha256":"' + $Sha + '"' }
    $text += '}'
    if ($state.rows -gt 0) { $text = ',' + $text }
    if ($null -ne $json) { $json.Write($text) }
    if ($null -ne $printed) { [void]$printed.Append($text) }
    $state.rows++ } }
try {
  if ($in.out_tsv) { $tsv = New-Object IO.StreamWriter($in.out_tsv, $false, $utf8) }
  if ($in.out_json) { $json = New-Object IO.StreamWriter($in.out_json, $false, $utf8); $json.Write('[') }
  if ($in.print_rows) { $printed = New-Object Text.StringBuilder; [void]$printed.Append('[') }
  foreach ($u in @($in.units)) {
    $root = (Resolve-Path -LiteralPath $u.root).ProviderPath.TrimEnd('\') + '\'
    $skipDirs = @($u.exclude_dirs); $skipFiles = @(@($u.exclude_files) | Where-Object { $null -ne $_ })
    $todo = New-Object System.Collections.Generic.Stack[object]
    if ($null -ne $u.files) { Push-Sorted $todo ([object[]]@(foreach ($n in @($u.files)) { Get-Item -LiteralPath (Join-Path $root $n) -Force })) $root }
    else { Push-Sorted $todo ([object[]]@(Get-ChildItem -LiteralPath $root -Force)) $root }
    while ($todo.Count -gt 0) {
      $c = $todo.Pop()
      $rel = $c.FullName.Substring($root.Length)
      if (($c.Attributes -band [IO.FileAttributes]::ReparsePoint) -and @('Junction', 'SymbolicLink') -contains [string]$c.LinkType) {
        $state.links++; if ($links.Count -lt 20) { $links.Add([string]$u.prefix + $rel) }; continue }
      if ($c.PSIsContainer) {
        $skipped = ($skipDirs -contains $rel.Split('\')[0]) -or ($anyDepth -contains $c.Name)
        if (-not $skipped) { Push-Sorted $todo ([object[]]@(Get-ChildItem -LiteralPath $c.FullName -Force)) $root }
        continue }
      $skip = $false
      foreach ($pattern in $skipFiles) { if ($c.Name -like $pattern) { $skip = $true; break } }
      if ($skip) { continue }
      $sha = ''
      if ($in.sha256) { $sha = (Get-FileHash -LiteralPath $c.FullName -Algorithm SHA256).Hash.ToLowerInvariant() }
      Write-Row ([string]$u.prefix + $rel) $c.Length $c.LastWriteTimeUtc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", $inv) $sha } }
  if ($null -ne $json) { $json.Write(']') } }
finally {
  if ($null -ne $tsv) { $tsv.Close() }
  if ($null -ne $json) { $json.Close() } }
if ($null -ne $printed) { [void]$printed.Append(']'); $printed.ToString() }
else {
  $summary = [ordered]@{ files = $state.files; bytes = $state.bytes; links_skipped = @($links); links_count = $state.links }
  ConvertTo-Json -Compress -Depth 3 -InputObject $summary }
if ($failLinks -and $state.links -gt 0) {
  $why = '{0} junctions, volume mount points or symbolic links in the sources are not copied (robocopy /XJ), ' -f $state.links
  [Console]::Error.WriteLine($why + 'so what they lead to would be missing from the copy: ' + ($links -join ', '))
  exit 3 }
""",
    # The host-side comparison of a copy's listing with its sources' listings (tab-separated files the manifest
    # script wrote, each in listing order): a merge that reads one row of each listing at a time, so its memory
    # does not grow with the number of files.  A listing out of order is an error, never a pass.  Only a bounded
    # summary comes back (the first differences in listing order); exit 1 on any difference, so nothing is
    # finalized.  When two sources list the same path, the later source's row counts (the kept .DELTA files).
    "compare": r"""# quiesce.domino:compare
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$in = [Console]::In.ReadToEnd() | ConvertFrom-Json
$utf8 = New-Object Text.UTF8Encoding($false)
$sep = [string][char]1
function Get-Prop($Object, [string]$Name) { $found = $Object.PSObject.Properties[$Name]; if ($null -eq $found) { return $null }; return $found.Value }
function Get-ListingKey([string]$Rel) { return $Rel.ToUpperInvariant().Replace('\', $sep) }
function Test-Under([string]$Key, [string[]]$Prefixes) {
  foreach ($p in $Prefixes) { if ($Key.StartsWith($p, [StringComparison]::Ordinal)) { return $true } }
  return $false }
function Move-Next($Listing) {
  while ($true) {
    $line = $Listing.reader.ReadLine()
    if ($null -eq $line) { $Listing.row = $null; $Listing.key = $null; return }
    $p = $line.Split("`t")
    if ($p.Count -lt 3) { continue }
    $key = Get-ListingKey $p[0]
    if ($null -ne $Listing.key -and [string]::CompareOrdinal($key, $Listing.key) -le 0) {
      throw ('{0} is not in listing order at {1}' -f $Listing.file, $p[0]) }
    $Listing.row = $p; $Listing.key = $key; return } }
function Open-Listing([string]$File) {
  $listing = @{ file = $File; reader = (New-Object IO.StreamReader($File, $utf8)); row = $null; key = $null }
  Move-Next $listing
  return $listing }
function Get-NextWanted($Listings) {
  $least = $null
  foreach ($l in $Listings) { if ($null -ne $l.key -and ($null -eq $least -or [string]::CompareOrdinal($l.key, $least) -lt 0)) { $least = $l.key } }
  if ($null -eq $least) { return $null }
  $row = $null
  foreach ($l in $Listings) { if ($null -ne $l.key -and [string]::CompareOrdinal($l.key, $least) -eq 0) { $row = $l.row; Move-Next $l } }
  return @{ key = $least; row = $row } }
$state = @{ count = 0 }
$shown = New-Object System.Collections.Generic.List[string]
function Add-Problem([string]$Text) { $state.count++; if ($shown.Count -lt 20) { $shown.Add($Text) } }
$under = [string[]]@(@($in.under) | Where-Object { $_ } | ForEach-Object { Get-ListingKey $_ })
$extraOk = [string[]]@(@($in.extras_allowed_under) | Where-Object { $_ } | ForEach-Object { Get-ListingKey $_ })
$required = New-Object 'System.Collections.Generic.Dictionary[string,string]' ([StringComparer]::Ordinal)
if ($in.required) {
  $kept = [IO.File]::ReadAllText($in.required.file) | ConvertFrom-Json
  foreach ($d in @(Get-Prop $kept 'deltas')) {
    if ($null -eq $d) { continue }
    $rel = [string](Get-Prop $d 'path')
    $required[(Get-ListingKey ([string]$in.required.prefix + $rel))] = $rel } }
$sources = New-Object System.Collections.Generic.List[object]
$copy = $null
$files = 0
try {
  foreach ($file in @($in.sources)) { $sources.Add((Open-Listing $file)) }
  $copy = Open-Listing $in.copy
  $want = Get-NextWanted $sources
  while ($null -ne $copy.key -or $null -ne $want) {
    if ($null -eq $want) { $order = -1 } elseif ($null -eq $copy.key) { $order = 1 } else { $order = [string]::CompareOrdinal($copy.key, $want.key) }
    if ($order -gt 0) { Add-Problem ('missing in the copy: ' + $want.row[0]); $want = Get-NextWanted $sources; continue }
    $r = $copy.row
    if (Test-Under $copy.key $under) {
      $files++; [void]$required.Remove($copy.key)
      if ($order -lt 0) { if (-not (Test-Under $copy.key $extraOk)) { Add-Problem ('extra in the copy: ' + $r[0]) } }
      else {
        $w = $want.row
        if ($r[1] -ne $w[1]) { Add-Problem ('size differs: {0} ({1} != {2})' -f $r[0], $w[1], $r[1]) }
        elseif ($r[2] -ne $w[2]) { Add-Problem ('modification time differs: ' + $r[0]) }
        elseif ($w.Count -ge 4 -and $r.Count -ge 4 -and $w[3] -and $r[3] -and $r[3] -ne $w[3]) { Add-Problem ('SHA-256 differs: ' + $r[0]) } } }
    elseif ($order -eq 0) { Add-Problem ('missing in the copy: ' + $want.row[0]) }
    Move-Next $copy
    if ($order -eq 0) { $want = Get-NextWanted $sources } } }
finally {
  foreach ($l in $sources) { $l.reader.Close() }
  if ($null -ne $copy) { $copy.reader.Close() } }
foreach ($rel in $required.Values) { Add-Problem ('a delta file the hook kept is not in the copy: ' + $rel) }
ConvertTo-Json -Compress -InputObject @{ files = $files; difference_count = $state.count; differences = @($shown) }
if ($state.count -gt 0) { exit 1 }
""",
    # NLO files never change once written; the ones written since the snapshot (referenced by change info applied
    # after it) are copied into the copy's DAOS folder when they are complete.  A file is taken only when it can be
    # opened denying writers (FileShare.Read): one that Domino still writes is skipped until the next backup, as
    # HCL allows for NLOs in use.  Existing files in the copy are never overwritten.
    "top_up": r"""# quiesce.domino:top_up
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$in = [Console]::In.ReadToEnd() | ConvertFrom-Json
$root = (Resolve-Path -LiteralPath $in.source).ProviderPath.TrimEnd('\') + '\'
$have = New-Object 'System.Collections.Generic.HashSet[string]' ([StringComparer]::OrdinalIgnoreCase)
if ([IO.Directory]::Exists($in.target)) {
  $t = $in.target.TrimEnd('\') + '\'
  foreach ($p in [IO.Directory]::EnumerateFiles($in.target, '*', [IO.SearchOption]::AllDirectories)) { [void]$have.Add($p.Substring($t.Length)) } }
$copied = 0; $busy = New-Object System.Collections.Generic.List[string]
foreach ($path in [IO.Directory]::EnumerateFiles($root, '*', [IO.SearchOption]::AllDirectories)) {
  if (-not $path.EndsWith($in.extension, [StringComparison]::OrdinalIgnoreCase)) { continue }
  $rel = $path.Substring($root.Length)
  if ($have.Contains($rel)) { continue }
  $dest = Join-Path $in.target $rel
  $src = $null; $out = $null
  try {
    $src = [IO.File]::Open($path, [IO.FileMode]::Open, [IO.FileAccess]::Read, ([IO.FileShare]::Read -bor [IO.FileShare]::Delete))
    [void][IO.Directory]::CreateDirectory([IO.Path]::GetDirectoryName($dest))
    $out = [IO.File]::Open($dest, [IO.FileMode]::CreateNew, [IO.FileAccess]::Write, [IO.FileShare]::None)
    $src.CopyTo($out); $out.Close(); $out = $null
    [IO.File]::SetLastWriteTimeUtc($dest, [IO.File]::GetLastWriteTimeUtc($path))
    $copied++ }
  catch [IO.IOException] {
    # a sharing or lock violation (HRESULT 0x80070020 / 0x80070021): Domino still writes it, the next backup takes it
    $e = $_.Exception
    while ($null -ne $e -and -not ($e -is [IO.IOException])) { $e = $e.InnerException }
    $code = if ($null -ne $e) { $e.HResult -band 0xFFFF } else { 0 }
    if ($code -ne 32 -and $code -ne 33) { throw }
    $busy.Add($rel)
    if ($null -ne $out) { $out.Close(); $out = $null; Remove-Item -LiteralPath $dest -Force -ErrorAction SilentlyContinue } }
  finally { if ($null -ne $out) { $out.Close() }; if ($null -ne $src) { $src.Close() } } }
ConvertTo-Json -Compress -InputObject @{ copied = $copied; in_use = @($busy | Select-Object -First 20); in_use_count = $busy.Count }
""",
    "write_text": (
        "# quiesce.domino:write_text\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "[void](New-Item -ItemType Directory -Force -Path (Split-Path -Parent $in.path))\n"
        "[System.IO.File]::WriteAllText($in.path, [string]$in.text)\n"
    ),
    "finalize": (
        "# quiesce.domino:finalize\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "if ($in.from -ne $in.to) { Rename-Item -LiteralPath $in.from -NewName (Split-Path -Leaf $in.to) }\n"
        "if ($in.marker) { Remove-Item -LiteralPath $in.marker -Force -ErrorAction SilentlyContinue }\n"
        "foreach ($p in @($in.remove)) { if ($p) { Remove-Item -LiteralPath $p -Force -ErrorAction SilentlyContinue } }\n"
    ),
    "mark": (
        "# quiesce.domino:mark\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "[void](New-Item -ItemType Directory -Force -Path (Split-Path -Parent $in.path))\n"
        "[System.IO.File]::WriteAllText($in.path, 'copy in progress or failed; not a complete backup')\n"
    ),
    "prune_siblings": (
        "# quiesce.domino:prune_siblings\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "$gone = @(Get-ChildItem -LiteralPath $in.parent -Directory -ErrorAction SilentlyContinue |"
        " Where-Object { $_.Name -ne $in.keep } | ForEach-Object { Remove-Item -LiteralPath $_.FullName -Recurse -Force; $_.Name })\n"
        "ConvertTo-Json -Compress -InputObject @{ removed = $gone }\n"
    ),
    "taken_in_backup_mode": (
        "# quiesce.domino:taken_in_backup_mode\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "$hold = Join-Path (Join-Path $in.root 'quiesce_domino') 'hold'\n"
        "$held = (Test-Path -LiteralPath (Join-Path $hold 'held.json')) -and -not (Test-Path -LiteralPath (Join-Path $hold 'done.json'))\n"
        "ConvertTo-Json -Compress -InputObject @{ held = $held }\n"
        "if ($held) { exit 1 }\n"
    ),
    "no_deltas": (
        "# quiesce.domino:no_deltas\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "$found = @(foreach ($p in @($in.places)) { if ($p.recurse) {"
        " if (Test-Path -LiteralPath $p.path) { Get-ChildItem -LiteralPath $p.path -Recurse -File -Force -Filter '*.DELTA' |"
        " Select-Object -First 20 | ForEach-Object { $_.FullName } } }"
        " elseif (Test-Path -LiteralPath $p.path -PathType Leaf) { $p.path } })\n"
        "ConvertTo-Json -Compress -InputObject @{ deltas = $found }\n"
        "if ($found.Count -gt 0) { exit 1 }\n"
    ),
    # The named databases and folders a restore takes from a copy are there: robocopy copies nothing for a name it
    # does not find and still exits 0, so a restore of a mistyped database would report success.  Exit 1 names them.
    "in_copy": (
        "# quiesce.domino:in_copy\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "$missing = @(foreach ($p in @($in.places)) { if (-not (Test-Path -LiteralPath $p.path)) { $p.path } })\n"
        "ConvertTo-Json -Compress -InputObject @{ missing = $missing }\n"
        "if ($missing.Count -gt 0) { exit 1 }\n"
    ),
    "remove_stale_deltas": (
        "# quiesce.domino:remove_stale_deltas\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "$root = (Resolve-Path -LiteralPath $in.copy).ProviderPath.TrimEnd('\\') + '\\'\n"
        "$gone = @(foreach ($f in Get-ChildItem -LiteralPath $root -Recurse -File -Force -Include '*.nsf', '*.ntf', '*.box') {\n"
        "  if (Test-Path -LiteralPath ($f.FullName + '.DELTA')) { continue }\n"
        "  $stale = Join-Path $in.target ($f.FullName.Substring($root.Length) + '.DELTA')\n"
        "  if (Test-Path -LiteralPath $stale) { Remove-Item -LiteralPath $stale -Force; $stale } })\n"
        "ConvertTo-Json -Compress -InputObject @{ removed = $gone }\n"
    ),
    "read_layout": (
        "# quiesce.domino:read_layout\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "if (-not (Test-Path -LiteralPath $in.copy -PathType Container)) { exit 2 }\n"
        "$file = Join-Path $in.copy 'quiesce_domino.json'\n"
        "$text = if (Test-Path -LiteralPath $file -PathType Leaf) { [IO.File]::ReadAllText($file) } else { $null }\n"
        "ConvertTo-Json -Compress -InputObject @{ layout = $text;"
        " data_folder = (Test-Path -LiteralPath (Join-Path $in.copy 'data') -PathType Container) }\n"
    ),
    "plain_folder": (
        "# quiesce.domino:plain_folder\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "$dir = Get-Item -LiteralPath $in.path -Force\n"
        "$dir.Attributes = $dir.Attributes -band -bnot ([IO.FileAttributes]::Hidden -bor [IO.FileAttributes]::System)\n"
    ),
    "letters_free": (
        "# quiesce.domino:letters_free\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "$taken = @(foreach ($l in @($in.letters)) { if ([IO.Directory]::Exists($l + '\\')) { $l } })\n"
        "ConvertTo-Json -Compress -InputObject @{ taken = $taken }\n"
        "if ($taken.Count -gt 0) { exit 1 }\n"
    ),
    "set_aside": (
        "# quiesce.domino:set_aside\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "$item = Get-Item -LiteralPath $in.path -Force -ErrorAction SilentlyContinue\n"
        "if ($null -eq $item -and [IO.Directory]::Exists($in.path)) { throw ('cannot read ' + $in.path) }\n"
        "if ($null -ne $item) { Move-Item -LiteralPath $in.path -Destination $in.to }\n"
        "ConvertTo-Json -Compress -InputObject @{ moved = ($null -ne $item); to = $in.to }\n"
    ),
    "undo_aside": (
        "# quiesce.domino:undo_aside\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "if (-not (Test-Path -LiteralPath $in.aside)) { ConvertTo-Json -Compress -InputObject @{ undone = $false }; exit 0 }\n"
        "if (Test-Path -LiteralPath $in.path) { Move-Item -LiteralPath $in.path -Destination $in.failed }\n"
        "Move-Item -LiteralPath $in.aside -Destination $in.path\n"
        "ConvertTo-Json -Compress -InputObject @{ undone = $true; half_restored = $in.failed }\n"
    ),
    "remove": (
        "# quiesce.domino:remove\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "foreach ($p in $in.paths) { if (Test-Path -LiteralPath $p) { Remove-Item -LiteralPath $p -Recurse -Force } }\n"
    ),
    "progress": (
        "# quiesce.domino:progress\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "$rows = @(Get-ChildItem -LiteralPath $in.base -Directory -ErrorAction SilentlyContinue |"
        " Where-Object { $_.Name -like '*.partial' -or $_.Name -eq 'current' } | ForEach-Object {"
        " $b = [int64]0; $n = 0; foreach ($f in Get-ChildItem -LiteralPath $_.FullName -Recurse -File -Force) { $b += $f.Length; $n++ };"
        " @{ name = $_.Name; bytes = $b; files = $n } })\n"
        "ConvertTo-Json -Compress -Depth 3 -InputObject @{ copies = $rows }\n"
    ),
    "retention": (
        "# quiesce.domino:retention\nSet-StrictMode -Version 2.0\n$ErrorActionPreference = 'Stop'\n"
        "$in = [Console]::In.ReadToEnd() | ConvertFrom-Json\n"
        "function Get-Prop($Object, [string]$Name) { $found = $Object.PSObject.Properties[$Name];"
        " if ($null -eq $found) { return $null }; return $found.Value }\n"
        "$protect = Get-Prop $in 'protect'\n"
        "$dry = [bool](Get-Prop $in 'dry_run')\n"
        "$partials = @()\n"
        "$done = @(Get-ChildItem -LiteralPath $in.base -Directory | Where-Object { $_.Name -match '^\\d{8}T\\d{6}Z$' } |"
        " Sort-Object Name -Descending)\n"
        "$limit = [DateTime]::UtcNow.AddSeconds(-[int64]$in.max_age_seconds)\n"
        "$old = @($done | Select-Object -Skip 1 | Where-Object { $in.max_age_seconds -gt 0 -and"
        " [DateTime]::ParseExact($_.Name, \"yyyyMMdd'T'HHmmss'Z'\", [Globalization.CultureInfo]::InvariantCulture) -lt $limit })\n"
        "$extra = @(if ($in.keep -gt 0) { $done | Select-Object -Skip $in.keep })\n"
        "$old = @($old | Where-Object { $_.Name -ne $protect }); $extra = @($extra | Where-Object { $_.Name -ne $protect })\n"
        "foreach ($p in @(Get-ChildItem -LiteralPath $in.base -Directory -Filter '*.partial' |"
        " Where-Object { $in.max_age_seconds -gt 0 -and $_.LastWriteTimeUtc -lt $limit })) {"
        " $partials += $p.Name; if (-not $dry) { Remove-Item -LiteralPath $p.FullName -Recurse -Force } }\n"
        "$gone = @(@($old) + @($extra) | Sort-Object Name -Unique | ForEach-Object { if (-not $dry) {"
        " Remove-Item -LiteralPath $_.FullName -Recurse -Force;"
        " Remove-Item -LiteralPath ($_.FullName + '.manifest.json') -Force -ErrorAction SilentlyContinue;"
        " Remove-Item -LiteralPath ($_.FullName + '.robocopy.log') -Force -ErrorAction SilentlyContinue }; $_.Name })\n"
        "ConvertTo-Json -Compress -InputObject @{ removed = $gone; partials_removed = $partials; dry_run = $dry }\n"
    ),
}
# GetDiskFreeSpaceEx works for local folders and UNC shares alike.
_DISK_TYPE = (
    "Add-Type -Namespace Quiesce -Name Disk -MemberDefinition '[DllImport(\"kernel32.dll\", CharSet = CharSet.Unicode)]"
    " public static extern bool GetDiskFreeSpaceEx(string d, out long a, out long t, out long f);'\n"
)


def fs_step(name: str, tools: dict[str, str], script: str, data: dict[str, t.Any], **kw: t.Any) -> dict[str, t.Any]:
    body = FS_SCRIPTS[script]
    if script == "fit":
        body = body.replace("$ErrorActionPreference = 'Stop'\n", "$ErrorActionPreference = 'Stop'\n" + _DISK_TYPE, 1)
    return planlib.step(name, cli.powershell_argv(tools, body), stdin=json.dumps(data), **kw)


DELTAS_WAIT_STEP = "wait for the delta files"
BACKUP_MODE_STEP = "the snapshot was not taken in backup mode"
DELTAS_COPY_STEP = "copy the delta files"
DELTAS_MANIFEST_STEP = "delta manifest"
DAOS_TOPUP_STEP = "top up the DAOS objects written since the snapshot"
SOURCE_MANIFEST_STEP = "source manifest"
COPY_MANIFEST_STEP = "copy manifest"
COMPARE_STEP = "compare the manifests"
RETENTION_STEP = "retention"
LAYOUT_STEP = "write the layout"


def files_argv(tools: dict[str, str], source: str, target: str, names: t.Sequence[str], retries: int, wait: int,
               threads: int, unbuffered: bool, log: t.Optional[str], listing: bool = False,
               ignore_extras: bool = True) -> list[str]:
    """robocopy for named files of one folder (no /E, no purge: other files in the target stay)."""
    argv = robocopy_argv(tools, source, target, "versioned", retries, wait, threads, unbuffered, log, listing=listing,
                         ignore_extras=ignore_extras)
    argv[3:4] = list(names)
    return argv


def unit_step_names(unit: dict[str, t.Any]) -> tuple[str, str]:
    """The copy and verify steps of one place (the data directory keeps the plain names)."""
    if unit["name"] == "data":
        return "copy", "verify"
    label = unit["name"] + ("" if unit.get("files") is None else " " + ",".join(unit["files"]))
    return "copy %s" % label, "verify %s" % label


# Never part of a copy: the volume's own folders (a place at a volume root) and the DAOS index files, which HCL
# says not to back up (Domino rebuilds them; run tell daosmgr resync after a restore).
SKIP_DIRS = ("System Volume Information", "$RECYCLE.BIN")
SKIP_FILES = ("daoscat.nsf", "daos.cfg", "daos.cf2")


def copy_plan(tools: dict[str, str], platform: str, units: t.Sequence[dict[str, t.Any]], where: dict[str, str], mode: str,
              retries: int, wait: int, threads: int, unbuffered: bool, sha256: bool, margin: float, keep: int,
              timeout: int, layout_text: str, release_script: t.Optional[str] = None,
              extra_finally: t.Sequence[dict[str, t.Any]] = (),
              deltas: t.Optional[dict[str, t.Any]] = None,
              daos_live: t.Optional[dict[str, str]] = None,
              context: t.Optional[dict[str, t.Any]] = None, skip_links: bool = False) -> dict[str, t.Any]:
    """One call: fit check, copy of every place, verify, manifests compared on the host, finalize, retention.
    A junction, mount point or symbolic link in a place fails the copy before it is finalized, unless
    ``skip_links`` (then it is left out and reported).
    A failure removes the partial copy (versioned) or leaves the INCOMPLETE marker (mirror); nothing is
    finalized and no older copy is removed unless the copy matched its sources.

    ``units`` (locations.robocopy_units; the data directory first, named ``data``): each place is copied into
    ``<copy>\\<name>``, and ``layout_text`` is written as ``<copy>\\quiesce_domino.json``.

    ``deltas`` (method backup_task): {"folder", "wait_step", "state_dir"}.  The copy waits until the hook has
    kept this backup's .DELTA files (``wait_step``; never arriving fails the copy), copies the data without
    the hook's own folder, then puts every delta beside its database in the copy; the comparison includes
    them and requires every delta the hook listed.  After the copy is finalized, the delta folders of earlier
    backups are removed from the data directory.

    ``daos_live`` ({"source": live DAOS store, "target": its folder in the copy}): change info applied after
    the snapshot (a .DELTA, or the VSS writer's auto-recovery in the shadow copy) can reference DAOS objects
    written after it, so the copy's DAOS folder is topped up from the live store once the databases are
    copied (HCL: back up the .nsf files before the .nlo files; NLO files never change once written): only
    missing ``.nlo`` files that no process is writing, never overwriting one.  Those extra objects are not held against the copy."""
    data = units[0]
    source = data["source"]
    skip_names = list(SKIP_DIRS)
    steps = [fs_step("check free space", tools, "fit", {"sources": [{"path": u["source"], "files": u.get("files")} for u in units],
                                                        "base": where["base"], "margin": margin}, timeout=600)]
    skip_dirs: list[str] = []
    skip_files: list[str] = []
    if not deltas:
        # A snapshot taken while the backup_task hook held the databases (held.json without done.json in it) is
        # consistent only with its .DELTA files: without deltas_from it is not copied as a backup at all.
        steps.append(fs_step(BACKUP_MODE_STEP, tools, "taken_in_backup_mode", {"root": source}, timeout=120))
    if deltas:
        steps.append(deltas["wait_step"])
        skip_dirs = [deltas["state_dir"]]
        # A .DELTA left in the data directory by an earlier backup is not this backup's change info: only the
        # deltas the integration kept for this backup go into the copy.
        skip_files = ["*.DELTA"]
    if mode == "mirror":
        steps.append(fs_step("mark incomplete", tools, "mark", {"path": where["marker"]}))
    for unit in units:
        target = "%s\\%s" % (where["work"], unit["name"])
        copy_name, verify_name = unit_step_names(unit)
        if unit.get("files") is not None:
            steps += [
                planlib.step(copy_name, files_argv(tools, unit["source"], target, unit["files"], retries, wait, threads,
                                                   unbuffered, None),
                             ok_rc=planlib.ok_rc_range(0, 7), timeout=timeout, encoding="console"),
                planlib.step(verify_name, files_argv(tools, unit["source"], target, unit["files"], 0, 0, threads, False,
                                                     None, listing=True), ok_rc=[0], timeout=timeout),
            ]
            continue
        is_data = unit is data
        excluded = (["%s\\%s" % (source.rstrip("\\"), d) for d in skip_dirs] if is_data else []) + skip_names
        xf = (skip_files if is_data else []) + list(SKIP_FILES)
        steps += [
            planlib.step(copy_name, robocopy_argv(tools, unit["source"], target, mode, retries, wait, threads, unbuffered,
                                                  where["log"] if is_data else None, exclude_dirs=excluded, exclude_files=xf),
                         ok_rc=planlib.ok_rc_range(0, 7), timeout=timeout, encoding="console"),
            planlib.step(verify_name, robocopy_argv(tools, unit["source"], target, mode, 0, 0, threads, False, None,
                                                    listing=True, exclude_dirs=excluded, exclude_files=xf,
                                                    ignore_extras=bool(deltas) and is_data),
                         ok_rc=[0], timeout=timeout),
        ]
        if len(unit["source"].rstrip("\\")) == 2:
            # robocopy gives the destination of a volume root the root's hidden and system attributes
            steps.append(fs_step("show %s" % unit["name"], tools, "plain_folder", {"path": target}))
    data_target = where["work"] + "\\data"
    sources_tsv = [where["source_tsv"]]
    if deltas:
        sources_tsv.append(where["deltas_tsv"])
        steps += [
            planlib.step(DELTAS_COPY_STEP, robocopy_argv(tools, deltas["folder"], data_target, "versioned", retries, wait,
                                                         threads, False, None, exclude_files=["collected.json"],
                                                         ignore_extras=True),
                         ok_rc=planlib.ok_rc_range(0, 7), timeout=timeout),
            fs_step(DELTAS_MANIFEST_STEP, tools, "manifest", {
                "units": [_manifest_unit(deltas["folder"], "data\\", None, [], ["collected.json"])], "sha256": sha256,
                "out_tsv": where["deltas_tsv"], "out_json": None, "print_rows": True}, timeout=timeout),
        ]
    if daos_live:
        steps.append(fs_step(DAOS_TOPUP_STEP, tools, "top_up", {
            "source": daos_live["source"], "target": daos_live["target"], "extension": ".nlo"}, timeout=timeout))
    # Single files are a unit each: the files of several folders share the prefix files\\ (notes.ini in the program
    # directory, an ID elsewhere), and only one row per unit keeps the listing sorted across those folders.
    manifest_units = [_manifest_unit(u["source"], u["name"] + "\\", None if f is None else [f],
                                     (skip_dirs if u is data else []) + skip_names,
                                     (skip_files if u is data else []) + list(SKIP_FILES))
                      for u in units for f in (u["files"] if u.get("files") is not None else [None])]
    # the source listing is in listing order when its units are (the compare script merges it with the copy's)
    manifest_units.sort(key=lambda unit: listing_key(unit["prefix"] + (unit["files"][0] if unit["files"] else "")))
    compare: dict[str, t.Any] = {
        "sources": sources_tsv, "under": sorted({u["name"] + "\\" for u in units}),
        "extras_allowed_under": [daos_live["prefix"]] if daos_live else [],
        "required": {"file": deltas["folder"] + "\\collected.json", "prefix": "data\\"} if deltas else None}
    internal = sources_tsv + [where["copy_tsv"]]
    steps += [
        fs_step(LAYOUT_STEP, tools, "write_text", {"path": where["work"] + "\\" + LAYOUT_FILE, "text": layout_text}),
        fs_step(SOURCE_MANIFEST_STEP, tools, "manifest", {"units": manifest_units, "sha256": sha256, "out_tsv": where["source_tsv"],
                                                          "out_json": None, "print_rows": False,
                                                          "fail_on_links": not skip_links},
                timeout=timeout),
        fs_step(COPY_MANIFEST_STEP, tools, "manifest", {"units": [_manifest_unit(where["work"], "", None, [], [])],
                                                        "sha256": sha256, "out_tsv": where["copy_tsv"],
                                                        "out_json": where["manifest"], "print_rows": False}, timeout=timeout),
        fs_step(COMPARE_STEP, tools, "compare", dict(compare, copy=where["copy_tsv"]), timeout=timeout),
        fs_step("finalize", tools, "finalize", {"from": where["work"], "to": where["final"], "marker": where["marker"],
                                                "remove": internal}),
    ]
    if deltas:
        parent, keep_name = deltas["folder"].rsplit("\\", 1)
        steps.append(fs_step("forget older delta folders", tools, "prune_siblings", {"parent": parent, "keep": keep_name},
                             allow_failure=True, timeout=600))
    if mode == "versioned" and keep > 0:
        # After a verified finalize only, and never the copy just made: a failed retention does not undo the copy.
        steps.append(fs_step(RETENTION_STEP, tools, "retention", {"base": where["base"], "keep": keep, "max_age_seconds": 0,
                                                                  "protect": where["final"].rsplit("\\", 1)[-1]},
                             timeout=600, allow_failure=True))
    rescue = []
    if mode == "versioned":
        rescue.append(fs_step("remove the partial copy", tools, "remove", {"paths": [where["work"], where["manifest"]] + internal},
                              ok_rc="any", timeout=600))
    else:
        rescue.append(fs_step("remove the listings", tools, "remove", {"paths": internal}, ok_rc="any", timeout=600))
    files = {}
    finally_steps = []
    if release_script:
        # The shadow copies the data came from are deleted whatever happened to the copy.
        files["release.dsh"] = planlib.plan_file(release_script, encoding="ascii")
        finally_steps.append(planlib.step(RELEASE_STEP, [tools["diskshadow"], "/s", planlib.file_ref("release.dsh")],
                                          timeout=600))
    finally_steps.extend(extra_finally)
    return planlib.build_plan("copy %s" % mode, platform, steps, rescue=rescue, finally_steps=finally_steps, files=files,
                              max_output_bytes=8 * 1024 * 1024, context=context)


def listing_key(path: str) -> str:
    """The order of every listing the manifest script writes and the compare script merges: the path in upper
    case (.NET's ToUpperInvariant; Windows compares names case-insensitively) with each ``\\`` replaced by
    U+0001, which sorts below every character a Win32 name may hold, so that a folder's contents come right
    after it and before its next sibling.  Units are listed in this order of their prefixes."""
    # one character for one, as .NET maps case (Python would turn "ß" into "SS")
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in path).replace("\\", "\x01")


def _manifest_unit(root: str, prefix: str, files: t.Optional[t.Sequence[str]], exclude_dirs: t.Sequence[str],
                   exclude_files: t.Sequence[str]) -> dict[str, t.Any]:
    return {"root": root, "prefix": prefix, "files": list(files) if files is not None else None,
            "exclude_dirs": list(exclude_dirs), "exclude_files": list(exclude_files)}


def manifest_rows(text: str) -> list[dict[str, t.Any]]:
    doc = cli.parse_json_document(text)
    return doc if isinstance(doc, list) else [doc]


def prune_plan(tools: dict[str, str], platform: str, base: str, keep: int, max_age_seconds: int,
               dry_run: bool = False) -> dict[str, t.Any]:
    """Retention only: complete copies beyond ``keep`` or older than ``max_age_seconds`` (never the newest),
    and partial copies older than that.  ``dry_run``: the same choice, listed and not removed (check mode)."""
    return planlib.build_plan("prune copies" + (" (dry run)" if dry_run else ""), platform, [
        fs_step("retention", tools, "retention", {"base": base, "keep": keep, "max_age_seconds": max_age_seconds,
                                                  "dry_run": dry_run}, timeout=3600)], check_mode_safe=dry_run)
