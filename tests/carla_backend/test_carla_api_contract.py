"""Contract test: every `carla.` name the CARLA server backend uses exists in the installed client.

No CARLA server runs in CI, so a misspelt method or an API from another CARLA version in
`driving/carla_backend/` would only fail on a live server. This test reads the backend's source
with `ast` (every .py under `driving/carla_backend/`, plus any other non-test module of the repo
that builds a `carla.Client(`; today there is none) and checks each use against the installed
`carla` module (the `carla==0.9.16` wheel that `pip install -e '.[test]'` brings).

What the checker covers:

- Direct attribute chains on the module (`carla.VehicleControl`, `carla.LaneType.Driving`,
  `carla.command.DestroyActor`, annotations such as `carla.Map | None`, `from carla import X`),
  resolved with getattr on the real module.
- Attributes and methods used on objects that hold carla values (loads, calls and stores, e.g.
  `world.get_settings()`, `settings.fixed_delta_seconds = ...`, `tm.set_synchronous_mode(...)`),
  checked against the members of the object's carla class. A class stands for itself and all
  its subclasses in the wheel, since the server hands out the most derived type (a
  `carla.Actor` from `world.get_actor` may be a `carla.Vehicle`, a `carla.TrafficLight`, ...).
  Which objects hold carla values is found by simple, flow-insensitive inference per scope:
  * annotations `x: carla.X`, `carla.X | None`, `Optional[carla.X]` on parameters and variables,
    and on the return of functions/methods defined in the same module (`self._require_map()`);
  * constructors `carla.X(...)`, and the return type of any carla method, read from the
    Boost.Python signature in its docstring (`get_world( (Client)arg1) -> World`), so chains
    like `client.get_world().get_map().get_waypoint(...)` are followed;
  * a few property types (`PROPERTY_TYPES`: `transform.location`, `snapshot.timestamp`, ...)
    and element types for iteration (`ITEM_TYPES`, `LIST_RETURNS`: `for bp in library`,
    `for tl in world.get_actors().filter(...)`);
  * assignments `x = <typed expression>` (also tuple-to-tuple), loop and comprehension targets;
  * explicit tables for names whose value comes from untyped code (`Any` parameters, helpers
    returning `Any`, `self._server(...)` wrappers): `NAME_TYPES` (variable names such as `client`,
    `world`, `tm`, `bp`, `actor`, `light`), `FILE_NAME_TYPES` (names that mean a carla object in
    one file only, e.g. `m` in sensors.py), `ATTRIBUTE_TYPES` (dotted expressions such as
    `self._client`, `record.actor`) and `NOT_CARLA` (names in a file that are *not* carla objects:
    `world` in traffic.py is our `CarlaServerWorld`).
  A name bound in its scope to a known carla type uses that type; a name bound only to something
  the inference cannot type (an assignment, a loop or comprehension target, an unannotated or
  `Any` parameter) falls back to the tables; `with`/`except`/import targets and parameters
  annotated with a non-carla type hide the tables.
- `getattr(obj, "literal"[, default])` on a typed object, checked like `obj.literal`.
- Keyword arguments of calls to carla constructors and methods (`carla.Rotation(pitch=...)`,
  `world.spawn_actor(..., attach_to=...)`), against the parameter names in the docstring.

What it does not cover: objects the inference cannot type and that no table names (e.g. the
items of `markings: Iterable[Any]` in events.py, or `self._signals().light(i).get_state`, where a
helper returns `Any`), `getattr(obj, variable)` with a non-literal name (`getattr(wp, side)()` in
signals.py), properties and list-returning methods missing from the tables (their values are
untyped, so what is used on them is not checked), positional argument counts and types, the
meaning of string ids (blueprint ids, attribute names, filter patterns: those need a server), and
whatever the server itself accepts over RPC. A mismatch is checked against whichever `carla` is
installed, so running this test after `pip install carla==<server version>` tells whether the
backend uses anything that client lacks.

Every unknown name is reported at once, each with file:line.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import carla
import pytest

REPO = Path(__file__).resolve().parents[2]
BACKEND_DIR = REPO / "driving" / "carla_backend"
#: Folders never scanned for other server-talking modules.
SKIP_DIRS = {"tests", "build", "dist", "runs", "node_modules", "__pycache__"}

#: Variable names that hold a carla object when nothing better is known (see the module docstring).
NAME_TYPES: dict[str, str] = {
    "client": "Client",
    "world": "World",
    "carla_map": "Map",
    "tm": "TrafficManager",
    "traffic_manager": "TrafficManager",
    "settings": "WorldSettings",
    "snapshot": "WorldSnapshot",
    "library": "BlueprintLibrary",
    "blueprint_library": "BlueprintLibrary",
    "bp": "ActorBlueprint",
    "blueprint": "ActorBlueprint",
    "actor": "Actor",
    "parent": "Actor",
    "vehicle": "Vehicle",
    "walker": "Walker",
    "controller": "WalkerAIController",
    "sensor": "Sensor",
    "light": "TrafficLight",
    "tl": "TrafficLight",
    "sign": "TrafficSign",
    "waypoint": "Waypoint",
    "wp": "Waypoint",
    "transform": "Transform",
    "location": "Location",
    "weather": "WeatherParameters",
    "measurement": "SensorData",
    "ev": "SensorData",
}
#: Names that hold a carla object in one file only (file path relative to the repo).
FILE_NAME_TYPES: dict[str, dict[str, str]] = {
    "driving/carla_backend/sensors.py": {"m": "SensorData"},
    "driving/carla_backend/signals.py": {"w": "Waypoint"},
}
#: Dotted expressions (`base.attr`, base a plain name) that hold a carla object.
ATTRIBUTE_TYPES: dict[str, str] = {
    "self._client": "Client",
    "self._world": "World",
    "self._tm": "TrafficManager",
    "self._map": "Map",
    "self._library": "BlueprintLibrary",
    "self._original_settings": "WorldSettings",
    "record.actor": "Actor",
    "record.spawn_transform": "Transform",
    "r.actor": "Actor",
    "pilot.actor": "Walker",
    "pilot.controller": "WalkerAIController",
    "s.actor": "Sensor",
}
#: Names (or dotted expressions) that are *not* carla objects in a file, although a table says so.
NOT_CARLA: dict[str, set[str]] = {
    "driving/carla_backend/traffic.py": {"world"},  # our CarlaServerWorld, not a carla.World
}
#: (class, property) -> the carla class of its value (properties have no docstring signature).
PROPERTY_TYPES: dict[tuple[str, str], str] = {
    ("Transform", "location"): "Location",
    ("Transform", "rotation"): "Rotation",
    ("BoundingBox", "location"): "Location",
    ("BoundingBox", "extent"): "Vector3D",
    ("BoundingBox", "rotation"): "Rotation",
    ("Waypoint", "transform"): "Transform",
    ("Waypoint", "lane_type"): "LaneType",
    ("Actor", "bounding_box"): "BoundingBox",
    ("TrafficSign", "trigger_volume"): "BoundingBox",
    ("WorldSnapshot", "timestamp"): "Timestamp",
    ("SensorData", "transform"): "Transform",
    ("CollisionEvent", "actor"): "Actor",
    ("CollisionEvent", "other_actor"): "Actor",
    ("CollisionEvent", "normal_impulse"): "Vector3D",
    ("LaneInvasionEvent", "actor"): "Actor",
    ("IMUMeasurement", "accelerometer"): "Vector3D",
    ("IMUMeasurement", "gyroscope"): "Vector3D",
    ("LaneMarking", "type"): "LaneMarkingType",
    ("WalkerControl", "direction"): "Vector3D",
}
#: Iterable carla class -> class of its items.
ITEM_TYPES: dict[str, str] = {
    "ActorList": "Actor",
    "BlueprintLibrary": "ActorBlueprint",
    "ActorBlueprint": "ActorAttribute",
}
#: (class, method) returning a plain list -> class of its items.
LIST_RETURNS: dict[tuple[str, str], str] = {
    ("TrafficLight", "get_group_traffic_lights"): "TrafficLight",
    ("TrafficLight", "get_stop_waypoints"): "Waypoint",
    ("Map", "get_spawn_points"): "Transform",
    ("Map", "generate_waypoints"): "Waypoint",
}
#: Carla classes the backend must keep reaching; if the inference goes blind to one, this fails.
MUST_REACH = (
    "Client",
    "World",
    "WorldSettings",
    "Map",
    "TrafficManager",
    "BlueprintLibrary",
    "ActorBlueprint",
    "Actor",
    "TrafficLight",
    "Waypoint",
    "Transform",
)

Types = frozenset[str]
NOTHING: Types = frozenset()


# ---- the installed carla module --------------------------------------------------------------
@cache
def carla_classes() -> dict[str, type]:
    """Qualified name ("World", "command.SpawnActor") -> class, for every class of the wheel."""
    out: dict[str, type] = {}
    for prefix, module in (("", carla), ("command.", carla.command)):
        for name in dir(module):
            obj = getattr(module, name)
            if isinstance(obj, type) and getattr(obj, "__module__", "").startswith("carla"):
                out[prefix + name] = obj
    return out


@cache
def class_name_of(cls: type) -> str | None:
    for name, known in carla_classes().items():
        if known is cls:
            return name
    return None


@cache
def expand(name: str) -> tuple[type, ...]:
    """The class `name` and every subclass of it in the wheel."""
    base = carla_classes()[name]
    return tuple(c for c in carla_classes().values() if issubclass(c, base))


def classes_of(types: Types) -> list[type]:
    return [c for name in sorted(types) for c in expand(name)]


def has_member(types: Types, attr: str) -> bool:
    return any(hasattr(c, attr) for c in classes_of(types))


def _signature_lines(doc: str | None, name: str) -> list[str]:
    """The Python signature lines of a Boost.Python docstring ("name( (T)arg1, ...) -> R :")."""
    return [line for line in (doc or "").splitlines() if line.startswith(f"{name}(") and " -> " in line]


def _return_names(fn: object, name: str) -> list[str]:
    return [line.rsplit(" -> ", 1)[1].split()[0] for line in _signature_lines(fn.__doc__, name)]


def _parameter_names(fn: object, name: str) -> set[str] | None:
    """Keyword names accepted by a Boost.Python callable; None when its docstring shows no signature."""
    lines = _signature_lines(fn.__doc__, name)
    if not lines or any("**" in line for line in lines):
        return None
    names: set[str] = set()
    for line in lines:
        names.update(re.findall(r"\([^()]*\)\s*(\w+)", line.rsplit(" -> ", 1)[0]))
    return names


def method_return(types: Types, method: str) -> Types:
    """Carla classes a method returns (from its docstring signature), over every class in `types`."""
    out: set[str] = set()
    for cls in classes_of(types):
        fn = getattr(cls, method, None)
        if fn is None or not callable(fn):
            continue
        for ret in _return_names(fn, method):
            if ret in carla_classes():
                out.add(ret)
    return frozenset(out)


def table_lookup(types: Types, attr: str, table: dict[tuple[str, str], str]) -> Types:
    out = set()
    for cls in classes_of(types):
        for base in cls.__mro__:
            name = class_name_of(base)
            if name is not None and (name, attr) in table:
                out.add(table[(name, attr)])
    return frozenset(out)


# ---- scopes and bindings ---------------------------------------------------------------------
@dataclass
class Binding:
    kind: str  # "assign", "ann", "param", "loop", "shadow"
    value: ast.expr | None = None
    annotation: ast.expr | None = None


@dataclass(eq=False)
class Scope:
    parent: Scope | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)

    def bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    text: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text}: {self.why}"


@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    checked: Counter = field(default_factory=Counter)  # carla class name -> uses checked on it


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 80 else text[:77] + "..."


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_UNION_FORMS = ("Optional", "Union")
#: Calls that keep the items of their iterable argument.
_ITER_WRAPPERS = ("list", "tuple", "sorted", "reversed")


class Checker:
    """Checks one module's source; see the module docstring for what it infers."""

    def __init__(self, source: str, path: str) -> None:
        self.path = path
        self.tree = ast.parse(source, filename=path)
        self.aliases: dict[str, object] = {}  # local name -> carla module or object (imports)
        self.returns: dict[str, ast.expr] = {}  # function/method name -> return annotation
        self.uses: list[tuple[ast.AST, Scope]] = []
        self._memo: dict[tuple[int, str], Types] = {}
        self._busy: set[tuple[int, str]] = set()
        self.result = Result()
        self.module_scope = Scope(None)
        self._walk(self.tree, self.module_scope)

    # -- pass 1: bindings, imports, uses ------------------------------------------------------
    def _bind_target(self, target: ast.expr, value: ast.expr | None, scope: Scope, kind: str) -> None:
        if isinstance(target, ast.Name):
            scope.bind(target.id, Binding(kind, value))
        elif isinstance(target, (ast.Tuple, ast.List)):
            values = value.elts if isinstance(value, (ast.Tuple, ast.List)) else None
            for i, elt in enumerate(target.elts):
                if values is not None and len(values) == len(target.elts):
                    self._bind_target(elt, values[i], scope, kind)
                else:
                    self._bind_target(elt, None, scope, kind)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, None, scope, "shadow")

    def _bind_args(self, args: ast.arguments, scope: Scope) -> None:
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            scope.bind(arg.arg, Binding("param", annotation=arg.annotation))
        for arg in (args.vararg, args.kwarg):
            if arg is not None:
                scope.bind(arg.arg, Binding("shadow"))

    def _walk_all(self, nodes: Iterable[ast.AST | None], scope: Scope) -> None:
        for node in nodes:
            if node is not None:
                self._walk(node, scope)

    def _walk(self, node: ast.AST, scope: Scope) -> None:
        if isinstance(node, (ast.Attribute, ast.Call)):
            self.uses.append((node, scope))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            scope.bind(node.name, Binding("shadow"))
            if node.returns is not None:
                self.returns.setdefault(node.name, node.returns)
            self._walk_all(node.decorator_list, scope)
            self._walk_all([*node.args.defaults, *node.args.kw_defaults], scope)
            self._walk_all([a.annotation for a in ast.walk(node.args) if isinstance(a, ast.arg)], scope)
            self._walk_all([node.returns], scope)
            inner = Scope(self._function_parent(scope))
            self._bind_args(node.args, inner)
            self._walk_all(node.body, inner)
            return
        if isinstance(node, ast.Lambda):
            self._walk_all([*node.args.defaults, *node.args.kw_defaults], scope)
            inner = Scope(scope)
            self._bind_args(node.args, inner)
            self._walk(node.body, inner)
            return
        if isinstance(node, ast.ClassDef):
            scope.bind(node.name, Binding("shadow"))
            self._walk_all([*node.decorator_list, *node.bases, *node.keywords], scope)
            class_scope = Scope(scope)
            class_scope.is_class = True  # type: ignore[attr-defined]
            self._walk_all(node.body, class_scope)
            return
        if isinstance(node, _COMPREHENSIONS):
            inner = Scope(scope)
            for gen in node.generators:
                self._walk(gen.iter, inner)
                self._bind_target(gen.target, gen.iter, inner, "loop")
                self._walk_all(gen.ifs, inner)
            parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            self._walk_all(parts, inner)
            return
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self._bind_target(target, node.value, scope, "assign")
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            scope.bind(node.target.id, Binding("ann", node.value, node.annotation))
        elif isinstance(node, ast.NamedExpr):
            scope.bind(node.target.id, Binding("assign", node.value))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self._bind_target(node.target, node.iter, scope, "loop")
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    self._bind_target(item.optional_vars, None, scope, "shadow")
        elif isinstance(node, ast.ExceptHandler) and node.name:
            scope.bind(node.name, Binding("shadow"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                scope.bind(local, Binding("shadow"))
                if alias.name == "carla" or alias.name.startswith("carla."):
                    self.aliases[local] = carla
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                local = alias.asname or alias.name
                scope.bind(local, Binding("shadow"))
                if node.module == "carla" and node.level == 0:
                    if hasattr(carla, alias.name):
                        self.aliases[local] = getattr(carla, alias.name)
                    else:
                        self._report(node, f"from carla import {alias.name}", "carla has no such name")
        for child in ast.iter_child_nodes(node):
            self._walk(child, scope)

    @staticmethod
    def _function_parent(scope: Scope) -> Scope:
        """Methods do not see their class body's names."""
        while getattr(scope, "is_class", False) and scope.parent is not None:
            scope = scope.parent
        return scope

    # -- types ------------------------------------------------------------------------------
    def _chain(self, node: ast.expr) -> tuple[bool, object, list[str]]:
        """(is a carla chain, resolved object or None when a link is missing, dotted names)."""
        if isinstance(node, ast.Name) and node.id in self.aliases:
            return True, self.aliases[node.id], [node.id]
        if isinstance(node, ast.Attribute):
            is_chain, obj, names = self._chain(node.value)
            if not is_chain:
                return False, None, []
            if obj is None:
                return True, None, [*names, node.attr]
            return True, getattr(obj, node.attr, None), [*names, node.attr]
        return False, None, []

    def _annotation_types(self, node: ast.expr | None) -> Types:
        if node is None:
            return NOTHING
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                return self._annotation_types(ast.parse(node.value, mode="eval").body)
            except SyntaxError:
                return NOTHING
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self._annotation_types(node.left) | self._annotation_types(node.right)
        if isinstance(node, ast.Subscript) and ast.unparse(node.value).split(".")[-1] in _UNION_FORMS:
            elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return frozenset().union(*(self._annotation_types(e) for e in elts))
        is_chain, obj, _ = self._chain(node)
        if is_chain and isinstance(obj, type):
            name = class_name_of(obj)
            return frozenset({name}) if name else NOTHING
        return NOTHING

    @staticmethod
    def _is_any(node: ast.expr | None) -> bool:
        return node is None or ast.unparse(node) in ("Any", "typing.Any", "object", "'Any'", '"Any"')

    def _table(self, key: str) -> Types:
        if key in NOT_CARLA.get(self.path, set()):
            return NOTHING
        name = FILE_NAME_TYPES.get(self.path, {}).get(key) or NAME_TYPES.get(key) or ATTRIBUTE_TYPES.get(key)
        return frozenset({name}) if name else NOTHING

    def name_type(self, name: str, scope: Scope | None) -> Types:
        while scope is not None and name not in scope.bindings:
            scope = scope.parent
        if scope is None:
            return NOTHING
        key = (id(scope), name)
        if key in self._memo:
            return self._memo[key]
        if key in self._busy:
            return NOTHING
        self._busy.add(key)
        known: set[str] = set()
        hidden = False
        for b in scope.bindings[name]:
            if b.kind == "assign" and b.value is not None:
                known |= self.type_of(b.value, scope)
            elif b.kind in ("ann", "param"):
                declared = self._annotation_types(b.annotation)
                known |= declared
                if b.value is not None:
                    known |= self.type_of(b.value, scope)
                if not declared and not self._is_any(b.annotation):
                    hidden = True
            elif b.kind == "loop":
                known |= self.item_type(b.value, scope) if b.value is not None else NOTHING
            elif b.kind == "shadow":
                hidden = True
        self._busy.discard(key)
        out = frozenset(known) if known else NOTHING if hidden else self._table(name)
        self._memo[key] = out
        return out

    def item_type(self, node: ast.expr, scope: Scope) -> Types:
        """Carla class of the items of an iterable expression."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _ITER_WRAPPERS:
            return self.item_type(node.args[0], scope) if node.args else NOTHING
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = self.type_of(node.func.value, scope)
            listed = table_lookup(owner, node.func.attr, LIST_RETURNS) if owner else NOTHING
            if listed:
                return listed
        return frozenset(ITEM_TYPES[t] for t in self.type_of(node, scope) if t in ITEM_TYPES)

    def _local_return(self, func: ast.expr, scope: Scope) -> Types:
        if isinstance(func, ast.Name) and func.id in self.returns:
            return self._annotation_types(self.returns[func.id])
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
            and func.attr in self.returns
        ):
            return self._annotation_types(self.returns[func.attr])
        return NOTHING

    def type_of(self, node: ast.expr, scope: Scope) -> Types:
        """Carla classes `node` may evaluate to (an instance of), or NOTHING when unknown."""
        if isinstance(node, ast.Name):
            return self.name_type(node.id, scope)
        if isinstance(node, ast.NamedExpr):
            return self.type_of(node.value, scope)
        if isinstance(node, ast.IfExp):
            return self.type_of(node.body, scope) | self.type_of(node.orelse, scope)
        if isinstance(node, ast.Attribute):
            is_chain, obj, _ = self._chain(node)
            if is_chain:
                name = class_name_of(type(obj)) if obj is not None and not isinstance(obj, type) else None
                return frozenset({name}) if name else NOTHING
            owner = self.type_of(node.value, scope)
            if owner:
                return table_lookup(owner, node.attr, PROPERTY_TYPES)
            if isinstance(node.value, ast.Name):
                return self._table(f"{node.value.id}.{node.attr}")
            return NOTHING
        if isinstance(node, ast.Call):
            func = node.func
            is_chain, obj, _ = self._chain(func)
            if is_chain:
                name = class_name_of(obj) if isinstance(obj, type) else None
                return frozenset({name}) if name else NOTHING
            getattr_name = self._getattr_literal(node)
            if getattr_name is not None:
                owner = self.type_of(node.args[0], scope)
                return table_lookup(owner, getattr_name, PROPERTY_TYPES) if owner else NOTHING
            if isinstance(func, ast.Attribute):
                owner = self.type_of(func.value, scope)
                if owner:
                    return method_return(owner, func.attr)
            return self._local_return(func, scope)
        return NOTHING

    @staticmethod
    def _getattr_literal(node: ast.Call) -> str | None:
        if (
            isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) in (2, 3)
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            return node.args[1].value
        return None

    # -- pass 2: checks ---------------------------------------------------------------------
    def _report(self, node: ast.AST, text: str, why: str) -> None:
        self.result.findings.append(Finding(self.path, getattr(node, "lineno", 0), text, why))

    def _check_member(self, node: ast.AST, owner_node: ast.expr, attr: str, scope: Scope) -> Types:
        owner = self.type_of(owner_node, scope)
        if not owner:
            return NOTHING
        for name in owner:
            self.result.checked[name] += 1
        if not has_member(owner, attr):
            classes = " | ".join(f"carla.{n}" for n in sorted(owner))
            self._report(node, _short(node), f"{classes} (or a subclass) has no attribute {attr!r}")
        return owner

    def _check_keywords(self, node: ast.Call, callables: list[tuple[object, str]], what: str) -> None:
        names: set[str] = set()
        for fn, name in callables:
            params = _parameter_names(fn, name)
            if params is None:
                return
            names |= params
        for kw in node.keywords:
            if kw.arg is not None and kw.arg not in names:
                known = ", ".join(sorted(n for n in names if not n.startswith("arg")))
                self._report(node, _short(node), f"{what} has no keyword {kw.arg!r} (keywords: {known})")

    def check(self) -> Result:
        for node, scope in self.uses:
            if isinstance(node, ast.Attribute):
                is_chain, obj, names = self._chain(node)
                if is_chain:
                    _, owner, _ = self._chain(node.value)
                    if owner is not None and obj is None:
                        self._report(
                            node, _short(node), f"{'.'.join(names[:-1])} has no attribute {node.attr!r}"
                        )
                    continue
                self._check_member(node, node.value, node.attr, scope)
                continue
            assert isinstance(node, ast.Call)
            literal = self._getattr_literal(node)
            if literal is not None:
                self._check_member(node, node.args[0], literal, scope)
                continue
            is_chain, obj, names = self._chain(node.func)
            if is_chain:
                if isinstance(obj, type):
                    self._check_keywords(node, [(obj.__init__, "__init__")], f"carla.{class_name_of(obj)}()")
                continue
            if isinstance(node.func, ast.Attribute) and node.keywords:
                owner = self.type_of(node.func.value, scope)
                attr = node.func.attr
                fns = [
                    (getattr(c, attr), attr) for c in classes_of(owner) if callable(getattr(c, attr, None))
                ]
                if fns:
                    self._check_keywords(node, fns, f"{' | '.join(sorted(owner))}.{attr}")
        return self.result


def check_source(source: str, path: str = "<string>") -> Result:
    """Check one module's source text; `path` names it in findings and selects per-file tables."""
    return Checker(source, path).check()


def server_modules() -> list[Path]:
    """Every .py of the backend, plus any other non-test module that builds a `carla.Client(`."""
    files = set(BACKEND_DIR.rglob("*.py"))
    for path in _repo_python_files():
        if "carla.Client(" in path.read_text(encoding="utf-8", errors="replace"):
            files.add(path)
    return sorted(files)


def _repo_python_files() -> Iterator[Path]:
    for path in REPO.rglob("*.py"):
        parts = path.relative_to(REPO).parts
        if any(p in SKIP_DIRS or p.startswith(".") or p.endswith(".egg-info") for p in parts[:-1]):
            continue
        yield path


def check_files(paths: Iterable[Path]) -> Result:
    total = Result()
    for path in paths:
        rel = path.relative_to(REPO).as_posix()
        result = check_source(path.read_text(encoding="utf-8"), rel)
        total.findings += result.findings
        total.checked.update(result.checked)
    return total


# ---- tests -----------------------------------------------------------------------------------
def test_every_carla_name_the_server_backend_uses_exists_in_the_installed_client():
    files = server_modules()
    assert len(files) >= 10, f"expected the backend's modules under {BACKEND_DIR}, found {files}"
    result = check_files(files)
    assert not result.findings, (
        f"{len(result.findings)} carla name(s) missing from the installed carla "
        f"{getattr(carla, '__version__', '')} client ({carla.__file__}):\n"
        + "\n".join(str(f) for f in result.findings)
        + f"\n(a reported variable that is not a carla object: add it to NOT_CARLA in {Path(__file__).name})"
    )


def test_the_inference_still_reaches_the_classes_the_backend_talks_to():
    """Guards against the checker going blind (e.g. a renamed `self._world` that no table names)."""
    checked = check_files(server_modules()).checked
    missing = [name for name in MUST_REACH if not checked[name]]
    assert not missing, (
        f"no use of carla.{missing} was checked in the backend; update the tables in {Path(__file__).name} "
        f"(checked uses per class: {dict(checked)})"
    )
    assert sum(checked.values()) >= 100, dict(checked)


MISSPELT = """
import carla

def run(client):
    control = carla.VehicleControll()
    world = client.get_wrld()
    return control, world
"""

CORRECT = """
import carla

def run(client):
    control = carla.VehicleControl(throttle=0.5, steer=0.0)
    world = client.get_world()
    settings = world.get_settings()
    settings.fixed_delta_seconds = 0.05
    return control, world, carla.TrafficLightState.Red, carla.command.SpawnActor
"""


def _lines(result: Result) -> list[str]:
    return [str(f) for f in result.findings]


def test_the_checker_reports_misspelt_names_with_file_and_line():
    findings = _lines(check_source(MISSPELT, "fake/module.py"))
    assert any(f.startswith("fake/module.py:5: carla.VehicleControll") for f in findings), findings
    assert any(f.startswith("fake/module.py:6: client.get_wrld") for f in findings), findings
    assert len(findings) == 2, findings


def test_the_checker_accepts_real_names():
    assert _lines(check_source(CORRECT)) == []


@pytest.mark.parametrize(
    "body, expected",
    [
        ("x = carla.TrafficLightState.Redd", "carla.TrafficLightState has no attribute 'Redd'"),
        ("x = carla.command.SpawnActorr", "carla.command has no attribute 'SpawnActorr'"),
        ("from carla import VehicleControll", "carla has no such name"),
        ("x = client.get_world().get_mapp()", "carla.World (or a subclass) has no attribute 'get_mapp'"),
        (
            "s = client.get_world().get_settings()\n    s.fixed_delta_second = 0.05",
            "carla.WorldSettings (or a subclass) has no attribute 'fixed_delta_second'",
        ),
        ("x = carla.VehicleControl(throtle=1.0)", "has no keyword 'throtle'"),
        ("x = carla.Transform().locaton", "carla.Transform (or a subclass) has no attribute 'locaton'"),
        ("x = carla.Transform().location.xx", "carla.Location (or a subclass) has no attribute 'xx'"),
        ("x = self._world.tick(timeout=1.0)", "has no keyword 'timeout'"),
        ("self._tm.set_synchronous(True)", "carla.TrafficManager (or a subclass) has no attribute"),
        (
            "x = [bp.idd for bp in self._library]",
            "carla.ActorBlueprint (or a subclass) has no attribute 'idd'",
        ),
        (
            "x = [tl.get_stat() for tl in client.get_world().get_actors().filter('traffic.*')]",
            "carla.Actor (or a subclass) has no attribute 'get_stat'",
        ),
        ("x = getattr(actor, 'type_idd', None)", "carla.Actor (or a subclass) has no attribute 'type_idd'"),
    ],
)
def test_the_checker_follows_chains_annotations_and_tables(body, expected):
    source = f"import carla\n\ndef f(self, client, actor):\n    {body}\n"
    findings = _lines(check_source(source))
    assert len(findings) == 1 and expected in findings[0], findings


def test_annotations_and_local_returns_type_names():
    source = (
        "from __future__ import annotations\nimport carla\n\n"
        "def f(m: carla.Map | None, here: carla.Location) -> carla.Waypoint:\n"
        "    return m.get_waypont(here)\n\n"
        "class W:\n"
        "    def _map(self) -> carla.Map: ...\n"
        "    def g(self):\n"
        "        carla_map = self._map()\n"
        "        return carla_map.get_spawn_pointz()\n"
    )
    findings = _lines(check_source(source))
    assert len(findings) == 2, findings
    assert "get_waypont" in findings[0] and "get_spawn_pointz" in findings[1], findings


def test_names_that_are_not_carla_objects_are_left_alone():
    source = (
        "import carla\nfrom driving.world import World\n\n"
        "def f(client: World, items):\n"
        "    client.spawn_vehicle()\n"  # annotated with a non-carla type: the table does not apply
        "    for record in items:\n"
        "        record.anything()\n"  # a name no table knows: unchecked
        "    with open(items) as world:\n"
        "        world.read()\n"  # bound by `with`: the table does not apply
        "    return [item.whatever for item in items]\n"
    )
    assert _lines(check_source(source)) == []
    traffic = "def spawn(world):\n    return world.spawn_vehicle()\n"
    assert _lines(check_source(traffic, "driving/carla_backend/traffic.py")) == []
    assert len(check_source(traffic, "driving/carla_backend/other.py").findings) == 1


def test_the_tables_name_real_classes_and_properties():
    classes = carla_classes()
    names = [
        *NAME_TYPES.values(),
        *ATTRIBUTE_TYPES.values(),
        *(t for table in FILE_NAME_TYPES.values() for t in table.values()),
        *ITEM_TYPES,
        *ITEM_TYPES.values(),
        *LIST_RETURNS.values(),
        *(c for c, _ in LIST_RETURNS),
        *(c for c, _ in PROPERTY_TYPES),
        *PROPERTY_TYPES.values(),
        *MUST_REACH,
    ]
    assert [n for n in names if n not in classes] == []
    for cls, prop in PROPERTY_TYPES:
        assert isinstance(getattr(classes[cls], prop), property), (cls, prop)
    for cls, method in LIST_RETURNS:
        assert callable(getattr(classes[cls], method)), (cls, method)
    # Where the owner can be built without a server, the property really has the tabled type.
    for owner in (carla.Transform(), carla.BoundingBox(), carla.WalkerControl()):
        for (cls, prop), value in PROPERTY_TYPES.items():
            if isinstance(owner, classes[cls]):
                assert type(getattr(owner, prop)) is classes[value], (cls, prop)
