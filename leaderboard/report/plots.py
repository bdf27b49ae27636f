"""The report's charts as PNG bytes (matplotlib, Agg canvas; no pyplot state is touched).

Scores are drawn as the leaderboard states them: driving score and route completion in %
(0-100), the infraction penalty as a factor (0-1, on its own axis). Every function returns the
PNG file's bytes, which the page embeds as a data URI.
"""
from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from leaderboard.report.load import INFRACTION_LABELS, RunResults

#: (title, RouteResult attribute, y limit) of the three per-route scores.
SCORE_PANELS = (("Driving score (%)", "driving_score", 100.0),
                ("Route completion (%)", "route_completion", 100.0),
                ("Infraction penalty", "infraction_penalty", 1.0))
DPI = 100


def figure(width_in: float, height_in: float, rows: int = 1, cols: int = 1) -> tuple[Figure, np.ndarray]:
    """A Figure on an Agg canvas with a rows x cols grid of axes (always a flat array)."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes.ravel()


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def grouped_bars(ax, categories: Sequence[str], series: Sequence[tuple[str, Sequence[float]]],
                 horizontal_labels: bool = False) -> None:
    """One group of bars per category, one bar per (name, values) series, with a legend when >1."""
    n = max(len(series), 1)
    width = 0.8 / n
    x = np.arange(len(categories))
    for k, (name, values) in enumerate(series):
        ax.bar(x + (k - (n - 1) / 2) * width, values, width, label=name)
    ax.set_xticks(x, categories, rotation=0 if horizontal_labels else 30, ha="center" if horizontal_labels else "right")
    if len(series) > 1:
        ax.legend(fontsize="small")


def _route_names(runs: Sequence[RunResults]) -> list[tuple[str, int]]:
    """Route keys of all runs, first run's order first, then routes only the others have."""
    return list(dict.fromkeys(r.key for run in runs for r in run.routes))


def route_scores_png(runs: Sequence[RunResults]) -> bytes:
    """DS, RC and IS per route as bars (one bar per run when comparing), three panels side by side."""
    keys = _route_names(runs)
    names = [f"{rid} #{i}" for rid, i in keys]
    fig, axes = figure(max(10.0, 1.2 + 0.5 * len(keys) * len(runs) * 3), 4.0, 1, 3)
    for ax, (title, attr, top) in zip(axes, SCORE_PANELS):
        series = []
        for run in runs:
            by_key = {r.key: r for r in run.routes}
            series.append((run.label, [getattr(by_key[k], attr) if k in by_key else 0.0 for k in keys]))
        grouped_bars(ax, names, series)
        ax.set_title(title)
        ax.set_ylim(0, top * 1.05)
    return png_bytes(fig)


def infraction_types_png(runs: Sequence[RunResults]) -> bytes:
    """Infraction counts by kind over all routes (one bar per run when comparing)."""
    kinds = list(INFRACTION_LABELS)
    series = [(run.label, [sum(r.count(k) for r in run.routes) for k in kinds]) for run in runs]
    fig, (ax,) = figure(9.0, 4.0)
    grouped_bars(ax, [INFRACTION_LABELS[k] for k in kinds], series)
    ax.set_ylabel("infractions (count)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title("Infractions by type")
    return png_bytes(fig)


def scenario_families_png(runs: Sequence[RunResults]) -> bytes:
    """Infraction counts by the scenario family running when they happened (one bar per run)."""
    families = sorted({f for run in runs for r in run.routes for f, _ in r.family_counts})
    series = []
    for run in runs:
        totals = dict.fromkeys(families, 0)
        for r in run.routes:
            for family, n in r.family_counts:
                totals[family] += n
        series.append((run.label, [totals[f] for f in families]))
    fig, (ax,) = figure(max(6.0, 1.5 + 1.0 * len(families) * len(runs)), 4.0)
    grouped_bars(ax, families, series)
    ax.set_ylabel("infractions (count)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title("Infractions by scenario family")
    return png_bytes(fig)
