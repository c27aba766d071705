"""What a new user meets first: the README's commands, the requirement files, galaxy.yml and CI's entry point."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
# Tools that test, lint or build the collection: never in the demo's (a controller's) environment.
TOOLS = {"pytest", "pytest-xdist", "ansible-lint", "tree-sitter", "tree-sitter-pwsh", "antsibull-changelog",
         "ansible-runner", "ansible-builder", "galaxy-importer", "ansible"}
REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]+\])?(?P<spec>.*)$")


def requirements(path: Path) -> tuple[list[str], dict[str, str]]:
    """The -r includes and the packages (name -> version spec) of a requirements file."""
    includes, packages = [], {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            includes.append(line[3:].strip())
            continue
        match = REQUIREMENT.match(line)
        assert match, "%s: %r" % (path.name, line)
        packages[match.group("name").lower()] = match.group("spec").replace(" ", "")
    return includes, packages


def test_runtime_and_test_requirements_are_split_and_each_range_pinned_once():
    runtime_includes, runtime = requirements(REPO / "requirements.txt")
    test_includes, test = requirements(REPO / "requirements-test.txt")
    ee = requirements(REPO / "meta" / "ee-requirements.txt")[1]
    assert runtime_includes == ["meta/ee-requirements.txt"] and "ansible-core" in runtime
    assert not TOOLS & set(runtime) and not TOOLS & set(ee), "a tool in the demo's environment"
    # requirements-test.txt starts with the runtime, then adds tools only
    first = next(line for line in (REPO / "requirements-test.txt").read_text().splitlines()
                 if line.strip() and not line.startswith("#"))
    assert first == "-r requirements.txt" and test_includes == ["requirements.txt"]
    assert set(test) <= TOOLS and {"pytest", "ansible-lint", "galaxy-importer", "tree-sitter"} <= set(test)
    assert not set(test) & (set(runtime) | set(ee)), "a package pinned in two places"
    for name, spec in {**runtime, **ee, **test}.items():
        assert re.fullmatch(r">=[\d.]+,<[\d.]+", spec), "%s has no range: %r" % (name, spec)


def test_make_installs_only_from_the_requirement_files():
    makefile = (REPO / "Makefile").read_text()
    installs = re.findall(r"pip install ([^|\n]*)", makefile)
    assert installs and all(re.fullmatch(r"--progress-bar off -r requirements(-test)?\.txt 2>&1 ", i) for i in installs)
    demo_venv = re.search(r"^\$\(BIN\)/\.installed: (.*)$", makefile, re.M).group(1).split()
    assert "requirements-test.txt" not in demo_venv
    # restic only for the restic demo (the default demo needs nothing but Python)
    assert re.search(r"^demo: venv \$\(if \$\(filter restic,\$\(DEMO_BACKEND\)\),restic\)$", makefile, re.M) \
        and re.search(r"^unit: test-venv$", makefile, re.M)
    assert (REPO / ".ci" / "run").read_text().strip().splitlines()[-1] == "exec make test"


def test_readme_starts_with_the_two_commands_and_documents_the_fleet_again():
    readme = (REPO / "README.md").read_text()
    assert readme.startswith("# quiesce.domino\n\n```\nmake demo\nmake test\n```\n")
    for words in ("make fleet-up", "make fleet-down", "ANSIBLE_COLLECTIONS_PATH", "--check"):
        assert words in readme, words
    modules = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
    table = re.findall(r"^\| `quiesce\.domino\.(\w+)` \|", readme, re.M)
    assert set(modules) <= set(table), "modules missing from the README table: %s" % (set(modules) - set(table))


def test_readme_shows_the_commands_the_demo_prints():
    sys.path.insert(0, str(REPO / "tests" / "tools"))
    import demo
    shown = demo.Demo(REPO / "build")
    shown.bin = REPO / ".venv" / "bin"  # the venv make demo creates
    printed = [line.strip() for line in shown.again().splitlines()]
    assert printed[0] == "cd %s" % REPO
    readme = (REPO / "README.md").read_text()
    block = readme[readme.index("## After the demo"):].split("```\n", 2)[1].strip().splitlines()
    assert block == printed[1:]


def test_galaxy_urls_are_the_projects_and_no_placeholder_is_left():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    for key in ("repository", "documentation", "homepage", "issues"):
        assert galaxy[key].startswith("https://github.com/quiesce/domino"), key
    assert galaxy["repository"] == "https://github.com/quiesce/domino"  # galaxy-importer requires it
    placeholder = "example" + ".invalid"
    for top in ("galaxy.yml", "README.md", "docs", "meta", "plugins", "roles", "playbooks"):
        for path in [REPO / top] if (REPO / top).is_file() else (REPO / top).rglob("*"):
            if path.is_file() and path.suffix in (".yml", ".yaml", ".md", ".py", ".txt"):
                assert placeholder not in path.read_text(errors="replace"), path
