"""The ecosystem check: the pack on pinned real backends, compared with the committed snapshot.

    make ecosystem                                  # all projects: tables and the diff
    make ecosystem ARGS="--project pretix"          # one project (repeatable)
    make ecosystem ARGS="--half tuning"             # one half
    make ecosystem ARGS=--update                    # rewrite the snapshot and docs/precision*
    make ecosystem ARGS=--check                     # exit 1 on a diff or a finding without verdict
    make ecosystem ARGS=--missing-verdicts          # verdicts.tsv rows to fill in, on stdout
    make ecosystem ARGS="--no-scan --missing-verdicts"  # the same from the committed snapshot

Each project is scanned by the real CLI from its unpacked folder (so paths are relative to
it), with the runner's default excludes and its result cache in the ecosystem cache: a re-run
with unchanged rules is fast. Network only for the first download of each pinned file.
Exit codes: 0, or 1 under --check when something differs; 2 for bad input or a failed
download/hash; 3 when the scanner fails.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.ecosystem import findings as fmod, precision, projects as pmod  # noqa: E402
from bench.ecosystem.findings import Finding  # noqa: E402
from bench.ecosystem.projects import EcosystemError  # noqa: E402

SNAPSHOT = ROOT / "bench" / "ecosystem" / "snapshot.json"
VERDICTS = ROOT / "docs" / "precision" / "verdicts.tsv"
BIN = Path(sys.executable).parent
DIFF_SHOWN = 60  # per kind; the full diff is written to the cache


class ScanFailed(Exception):
    pass


def log(msg: str) -> None:
    print(f"ecosystem: {msg}", file=sys.stderr, flush=True)


def count_lines(project: pmod.Project, src: Path) -> tuple[int, int]:
    """Files and lines the runner scans (its own target collection, default excludes)."""
    from backend_review import scan as scan_mod, targets
    files = targets.collect([src / p for p in project.paths], languages={"python"}, exclude=targets.DEFAULT_EXCLUDE,
                            max_bytes=scan_mod.DEFAULT_MAX_FILE_BYTES, cwd=src).files
    lines = 0
    for rel in files:
        with open(src / rel, "rb") as fh:
            lines += sum(1 for _ in fh)
    return len(files), lines


def scan(project: pmod.Project, src: Path, root: Path, jobs: int | None) -> tuple[dict, float]:
    out = root / "reports" / f"{project.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(BIN / "backend-review"), "scan", *project.paths, "--format", "json", "-o", str(out),
           "--fail-on", "never", "--cache-dir", str(root / "results" / project.name)]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=src, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise ScanFailed(f"{project.name}: backend-review scan failed (exit {proc.returncode}): {tail}")
    return json.loads(out.read_text(encoding="utf-8")), seconds


def codes_of(report: dict, project: str) -> dict[tuple, str]:
    return {(project, f["rule"], f["evidence"]["path"], f["fingerprint"]): f["evidence"].get("code", "")
            for f in report.get("findings", [])}


def write_current_tsv(root: Path, names: list[str]) -> Path:
    """All projects' last reports in one TSV for verdict writers (project order of projects.toml)."""
    found, codes = [], {}
    for name in names:
        path = root / "reports" / f"{name}.json"
        if path.is_file():
            report = json.loads(path.read_text(encoding="utf-8"))
            found += fmod.from_report(name, report)
            codes.update(codes_of(report, name))
    target = root / "current-findings.tsv"
    write_atomic(target, fmod.current_tsv(found, codes))
    return target


