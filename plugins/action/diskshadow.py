# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for quiesce.domino.diskshadow (documentation: plugins/modules/diskshadow.py)."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.quiesce.domino.plugins.module_utils import diskshadow as ds
from ansible_collections.quiesce.domino.plugins.module_utils import plan as planlib
from ansible_collections.quiesce.domino.plugins.module_utils import shadow_ledger as ledger
from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
from ansible_collections.quiesce.domino.plugins.plugin_utils._restore_points import kept_shadow_ids, read_points
from ansible_collections.quiesce.domino.plugins.plugin_utils._shadows import evidence_missing, exposure_target, probe_expectations
from ansible_collections.quiesce.domino.plugins.plugin_utils._shadows import read_inventory
from ansible_collections.quiesce.domino.plugins.plugin_utils._shadows import shadow_summary, volume_alias
from ansible_collections.quiesce.domino.plugins.plugin_utils.action_base import QuiesceAction, QuiesceActionError
from ansible_collections.quiesce.domino.plugins.plugin_utils.executor import outcome_message

ARGSPEC = {
    "state": {"type": "str", "default": "present", "choices": ["present", "exposed", "unexposed", "absent"]},
    "volumes": {"type": "list", "elements": "str", "default": []},
    "context": {"type": "str", "default": "persistent", "choices": list(ds.CONTEXTS)},
    "writers": {"type": "bool", "default": False},
    "writer_verify": {"type": "list", "elements": "str", "default": []},
    "writer_exclude": {"type": "list", "elements": "str", "default": []},
    "backup_type": {"type": "str", "default": "copy", "choices": list(ds.BACKUP_TYPES)},
    "client_accessible": {"type": "bool", "default": False},
    "metadata": {"type": "str"},
    "verbose": {"type": "bool", "default": False},
    "expose_as": {"type": "str"},
    "shadow_id": {"type": "str"},
    "shadow_set_id": {"type": "str"},
    "oldest": {"type": "bool", "default": False},
    "owned_only": {"type": "bool", "default": True},
    "script": {"type": "str"},
    "timeout": {"type": "int", "default": 600},
}
MUTUALLY_EXCLUSIVE = [["script", "volumes"], ["script", "shadow_id"], ["script", "shadow_set_id"],
                      ["shadow_id", "shadow_set_id"]]
_WRITER_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _writer(option: str, value: str) -> str:
    if re.match(r"^\{?[0-9A-Fa-f-]{36}\}?$", value):
        return cli.guid(option, value)
    if not _WRITER_NAME_RE.fullmatch(value):
        raise cli.OptionError("%s: %r is not valid; name a writer by its ID {GUID} or by a name of letters, digits "
                              "and _.- (no spaces or quotes)" % (option, value))
    return value


