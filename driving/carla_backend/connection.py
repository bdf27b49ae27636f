"""Reaching a CARLA server and turning a map request into a server world.

`connect` fails fast with one clear message when nothing answers (the usual mistake is a server
that is not started, or a wrong --port). `load_server_world` accepts the same names as the
embedded backend (a bundled map name or an .xodr path, sent to the server as OpenDRIVE text with
`generate_opendrive_world`) plus the server's own towns ("Town01", "/Game/Carla/Maps/Town01").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import carla

from driving.carla_backend.config import CarlaServerConfig
from driving.errors import InputError, WorldError


class ServerError(WorldError):
    """The server failed or stopped answering (as opposed to refusing a request, e.g. a taken spot)."""


@dataclass(frozen=True)
class Connection:
    """A connected client, the server's version string and its parsed form."""

    client: Any  # carla.Client
    server_version: str


def unreachable_message(config: CarlaServerConfig) -> str:
    """The one-line error for a server that does not answer."""
    return (
        f"no CARLA server answered at {config.address} within {config.timeout_s:g} s "
        f"(start CarlaUE4.sh or use --backend embedded)"
    )


def version_mismatch_message(client_version: str, server_version: str) -> str | None:
    """One line when client and server differ in major.minor.patch (e.g. 0.9.16 vs 0.9.15), else None.

    CARLA's RPC protocol is not stable across releases: a 0.9.16 client may connect to a 0.9.15
    server and then fail on a call the server does not know (or send a struct with a different
    layout). The backend keeps going, as CARLA's own client does, but says so once, naming both
    versions and the fix, so a later failure is not a mystery.
    """
    def release(version: str) -> str:
        return version.split("-")[0].strip()

    if release(client_version) == release(server_version):
        return None
    return (f"CARLA client {client_version} and server {server_version} differ: calls may fail or behave "
            f"differently; install the matching client (pip install carla=={release(server_version)}) in a "
            f"separate environment, or run a {release(client_version)} server")


def connect(config: CarlaServerConfig) -> Connection:
    """A client connected to `config.host:config.port`; InputError when no server answers in time.

    A client/server version mismatch is a warning (`version_mismatch_message`), not an error.
    """
    try:
        client = carla.Client(config.host, config.port)
        client.set_timeout(float(config.timeout_s))
        version = client.get_server_version()
    except RuntimeError:
        raise InputError(unreachable_message(config)) from None
    mismatch = version_mismatch_message(client.get_client_version(), version)
    if mismatch:
        warnings.warn(mismatch, RuntimeWarning, stacklevel=2)
    return Connection(client, version)


def opendrive_parameters(config: CarlaServerConfig) -> carla.OpendriveGenerationParameters:
    """Mesh settings for a world generated from OpenDRIVE text (pedestrian navigation on)."""
    return carla.OpendriveGenerationParameters(
        vertex_distance=config.opendrive_vertex_distance_m,
        max_road_length=config.opendrive_max_road_length_m,
        wall_height=config.opendrive_wall_height_m,
        additional_width=config.opendrive_additional_width_m,
        smooth_junctions=config.opendrive_smooth_junctions,
        enable_mesh_visibility=config.opendrive_mesh_visibility,
        enable_pedestrian_navigation=True,
    )


def is_opendrive_request(town: str) -> bool:
    """Whether `town` names a bundled map or an .xodr file (else a town of the server)."""
    from driving.sim.maps import available_maps

    return (
        town in available_maps() or town.endswith(".xodr") or ("/" in town and not town.startswith("/Game/"))
    )


def match_server_map(town: str, server_maps: list[str]) -> str | None:
    """The server map path for `town` ("Town01" matches "/Game/Carla/Maps/Town01"), None if absent."""
    for path in server_maps:
        if town == path or town == PurePosixPath(path).name:
            return path
    return None


def load_server_world(client: Any, town: str, config: CarlaServerConfig) -> Any:
    """Load `town` on the server and return the new `carla.World` (settings not yet applied)."""
    if not isinstance(town, str) or not town:
        raise InputError(f"load_map: town must be a map name or an .xodr path, got {town!r}")
    try:
        if is_opendrive_request(town):
            from driving.sim.maps import load_map

            text = load_map(town).xodr_text  # validated before the server sees it
            return client.generate_opendrive_world(text, opendrive_parameters(config))
        server_maps = list(client.get_available_maps())
        path = match_server_map(town, server_maps)
        if path is None:
            from driving.sim.maps import available_maps

            names = sorted(PurePosixPath(p).name for p in server_maps)
            raise InputError(
                f"load_map: map {town!r} is neither on the server ({names}) nor bundled "
                f"({available_maps()}) nor an .xodr path"
            )
        return client.load_world(path)
    except RuntimeError as exc:
        raise ServerError(
            f"load_map: the CARLA server at {config.address} failed to load {town!r} ({exc})"
        ) from None
