# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of the restic backend, shared by snapshot_copy (backup, verification, retention) and
restore (restore from a restic snapshot): plans, running them without logging the password, judging results."""

from __future__ import annotations

import datetime
import json
import os
import re
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import hostlock
from ansible_collections.quiesce.domino.plugins.module_utils import locations as locs
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import restic as rs
from ansible_collections.quiesce.domino.plugins.module_utils import robocopy as rc
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.module_utils.durations import seconds
from ansible_collections.quiesce.domino.plugins.module_utils.watchdog import iso_ms
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceActionError, default_owner
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message, step_summary

MAX_OUTPUT = 64 * 1024 * 1024


def collection_version() -> str:
    """The collection's version (galaxy.yml in a source tree, MANIFEST.json when installed), for a tag."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for name, pattern in (("galaxy.yml", r"(?m)^version:\s*['\"]?([0-9A-Za-z.+-]+)"),
                          ("MANIFEST.json", r"\"version\":\s*\"([0-9A-Za-z.+-]+)\"")):
        try:
            with open(os.path.join(root, name), encoding="utf-8") as handle:
                match = re.search(pattern, handle.read())
        except OSError:
            continue
        if match:
            return match.group(1)
    return "unknown"


def access(args: dict[str, t.Any], fallback: t.Optional[str], raw: t.Optional[dict[str, t.Any]] = None) -> dict[str, t.Any]:
    """Repository, password or password file, checked (the password is never shown).  ``raw``: the task's
    arguments before type conversion (a mapping given as password would otherwise become its text)."""
    repo = rs.repository("repository", args.get("repository") or fallback)
    secret = args.get("repository_password")
    given = (raw or {}).get("repository_password")
    if given is not None and not isinstance(given, str):
        raise cli.OptionError("repository_password: a string is required, not %s" % type(given).__name__)
    password_file = args.get("repository_password_file")
    if (secret is None) == (password_file is None):
        raise cli.OptionError("repository_password, repository_password_file: backend=restic needs exactly one of them "
                              "(the password is passed to restic on standard input, or restic reads the file on the host)")
    if secret is not None:
        secret = rs.password("repository_password", secret)
    if password_file is not None:
        password_file = cli.destination("repository_password_file", password_file)
    return {"repo": repo, "secret": secret, "password_file": password_file}


def run_secret_plan(action: t.Any, plan: dict[str, t.Any], secret: t.Optional[str]) -> dict[str, t.Any]:
    """Run a plan whose steps carry the password on standard input: the module call is made with no_log, so
    neither the executor's invocation log (syslog, the Windows event log) nor its returned invocation holds it."""
    if not rs.carries_secret(plan, secret):
        return action.run_plan(plan)
    before = action._task.no_log
    action._task.no_log = True
    try:
        return action.run_plan(plan)
    finally:
        action._task.no_log = before


