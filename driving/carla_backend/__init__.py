"""The CARLA server backend behind the World seam (`CarlaServerWorld`, synchronous mode).

`world` holds the adapter; `connection`, `sensors`, `events`, `signals`, `blueprints` and
`conversions` each do one part of it, the last ones as pure functions checkable without a server.
"""