class ActionModule(QuiesceAction):
    ARGSPEC = ARGSPEC
    MUTUALLY_EXCLUSIVE = MUTUALLY_EXCLUSIVE

    def perform(self, args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        state = args["state"]
        volumes = [cli.volume("volumes[%d]" % i, v) for i, v in enumerate(args["volumes"])]
        target = exposure_target("expose_as", args["expose_as"]) if args["expose_as"] else None
        shadow_id = cli.guid("shadow_id", args["shadow_id"]) if args["shadow_id"] else None
        set_id = cli.guid("shadow_set_id", args["shadow_set_id"]) if args["shadow_set_id"] else None
        verify = [_writer("writer_verify[%d]" % i, w) for i, w in enumerate(args["writer_verify"])]
        exclude = [_writer("writer_exclude[%d]" % i, w) for i, w in enumerate(args["writer_exclude"])]
        metadata = cli.ascii_only("metadata", cli.windows_folder("metadata", args["metadata"]),
                                  cli.DISKSHADOW_ASCII) if args["metadata"] else None
        if metadata and " " in metadata:
            raise cli.OptionError("metadata: %r is not valid; the path may not contain spaces" % args["metadata"])
        timeout = cli.int_range("timeout", args["timeout"], 10, 86400)
        if (verify or exclude or args["backup_type"] == "full") and not args["writers"]:
            raise cli.OptionError("writers: writer_verify, writer_exclude and backup_type=full need writers=true")
        tools = self.tools()

        if args["script"] is not None:
            lines = ds.check_user_script("script", args["script"])
            result = self._run_script(tools, lines, {}, timeout, "user script", changed=True)
            if any(re.match(r"(?i)^set\s+option\b.*\bnoautorecover\b", line) for line in lines):
                result.setdefault("warnings", []).append(
                    "script: 'set option noautorecover' stops VSS writers from recovering the shadow copy: Domino's "
                    "backupvss writer then writes its change info (.DELTA) outside it, and the shadow copy alone "
                    "is not a consistent Domino backup")
            return result

        if state == "present":
            if not volumes:
                raise cli.OptionError("volumes: state=present needs at least one volume (such as D:)")
            if target and len(volumes) != 1:
                raise cli.OptionError("expose_as: exposing needs exactly one volume; %d were given" % len(volumes))
            if target and args["context"] != "persistent":
                raise cli.OptionError("context: only persistent shadow copies can be exposed; use context=persistent")
        elif state == "exposed" and not (shadow_id and target):
            raise cli.OptionError("shadow_id, expose_as: state=exposed needs both")
        elif state == "unexposed" and not (shadow_id or target):
            raise cli.OptionError("shadow_id, expose_as: state=unexposed needs one of them")
        elif state == "absent" and not (shadow_id or set_id or target or volumes):
            raise cli.OptionError("shadow_id, shadow_set_id, expose_as, volumes: state=absent needs one of them "
                                  "to say which shadow copies to delete")

        inv = read_inventory(self, tools)
        shadows = inv["shadows"]
        by_id = {s["id"]: s for s in shadows}
        at_target = [s for s in shadows if target and (s.get("exposed_as") or "").upper() == target.upper()]

        if state == "present":
            return self._present(args, tools, volumes, target, verify, exclude, metadata, timeout, inv, at_target)
        if state == "exposed":
            shadow = by_id.get(shadow_id)
            if shadow is None:
                raise QuiesceActionError("shadow_id: shadow copy %s does not exist on the host" % shadow_id)
            if (shadow.get("exposed_as") or "").upper() == target.upper():
                return self._unchanged([shadow])
            if shadow.get("exposed_as"):
                raise QuiesceActionError("shadow_id: shadow copy %s is already exposed as %s; unexpose it first"
                                         % (shadow_id, shadow["exposed_as"]))
            self._refuse_occupied(target, inv)
            return self._run_script(tools, ds.render_expose(shadow_id, target),
                                    {"exposed": [target], "exposed_ids": [shadow_id]}, timeout,
                                    "expose", changed=True, known=[shadow], exposed_id=shadow_id)
        if state == "unexposed":
            victims = [by_id[shadow_id]] if shadow_id in by_id else [] if shadow_id else at_target
            victims = [s for s in victims if s.get("exposed_as")]
            if not victims:
                return self._unchanged([])
            where = victims[0]["exposed_as"]
            return self._run_script(tools, ds.render_unexpose(where), {"unexposed": 1, "freed": [where]}, timeout,
                                    "unexpose", changed=True, known=victims)
        # absent
        if shadow_id:
            victims, lines = [by_id[shadow_id]] if shadow_id in by_id else [], ds.render_delete("id", shadow_id)
        elif set_id:
            victims, lines = [s for s in shadows if s["set_id"] == set_id], ds.render_delete("set", set_id)
        elif target:
            victims, lines = at_target, ds.render_delete("exposed", target)
        else:
            victims = ds.filter_shadows(shadows, volumes)
            if args["oldest"] and len(volumes) != 1:
                raise cli.OptionError("oldest: deleting the oldest shadow copy needs exactly one volume")
            if args["owned_only"]:
                # Only the collection's own (the host's ledger), each by its ID: Previous Versions, Windows Server
                # Backup and other requestors keep theirs.
                victims = [s for s in victims if s.get("owned")]
                if victims:  # a restore point's shadow copies are ours too, but kept until the point is removed
                    kept = set(kept_shadow_ids(read_points(self, tools)))
                    victims = [s for s in victims if s["id"].lower() not in kept]
                if args["oldest"]:
                    victims = sorted(victims, key=lambda s: s.get("created_ms") or 0)[:1]
                lines = ["# quiesce.domino: delete"] + ["delete shadows id %s" % s["id"] for s in victims]
            elif args["oldest"]:
                victims = sorted(victims, key=lambda s: s.get("created_ms") or 0)[:1]
                lines = ds.render_delete("oldest", volumes[0])
            else:
                lines = ["# quiesce.domino: delete"] + ["delete shadows volume %s" % v for v in volumes]
        if not victims:
            result = self._unchanged([])
            if inv.get("source") == "vssadmin" and args["owned_only"] and not (shadow_id or set_id or target):
                result["warnings"] = ["the shadow copies were listed by vssadmin, which cannot say which are the "
                                      "collection's own: nothing was deleted"]
            return result
        # the read-back checks that every victim is gone (diskshadow's own "oldest" is the one sorted first here)
        return self._run_script(tools, lines, {"deleted": len(victims) if not args["oldest"] else 1,
                                               "gone": [s["id"] for s in victims]},
                                timeout, "delete", changed=True, known=victims)

    # ------------------------------------------------------------ states
    def _present(self, args, tools, volumes, target, verify, exclude, metadata, timeout, inv, at_target):
        if target and at_target:
            existing = at_target[0]
            if existing.get("volume") == volumes[0] or existing.get("volume_guid") == volumes[0]:
                return self._unchanged([existing])
            raise QuiesceActionError("expose_as: %s already exposes shadow copy %s of volume %s, not of %s"
                                     % (target, existing["id"], existing.get("volume") or existing.get("volume_guid"),
                                        volumes[0]))
        if target:
            self._refuse_occupied(target, inv)
        pairs = [(vol, volume_alias(vol, i)) for i, vol in enumerate(volumes)]
        expose = {pairs[0][1]: target} if target else None
        lines = ds.render_create(pairs, context=args["context"], writers=args["writers"],
                                 client_accessible=args["client_accessible"], backup_type=args["backup_type"],
                                 metadata=metadata, verbose=args["verbose"], writer_verify=verify,
                                 writer_exclude=exclude, expose=expose)
        expect = {"shadows": len(volumes), "exposed": [target] if target else []}
        return self._run_script(tools, lines, expect, timeout, "create", changed=True, own=True)

    def _refuse_occupied(self, target: str, inv: dict[str, t.Any]) -> None:
        """A drive letter must be free; a mount folder must be on an NTFS volume of the host."""
        if re.match(r"^[A-Z]:$", target):
            if target in inv["drives_in_use"]:
                raise QuiesceActionError("expose_as: drive letter %s is already in use on the host; choose a free "
                                         "letter (in use: %s)" % (target, ", ".join(inv["drives_in_use"])))
            return
        if not inv.get("volumes"):
            return  # vssadmin fallback has no volume list: diskshadow itself refuses an invalid mount point
        volume = next((v for v in inv["volumes"] if (v.get("drive") or "") == target[:2].upper()), None)
        if volume is None:
            raise QuiesceActionError("expose_as: %s is not on a volume of this host" % target)
        if (volume.get("filesystem") or "").upper() != "NTFS":
            raise QuiesceActionError("expose_as: mount folders must be on an NTFS volume; %s is %s"
                                     % (target[:2].upper(), volume.get("filesystem") or "unknown"))

    def _unchanged(self, shadows: list[dict[str, t.Any]]) -> dict[str, t.Any]:
        first = shadows[0] if shadows else {}
        return {"changed": False, "shadow_set_id": first.get("set_id"),
                "shadows": [shadow_summary(s) for s in shadows], "script": "", "transcript": ""}

    def _run_script(self, tools, lines, expect, timeout, what, changed, known=None, exposed_id=None, own=False):
        script = ds.render(lines)
        # A create of ours records what it made in the host's ledger (whatever the script's outcome).
        after = [ledger.record_step(tools, "diskshadow %s" % what)] if own else []
        # Then Win32_ShadowCopy is read back: what the run left behind is judged by it, in any language.
        checks = probe_expectations(expect)
        # a create is read back even with nothing to expose: its shadow copies must exist (diskshadow.judge)
        probed = bool(checks) or bool(expect.get("shadows"))
        if probed:
            after.append(ds.probe_step(tools, checks))
        plan = ds.script_plan("diskshadow %s" % what, tools, self.platform, lines, timeout, after=after)
        base = {"changed": changed, "script": script, "diff": {"before": "", "after": script,
                                                               "after_header": "diskshadow script"}}
        if self._task.check_mode:
            base.update(shadow_set_id=None, shadows=[shadow_summary(s) for s in known or []], transcript="",
                        msg="check mode: diskshadow %s would run the script in 'script'" % what)
            return base
        run = self.run_plan(plan)
        record = run["steps"][0] if run["steps"] else {}
        transcript = record.get("stdout", "")
        parsed = ds.parse_transcript(transcript + "\n" + (record.get("stderr") or ""))
        base.update(transcript=transcript, rc=record.get("rc"), errors=parsed["errors"])
        _ids, unrecorded = ledger.recorded(run)
        if unrecorded:
            base["warnings"] = [unrecorded]
        evidence = ds.parse_probe(planlib.find_record(run, ds.PROBE_STEP)) if probed else None
        if probed and evidence is None:
            base.setdefault("warnings", []).append(evidence_missing(run))
        shadows = parsed["shadows"] or [dict(s) for s in known or []]
        for shadow in shadows:
            if evidence is not None:
                shadow["exposed_as"] = next((s["exposed_as"] for s in evidence["shadows"] if s["id"] == shadow["id"]),
                                            None)
            elif exposed_id and shadow["id"] == exposed_id and parsed["exposed"]:
                shadow["exposed_as"] = parsed["exposed"][0]
            elif what == "unexpose":
                shadow["exposed_as"] = None
        base.update(shadow_set_id=parsed["shadow_set_id"] or (shadows[0].get("set_id") if shadows else None),
                    shadows=[shadow_summary(s) for s in shadows])
        if run["executor_error"] or record.get("status") in ("timeout", "error"):
            raise QuiesceActionError("diskshadow %s failed: %s" % (what, outcome_message(run)), **base)
        judged: list[str] = []
        reason = ds.judge(record.get("rc"), parsed, expect, evidence, judged)
        if reason:
            raise QuiesceActionError("diskshadow %s failed: %s" % (what, reason), **base)
        if judged:
            base.setdefault("warnings", []).extend(judged)
        # accepted on the evidence: a non-zero rc in the result must not make Ansible call the task failed
        base["failed"] = False
        return base
