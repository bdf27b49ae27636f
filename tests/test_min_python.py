"""Our packages run on the oldest Python that setup.cfg's `python_requires` promises (the one the
CARLA leaderboard image runs us on, see driving/submission).

Two checks, both read the minimum from setup.cfg (one source of truth):
- vermin finds no language feature, module or argument newer than that minimum;
- no PEP 585/604 type expression (`tuple[int, int]`, `X | None`) is evaluated at import time.
  Every module has `from __future__ import annotations`, so annotations stay strings; vermin
  ignores them by default (its `--eval-annotations` would flag all of them, and its
  `union-types` feature flags them even as strings), but it also misses type aliases and other
  type expressions outside annotations, which Python 3.8 evaluates and rejects. The config
  loaders that do evaluate annotations use `driving.type_hints`, tested here too.
"""
from __future__ import annotations

import ast
import configparser
import re
import shutil
import subprocess
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest

from driving.type_hints import get_type_hints

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("driving", "perception", "planning", "control", "scenarios", "leaderboard")
#: Builtins and collections(.abc) classes that a Python 3.8 expression cannot subscript.
BUILTIN_GENERICS = {"tuple", "list", "dict", "set", "frozenset", "type"}
ABC_GENERICS = {"Callable", "Sequence", "Mapping", "Iterable", "Iterator", "Collection", "MutableMapping",
                "Generator", "deque", "Counter", "defaultdict"}


def min_python() -> str:
    """'3.8' from setup.cfg's `python_requires = >=3.8`."""
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    spec = config["options"]["python_requires"].strip()
    match = re.fullmatch(r">=\s*(\d+\.\d+)", spec)
    assert match, f"setup.cfg python_requires: expected '>=X.Y', got {spec!r}"
    return match.group(1)


def test_vermin_finds_nothing_newer_than_python_requires():
    vermin = shutil.which("vermin")
    if vermin is None:
        pytest.skip("vermin is not installed (pip install -e '.[test]' brings it)")
    # --no-config-file: vermin would otherwise read setup.cfg itself; the target is spelled here
    proc = subprocess.run(
        [vermin, "--no-config-file", "--quiet", "--violations", "--no-tips", f"--target={min_python()}-",
         *(str(REPO / p) for p in PACKAGES)],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, f"needs a newer Python than {min_python()}:\n{proc.stdout[-4000:]}{proc.stderr}"


def _annotation_node_ids(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        annotations: list[ast.AST] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            annotations = [a.annotation for a in every if a is not None and a.annotation is not None]
            annotations += [node.returns] if node.returns is not None else []
        elif isinstance(node, ast.AnnAssign):
            annotations = [node.annotation]
        for annotation in annotations:
            ids.update(id(n) for n in ast.walk(annotation))
    return ids


def _is_type_operand(node: ast.AST) -> bool:
    """None, a builtin or capitalised class name, or a subscripted type: what `X | Y` unites.
    UPPER_CASE names are constants (`os.O_WRONLY | os.O_CREAT` is an int flag union), not types."""
    if isinstance(node, ast.Constant):
        return node.value is None
    if isinstance(node, ast.Name):
        return node.id in BUILTIN_GENERICS | {"int", "float", "str", "bool", "bytes"} or _class_like(node.id)
    if isinstance(node, ast.Attribute):
        return _class_like(node.attr)
    return isinstance(node, ast.Subscript)


def _class_like(name: str) -> bool:
    return name[:1].isupper() and not ("_" in name and name.isupper())


def _subscripts_pep585(base: ast.AST, from_abc: set[str]) -> str:
    """The name when `base[...]` needs Python 3.9: a builtin, or a collections(.abc) class."""
    if isinstance(base, ast.Name):
        return base.id if base.id in BUILTIN_GENERICS or base.id in from_abc else ""
    if isinstance(base, ast.Attribute) and base.attr in ABC_GENERICS:
        root = base.value
        while isinstance(root, ast.Attribute):
            root = root.value
        return base.attr if isinstance(root, ast.Name) and root.id == "collections" else ""
    return ""


def _runtime_type_expressions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _annotation_node_ids(tree)
    from_abc = {alias.asname or alias.name for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module in ("collections", "collections.abc")
                for alias in node.names}
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        name = _subscripts_pep585(node.value, from_abc) if isinstance(node, ast.Subscript) else ""
        if name:
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: {name}[...]")
        elif (isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr)
              and _is_type_operand(node.left) and _is_type_operand(node.right)):
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: X | Y")
    return found


def test_no_modern_type_expression_is_evaluated_at_import():
    if tuple(int(part) for part in min_python().split(".")) >= (3, 10):
        pytest.skip(f"python_requires >= {min_python()} evaluates PEP 585/604 expressions")
    found = [hit for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))
             for hit in _runtime_type_expressions(path)]
    assert not found, ("Python 3.8 cannot evaluate these outside annotations; use typing.Tuple, "
                       "typing.Union, ...:\n" + "\n".join(found))


@dataclass(frozen=True)
class _Base:
    name: str | None = None


@dataclass(frozen=True)
class _Sample(_Base):
    pair: tuple[float, float] = (0.0, 1.0)
    table: dict[str, list[int]] | None = None


def test_type_hints_reads_modern_annotation_strings_as_typing_forms():
    hints = get_type_hints(_Sample)
    assert hints == {"name": typing.Optional[str], "pair": typing.Tuple[float, float],
                     "table": typing.Optional[typing.Dict[str, typing.List[int]]]}
    assert typing.get_origin(hints["pair"]) is tuple and typing.get_args(hints["pair"]) == (float, float)