def table(headers: list[str], rows: list[list], right_from: int = 1) -> str:
    cells = [headers] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = []
    for n, r in enumerate(cells):
        out.append("  ".join(c.rjust(w) if i >= right_from else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def describe(f: Finding) -> str:
    return f"{f.project} {f.rule} {f.path}:{f.line}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make ecosystem", description=__doc__.split("\n\n")[0])
    ap.add_argument("--project", action="append", metavar="NAME", help="only this project (repeatable)")
    ap.add_argument("--half", choices=pmod.HALVES, help="only the projects of this half")
    ap.add_argument("--update", action="store_true", help="rewrite the snapshot (selected projects) and the precision docs")
    ap.add_argument("--check", action="store_true", help="exit 1 on a diff or a finding without a verdict")
    ap.add_argument("--missing-verdicts", action="store_true",
                    help="print verdicts.tsv rows (verdict and reason empty) for findings without a verdict")
    ap.add_argument("--no-scan", action="store_true", help="no download or scan: use the committed snapshot as now")
    ap.add_argument("--jobs", type=int, help="semgrep jobs per scan (default: the runner's, one per core)")
    args = ap.parse_args(argv)
    if args.update and args.no_scan:
        ap.error("--update needs a scan; drop --no-scan")
    try:
        return run(args)
    except EcosystemError as exc:
        print(f"ecosystem: error: {exc}", file=sys.stderr)
        return 2
    except ScanFailed as exc:
        print(f"ecosystem: error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("ecosystem: interrupted", file=sys.stderr)
        return 130


def write_atomic(path: Path, text: str) -> None:
    """Never a half-written snapshot or TSV: write beside, then rename."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def run(args) -> int:
    every = pmod.load()
    chosen = pmod.select(every, args.project, args.half)
    snapshot = fmod.load_snapshot(SNAPSHOT)
    verdicts = fmod.load_verdicts(VERDICTS)
    root = pmod.cache_root()
    reviewer = fmod.load_reviewer_lists(precision.REVIEWER_LISTS)
    now: dict[str, dict] = {}
    total = 0.0
    for p in chosen:
        if args.no_scan:
            entry = snapshot["projects"].get(p.name)
            if entry is None:
                raise EcosystemError(f"{p.name}: not in the snapshot {SNAPSHOT.relative_to(ROOT)}; run without --no-scan")
            now[p.name] = {**entry, "seconds": None}
            continue
        src = pmod.prepare(p, root, log)
        for item in reviewer.get(p.name, []):
            if not (src / item.path).is_file():  # a typo would silently count as a miss in recall
                log(f"reviewer item {item.id}: {item.path} is not a file in {p.name}")
        log(f"scanning {p.name} ({' '.join(p.paths)})")
        report, seconds = scan(p, src, root, args.jobs)
        total += seconds
        files, lines = count_lines(p, src)
        if report["scan"]["files_scanned"] != files:
            log(f"{p.name}: the runner scanned {report['scan']['files_scanned']} files, the line count saw {files}")
        if not report["scan"].get("successful", True):
            log(f"{p.name}: the scan was not fully successful: {report['scan'].get('failure')}")
        notes = report.get("notifications", [])
        now[p.name] = {"files": files, "lines": lines, "findings": fmod.from_report(p.name, report),
                       "seconds": seconds, "notes": notes, "rules_run": report["scan"].get("rules_run"),
                       "engine": report["tool"].get("engine")}
        log(f"{p.name}: {files} files, {lines} lines, {len(now[p.name]['findings'])} findings, {seconds:.0f} s")
    if not args.no_scan:
        tsv = write_current_tsv(root, [p.name for p in every])
        log(f"current findings of every scanned project: {tsv}")

    # ---- compare ----
    per_project, per_rule = [], {}
    all_diff = fmod.Diff([], [], [], 0)
    missing_total = 0
    for p in chosen:
        cur = now[p.name]["findings"]
        old = snapshot["projects"].get(p.name, {}).get("findings", [])
        d = fmod.diff(old, cur)
        all_diff.new += d.new
        all_diff.gone += d.gone
        all_diff.moved += d.moved
        missing = sum(1 for f in cur if fmod.verdict_for(f, verdicts) is None)
        missing_total += missing
        secs = now[p.name]["seconds"]
        notes = now[p.name].get("notes")
        trouble = "-" if notes is None else str(sum(1 for n in notes if n["kind"] in ("engine", "syntax")))
        per_project.append([p.name, p.half, now[p.name]["files"], now[p.name]["lines"], len(cur), len(old),
                            len(d.new), len(d.gone), len(d.moved), missing, trouble,
                            "-" if secs is None else f"{secs:.0f}"])
        cur_by, old_by = Counter(f.rule for f in cur), Counter(f.rule for f in old)
        for rule in set(cur_by) | set(old_by):
            r = per_rule.setdefault(rule, [0, 0, 0, 0, 0])
            r[0] += cur_by[rule]
            r[1] += old_by[rule]
        for f in d.new:
            per_rule[f.rule][2] += 1
        for f in d.gone:
            per_rule[f.rule][3] += 1
        for _, f in d.moved:
            per_rule[f.rule][4] += 1

    print(table(["project", "half", "files", "lines", "now", "snapshot", "new", "gone", "moved", "no verdict",
                 "engine notes", "seconds"],
                per_project + [["total", "", sum(r[2] for r in per_project), sum(r[3] for r in per_project),
                                sum(r[4] for r in per_project), sum(r[5] for r in per_project), len(all_diff.new),
                                len(all_diff.gone), len(all_diff.moved), missing_total, "",
                                f"{total:.0f}" if not args.no_scan else "-"]], right_from=2))
    notes_text = render_notes(chosen, now)
    if notes_text:
        print()
        print(notes_text)
    print()
    rows = [[rule, *vals] for rule, vals in sorted(per_rule.items())]
    print(table(["rule", "now", "snapshot", "new", "gone", "moved"], rows) if rows else "no findings")
    print()
    diff_text = render_diff(all_diff)
    if not args.no_scan:
        write_atomic(root / "diff.txt", render_diff(all_diff, limit=None) + "\n")
    print(diff_text)

    pairs_missing = [f for p in chosen for f in now[p.name]["findings"] if fmod.verdict_for(f, verdicts) is None]
    if args.missing_verdicts:
        print()
        print("# verdicts.tsv rows to fill in (verdict: TP, FP or noise; reason: one line)")
        for row in fmod.missing_rows(pairs_missing, verdicts):
            print(row)

    if args.update:
        for p in chosen:
            e = now[p.name]
            snapshot["projects"][p.name] = {"files": e["files"], "lines": e["lines"], "findings": e["findings"]}
        known = {p.name for p in every}
        snapshot["projects"] = {k: v for k, v in snapshot["projects"].items() if k in known}
        if chosen:  # what produced the snapshot's newest entries
            snapshot["tool"] = now[chosen[-1].name]["engine"]
            snapshot["rules"] = now[chosen[-1].name]["rules_run"]
        write_atomic(SNAPSHOT, fmod.dump_snapshot(snapshot))
        log(f"wrote {SNAPSHOT.relative_to(ROOT)}")
        for path in precision.write_all():
            log(f"wrote {path.relative_to(ROOT)}")

    if args.check and (all_diff or pairs_missing):
        log(f"check failed: {len(all_diff.new)} new, {len(all_diff.gone)} gone, {len(all_diff.moved)} moved, "
            f"{len(pairs_missing)} without a verdict")
        return 1
    return 0


def render_notes(chosen, now) -> str:
    """Files where the engine timed out or could not parse: their findings may be missing, and a
    timeout can pass or fail from one run to the next on a loaded machine."""
    out = []
    for p in chosen:
        for n in now[p.name].get("notes") or []:
            if n["kind"] in ("engine", "syntax"):
                out.append(f"! {p.name} {n['path'] or ''}: {n['message'].split(chr(10))[0][:160]}")
    if not out:
        return ""
    return "\n".join(["engine notes (findings in these files may be incomplete or vary between runs):", *out])


def render_diff(d: fmod.Diff, limit: int | None = DIFF_SHOWN) -> str:
    if not d:
        return "no difference from the snapshot"
    out = [f"difference from the snapshot: {len(d.new)} new, {len(d.gone)} gone, {len(d.moved)} moved"]
    for sign, items in (("+", d.new), ("-", d.gone)):
        for f in items[:limit] if limit else items:
            out.append(f"{sign} {describe(f)}")
        if limit and len(items) > limit:
            out.append(f"{sign} ... {len(items) - limit} more (all in the cache's diff.txt)")
    moved = d.moved[:limit] if limit else d.moved
    for a, b in moved:
        out.append(f"~ {describe(b)} (was line {a.line})")
    if limit and len(d.moved) > limit:
        out.append(f"~ ... {len(d.moved) - limit} more (all in the cache's diff.txt)")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
