"""`--agent` resolution: a path to an agent file (official behaviour) or a built-in name.

Built-in names map to agent files inside this package and are resolved lazily, so the registry
lists `expert` and `letfuser` before their files exist and importing it costs nothing. Loading
follows the official evaluator: import the file as a module (its folder on sys.path) and call
its `get_entry_point()` for the class name.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from driving.errors import InputError
from leaderboard.autoagents.autonomous_agent import AutonomousAgent

_AUTOAGENTS_DIR = Path(__file__).resolve().parent / "autoagents"

#: Built-in agent name -> agent file.
BUILTIN_AGENTS: dict[str, Path] = {}


def register_agent(name: str, path: str | Path) -> None:
    """Make `--agent NAME` mean the agent file `path`."""
    BUILTIN_AGENTS[name] = Path(path)


register_agent("expert", _AUTOAGENTS_DIR / "expert_agent.py")
register_agent("letfuser", _AUTOAGENTS_DIR / "letfuser_agent.py")
register_agent("never_brake", _AUTOAGENTS_DIR / "never_brake_agent.py")


def resolve_agent(name_or_path: str) -> Path:
    """The agent file for `--agent`: a built-in name or a path to a .py file."""
    if name_or_path in BUILTIN_AGENTS:
        path = BUILTIN_AGENTS[name_or_path]
        if not path.is_file():
            raise InputError(f"--agent {name_or_path}: built-in agent not available yet ({path} is missing); "
                             f"pass a path to an agent file instead")
        return path
    path = Path(name_or_path)
    if not path.is_file():
        raise InputError(f"--agent {name_or_path}: no such agent file and not a built-in agent name; "
                         f"built-in names: {sorted(BUILTIN_AGENTS)}")
    if path.suffix != ".py":
        raise InputError(f"--agent {name_or_path}: expected a Python file (.py)")
    return path.resolve()


_LOADED: dict[Path, type] = {}


def load_agent_class(name_or_path: str) -> type:
    """Import the agent file and return the class named by its `get_entry_point()`.

    Errors (import failure, no entry point, entry point not an AutonomousAgent subclass) are
    InputError naming the file.
    """
    path = resolve_agent(name_or_path)
    if path in _LOADED:
        return _LOADED[path]
    module_name = f"_agent_{path.stem}_{abs(hash(str(path))) % 10**8}"
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise InputError(f"agent file {path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - any import failure is the file's fault
        sys.modules.pop(module_name, None)
        raise InputError(f"agent file {path}: import failed ({type(exc).__name__}: {exc})") from None
    entry = getattr(module, "get_entry_point", None)
    if not callable(entry):
        raise InputError(f"agent file {path}: no get_entry_point() function returning the agent class name")
    class_name = entry()
    cls = getattr(module, str(class_name), None)
    if not isinstance(cls, type) or not issubclass(cls, AutonomousAgent):
        raise InputError(f"agent file {path}: get_entry_point() returned {class_name!r}, which is not an "
                         f"AutonomousAgent subclass defined in the file")
    _LOADED[path] = cls
    return cls
