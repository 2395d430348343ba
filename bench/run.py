"""Benchmarks for backend-review, printed as ratios measured in one run.

    make bench                      # generated 100k-line corpus
    python bench/run.py PATH ...    # plus any code base you name
    python bench/run.py --runs 5 --write docs/performance.md

For each target it measures (medians of --runs runs):
  1. runner wall time / bare semgrep with the same merged config on the same target
     (and the same ratio of CPU time, which background load does not skew)
  2. warm re-scan after changing one file / cold scan (no cache)
  3. the per-rule matching-time profile from `semgrep --time` (one job, so the shares are stable)
  4. the runner process's own peak memory (semgrep's is reported beside it)
  5. the project model's cost: bare semgrep with the pack plus the facts / the pack alone
  6. the pack's cost over a parse-only floor: bare semgrep with what a scan runs (pack and
     facts) / bare semgrep with one rule `$X is $X` (it must parse every file), same flags
     and target (`--floor-only` measures just this and the per-rule profile)
Nothing here is asserted: tests never time anything.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.corpus import write_corpus  # noqa: E402
from backend_review import engine, rules as rules_mod, scan as scan_mod  # noqa: E402

BIN = Path(sys.executable).parent
FLAGS = list(engine.FIXED_FLAGS) + list(scan_mod.ENGINE_ARGS) + ["--timeout", "30", "--max-target-bytes", "0"]


def timed(cmd, cpu: list[float] | None = None, **kw) -> float:
    """Wall seconds of one run; with `cpu`, also appends the run's CPU seconds (user + system,
    the command and every process it waited for), which background load on the machine does not
    inflate the way it inflates wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"bench: {' '.join(map(str, cmd[:3]))} failed: {proc.stderr.decode()[-500:]}")
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return elapsed


def count_lines(target: Path) -> tuple[int, int]:
    files = [p for p in target.rglob("*.py") if p.is_file()]
    return len(files), sum(p.read_bytes().count(b"\n") for p in files)


def default_pack():
    """The rules a default scan runs: preview rules are off unless asked for."""
    return [r for r in rules_mod.load_pack() if not r.preview]


FLOOR_RULE = {"rules": [{"id": "parse-floor", "languages": ["python"], "severity": "INFO",
                          "message": "floor", "pattern": "$X is $X"}]}


def floor_ratio(target: Path, runs: int, jobs: int, work: Path) -> dict:
    """Bare semgrep with the full engine config (pack + facts) over bare semgrep with the
    one-pattern floor rule: what the rules cost beyond parsing every file."""
    config, floor = work / "engine-config.json", work / "floor.json"
    engine.write_config(config, scan_mod.engine_config_for(default_pack()))
    engine.write_config(floor, FLOOR_RULE)
    base = [str(BIN / "semgrep"), "scan", *FLAGS, "--jobs", str(jobs), "--config"]
    walls: dict[str, list[float]] = {"pack": [], "floor": []}
    cpus: dict[str, list[float]] = {"pack": [], "floor": []}
    for i in range(runs):
        order = [("pack", config), ("floor", floor)]
        for name, cfg in order[i % 2:] + order[:i % 2]:
            walls[name].append(timed([*base, str(cfg), str(target)], cpus[name], cwd=work))
    med = statistics.median
    return {"pack_s": med(walls["pack"]), "floor_s": med(walls["floor"]),
            "ratio_floor": med(walls["pack"]) / med(walls["floor"]),
            "ratio_floor_cpu": med(cpus["pack"]) / med(cpus["floor"])}


