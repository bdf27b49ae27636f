"""World backends by name: `--backend embedded|carla` resolves here.

Factories are registered with `register_backend` and imported lazily, so choosing the embedded
simulator never imports a server client and vice versa. A failed lookup lists the known names.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from driving.errors import InputError
from driving.world import World

_BACKENDS: dict[str, Callable[..., World]] = {}


def register_backend(name: str) -> Callable[[Callable[..., World]], Callable[..., World]]:
    """Decorator: register a factory `(**options) -> World` under `name`."""
    def wrap(factory: Callable[..., World]) -> Callable[..., World]:
        _BACKENDS[name] = factory
        return factory
    return wrap


def available_backends() -> list[str]:
    return sorted(_BACKENDS)


def create_world(name: str, **options: Any) -> World:
    """A new World of backend `name`; InputError for an unknown or unavailable backend."""
    if name not in _BACKENDS:
        raise InputError(f"--backend: unknown backend {name!r}; expected one of {available_backends()}")
    return _BACKENDS[name](**options)


@register_backend("embedded")
def _embedded(**options: Any) -> World:
    from driving.sim.embedded_world import EmbeddedWorld

    return EmbeddedWorld(**options)


@register_backend("carla")
def _carla(**options: Any) -> World:
    from driving.carla_backend.world import CarlaServerWorld

    return CarlaServerWorld(**options)
