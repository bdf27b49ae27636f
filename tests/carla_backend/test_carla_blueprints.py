"""Generic and concrete type ids -> CARLA blueprints, CARLA type ids -> actor kinds."""

from __future__ import annotations

import numpy as np
import pytest

from driving.carla_backend.blueprints import (
    actor_kind,
    parse_color,
    resolve_vehicle_blueprint,
    resolve_walker_blueprint,
)
from driving.errors import InputError
from driving.world import ActorKind

#: Vehicle blueprint ids of the CARLA 0.9.16 library (vehicle catalogue of the 0.9.16 docs).
CARLA_0916_VEHICLES = (
    "vehicle.audi.a2",
    "vehicle.audi.etron",
    "vehicle.audi.tt",
    "vehicle.bh.crossbike",
    "vehicle.bmw.grandtourer",
    "vehicle.carlamotors.carlacola",
    "vehicle.carlamotors.european_hgv",
    "vehicle.carlamotors.firetruck",
    "vehicle.chevrolet.impala",
    "vehicle.citroen.c3",
    "vehicle.diamondback.century",
    "vehicle.dodge.charger_2020",
    "vehicle.dodge.charger_police",
    "vehicle.dodge.charger_police_2020",
    "vehicle.ford.ambulance",
    "vehicle.ford.crown",
    "vehicle.ford.mustang",
    "vehicle.gazelle.omafiets",
    "vehicle.harley-davidson.low_rider",
    "vehicle.jeep.wrangler_rubicon",
    "vehicle.kawasaki.ninja",
    "vehicle.lincoln.mkz_2017",
    "vehicle.lincoln.mkz_2020",
    "vehicle.mercedes.coupe",
    "vehicle.mercedes.coupe_2020",
    "vehicle.mercedes.sprinter",
    "vehicle.micro.microlino",
    "vehicle.mini.cooper_s",
    "vehicle.mini.cooper_s_2021",
    "vehicle.mitsubishi.fusorosa",
    "vehicle.nissan.micra",
    "vehicle.nissan.patrol",
    "vehicle.nissan.patrol_2021",
    "vehicle.seat.leon",
    "vehicle.tesla.cybertruck",
    "vehicle.tesla.model3",
    "vehicle.toyota.prius",
    "vehicle.vespa.zx125",
    "vehicle.volkswagen.t2",
    "vehicle.volkswagen.t2_2021",
    "vehicle.yamaha.yzf",
)
#: A few vehicle ids of the CARLA 0.9.10 library (leaderboard 1.0 servers).
CARLA_0910_VEHICLES = (
    "vehicle.lincoln.mkz2017",
    "vehicle.tesla.model3",
    "vehicle.volkswagen.t2",
    "vehicle.carlamotors.carlacola",
    "vehicle.diamondback.century",
    "vehicle.audi.a2",
)
WALKERS = tuple(f"walker.pedestrian.{i:04d}" for i in range(1, 49)) + ("controller.ai.walker",)


@pytest.mark.parametrize(
    "generic, on_0916, on_0910",
    [
        ("vehicle.car", "vehicle.lincoln.mkz_2020", "vehicle.lincoln.mkz2017"),
        ("vehicle.van", "vehicle.mercedes.sprinter", "vehicle.volkswagen.t2"),
        ("vehicle.truck", "vehicle.carlamotors.carlacola", "vehicle.carlamotors.carlacola"),
        ("vehicle.bicycle", "vehicle.diamondback.century", "vehicle.diamondback.century"),
    ],
)
def test_generic_ids_pick_the_first_available_candidate(generic, on_0916, on_0910):
    assert resolve_vehicle_blueprint(generic, set(CARLA_0916_VEHICLES)) == on_0916
    assert resolve_vehicle_blueprint(generic, set(CARLA_0910_VEHICLES)) == on_0910


def test_concrete_ids_pass_through_or_fall_back_to_their_class():
    library = set(CARLA_0916_VEHICLES)
    assert resolve_vehicle_blueprint("vehicle.tesla.model3", library) == "vehicle.tesla.model3"
    # a 0.9.10 id on a 0.9.16 server: same class (car), the 0.9.16 blueprint
    assert resolve_vehicle_blueprint("vehicle.lincoln.mkz2017", library) == "vehicle.lincoln.mkz_2020"
    assert (
        resolve_vehicle_blueprint("vehicle.gazelle.omafiets", set(CARLA_0910_VEHICLES))
        == "vehicle.diamondback.century"
    )


def test_bad_vehicle_ids_and_missing_classes_raise_input_errors():
    with pytest.raises(InputError, match="starting with 'vehicle.'"):
        resolve_vehicle_blueprint("walker.pedestrian", set(CARLA_0916_VEHICLES))
    with pytest.raises(InputError, match="no.*vehicle.truck|none of"):
        resolve_vehicle_blueprint("vehicle.truck", {"vehicle.audi.a2"})


def test_walkers_resolve_deterministically_per_seed():
    library = set(WALKERS)
    picks = [
        resolve_walker_blueprint("walker.pedestrian", library, np.random.default_rng(7)) for _ in range(2)
    ]
    assert picks[0] == picks[1] and picks[0].startswith("walker.pedestrian.0")
    many = {
        resolve_walker_blueprint("walker.pedestrian", library, np.random.default_rng(s)) for s in range(30)
    }
    assert len(many) > 5
    assert (
        resolve_walker_blueprint("walker.pedestrian.0012", library, np.random.default_rng(0))
        == "walker.pedestrian.0012"
    )
    with pytest.raises(InputError, match="not in the server's blueprint library"):
        resolve_walker_blueprint("walker.pedestrian.9999", library, np.random.default_rng(0))
    with pytest.raises(InputError, match="starting with 'walker.'"):
        resolve_walker_blueprint("vehicle.car", library, np.random.default_rng(0))


@pytest.mark.parametrize(
    "type_id, kind",
    [
        ("vehicle.tesla.model3", ActorKind.VEHICLE),
        ("walker.pedestrian.0001", ActorKind.WALKER),
        ("static.prop.streetbarrier", ActorKind.STATIC),
        ("traffic.traffic_light", ActorKind.STATIC),
        ("static.building", ActorKind.STATIC),
        ("sensor.other.collision", ActorKind.SENSOR),
    ],
)
def test_actor_kind_from_carla_type_ids(type_id, kind):
    assert actor_kind(type_id) == kind


def test_color_attribute_parsing():
    assert parse_color("12,200,255") == (12, 200, 255)
    assert parse_color(None) == (128, 128, 128)
    assert parse_color("1,2") == (128, 128, 128)
    assert parse_color("1,2,300", (0, 0, 0)) == (0, 0, 0)
    assert parse_color("a,b,c") == (128, 128, 128)