def backup(action: t.Any, args: dict[str, t.Any], task_vars: dict[str, t.Any], units: list[dict[str, t.Any]],
           runits: list[dict[str, t.Any]], destination: str, host: str, release: t.Optional[str],
           extra_finally: list[dict[str, t.Any]], deltas: t.Optional[dict[str, t.Any]]) -> dict[str, t.Any]:
    """snapshot_copy backend=restic: back up, verify (manifest against restic ls, restic check), retention."""
    tools = action.tools()
    where = access(args, destination, action._task.args)
    subset = rs.read_fraction("verify_read_fraction", args.get("verify_read_fraction", 0.05))
    rules = rs.keep_rules("keep", {"daily": args.get("keep_daily"), "weekly": args.get("keep_weekly"),
                                   "monthly": args.get("keep_monthly")})
    min_age = seconds("forget_min_age", args.get("forget_min_age") or 0)
    extra_tags = [rs.tag("tags[%d]" % i, v) for i, v in enumerate(args.get("tags") or [])]
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = rc.stamp(now)
    run = rs.run_tag(stamp)
    tags = [rs.COLLECTION_TAG, run, "version:" + collection_version()] + [x for x in extra_tags if x != rs.COLLECTION_TAG]
    timeout = cli.int_range("timeout", args["timeout"], 60, planlib.MAX_TIMEOUT)
    repo, secret, pwfile = where["repo"], where["secret"], where["password_file"]

    def r(name: str, words: t.Sequence[str], **kw: t.Any) -> dict[str, t.Any]:
        return rs.step(name, tools, repo, secret, pwfile, words, **kw)

    steps: list[dict[str, t.Any]] = []
    if args.get("repository_init"):
        steps += [r(rs.OPEN_STEP, ["cat", "config"], timeout=600, allow_failure=True),
                  r(rs.INIT_STEP, ["init"], timeout=600, only_if_failed=rs.OPEN_STEP)]
    else:
        steps.append(r(rs.OPEN_STEP, ["cat", "config"], timeout=600))
    sources = [u["source"] for u in runits if u.get("files") is None]
    sources += ["%s\\%s" % (u["source"].rstrip("\\"), f) for u in runits if u.get("files") is not None for f in u["files"]]
    # the manifest's prefix maps a row back to the folder it was read from: the single files of several folders
    # (all named files) get a prefix each
    prefixes = rs.unit_prefixes(runits)
    manifest_units = [rc._manifest_unit(u["source"], prefixes[i], u.get("files"), list(rc.SKIP_DIRS),
                                        list(rc.SKIP_FILES)) for i, u in enumerate(runits)]
    iexclude = list(rc.SKIP_FILES)
    exclude = ["System Volume Information", "$RECYCLE.BIN"]
    if deltas:
        steps.append(deltas["wait_step"])
        # This backup's .DELTA files (kept by the backup_task hook in the live data directory) go in as a place of
        # their own; the shadow copy's data directory goes in whole (restic patterns would also match the deltas).
        sources.append(deltas["folder"])
        manifest_units.append(rc._manifest_unit(deltas["folder"], "deltas\\", None, [], []))
    else:
        steps.append(rc.fs_step(rc.BACKUP_MODE_STEP, tools, "taken_in_backup_mode", {"root": runits[0]["source"]},
                                timeout=120))
    # the copy layout with where each place was read from, backed up with the places (restore reads it)
    live = _daos_live(units)
    if live:
        sources.append(live["source"])
    layout = dict(locs.layout_document(task_vars.get("inventory_hostname") or host, units),
                  restic_sources=rs.layout_sources(runits, deltas["folder"] if deltas else None, live))
    steps.append(rc.fs_step(rs.LAYOUT_STEP, tools, "write_text", {"path": rs.layout_path(host),
                                                                  "text": json.dumps(layout, indent=1, sort_keys=True)}))
    sources.append(rs.layout_path(host))
    compare_units = [{"prefix": prefixes[i], "source": u["source"]} for i, u in enumerate(runits)]
    if deltas:
        compare_units.append({"prefix": "deltas\\", "source": deltas["folder"]})
    # the source listing stays on the host (beside the layout), where the snapshot's listing is compared with it
    listing = rs.manifest_path(host, stamp)
    steps += [
        rc.fs_step(rc.SOURCE_MANIFEST_STEP, tools, "manifest", {"units": manifest_units, "sha256": False, "out_tsv": listing,
                                                                "out_json": None, "print_rows": False,
                                                                "fail_on_links": not args.get("skip_links")},
                   timeout=timeout),
        r(rs.BACKUP_STEP, rs.backup_args(sources, host, tags, exclude, iexclude), timeout=timeout),
        rs.compare_step(tools, repo, secret, pwfile, run, host, listing, compare_units, timeout),
        r(rs.CHECK_STEP, rs.check_args(subset), timeout=timeout),
        # only now is it a backup: the tag restore (latest) and retention look for
        r(rs.MARK_STEP, rs.mark_args(run, host), timeout=600),
        r(rs.MARKED_STEP, rs.marked_args(run, host), timeout=600),
    ]
    if rules:
        steps.append(r(rs.FORGET_PLAN_STEP, rs.forget_dry_run_args(host, rules), timeout=600, allow_failure=True))
    files = {}
    finally_steps = []
    if release:
        files["release.dsh"] = planlib.plan_file(release, encoding="ascii")
        finally_steps.append(planlib.step(rc.RELEASE_STEP, [tools["diskshadow"], "/s", planlib.file_ref("release.dsh")],
                                          timeout=600))
    finally_steps += extra_finally
    finally_steps.append(rc.fs_step(rs.REMOVE_LISTING_STEP, tools, "remove", {"paths": [listing]}, timeout=120,
                                    allow_failure=True))
    plan = planlib.build_plan("restic backup", action.platform, steps, finally_steps=finally_steps, files=files,
                              max_output_bytes=MAX_OUTPUT)
    if args.get("release_lock"):
        # as the robocopy copy does: the snapshot's lock is renewed first with this plan's worst case as its hold,
        # so no other run takes it over as stale during a long backup; when another run holds it, nothing is backed up
        plan = hostlock.locked(plan, tools, hostlock.owner("lock_owner", args.get("lock_owner") or default_owner()),
                               cli.int_range("lock_stale_seconds", args.get("lock_stale_seconds") or 21600, 60, 604800),
                               release_in=None)
    out: dict[str, t.Any] = {
        "changed": True, "backend": "restic", "repository": repo, "source": units[0]["source"], "mode": "restic",
        "destination": repo, "verified": False, "tags": tags, "read_data_subset": subset or None,
        "layout": {u["name"] if not u.get("file") else "files\\" + u["source"].rsplit("\\", 1)[-1]: u.get("path")
                   for u in units}}
    if action._task.check_mode:
        lines = ["back up %s into the restic repository %s (host %s, tags %s)" % (", ".join(sources), repo, host, ", ".join(tags)),
                 "verify: the snapshot's file list and sizes against a manifest of the sources, then restic check%s"
                 % (" reading %s of the data" % subset if subset else ""),
                 ("retention: restic forget keeping %s, never this run's snapshot nor any younger than %s s"
                  % (", ".join("%s %s" % (v, k) for k, v in rules.items()), min_age)) if rules else "no retention"]
        if release:
            lines.append("then release the shadow copies on the host (diskshadow)")
        out.update(plan=rs.redact_plan(plan, secret), preview=lines, msg="check mode: " + "; ".join(lines))
        return out
    result = run_secret_plan(action, plan, secret)
    out["steps"] = step_summary(rec for _s, rec in planlib.iter_records(result))
    backed = planlib.find_record(result, rs.BACKUP_STEP) or {}
    summary = rs.backup_summary(backed.get("stdout") or "") or {}
    out.update(snapshot_id=summary.get("snapshot_id"), restic_rc=backed.get("rc"), data_added=summary.get("data_added"),
               files_new=summary.get("files_new"), files_changed=summary.get("files_changed"),
               files_unmodified=summary.get("files_unmodified"), files=summary.get("total_files_processed"),
               bytes=summary.get("total_bytes_processed"), duration_ms=backed.get("duration_ms"),
               started_at=iso_ms(backed.get("start_ms")) if backed.get("start_ms") else None,
               ended_at=iso_ms(backed.get("end_ms")) if backed.get("end_ms") else None)
    compared = planlib.find_record(result, rs.COMPARE_STEP)
    verdict = rs.compare_verdict(compared)
    if verdict is not None:
        out["manifest_files"] = verdict.get("files")
        out["snapshot_id"] = verdict.get("snapshot_id") or out["snapshot_id"]
        out["snapshot_time"] = verdict.get("snapshot_time")
    failed = result.get("failed_step") or {}
    name = failed.get("name")
    if verdict is not None and verdict["difference_count"] and name == rs.COMPARE_STEP:
        left = _forget_failed(action, tools, repo, secret, pwfile, out.get("snapshot_id"))
        raise QuiesceActionError("restic backup failed at 'verify': the snapshot differs from the source manifest in "
                                 "%s files: %s; %s" % (verdict["difference_count"], "; ".join(verdict["differences"][:5]),
                                                       left), **out)
    if result.get("executor_error") or not result["ok"] or verdict is None or verdict["difference_count"]:
        if name == hostlock.ACQUIRE_STEP:
            raise QuiesceActionError("restic backup refused: %s; the host lock is not this run's any more, nothing "
                                     "was backed up" % hostlock.busy_message(failed), **out)
        if name == rs.INIT_STEP:
            # why the repository could not be opened (locked, wrong password, unreachable) is the reason; an init
            # that found a repository there adds nothing
            reason = rs.explain_failure(planlib.find_record(result, rs.OPEN_STEP))
            if "already exists" not in "%s%s" % (failed.get("stderr") or "", failed.get("stdout") or ""):
                reason += "; creating it failed too: %s" % rs.explain_failure(failed)
        elif name in (rs.OPEN_STEP, rs.BACKUP_STEP, rs.COMPARE_STEP, rs.CHECK_STEP, rs.MARK_STEP, rs.MARKED_STEP):
            reason = rs.explain_failure(planlib.find_record(result, name))
        elif name == rc.BACKUP_MODE_STEP:
            reason = ("the shadow copy was taken while Domino Backup held the databases in backup mode (method "
                      "backup_task); pass deltas_from (the snapshot's deltas_folder)")
        elif result["ok"] and not result.get("executor_error"):
            # the plan ran through, but the comparison printed nothing that can be read: never verified
            name, reason = "verify", "the comparison with the source manifest printed no readable result"
        else:
            reason = outcome_message(result)
        left = _forget_failed(action, tools, repo, secret, pwfile, out.get("snapshot_id"))
        raise QuiesceActionError("restic backup failed at '%s': %s; %s" % (name, reason, left), **out)
    # the mark rewrote the snapshot under a new ID: that is the backup now
    marked = sorted(rs.snapshots((planlib.find_record(result, rs.MARKED_STEP) or {}).get("stdout") or ""),
                    key=lambda snap: str(snap.get("time") or ""))
    if not marked or not marked[-1].get("id"):
        left = _forget_failed(action, tools, repo, secret, pwfile, out.get("snapshot_id"))
        raise QuiesceActionError("restic backup failed at '%s': the snapshot marked verified is not listed; %s"
                                 % (rs.MARKED_STEP, left), **out)
    out.update(snapshot_id=marked[-1]["id"], snapshot_time=marked[-1].get("time") or out.get("snapshot_time"))
    out["verified"] = True
    if rules:
        _retention(action, out, result, tools, repo, secret, pwfile, min_age, now)
    return out


