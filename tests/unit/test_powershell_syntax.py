"""Every .ps1 in the repository parses with tree-sitter-pwsh and follows the house rules."""
from __future__ import annotations

import subprocess
import typing as t
from pathlib import Path

import pytest
import tree_sitter
import tree_sitter_pwsh

REPO = Path(__file__).resolve().parents[2]
PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_pwsh.language()))


def _ps1_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.ps1", "*.psm1"],
                         cwd=REPO, capture_output=True, text=True, check=False).stdout.split()
    return sorted(REPO / p for p in out) or sorted(list(REPO.rglob("*.ps1")) + list(REPO.rglob("*.psm1")))


def _errors(node: tree_sitter.Node) -> list[str]:
    found = []
    if node.type == "ERROR" or node.is_missing:
        what = "missing " + node.type if node.is_missing else "syntax error"
        found.append("line %d col %d: %s" % (node.start_point[0] + 1, node.start_point[1] + 1, what))
    for child in node.children:
        if child.has_error or child.type == "ERROR" or child.is_missing:
            found += _errors(child)
    return found


def test_there_are_powershell_files():
    names = {p.name for p in _ps1_files()}
    assert {"host_exec.ps1", "QuiesceExecutor.psm1", "probe.ps1", "Executor.Tests.ps1"} <= names


def _restic_scripts() -> dict[str, str]:
    from ansible_collections.quiesce.domino.plugins.module_utils import restic
    return dict(restic.RESTIC_SCRIPTS)


def _embedded_scripts() -> list[tuple[str, str]]:
    from ansible_collections.quiesce.domino.plugins.module_utils import doctor, robocopy
    return sorted([("robocopy.FS_SCRIPTS[%s]" % name, body) for name, body in robocopy.FS_SCRIPTS.items()]
                  + [("doctor.PROBE_SCRIPT", doctor.PROBE_SCRIPT), ("doctor.SHARE_SCRIPT", doctor.SHARE_SCRIPT)]
                  + [("restic.RESTIC_SCRIPTS[%s]" % name, body) for name, body in _restic_scripts().items()])


@pytest.mark.parametrize("name, body", _embedded_scripts(), ids=lambda v: v if v.startswith(("robocopy", "doctor", "restic")) else "")
def test_embedded_scripts_parse(name, body):
    """The constant scripts sent with -EncodedCommand parse too (what PowerShell receives: one line each)."""
    from ansible_collections.quiesce.domino.plugins.module_utils import windows_cli as cli
    import base64
    sent = base64.b64decode(cli.powershell_argv({"powershell": "C:\\p.exe"}, body)[-1]).decode("utf-16-le")
    tree = PARSER.parse(sent.encode("utf-8"))
    assert not tree.root_node.has_error, "%s:\n%s" % (name, "\n".join(_errors(tree.root_node)[:20]))