def rule_profile(pack: Path, target: Path, runs: int) -> list[tuple[str, float, float]]:
    """Per-rule matching seconds (median of `runs` profiles) and each rule's share of their sum.

    Profiled with one semgrep job: with two, each rule's wall-clock match time also absorbs the
    other worker's garbage-collection pauses, and the shares move by several points between runs.
    """
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        out = subprocess.run([str(BIN / "semgrep"), "scan", *FLAGS, "--time", "--jobs", "1", "--config", str(pack),
                              str(target)], capture_output=True, text=True)
        doc = json.loads(out.stdout)
        rules = [r["id"] if isinstance(r, dict) else r for r in doc["time"]["rules"]]
        per_rule = [0.0] * len(rules)
        for t in doc["time"]["targets"]:
            for i, v in enumerate(t.get("match_times", [])):
                if i < len(per_rule) and isinstance(v, (int, float)) and v > 0:
                    per_rule[i] += v
        for rid, secs in zip(rules, per_rule):
            samples.setdefault(rid, []).append(secs)
    medians = {rid: statistics.median(v) for rid, v in samples.items()}
    total = sum(medians.values()) or 1.0
    ranked = sorted(medians.items(), key=lambda x: -x[1])
    return [(rid, secs, secs / total) for rid, secs in ranked]


