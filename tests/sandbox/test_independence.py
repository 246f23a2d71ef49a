"""The sandbox is a second, independent reading of the contracts (docs/contracts.md, the seeds).

It imports nothing of the project's own code, so that a mistake the client makes cannot pass
because the sandbox shares it; and the project's code imports nothing of the sandbox (tests and
benchmarks may, to drive it). The check reads the source with ``ast``: an import inside a
function or under ``if TYPE_CHECKING`` counts as much as one at the top.
"""

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = frozenset({"portfolio", "uploads", "audit", "tests", "bench"})
CLIENT_PACKAGES = ("portfolio", "uploads", "audit")


def imported_packages(source):
    """(line, top-level package) of every absolute import in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def offending(paths, forbidden):
    return [
        f"{path.relative_to(PROJECT)}:{line} imports {package}"
        for path in paths
        for line, package in imported_packages(path.read_text())
        if package in forbidden
    ]


def python_files(folder):
    return sorted((PROJECT / folder).rglob("*.py"))


def test_the_sandbox_imports_nothing_of_the_project():
    files = python_files("sandbox")
    assert len(files) > 20  # the walk finds the package
    assert offending(files, PROJECT_PACKAGES) == []


@pytest.mark.parametrize("folder", CLIENT_PACKAGES)
def test_the_project_imports_nothing_of_the_sandbox(folder):
    files = [path for path in python_files(folder) if "migrations" not in path.parts]
    assert offending(files, {"sandbox"}) == []


@pytest.mark.parametrize(
    "source",
    [
        "from portfolio.choices import SENSOR_TYPES, EquipmentType",  # what csvcheck.py did before
        "import uploads.raptormaps.csvfile as csvfile",
        "def late():\n    from uploads.outbound import http\n",
        "import importlib\nimportlib.import_module('portfolio.choices')",
    ],
)
def test_the_check_finds_an_import_wherever_it_is(source):
    assert [package for _, package in imported_packages(source)][-1] in PROJECT_PACKAGES


def test_the_check_leaves_relative_imports_and_libraries_alone():
    source = "from . import exchange\nfrom .series import instant\nimport requests\nfrom sandbox import app"
    assert not {package for _, package in imported_packages(source)} & PROJECT_PACKAGES


def test_the_demo_logs_in_with_the_sandbox_defaults():
    """The demo keeps its own copy of the sandbox's default logins; the two copies agree."""
    from sandbox import raptormaps, wattcarbon
    from uploads.demo import SANDBOX_RAPTORMAPS, SANDBOX_WATTCARBON

    assert SANDBOX_RAPTORMAPS == {
        "client_id": raptormaps.DEFAULT_CLIENT_ID,
        "client_secret": raptormaps.DEFAULT_CLIENT_SECRET,
        "org_id": raptormaps.DEFAULT_ORG_ID,
        "integration_id": raptormaps.DEFAULT_INTEGRATION_ID,
    }
    assert SANDBOX_WATTCARBON == {
        "email": wattcarbon.DEFAULT_EMAIL,
        "api_key": wattcarbon.DEFAULT_API_KEY,
        "account_id": wattcarbon.DEFAULT_ACCOUNT_ID,
    }