def _daos_live(units: list[dict[str, t.Any]]) -> t.Optional[dict[str, str]]:
    """The live DAOS store and its folder in a copy (as snapshot_copy's top-up finds them): backed up too, so a
    restore can add the objects written after the snapshot that the shadow copy's store lacks."""
    own = next((u for u in units if u["kind"] == "daos" and u.get("path")), None)
    if own is not None:
        return {"source": own["path"], "to": own["name"]}
    data = units[0]
    if data.get("daos") and data.get("path"):
        return {"source": data["daos"], "to": "data\\" + data["daos"][len(data["path"].rstrip("\\")) + 1:]}
    return None


def _forget_failed(action: t.Any, tools: dict[str, str], repo: str, secret: t.Optional[str], pwfile: t.Optional[str],
                   snapshot: t.Optional[str]) -> str:
    """A snapshot that is not verified is forgotten (as the robocopy backend removes a partial copy)."""
    if not snapshot:
        return "no snapshot was kept"
    plan = planlib.build_plan("restic forget unverified", action.platform, [
        rs.step(rs.FORGET_STEP, tools, repo, secret, pwfile, ["forget", snapshot], timeout=600)])
    result = run_secret_plan(action, plan, secret)
    if result.get("ok"):
        return "the unverified snapshot %s was forgotten" % snapshot[:8]
    return "the unverified snapshot %s could not be forgotten (%s)" % (
        snapshot[:8], rs.explain_failure(planlib.find_record(result, rs.FORGET_STEP)))


