"""What the project model costs on a cold scan, all of it: the fact rules inside the engine
run (semgrep with the pack and the facts, over the pack alone) plus the runner's own part
(reading function and class spans and the source facts with `ast`, and building the model).

    python -m bench.model_cost PATH [PATH ...] [--runs 3] [--jobs 2]

Prints one row per target; medians of --runs runs, engine runs rotated so neither always
goes first. CPU time is the steadier column on a shared machine. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.run import BIN, FLAGS, count_lines, timed  # noqa: E402
from backend_review import engine, model as model_mod, rules as rules_mod, scan as scan_mod  # noqa: E402


def measure(target: Path, runs: int, jobs: int, work: Path) -> dict:
    rules = rules_mod.select(rules_mod.load_pack(), preview=False)
    pack, with_facts = work / "pack.json", work / "pack-facts.json"
    engine.write_config(pack, rules_mod.merged_config(rules))
    engine.write_config(with_facts, scan_mod.engine_config_for(rules))
    base = [str(BIN / "semgrep"), "scan", *FLAGS, "--jobs", str(jobs), "-o"]
    bare, facts, bare_cpu, facts_cpu = [], [], [], []
    for i in range(runs):
        order = [(pack, bare, bare_cpu), (with_facts, facts, facts_cpu)]
        for config, walls, cpus in order[i % 2:] + order[:i % 2]:
            walls.append(timed([*base, str(work / f"{config.stem}.out.json"), "--config", str(config), str(target)],
                               cpus, cwd=target))
    results = json.loads((work / "pack-facts.out.json").read_text())["results"]
    fact_results = [r for r in results if model_mod.is_fact(r)]
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*.py") if p.is_file())
    build_cpu, build_wall = [], []
    for _ in range(runs):
        start_cpu, start = time.process_time(), time.perf_counter()
        built = model_mod.build(fact_results, target, (".",), files)
        build_cpu.append(time.process_time() - start_cpu)
        build_wall.append(time.perf_counter() - start)
    med = statistics.median
    n_files, n_lines = count_lines(target)
    return {"target": str(target), "files": n_files, "lines": n_lines, "facts": len(fact_results),
            "source_facts": len(built.facts) - len(fact_results),
            "bare": med(bare), "bare_cpu": med(bare_cpu),
            "engine_share": med(facts) / med(bare) - 1, "engine_share_cpu": med(facts_cpu) / med(bare_cpu) - 1,
            "build": med(build_wall), "build_cpu": med(build_cpu),
            "total": (med(facts) - med(bare) + med(build_wall)) / med(bare),
            "total_cpu": (med(facts_cpu) - med(bare_cpu) + med(build_cpu)) / med(bare_cpu)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.model_cost", description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    print("| target | files | lines | facts from the engine | facts from the source | pack alone s (CPU s) | facts in the engine run, wall (CPU) | "
          "runner's model build s (CPU s) | model's total cost, wall (CPU) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for path in args.paths:
        with tempfile.TemporaryDirectory(prefix="br-model-cost-") as tmp:
            r = measure(path.resolve(), args.runs, args.jobs, Path(tmp))
        print(f"| {path} | {r['files']} | {r['lines']} | {r['facts']} | {r['source_facts']} | {r['bare']:.1f} ({r['bare_cpu']:.1f}) | "
              f"{r['engine_share']:+.1%} ({r['engine_share_cpu']:+.1%}) | {r['build']:.2f} ({r['build_cpu']:.2f}) | "
              f"**{r['total']:+.1%}** ({r['total_cpu']:+.1%}) |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
