"""Pretty-print indentation for ElementTree documents (maps, route files), on Python 3.8 too.

`xml.etree.ElementTree.indent` is 3.9+; this is the same algorithm (whitespace-only text and
tails replaced by a newline and `space` per level), so files are byte-identical on every Python.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET


def indent(root: ET.Element, space: str = "  ") -> None:
    """Indent `root`'s subtree in place, as `ET.indent(root, space)` does."""
    def walk(elem: ET.Element, level: int) -> None:
        inner, outer = "\n" + space * (level + 1), "\n" + space * level
        if not elem.text or not elem.text.strip():
            elem.text = inner
        child = None
        for child in elem:
            if len(child):
                walk(child, level + 1)
            if not child.tail or not child.tail.strip():
                child.tail = inner
        if child is not None and not child.tail.strip():
            child.tail = outer

    if len(root):
        walk(root, 0)