@pytest.mark.parametrize("path", _ps1_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_ps1_parses(path):
    tree = PARSER.parse(path.read_bytes())
    assert not tree.root_node.has_error, "%s:\n%s" % (path, "\n".join(_errors(tree.root_node)[:20]))


@pytest.mark.parametrize("path", _ps1_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_ps1_uses_strict_mode_and_stop(path):
    text = path.read_text(encoding="utf-8")
    assert "Set-StrictMode -Version 2.0" in text
    assert "$ErrorActionPreference = 'Stop'" in text


def test_parser_rejects_broken_powershell():
    assert PARSER.parse(b"function f { if ($x) { 'a' }").root_node.has_error
    assert PARSER.parse(b"$h = @{ a = 1 ").root_node.has_error


def _sent_text(step):
    """The script a step sends with -EncodedCommand, as PowerShell receives it."""
    import base64
    return base64.b64decode(step["argv"][-1]).decode("utf-16-le")


def _embedded_scripts():
    from ansible_collections.quiesce.domino.plugins.module_utils import (console, diskshadow, dominobackup, inventory, hostlock,
                                                                         robocopy, shadow_ledger, windows_cli)
    scripts = {"shadow-inventory": windows_cli.SHADOW_INVENTORY_SCRIPT, "domino-inventory": inventory.DOMINO_INVENTORY_SCRIPT,
               "host-inventory": inventory.HOST_INVENTORY_SCRIPT}
    scripts.update({"fs-" + name: body for name, body in robocopy.FS_SCRIPTS.items()})
    # _DISK_TYPE is not a script of its own: fs_step splices it into the fit script after the strict-mode header.
    # What the host receives is that whole text, so that is what is checked.
    scripts["fs-fit as sent (with _DISK_TYPE)"] = _sent_text(robocopy.fs_step("x", {"powershell": "p.exe"}, "fit", {}))
    from ansible_collections.quiesce.domino.plugins.module_utils import restic
    scripts.update({"restic-" + name: body for name, body in restic.RESTIC_SCRIPTS.items()})
    scripts["lock"] = hostlock.LOCK_SCRIPT
    scripts["hold"] = dominobackup.HOLD_SCRIPT
    scripts["runas"] = console.RUNAS_SCRIPT
    scripts["kill-tree"] = console.KILL_TREE_SCRIPT
    scripts["domino-state"] = console.STATE_SCRIPT
    scripts["own-shadows"] = shadow_ledger.RECORD_SCRIPT
    scripts["exposure-owner"] = shadow_ledger.EXPOSURE_OWNER_SCRIPT
    scripts["pending-shadows"] = shadow_ledger.PENDING_SCRIPT
    from ansible_collections.quiesce.domino.plugins.module_utils import doctor
    scripts["doctor-probe"] = doctor.PROBE_SCRIPT
    scripts["doctor-share"] = doctor.SHARE_SCRIPT
    scripts["shadow-probe"] = diskshadow.SHADOW_PROBE_SCRIPT
    return sorted(scripts.items())


@pytest.mark.parametrize("name, script", _embedded_scripts(), ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "")
def test_embedded_constant_scripts_use_strict_mode_and_stop(name, script):
    """Every script the plans send runs as the repository's .ps1 files do: an unset variable or a failed cmdlet
    stops it instead of printing a half-true answer."""
    assert "Set-StrictMode -Version 2.0" in script, name
    assert "$ErrorActionPreference = 'Stop'" in script, name


def test_the_disk_type_declaration_runs_under_strict_mode():
    """fs_step puts _DISK_TYPE into the fit script right after the header: strict mode is on before Add-Type."""
    from ansible_collections.quiesce.domino.plugins.module_utils import robocopy
    sent = _sent_text(robocopy.fs_step("x", {"powershell": "p.exe"}, "fit", {}))
    lines = sent.split("\n")
    assert lines[:3] == ["# quiesce.domino:fit", "Set-StrictMode -Version 2.0", "$ErrorActionPreference = 'Stop'"]
    assert lines[3].startswith("Add-Type -Namespace Quiesce -Name Disk")


# ---------------------------------------------------------------- the stdin JSON against strict mode
# Under Set-StrictMode -Version 2.0 reading a property the object does not have throws (PropertyNotFoundStrict).
# The fs scripts read their data from the JSON on stdin ($in); a key a caller leaves out stops the script.  So every
# key a script reads directly ($in.<key>, $in.<key>.<sub>, and $<v>.<key> of the elements of a list it loops over
# with foreach ($<v> in @($in.<list>))) must be in the data of every fs_step call in plugins/, found by reading the
# Python source; a key some caller may omit is read with Get-Prop (not matched here, so not required).

_PS_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def _ps_reads(script: str) -> dict[str, t.Any]:
    """The stdin keys a script reads directly: {"top": {key}, "nested": {(key, sub)}, "elements": {(list, key)}}."""
    import re
    top = set(re.findall(r"\$in\.(%s)(?![A-Za-z0-9_(])" % _PS_IDENT, script))
    nested = set(re.findall(r"\$in\.(%s)\.(%s)(?![A-Za-z0-9_(])" % (_PS_IDENT, _PS_IDENT), script))
    elements = set()
    for var, key in re.findall(r"foreach\s*\(\s*\$(%s)\s+in\s+@?\(?\s*\$in\.(%s)" % (_PS_IDENT, _PS_IDENT), script, re.I):
        elements |= {(key, sub) for sub in re.findall(r"\$%s\.(%s)(?![A-Za-z0-9_(])" % (var, _PS_IDENT), script)}
    # a method called on a key's value ($in.target.TrimEnd(...)) is not a key
    nested = {(k, sub) for k, sub in nested if not re.search(r"\$in\.%s\.%s\s*\(" % (k, sub), script)}
    return {"top": top, "nested": nested, "elements": elements}


def _imported_module(module, alias):
    """The parsed module_utils module that ``module`` imports as ``alias`` (from ...module_utils import x as alias)."""
    import ast
    for stmt in module.body:
        if isinstance(stmt, ast.ImportFrom) and (stmt.module or "").endswith("plugins.module_utils"):
            for name in stmt.names:
                if (name.asname or name.name) == alias:
                    path = REPO / "plugins" / "module_utils" / (name.name + ".py")
                    return ast.parse(path.read_text()) if path.exists() else None
    return None


# Shapes of the Python values: ("obj", {key: shape}), ("list", [element shapes]), ("none",), ("opaque",).
def _shape(node, scope, module):
    import ast
    if isinstance(node, ast.Dict):
        keys = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                return ("opaque",)  # **spread
            if not (isinstance(k, ast.Constant) and isinstance(k.value, str)):
                return ("opaque",)
            keys[k.value] = v
        return ("obj", {k: (v, scope) for k, v in keys.items()})
    if isinstance(node, ast.Constant) and node.value is None:
        return ("none",)
    if isinstance(node, (ast.List, ast.Tuple)):
        return ("list", [_shape(e, scope, module) for e in node.elts])
    if isinstance(node, ast.ListComp):
        return ("list", [_shape(node.elt, scope, module)])
    if isinstance(node, ast.IfExp):
        return ("any", [_shape(node.body, scope, module), _shape(node.orelse, scope, module)])
    if isinstance(node, ast.BoolOp):
        return ("any", [_shape(v, scope, module) for v in node.values])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "dict" and len(node.args) == 1:
            base = _shape(node.args[0], scope, module)
            if base[0] == "obj":
                return ("obj", dict(base[1], **{kw.arg: (kw.value, scope) for kw in node.keywords if kw.arg}))
            return ("opaque",)
        func = next((f for f in module.body if isinstance(f, ast.FunctionDef) and f.name == node.func.id), None)
        returns = [r.value for r in ast.walk(func) if isinstance(r, ast.Return) and r.value is not None] if func else []
        if len(returns) == 1:
            return _shape(returns[0], func, module)
        return ("opaque",)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
        # a helper of another module_utils module, called through its import alias (rc._manifest_unit)
        other = _imported_module(module, node.func.value.id)
        func = next((f for f in other.body if isinstance(f, ast.FunctionDef) and f.name == node.func.attr), None) \
            if other is not None else None
        returns = [r.value for r in ast.walk(func) if isinstance(r, ast.Return) and r.value is not None] if func else []
        if len(returns) == 1:
            return _shape(returns[0], func, other)
        return ("opaque",)
    if isinstance(node, ast.Name) and scope is not None:
        values = []
        appended = []
        for sub in ast.walk(scope):
            if isinstance(sub, ast.Assign) and any(isinstance(tg, ast.Name) and tg.id == node.id for tg in sub.targets):
                values.append(sub.value)
            elif isinstance(sub, ast.AnnAssign) and isinstance(sub.target, ast.Name) and sub.target.id == node.id \
                    and sub.value is not None:
                values.append(sub.value)
            elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "append" \
                    and isinstance(sub.func.value, ast.Name) and sub.func.value.id == node.id and sub.args:
                appended.append(sub.args[0])
        shapes = [_shape(v, scope, module) for v in values]
        if appended:
            shapes = [("list", [_shape(a, scope, module) for a in appended])] + [s for s in shapes if s != ("list", [])]
        if shapes:
            return ("any", shapes) if len(shapes) > 1 else shapes[0]
    return ("opaque",)


def _alternatives(shape):
    if shape[0] == "any":
        return [alt for s in shape[1] for alt in _alternatives(s)]
    return [shape]


def _missing_keys(reads, shape, module) -> list[str]:
    """What a caller's data lacks of the keys a script reads (a shape that cannot be resolved is reported too)."""
    problems = []
    for top in _alternatives(shape):
        if top[0] != "obj":
            problems.append("the data is not a dict literal this test can read (%s)" % top[0])
            continue
        keys = top[1]
        problems += ["$in.%s" % k for k in sorted(reads["top"]) if k not in keys]
        for outer, inner in sorted(reads["nested"]):
            if outer not in keys:
                continue
            for alt in _alternatives(_shape(keys[outer][0], keys[outer][1], module)):
                if alt[0] == "obj" and inner not in alt[1]:
                    problems.append("$in.%s.%s" % (outer, inner))
                elif alt[0] not in ("obj", "none"):
                    problems.append("$in.%s.%s: the value of %r cannot be read here (%s)" % (outer, inner, outer, alt[0]))
        for outer, inner in sorted(reads["elements"]):
            if outer not in keys:
                continue
            for alt in _alternatives(_shape(keys[outer][0], keys[outer][1], module)):
                if alt[0] != "list":
                    problems.append("elements of $in.%s: %r is not a list this test can read (%s)" % (outer, outer, alt[0]))
                    continue
                for element in alt[1]:
                    for e in _alternatives(element):
                        if e[0] == "obj" and inner not in e[1]:
                            problems.append("$in.%s[].%s" % (outer, inner))
                        elif e[0] not in ("obj", "none"):
                            problems.append("$in.%s[].%s: an element cannot be read here (%s)" % (outer, inner, e[0]))
    return sorted(set(problems))


def _fs_step_calls(source: str, where: str) -> list[tuple[str, str, t.Any, t.Any]]:
    """(script name, "file:line", data shape, module) of every fs_step(...) call in a Python source."""
    import ast
    module = ast.parse(source)
    parents = {}
    for node in ast.walk(module):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    calls = []
    for node in ast.walk(module):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name != "fs_step" or len(node.args) < 4:
            continue
        script = node.args[2]
        assert isinstance(script, ast.Constant) and isinstance(script.value, str), \
            "%s:%d: fs_step's script is not a literal name" % (where, node.lineno)
        scope = node
        while scope is not None and not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            scope = parents.get(scope)
        calls.append((script.value, "%s:%d" % (where, node.lineno), _shape(node.args[3], scope, module), module))
    return calls


def _all_fs_step_calls():
    calls = []
    for path in sorted((REPO / "plugins").rglob("*.py")):
        calls += _fs_step_calls(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
    return calls


def test_every_fs_script_reads_only_keys_every_caller_passes():
    from ansible_collections.quiesce.domino.plugins.module_utils import robocopy
    calls = _all_fs_step_calls()
    called = {c[0] for c in calls}
    assert set(robocopy.FS_SCRIPTS) == called, "scripts without a caller or callers of unknown scripts: %s" % (
        set(robocopy.FS_SCRIPTS) ^ called)
    problems = []
    for script, where, shape, module in calls:
        missing = _missing_keys(_ps_reads(robocopy.FS_SCRIPTS[script]), shape, module)
        problems += ["%s (%s): %s" % (where, script, m) for m in missing]
    assert not problems, "\n".join(problems)
    # the check saw every caller the twin exercises: at least these
    assert {c[1].split(":")[0] for c in calls} >= {"plugins/module_utils/robocopy.py", "plugins/module_utils/restore.py",
                                                   "plugins/module_utils/plans.py", "plugins/action/snapshot.py"}


def test_every_script_using_get_prop_defines_it():
    from ansible_collections.quiesce.domino.plugins.module_utils import robocopy
    for name, body in robocopy.FS_SCRIPTS.items():
        if "Get-Prop " in body:
            assert "function Get-Prop(" in body, name


def test_the_key_check_finds_a_key_a_caller_leaves_out():
    """The check itself: retention as it was (reading $in.protect) against prune_plan's data, which has no protect;
    a nested read and a loop element read against data without them; and data it cannot read."""
    import textwrap
    source = textwrap.dedent('''
        def unit(root):
            return {"root": root, "files": None}

        def prune_plan(tools, base, keep, age):
            return fs_step("retention", tools, "retention", {"base": base, "keep": keep, "max_age_seconds": age})

        def copy(tools, units, done):
            places = []
            for u in units:
                places.append({"path": u})
            fs_step("a", tools, "manifest", {"units": [unit(u) for u in units], "required": {"file": 1} if done else None})
            fs_step("b", tools, "no_deltas", {"places": places})
            fs_step("c", tools, "remove", some_dict)
    ''')
    calls = {c[0]: c for c in _fs_step_calls(source, "x.py")}
    old_retention = "$x = $in.base; $y = $in.keep; $z = $in.max_age_seconds; $_.Name -ne $in.protect"
    assert _missing_keys(_ps_reads(old_retention), calls["retention"][2], calls["retention"][3]) == ["$in.protect"]
    assert _missing_keys(_ps_reads("$w = Get-Prop $in 'protect'; $in.base"), calls["retention"][2], calls["retention"][3]) == []
    manifest = "foreach ($u in @($in.units)) { $u.root; $u.files; $u.prefix }; if ($in.required) { $in.required.file; $in.required.prefix }"
    assert _missing_keys(_ps_reads(manifest), calls["manifest"][2], calls["manifest"][3]) == [
        "$in.required.prefix", "$in.units[].prefix"]
    assert _missing_keys(_ps_reads("foreach ($p in @($in.places)) { $p.path; $p.recurse }"),
                         calls["no_deltas"][2], calls["no_deltas"][3]) == ["$in.places[].recurse"]
    assert _missing_keys(_ps_reads("$in.paths"), calls["remove"][2], calls["remove"][3]) == [
        "the data is not a dict literal this test can read (opaque)"]
    # a method called on a value is not a key; foreach over a key's elements is found
    assert _ps_reads("$in.target.TrimEnd('x'); foreach ($s in @($in.sources)) { $s.path }") == {
        "top": {"target", "sources"}, "nested": set(), "elements": {("sources", "path")}}


@pytest.mark.parametrize("name, script", _embedded_scripts(), ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "")
def test_embedded_constant_scripts_parse(name, script):
    """The constant PowerShell scripts the plans send with -EncodedCommand are valid PowerShell too."""
    tree = PARSER.parse(script.encode("utf-8"))
    assert not tree.root_node.has_error, "%s:\n%s\n%s" % (name, "\n".join(_errors(tree.root_node)[:10]), script)