def _retention(action: t.Any, out: dict[str, t.Any], result: dict[str, t.Any], tools: dict[str, str], repo: str,
               secret: t.Optional[str], pwfile: t.Optional[str], min_age: int, now: datetime.datetime) -> None:
    dry = planlib.find_record(result, rs.FORGET_PLAN_STEP) or {}
    if dry.get("status") != "ok":
        out.setdefault("warnings", []).append("the snapshot is verified, but restic forget --dry-run failed: %s"
                                              % rs.explain_failure(dry))
        return
    try:
        candidates = rs.forget_candidates(dry.get("stdout") or "[]")
    except ValueError as exc:
        out.setdefault("warnings", []).append("restic forget --dry-run printed something unreadable: %s" % exc)
        return
    forget, kept = rs.guard_forget(candidates, [out.get("snapshot_id") or ""], min_age, int(now.timestamp()))
    out.update(forgotten=[], kept_by_guard=kept)
    if not forget:
        return
    plan = planlib.build_plan("restic retention", action.platform, [
        rs.step(rs.FORGET_STEP, tools, repo, secret, pwfile, ["forget", "--prune"] + forget, timeout=planlib.MAX_TIMEOUT)])
    done = run_secret_plan(action, plan, secret)
    if done.get("ok"):
        out["forgotten"] = forget
    else:
        out.setdefault("warnings", []).append("the snapshot is verified, but restic forget --prune failed: %s"
                                              % rs.explain_failure(planlib.find_record(done, rs.FORGET_STEP)))


