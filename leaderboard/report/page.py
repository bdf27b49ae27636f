"""Assemble the report page: one self-contained HTML file (CSS inline, images as PNG data URIs).

Sections carry stable ids (summary, routes, route-scores, infractions, scenarios, maps, and
comparison when two files are given) so people can link to them and tests can find them. Scores
are printed as the evaluator's own table prints them: DS and RC in % with 2 decimals, IS with 3.
Videos are linked by paths relative to the page, so the page and the run folder can move together.
"""
from __future__ import annotations

import base64
import os
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from urllib.parse import quote

from leaderboard.report import plots
from leaderboard.report.load import INFRACTION_LABELS, RouteResult, RunResults
from leaderboard.report.map_overlay import MapPanel
from leaderboard.video import video_file_name

VIDEO_DIR_NAME = "videos"  # `driving evaluate --video` writes OUT/videos beside OUT/results.json
#: (column title, attribute, format) of the three scores, as the evaluator's summary table.
SCORES: tuple[tuple[str, str, str], ...] = (("DS", "driving_score", "{:.2f}"), ("RC", "route_completion", "{:.2f}"),
                                            ("IS", "infraction_penalty", "{:.3f}"))
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.up { color: #17702b; } td.down { color: #a31515; }
img { max-width: 100%; border: 1px solid #ddd; }
.note { color: #666; font-style: italic; }
"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _img(png: bytes, alt: str) -> str:
    return f'<img src="{data_uri(png)}" alt="{escape(alt)}">'


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], row_ids: Sequence[str] = ()) -> str:
    """An HTML table; cells are already HTML (numbers as `<td class="num">`)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    keys = [f' data-key="{escape(k, quote=True)}"' for k in row_ids] or [""] * len(rows)
    body = "".join(f"<tr{key}>" + "".join(r) + "</tr>" for key, r in zip(keys, rows))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text(value: object) -> str:
    return f"<td>{escape(str(value))}</td>"


def _num(value: float | None, fmt: str, delta: bool = False) -> str:
    if value is None:
        return '<td class="num">-</td>'
    text = ("+" if delta and value > 0 else "") + fmt.format(value)
    css = "num" + ((" up" if value > 0 else " down" if value < 0 else "") if delta else "")
    return f'<td class="{css}">{escape(text)}</td>'


def route_key_text(route: RouteResult) -> str:
    """How a route run is named on the page and in row keys: `<route name> #<index>`."""
    return f"{route.route_id} #{route.index}"


def _video_link(run: RunResults, route: RouteResult, out_dir: Path) -> str:
    video = run.path.parent / VIDEO_DIR_NAME / video_file_name(route.route_id, route.index)
    if not video.is_file():
        return "<td>-</td>"
    href = quote(Path(os.path.relpath(video.resolve(), out_dir.resolve())).as_posix())
    return f'<td><a href="{escape(href, quote=True)}">{escape(video.name)}</a></td>'


def _summary(runs: Sequence[RunResults]) -> str:
    header = ["results", "DS (%)", "RC (%)", "IS", "routes done", "entry status", "eligible"]
    rows = [[_text(run.label)] + [_num(getattr(run, attr), fmt) for _, attr, fmt in SCORES]
            + [_text(f"{run.progress[0]} / {run.progress[1]}"), _text(run.entry_status),
               _text("yes" if run.eligible else f"no: {run.eligible_reason}")] for run in runs]
    return _table(header, rows, [run.label for run in runs])


def _routes(run: RunResults, out_dir: Path) -> str:
    header = ["route", "status", "DS (%)", "RC (%)", "IS", "infractions", "video"]
    rows = []
    for r in run.routes:
        counts = ", ".join(f"{INFRACTION_LABELS[k]} {r.count(k)}" for k in INFRACTION_LABELS if r.count(k)) or "-"
        rows.append([_text(route_key_text(r)), _text(r.status)]
                    + [_num(getattr(r, attr), fmt) for _, attr, fmt in SCORES]
                    + [_text(counts), _video_link(run, r, out_dir)])
    return _table(header, rows, [route_key_text(r) for r in run.routes])


def _deltas(labels: Sequence[str], rows_in: Sequence[tuple[str, Callable[[int], object | None]]]) -> str:
    """Comparison table: per row, each score for A and B and the delta B - A."""
    header = ["", *(f"{name} {label}" for name, _, _ in SCORES for label in (*labels, "delta"))]
    rows, keys = [], []
    for key, get in rows_in:
        cells = [_text(key)]
        a, b = get(0), get(1)
        for _, attr, fmt in SCORES:
            va = getattr(a, attr) if a is not None else None
            vb = getattr(b, attr) if b is not None else None
            delta = vb - va if va is not None and vb is not None else None
            cells += [_num(va, fmt), _num(vb, fmt), _num(delta, fmt, delta=True)]
        rows.append(cells)
        keys.append(key)
    return _table(header, rows, keys)


def _comparison(runs: Sequence[RunResults]) -> str:
    labels = [run.label for run in runs]
    by_key = [{r.key: r for r in run.routes} for run in runs]
    keys = list(dict.fromkeys(r.key for run in runs for r in run.routes))
    per_route = [(f"{rid} #{i}", lambda n, k=(rid, i): by_key[n].get(k)) for rid, i in keys]
    return (f'<section id="comparison"><h2>Comparison: {escape(labels[1])} against {escape(labels[0])}</h2>'
            f'<p>delta = {escape(labels[1])} - {escape(labels[0])}</p><h3>Global (means over routes)</h3>'
            + _deltas(labels, [("global", lambda n: runs[n])])
            + "<h3>Per route</h3>" + _deltas(labels, per_route) + "</section>")


def build_page(runs: Sequence[RunResults], out_path: Path, maps: Sequence[MapPanel], maps_note: str = "") -> str:
    """The whole page for one results file, or two side by side (`runs[1]` compared with `runs[0]`)."""
    out_dir = out_path.parent
    title = "Driving report: " + " vs ".join(run.label for run in runs)
    parts = [(f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
              f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"),
             '<section id="summary"><h2>Summary</h2>', _summary(runs), "</section>"]
    if len(runs) > 1:
        parts.append(_comparison(runs))
    parts.append('<section id="routes"><h2>Routes</h2>')
    for run in runs:
        parts += [f"<h3>{escape(run.label)}</h3>", _routes(run, out_dir) if run.routes
                  else '<p class="note">No finished route yet.</p>']
    parts.append("</section>")
    if any(run.routes for run in runs):
        parts += ['<section id="route-scores"><h2>Scores per route</h2>',
                  _img(plots.route_scores_png(runs), "DS, RC and IS per route"), "</section>",
                  '<section id="infractions"><h2>Infractions by type</h2>',
                  _img(plots.infraction_types_png(runs), "infractions by type"), "</section>"]
    parts.append('<section id="scenarios"><h2>Infractions by scenario family</h2>')
    if any(run.has_scenarios for run in runs):
        parts.append(_img(plots.scenario_families_png(runs), "infractions by scenario family"))
    else:
        parts.append('<p class="note">No route of this run had scenarios.</p>')
    parts.append('</section><section id="maps"><h2>Where the infractions happened</h2>')
    if maps_note:
        parts.append(f'<p class="note">{escape(maps_note)}</p>')
    for panel in maps:
        parts.append(f"<h3>{escape(panel.title)}</h3><figure>{_img(panel.png, panel.title)}"
                     f"<figcaption class='note'>{escape(panel.note)}</figcaption></figure>")
    if not maps:
        parts.append('<p class="note">No infraction names a place.</p>')
    parts.append("</section></body></html>\n")
    return "".join(parts)
