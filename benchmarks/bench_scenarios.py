"""The expert and a never-braking baseline on the `adversarial` suite (or any suite).

Drives every route of the suite (held-out long routes with every scenario family placed where it
fits, background traffic, the routes' own weathers) once per agent and prints per route DS, RC,
IS and infractions, the scenarios that ran or were skipped, and per family the infractions that
happened while it was running. Target: the expert's mean DS >= 85 on `adversarial`; the
never-braking agent must score far lower (the scenarios are real hazards). Figures only.

    python benchmarks/bench_scenarios.py [--suite adversarial] [--agents expert,never_brake] [--workers 2]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

TARGET_DS_EXPERT = 85.0


def run_agent(agent: str, suite: str, out: Path, workers: int, seed: int, subset: str) -> list:
    from leaderboard.evaluate_cli import _routes_path
    from leaderboard.leaderboard_evaluator import add_evaluator_arguments, plan_evaluation, run_evaluation
    from leaderboard.suites import load_suite

    spec = load_suite(suite)
    parser = argparse.ArgumentParser()
    add_evaluator_arguments(parser)
    argv = ["--routes", _routes_path(spec.routes), "--agent", agent, "--workers", str(workers),
            "--checkpoint", str(out / f"results_{suite}_{agent}.json"), "--trafficManagerSeed", str(seed)]
    if spec.scenarios:
        argv += ["--scenarios", spec.scenarios]
    if subset:
        argv += ["--routes-subset", subset]
    plan = plan_evaluation(parser.parse_args(argv))

    def on_route(outcome, results) -> None:
        r = outcome.record
        inf = {k: len(v) for k, v in r.infractions.items() if v}
        ran = [s["scenario"] for s in r.meta.get("scenarios", []) if not s["skipped"]]
        skipped = [s["scenario"] for s in r.meta.get("scenarios", []) if s["skipped"]]
        print(f"  {agent:12} {r.route_id:>18} {r.status:32} DS {r.scores['score_composed']:6.2f} "
              f"RC {r.scores['score_route']:6.2f} IS {r.scores['score_penalty']:.3f} "
              f"wall {r.meta['duration_system']:5.0f} s {inf or ''}", flush=True)
        print(f"      scenarios run: {', '.join(ran) or '-'}; could not be set up: {', '.join(skipped) or '-'}",
              flush=True)
        if outcome.error:
            print(f"      error: {outcome.error.splitlines()[0]}", flush=True)

    return run_evaluation(plan, on_route=on_route).records


def summarize(agent: str, records: list) -> float:
    ds = [r.scores["score_composed"] for r in records]
    rc = [r.scores["score_route"] for r in records]
    pen = [r.scores["score_penalty"] for r in records]
    per_family: Counter = Counter()
    outside = Counter()
    for r in records:
        for t in r.meta.get("scenario_infractions", []):
            if t["scenarios"]:
                for label in t["scenarios"]:
                    per_family[(label, t["type"])] += 1
            else:
                outside[t["type"]] += 1
    print(f"{agent}: mean DS {statistics.mean(ds):.2f}  RC {statistics.mean(rc):.2f}  IS {statistics.mean(pen):.3f} "
          f"over {len(records)} routes")
    for (label, kind), n in sorted(per_family.items()):
        print(f"    during {label:28} {kind:28} {n}")
    if outside:
        print("    outside any scenario: " + ", ".join(f"{k} {n}" for k, n in sorted(outside.items())))
    return statistics.mean(ds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suite", default="adversarial", help="bundled suite name or suite YAML")
    parser.add_argument("--agents", default="expert,never_brake", help="agents, comma separated")
    parser.add_argument("--workers", type=int, default=2, help="routes driven in parallel")
    parser.add_argument("--seed", type=int, default=0, help="traffic seed")
    parser.add_argument("--routes-subset", default="", help="route ids, e.g. '0-1'")
    parser.add_argument("--out", default="runs/bench_scenarios", help="folder for the results JSON files")
    args = parser.parse_args(argv)
    out = Path(args.out)
    t0 = time.time()
    means = {}
    for agent in [a for a in args.agents.split(",") if a]:
        print(f"{agent} on suite {args.suite}:", flush=True)
        means[agent] = run_agent(agent, args.suite, out, args.workers, args.seed, args.routes_subset)
    print(f"\n{time.time() - t0:.0f} s wall ({args.workers} workers)")
    scores = {agent: summarize(agent, records) for agent, records in means.items()}
    if "expert" in scores:
        print(f"expert mean DS {scores['expert']:.2f} (target >= {TARGET_DS_EXPERT})")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
