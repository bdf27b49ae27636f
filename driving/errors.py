"""One exception type for bad input, so the CLI can print it as one clear line.

Every error raised on user input (a file, a field, a value) names where the problem is and what
was expected; the CLI catches `InputError` and prints its message without a traceback.
"""
from __future__ import annotations


class InputError(ValueError):
    """Bad user input: a missing file, a malformed field, an out-of-range value.

    The message must name the file (or argument) and the field, and say what was expected.
    """


class WorldError(RuntimeError):
    """A request the world cannot satisfy (spawn point occupied, unknown actor id, ...)."""
