"""`get_type_hints` that reads our modern annotation strings on every supported Python (3.8+).

Every module writes `from __future__ import annotations`, so annotations are strings such as
`tuple[float, float] | None`. The config loaders (`driving.config.from_dict`,
`scenarios.param_range`, `scenarios.registry`) evaluate them at run time, and on the oldest
Python we support (the CARLA leaderboard image's) `typing.get_type_hints` cannot: builtin
generics need 3.9 and `X | Y` needs 3.10. Here the string is parsed and each node evaluated
by hand: `X | Y` becomes `typing.Union[X, Y]` and a subscripted builtin or `collections.abc`
class its `typing` alias. The result is the same on every version (so a behaviour tested on a
new Python holds on the old one), and `get_origin`/`get_args` read it as usual.
"""
from __future__ import annotations

import ast
import builtins
import collections
import collections.abc
import sys
import typing
from typing import Any

#: Subscripted -> the typing alias that can be subscripted on Python 3.8.
_ALIASES: dict[Any, Any] = {
    tuple: typing.Tuple, list: typing.List, dict: typing.Dict, set: typing.Set,
    frozenset: typing.FrozenSet, type: typing.Type, collections.deque: typing.Deque,
    collections.Counter: typing.Counter, collections.defaultdict: typing.DefaultDict,
    **{getattr(collections.abc, name): getattr(typing, name) for name in (
        "Callable", "Collection", "Container", "Generator", "Iterable", "Iterator", "Mapping",
        "MutableMapping", "MutableSequence", "MutableSet", "Sequence")},
}


def _slice(node: ast.AST) -> ast.AST:
    """The subscript's index (Python 3.8 wraps it in `ast.Index`)."""
    return getattr(node, "value", node) if type(node).__name__ == "Index" else node


def _evaluate(node: ast.AST, namespace: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        value = node.value
        return evaluate_annotation(value, namespace) if isinstance(value, str) else value
    if isinstance(node, ast.Name):
        if node.id in namespace:
            return namespace[node.id]
        if hasattr(builtins, node.id):
            return getattr(builtins, node.id)
        raise NameError(f"name {node.id!r} is not defined")
    if isinstance(node, ast.Attribute):
        return getattr(_evaluate(node.value, namespace), node.attr)
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_evaluate(item, namespace) for item in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return typing.Union[_evaluate(node.left, namespace), _evaluate(node.right, namespace)]
    if isinstance(node, ast.Subscript):
        base = _evaluate(node.value, namespace)
        return _ALIASES.get(base, base)[_evaluate(_slice(node.slice), namespace)]
    raise TypeError(f"unsupported annotation syntax: {ast.dump(node)}")


def evaluate_annotation(text: str, namespace: dict[str, Any]) -> Any:
    """The type that annotation string `text` names, looked up in `namespace` (then builtins)."""
    return _evaluate(ast.parse(text.strip(), mode="eval").body, namespace)


def get_type_hints(obj: Any) -> dict[str, Any]:
    """Name -> type of the annotations of class `obj` (its bases first) or of function `obj`."""
    if isinstance(obj, type):
        hints: dict[str, Any] = {}
        for klass in reversed(obj.__mro__):
            # module names win over the class's own, as in typing.get_type_hints
            namespace = {**vars(klass), **vars(sys.modules[klass.__module__])}
            for name, value in vars(klass).get("__annotations__", {}).items():
                hints[name] = evaluate_annotation(value, namespace) if isinstance(value, str) else value
        return hints
    namespace = dict(getattr(obj, "__globals__", {}))
    return {name: evaluate_annotation(value, namespace) if isinstance(value, str) else value
            for name, value in getattr(obj, "__annotations__", {}).items()}
