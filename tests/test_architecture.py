"""The shape of the code, checked: import contracts, where printing may happen, sizes, ``__all__``."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "qscore"
MODULES = sorted(SRC.rglob("*.py"))
#: the longest a function may be, lines (the numba kernel, one loop nest for speed, is exempt)
MAX_FUNCTION_LINES = 120
MAX_MODULE_LINES = 600


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _outside_cli():
    return [p for p in MODULES if "cli" not in p.relative_to(SRC).parts]


def test_import_contracts_hold():
    """The layers of docs/architecture.md, as import-linter checks them (contracts in pyproject.toml)."""
    lint = shutil.which("lint-imports")
    if lint is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    res = subprocess.run([lint], capture_output=True, text=True, cwd=SRC.parents[1])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "broken" not in res.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize("path", _outside_cli(), ids=lambda p: str(p.relative_to(SRC)))
def test_nothing_outside_the_cli_prints_exits_or_reads_argv(path):
    offences = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call):
            f = ast.unparse(node.func)
            if f in ("print", "sys.exit", "exit", "quit", "click.echo", "click.secho", "os._exit"):
                offences.append(f"{f}() on line {node.lineno}")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            if any(n and n.split(".")[0] == "click" for n in names):
                offences.append(f"imports click on line {node.lineno}")
        if isinstance(node, ast.Attribute) and ast.unparse(node) == "sys.argv":
            offences.append(f"reads sys.argv on line {node.lineno}")
        if isinstance(node, ast.Raise) and node.exc is not None and "SystemExit" in ast.unparse(node.exc):
            offences.append(f"raises SystemExit on line {node.lineno}")
    assert not offences, offences


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_sizes_and_public_names(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{len(text.splitlines())} lines"
    tree = ast.parse(text)
    if path.name != "__main__.py":
        assert any(isinstance(n, (ast.Assign, ast.AnnAssign)) and "__all__" in ast.unparse(n)
                   for n in tree.body), "no __all__"
        assert ast.get_docstring(tree), "no module docstring"
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            njit = any("njit" in ast.unparse(d) for d in node.decorator_list)
            length = node.end_lineno - node.lineno + 1
            assert njit or length < MAX_FUNCTION_LINES, f"{node.name}: {length} lines"


def test_checks_can_fail(tmp_path):
    """The AST checks above do see what they look for (not a test that cannot fail)."""
    bad = tmp_path / "bad.py"
    bad.write_text('"""x."""\nimport sys\nimport click\n\n__all__ = []\nprint(sys.argv)\nclick.echo("x")\n')
    with pytest.raises(AssertionError) as caught:
        test_nothing_outside_the_cli_prints_exits_or_reads_argv(bad)
    for found in ("imports click on line 3", "print() on line 6", "click.echo() on line 7", "reads sys.argv on line 6"):
        assert found in str(caught.value)


def _public_functions(path: Path):
    tree = _tree(path)
    names = set()
    for n in tree.body:
        if isinstance(n, ast.Assign) and "__all__" in ast.unparse(n.targets[0]):
            names = {e.value for e in getattr(n.value, "elts", []) if isinstance(e, ast.Constant)}
    for n in tree.body:
        if isinstance(n, ast.FunctionDef) and n.name in names:
            yield n


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_public_functions_have_numpydoc_parameters(path):
    """Every public function says what its parameters are (numpydoc 'Parameters' section) — except the
    click commands, whose docstring is their --help."""
    missing = []
    for fn in _public_functions(path):
        if any("command" in ast.unparse(d) or "group" in ast.unparse(d) for d in fn.decorator_list):
            continue
        doc = ast.get_docstring(fn) or ""
        params = [a.arg for a in fn.args.args + fn.args.kwonlyargs if a.arg not in ("self", "cls")]
        if not doc or (len(params) > 1 and "Parameters\n----------" not in doc):
            missing.append(fn.name)
    assert not missing, missing
