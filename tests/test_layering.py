"""Which package may import which (docs/architecture.md, "Layout"), read from the source with ``ast``.

From the bottom up: ``portfolio`` knows nothing of ``uploads``; ``uploads.secrets`` knows nothing
else of ``uploads``; ``uploads.models`` stands on the secrets and on two rules of the outbound
layer that import nothing of ``uploads`` (``netguard`` validates a base URL field, ``redaction``
cleans what an attempt stores); ``uploads.runs`` on the models; ``uploads.outbound`` on the
models, the secrets and ``runs.taskcontext`` (an attempt names its task); each service on all of
those and never on the other service; the admin, the tasks, the reaper and the commands on
everything. ``dashboard`` (the admin index's panels) reads both ``portfolio`` and ``uploads``, and
nothing imports it. An import inside a function counts as much as one at the top. The sandbox's
own rule is in tests/sandbox/test_independence.py.
"""

import ast
import pydoc
import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SERVICES = ("uploads.raptormaps", "uploads.wattcarbon")
# The outbound rules the models use; they must stay leaves, or models and outbound would form a loop.
LEAVES = ("uploads.outbound.netguard", "uploads.outbound.redaction", "uploads.runs.taskcontext")

# package → what of the project's own code it may import, besides itself (prefixes, whole dotted names).
MAY_IMPORT = {
    "uploads.secrets": (),
    "uploads.models": ("portfolio", "uploads.secrets", "uploads.outbound.netguard", "uploads.outbound.redaction"),
    "uploads.runs": ("portfolio", "uploads.models"),
    "uploads.outbound": ("uploads.models", "uploads.secrets", "uploads.runs.taskcontext"),
    "uploads.raptormaps": ("portfolio", "uploads.models", "uploads.secrets", "uploads.runs", "uploads.outbound"),
    "uploads.wattcarbon": ("portfolio", "uploads.models", "uploads.secrets", "uploads.runs", "uploads.outbound"),
}
OWN_CODE = ("portfolio", "uploads", "audit", "dashboard", "sandbox", "tests", "bench")

# What stays at the top of uploads/: the app, and the worker's entry points. django-q2 stores task
# paths (``uploads.tasks.upload_raptormaps``) in its schedules and queued tasks: they never move.
TOP_MODULES = {"__init__", "apps", "tasks", "signals", "reaper", "demo"}
TOP_PACKAGES = {
    "admin",
    "models",
    "runs",
    "outbound",
    "secrets",
    "raptormaps",
    "wattcarbon",
    "management",
    "migrations",
}


def imported_names(source):
    """(line, dotted name) of every absolute import in ``source``; ``from a import b`` gives ``a.b``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def within(name, prefix):
    return name == prefix or name.startswith(prefix + ".")


def breaches(package, source, allowed):
    """The imports of the project's own code in ``source`` that ``package`` may not make."""
    return [
        (line, name)
        for line, name in imported_names(source)
        if name.split(".")[0] in OWN_CODE and not any(within(name, p) for p in (package, *allowed))
    ]


def module_files(package):
    folder = PROJECT.joinpath(*package.split("."))
    files = [folder.with_suffix(".py")] if folder.with_suffix(".py").exists() else sorted(folder.rglob("*.py"))
    return [path for path in files if "migrations" not in path.parts]


def offences(package, allowed):
    files = module_files(package)
    assert files, package  # the walk finds it
    return [
        f"{path.relative_to(PROJECT)}:{line} imports {name}"
        for path in files
        for line, name in breaches(package, path.read_text(), allowed)
    ]


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_each_package_imports_only_what_lies_below_it(package):
    assert offences(package, MAY_IMPORT[package]) == []


@pytest.mark.parametrize("leaf", LEAVES)
def test_the_rules_the_models_stand_on_import_nothing_of_the_project(leaf):
    assert offences(leaf, ()) == []


def test_portfolio_knows_nothing_of_the_services():
    names = [
        f"{path.relative_to(PROJECT)}:{line} imports {name}"
        for path in module_files("portfolio")
        for line, name in imported_names(path.read_text())
        if within(name, "uploads")
    ]
    assert names == []


def test_nothing_of_the_application_imports_the_dashboard():
    """The dashboard is the top: it may read everything, and nothing depends on it (the settings name it)."""
    names = [
        f"{path.relative_to(PROJECT)}:{line} imports {name}"
        for package in ("portfolio", "uploads", "audit")
        for path in module_files(package)
        for line, name in imported_names(path.read_text())
        if within(name, "dashboard")
    ]
    assert names == []


def test_the_top_of_uploads_shows_the_design():
    """A module added at the top of uploads/ belongs to runs/, outbound/, a service, or the admin."""
    top = PROJECT / "uploads"
    modules = {path.stem for path in top.glob("*.py")}
    packages = {path.name for path in top.iterdir() if (path / "__init__.py").exists()}
    assert modules == TOP_MODULES
    assert packages == TOP_PACKAGES


def test_every_stored_task_path_still_names_a_function():
    """Schedules and queued tasks hold dotted paths: each one the code or a migration writes resolves."""
    sources = [*PROJECT.joinpath("uploads").rglob("*.py"), *PROJECT.joinpath("portfolio").rglob("*.py")]
    paths = {match for path in sources for match in re.findall(r"[\"'](uploads\.tasks\.\w+)[\"']", path.read_text())}
    assert {"uploads.tasks.upload_raptormaps", "uploads.tasks.sync_wattcarbon"} <= paths
    assert [path for path in sorted(paths) if not callable(pydoc.locate(path))] == []


@pytest.mark.parametrize(
    ("package", "source"),
    [
        ("uploads.outbound", "from uploads.raptormaps import service"),
        ("uploads.outbound", "def late():\n    from uploads.runs import leases\n"),
        ("uploads.runs", "import uploads.outbound.http"),
        ("uploads.runs", "import importlib\nimportlib.import_module('uploads.admin')"),
        ("uploads.raptormaps", "from uploads.wattcarbon.service import run_sync"),
        ("uploads.models", "from uploads.outbound.http import Client"),
    ],
)
def test_the_check_finds_a_breach_wherever_it_is(package, source):
    assert breaches(package, source, MAY_IMPORT[package]) != []


def test_the_check_allows_what_lies_below_and_libraries():
    source = "import requests\nfrom django.db import models\nfrom uploads.runs.taskcontext import current_task_id"
    assert breaches("uploads.outbound", source, MAY_IMPORT["uploads.outbound"]) == []