def bench_target(target: Path, runs: int, jobs: int, work: Path) -> dict:
    pack, with_facts = work / "pack.json", work / "pack-facts.json"
    rules = default_pack()
    engine.write_config(pack, rules_mod.merged_config(rules))
    engine.write_config(with_facts, scan_mod.engine_config_for(rules))
    n_files, n_lines = count_lines(target)
    bare, runner_cold, warm, facts = [], [], [], []
    bare_cpu, runner_cpu, facts_cpu = [], [], []
    out = work / "out.sarif"
    scan = [str(BIN / "backend-review"), "scan", str(target), "--format", "sarif", "-o", str(out), "--fail-on", "never",
            "--jobs", str(jobs)]
    bare_cmd = [str(BIN / "semgrep"), "scan", *FLAGS, "--jobs", str(jobs), "--config", str(pack), str(target)]
    facts_cmd = [*bare_cmd[:-2], str(with_facts), str(target)]
    for i in range(runs):
        # rotate which goes first, so none always runs on the warmer page cache
        order = [(bare_cmd, bare, bare_cpu), ([*scan, "--no-cache"], runner_cold, runner_cpu), (facts_cmd, facts, facts_cpu)]
        for cmd, walls, cpus in order[i % 3:] + order[:i % 3]:
            walls.append(timed(cmd, cpus, cwd=work))
    cache_dir = work / "cache"
    shutil.rmtree(cache_dir, ignore_errors=True)
    timed([*scan, "--cache-dir", str(cache_dir)], cwd=work)  # prime
    py_files = sorted(p for p in target.rglob("*.py") if p.stat().st_size > 200)
    for i in range(runs):
        victim = py_files[(i * 7919) % len(py_files)]
        original = victim.read_bytes()
        victim.write_bytes(original + f"\n# bench edit {i}\n".encode())
        try:
            warm.append(timed([*scan, "--cache-dir", str(cache_dir)], cwd=work))
        finally:
            victim.write_bytes(original)
    rss_file = work / "rss"
    subprocess.run([sys.executable, str(ROOT / "bench" / "rss.py"), str(rss_file), "scan", str(target), "--format",
                    "sarif", "-o", str(out), "--fail-on", "never", "--no-cache", "--jobs", str(jobs)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work, env={**os.environ, "PYTHONPATH": str(ROOT)})
    self_kb, child_kb = map(int, rss_file.read_text().split())
    profile = rule_profile(pack, target, runs)
    med = statistics.median
    return {**floor_ratio(target, runs, jobs, work), "target": str(target), "files": n_files, "lines": n_lines, "runs": runs,
            "bare": med(bare), "runner": med(runner_cold), "warm": med(warm),
            "ratio_runner": med(runner_cold) / med(bare), "ratio_cpu": med(runner_cpu) / med(bare_cpu),
            "ratio_warm": med(warm) / med(runner_cold),
            "model_cost": med(facts) / med(bare) - 1, "model_cost_cpu": med(facts_cpu) / med(bare_cpu) - 1,
            "rss_self_mb": self_kb / 1024, "rss_engine_mb": child_kb / 1024, "profile": profile}


def render(results: list[dict], jobs: int) -> str:
    cpu = platform.processor() or platform.machine()
    lines = ["# Performance", "",
             "<!-- Written by `python bench/run.py --write docs/performance.md`; numbers from one run. -->", "",
             f"Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
             f"{platform.system()} {platform.release()}; semgrep --jobs {jobs}. Medians of {results[0]['runs']} runs.",
             "", "| target | files | lines | bare semgrep s | runner s | runner ÷ semgrep (goal ≤ 1.10) | same, CPU time | "
             "warm re-scan s | warm ÷ cold (goal ≤ 0.15) | project model's cost (facts, goal ≤ 5 %) | same, CPU time | "
             "runner peak RSS MB | semgrep peak RSS MB | pack ÷ parse floor (goal ≤ 3) | same, CPU time |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        lines.append(f"| {Path(r['target']).name} | {r['files']} | {r['lines']} | {r['bare']:.1f} | {r['runner']:.1f} | "
                     f"**{r['ratio_runner']:.2f}** | {r['ratio_cpu']:.2f} | {r['warm']:.1f} | **{r['ratio_warm']:.2f}** | "
                     f"**{r['model_cost']:.1%}** | {r['model_cost_cpu']:.1%} | "
                     f"{r['rss_self_mb']:.0f} | {r['rss_engine_mb']:.0f} | "
                     f"**{r['ratio_floor']:.2f}** | {r['ratio_floor_cpu']:.2f} |")
    lines += ["", "The runner's time includes the project model (its facts run in the same engine run, and the "
              "join); the model's cost column is bare semgrep with the pack and the facts over the pack alone. "
              "The parse floor is bare semgrep with one rule, `$X is $X`, which must parse every file; the "
              "pack column is bare semgrep with what a scan runs (pack and facts), same flags and target."]
    lines += profile_sections(results)
    return "\n".join(lines) + "\n"


def render_floor(results: list[dict], jobs: int) -> str:
    lines = [f"Parse floor (`--floor-only`), semgrep --jobs {jobs}, medians of {results[0]['runs']} runs:", "",
             "| target | files | lines | pack + facts s | parse floor s | pack ÷ floor (goal ≤ 3) | same, CPU time |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {Path(r['target']).name} | {r['files']} | {r['lines']} | {r['pack_s']:.1f} | {r['floor_s']:.1f} | "
              f"**{r['ratio_floor']:.2f}** | {r['ratio_floor_cpu']:.2f} |" for r in results]
    return "\n".join(lines + profile_sections(results)) + "\n"


def profile_sections(results: list[dict]) -> list[str]:
    lines: list[str] = []
    for r in results:
        lines += ["", f"## Slowest rules on {Path(r['target']).name} (share of matching time, `semgrep --time --jobs 1`, "
                  f"median of {r['runs']} runs)", "",
                  "| rule | seconds | share |", "| --- | ---: | ---: |"]
        lines += [f"| {rid} | {secs:.2f} | {share:.1%} |" for rid, secs, share in r["profile"][:10]]
        over = [rid for rid, _, share in r["profile"] if share > 0.10]
        lines += ["", f"Rules over 10 % of matching time: {', '.join(over) if over else 'none'}."]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", type=Path, help="extra code bases to measure")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lines", type=int, default=100_000, help="size of the generated corpus")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--write", type=Path, help="also write the Markdown table to this file")
    ap.add_argument("--floor-only", action="store_true",
                    help="measure only the pack over the parse floor and the per-rule profile")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="br-bench-") as tmp:
        work = Path(tmp)
        corpus = work / "generated-service"
        n_files, n_lines = write_corpus(corpus, args.lines)
        print(f"generated {n_files} files, {n_lines} lines", file=sys.stderr)
        results = []
        for target in [corpus, *args.paths]:
            print(f"measuring {target} ...", file=sys.stderr)
            if args.floor_only:
                pack = work / "pack.json"
                engine.write_config(pack, rules_mod.merged_config(default_pack()))
                n_files, n_lines = count_lines(target)
                results.append({"target": str(target), "files": n_files, "lines": n_lines, "runs": args.runs,
                                **floor_ratio(target.resolve(), args.runs, args.jobs, work),
                                "profile": rule_profile(pack, target.resolve(), args.runs)})
            else:
                results.append(bench_target(target.resolve(), args.runs, args.jobs, work))
        text = render_floor(results, args.jobs) if args.floor_only else render(results, args.jobs)
    print(text)
    if args.write:
        args.write.write_text(text)


if __name__ == "__main__":
    main()