def stage(action: t.Any, args: dict[str, t.Any], task_vars: dict[str, t.Any], copy: str,
          databases: t.Sequence[str], timeout: int) -> dict[str, t.Any]:
    """restore from a restic snapshot: restore it (the databases with their .DELTA files, or everything) into
    the new folder ``copy`` and arrange it as a copy of snapshot_copy has it (``data\\``, ``translog\\``, ...,
    quiesce_domino.json), so that the restore from a copy puts it back.  Returns the facts for the result."""
    where = access(args, None, action._task.args)
    snapshot = rs.snapshot_id("restic_snapshot", args["restic_snapshot"])
    host = rc.host_folder("inventory_hostname", str(task_vars.get("inventory_hostname") or ""))
    tools = action.tools()
    repo, secret, pwfile = where["repo"], where["secret"], where["password_file"]
    staging = copy.rstrip("\\") + "\\" + rs.STAGING
    layout_dir = staging + "\\" + rs.layout_path(host)[0] + rs.layout_path(host)[2:].rsplit("\\", 1)[0]

    def r(name: str, words: t.Sequence[str], **kw: t.Any) -> dict[str, t.Any]:
        return rs.step(name, tools, repo, secret, pwfile, words, **kw)

    facts: dict[str, t.Any] = {"restic_snapshot": snapshot, "repository": repo, "staged_to": copy}
    if action._task.check_mode:
        facts["preview"] = ["restore the restic snapshot %s of %s from %s into the new folder %s (%s), arranged as a copy"
                            % (snapshot, host, repo, copy, ", ".join(databases) if databases else "everything")]
        return facts
    # the staging folder must be new: a restore into an existing copy would mix two backups
    probe = planlib.build_plan("is the staging folder new", action.platform,
                               [rc.fs_step("read the layout", tools, "read_layout", {"copy": copy}, timeout=120,
                                           ok_rc=[0, 2])], check_mode_safe=True)
    found = action.run_plan(probe)
    if not found["ok"]:
        raise QuiesceActionError("copy: %s cannot be checked on the host: %s" % (copy, outcome_message(found)))
    if found["steps"][0].get("rc") == 0:
        raise QuiesceActionError("copy: %s already exists; with restic_snapshot give a new folder to restore the "
                                 "snapshot into (it becomes a copy of the server that stays after the restore)" % copy)
    steps = []
    if snapshot == "latest":
        steps.append(r(rs.SNAPSHOTS_STEP, ["snapshots", "--json", "--host", host, "--tag", rs.VERIFIED_FILTER], timeout=600))
    plan = planlib.build_plan("restic snapshot lookup", action.platform, steps + [
        r(rs.READ_LAYOUT_STEP, rs.restore_args(snapshot, staging, [rs.restic_path(rs.layout_path(host))], host),
          timeout=timeout),
        rc.fs_step("read the layout", tools, "read_layout", {"copy": layout_dir}, timeout=120)],
        max_output_bytes=MAX_OUTPUT)
    found = run_secret_plan(action, plan, secret)
    if not found["ok"]:
        failed = found.get("failed_step") or {}
        raise QuiesceActionError("restore from the restic snapshot %s failed at '%s': %s" % (
            snapshot, failed.get("name"), rs.explain_failure(failed) if failed.get("name") != "read the layout"
            else "the snapshot holds no layout (%s); it was not made by this collection's snapshot_copy"
            % rs.layout_path(host)), **facts)
    if snapshot == "latest":
        listed = sorted(rs.snapshots((planlib.find_record(found, rs.SNAPSHOTS_STEP) or {}).get("stdout") or ""),
                        key=lambda s: str(s.get("time")))
        if not listed:
            raise QuiesceActionError("restic_snapshot: the repository holds no snapshot of %s" % host, **facts)
        snapshot = str(listed[-1]["id"])
        facts["restic_snapshot"] = snapshot
    try:
        doc = cli.parse_json_document((planlib.find_record(found, "read the layout") or {}).get("stdout") or "")
        layout = json.loads(doc.get("layout") or "{}")
    except ValueError as exc:
        raise QuiesceActionError("restic_snapshot: the layout in the snapshot cannot be read: %s" % exc, **facts)
    plan = planlib.build_plan("restic restore", action.platform, [
        r(rs.RESTORE_STEP, rs.restore_args(snapshot, staging, rs.restore_includes(layout, host, databases)), timeout=timeout),
        rs.arrange_step(tools, copy, host, timeout)], rescue=[
        rc.fs_step("remove the staging folder", tools, "remove", {"paths": [copy]}, ok_rc="any", timeout=600)],
        max_output_bytes=MAX_OUTPUT)
    done = run_secret_plan(action, plan, secret)
    if not done["ok"]:
        failed = done.get("failed_step") or {}
        raise QuiesceActionError("restore from the restic snapshot %s failed at '%s': %s; the staging folder %s was "
                                 "removed" % (snapshot[:8], failed.get("name"), rs.explain_failure(failed), copy), **facts)
    return facts
