"""LB2.0 route files with `<scenarios>` blocks: a block whose type has a behaviour (ControlLoss)
runs at its trigger point, the others (Accident) are skipped and named, nothing crashes."""
from __future__ import annotations

import json

from driving.cli import main as driving_main
from tests.scenarios.scenario_runs import route_geometry

# town_grid, ~87 m with a left turn at a signalized junction (as test_scenario_file)
START, END = (198.25, -31.0), (258.096039, 1.75)


def test_lb2_route_runs_the_blocks_it_has_and_names_the_others(tmp_path, capsys):
    import carla

    route = route_geometry("town_grid", [carla.Location(*START, 0.0), carla.Location(*END, 0.0)])
    x, y, _ = route.xyz[route.index_at(5.0)]
    yaw = route.yaw_deg[route.index_at(5.0)]
    xml = f"""<?xml version="1.0"?>
<routes>
  <route id="7" town="town_grid" n_vehicles="0" n_walkers="0">
    <waypoints><position x="{START[0]}" y="{START[1]}" z="0"/><position x="{END[0]}" y="{END[1]}" z="0"/></waypoints>
    <scenarios>
      <scenario name="ControlLoss_1" type="ControlLoss"><trigger_point x="{x:.3f}" y="{y:.3f}" z="0" yaw="{yaw:.2f}"/></scenario>
      <scenario name="Accident_2" type="Accident"><trigger_point x="{x:.3f}" y="{y:.3f}" z="0" yaw="{yaw:.2f}"/></scenario>
      <scenario name="Far_3" type="DynamicObjectCrossing"><trigger_point x="0" y="0" z="0" yaw="0"/></scenario>
    </scenarios>
  </route>
</routes>
"""
    routes = tmp_path / "lb2.xml"
    routes.write_text(xml)
    assert driving_main(["evaluate", "--routes", str(routes), "--agent", "expert", "--out", str(tmp_path / "out"),
                         "--debug", "1"]) == 0
    out = capsys.readouterr().out
    assert "LB2.0 route scenarios: 1 run, skipped 2 scenarios (no behaviour for: Accident x1, " \
           "DynamicObjectCrossing x1)" in out
    record = json.loads((tmp_path / "out" / "results.json").read_text())["_checkpoint"]["records"][0]
    (ran,) = record["meta"]["scenarios"]
    assert ran["scenario"] == "ControlLoss_1" and ran["family"] == "ControlLoss" and ran["status"] == "done"
    assert 3.0 <= ran["route_m"] <= 5.0  # the first route point within 2 m of the trigger point, as LB1.0 matches
    assert record["status"] == "Completed"
