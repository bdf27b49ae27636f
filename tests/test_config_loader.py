"""The YAML -> frozen dataclass loader: unknown keys, wrong types and files named in errors."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from driving.config import from_dict, load_config, to_dict
from driving.errors import InputError


@dataclass(frozen=True)
class Inner:
    cell_size_m: float = 0.25
    channels: tuple[int, ...] = (64, 192)


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    steps: int = 3
    enabled: bool = True
    inner: Inner = field(default_factory=Inner)
    path: str | None = None

    def __post_init__(self) -> None:
        if self.steps <= 0:
            raise ValueError(f"steps must be > 0, got {self.steps}")


def test_loads_nested_yaml(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: y\nsteps: 5\ninner:\n  cell_size_m: 1\n  channels: [1, 2, 3]\n")
    cfg = load_config(Outer, p)
    assert cfg == Outer(name="y", steps=5, inner=Inner(cell_size_m=1.0, channels=(1, 2, 3)))
    assert to_dict(cfg)["inner"]["channels"] == [1, 2, 3]


def test_unknown_key_lists_known_ones(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("inner:\n  cell_size: 1\n")
    with pytest.raises(InputError) as err:
        load_config(Outer, p)
    msg = str(err.value)
    assert str(p) in msg and "inner" in msg and "cell_size" in msg and "cell_size_m" in msg


def test_wrong_type_names_field(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("steps: three\n")
    with pytest.raises(InputError, match=r"steps: expected an integer"):
        load_config(Outer, p)


def test_validation_error_is_input_error():
    with pytest.raises(InputError, match="steps must be > 0"):
        from_dict(Outer, {"steps": 0})


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(InputError, match="cannot read config"):
        load_config(Outer, tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_config(Outer, bad)
