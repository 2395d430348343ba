"""The scan pipeline: config -> rule selection -> targets -> engine -> findings ->
suppressions/baseline -> report. Each step lives in its own module; this one only
wires them together and decides nothing the steps could decide themselves."""
from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

from backend_review import __version__, cache as cache_mod, config as config_mod, contracts, diff, engine, results, rules as rules_mod, suppressions, syntax, targets
from backend_review.finding import Notification, ScanReport, Severity

DEFAULT_MAX_FILE_BYTES = 1_000_000
DEFAULT_FILE_TIMEOUT = 30


class UsageError(Exception):
    """Bad usage, config or rule: exit code 2."""


@dataclass
class ScanOptions:
    paths: list[Path] = field(default_factory=list)
    config: Path | None = None
    areas: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    fail_on: str | None = None  # None: take the config's, else "high"
    jobs: int | None = None
    baseline: Path | None = None
    keep_suppressed: bool = False
    category: str = "backend-review"
    absolute_base_uri: bool = False
    run_timeout: int | None = None
    diff_base: str | None = None
    cache_dir: Path | None = None
    use_cache: bool = True
    shard: tuple[int, int] | None = None  # (k, n), 1-based k
    cwd: Path = field(default_factory=Path.cwd)


@dataclass
class Plan:
    cfg: config_mod.Config
    rules: list
    targets: targets.TargetSet
    fail_on: Severity | None
    baseline: suppressions.Baseline | None
    options: ScanOptions
    changed: dict | None = None  # --diff-base: path -> changed lines (None: whole file)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def effective_rules(cfg: config_mod.Config, opts: ScanOptions, pack: list | None = None) -> list:
    pack = pack if pack is not None else rules_mod.load_pack()
    try:
        pack = pack + contracts.rules_from_config(cfg.get("boundaries", []), cfg.path)
    except ValueError as exc:
        raise UsageError(f"{cfg.path}: boundaries: {exc}") from None
    selected = rules_mod.select(
        pack,
        areas=opts.areas or tuple(cfg.get("areas", ())),
        languages=opts.languages or tuple(cfg.get("languages", ())),
        include=opts.select or tuple(cfg.get("select", ())),
        exclude=tuple(opts.ignore) + tuple(cfg.get("ignore", ())),
    )
    overrides = cfg.get("severity", {})
    out = []
    for rule in selected:
        for pattern, level in overrides.items():
            if fnmatch.fnmatchcase(rule.id, pattern):
                rule = dataclasses.replace(rule, severity=Severity.parse(level))
        out.append(rule)
    return out


def prepare(opts: ScanOptions) -> Plan:
    """Everything that can be wrong with the user's input is found here, before the
    engine starts and before any output is written."""
    paths = opts.paths or [opts.cwd]
    cfg = config_mod.resolve(opts.config, paths)
    selected = effective_rules(cfg, opts)
    if not selected:
        raise UsageError("no rules selected: the area, language and rule filters exclude every rule")
    fail_on_text = opts.fail_on or cfg.get("fail-on", "high")
    fail_on = None if fail_on_text == "never" else Severity.parse(fail_on_text)
    exclude = tuple(cfg.get("exclude", targets.DEFAULT_EXCLUDE)) + tuple(cfg.get("extend-exclude", ())) + opts.exclude
    languages = {lang for r in selected for lang in r.languages}
    target_set = targets.collect(paths, languages=languages, exclude=exclude,
                                 max_bytes=cfg.get("max-file-bytes", DEFAULT_MAX_FILE_BYTES), cwd=opts.cwd)
    if not target_set.files:
        where = ", ".join(str(p) for p in paths)
        kinds = ", ".join(s for lang in sorted(languages) for s in targets.EXTENSIONS.get(lang, ()))
        raise UsageError(f"no files to scan in {where} (looked for {kinds}; "
                         f"{len(target_set.skipped)} skipped, excluded: {', '.join(exclude) or 'nothing'})")
    baseline_path = opts.baseline
    if baseline_path is None and cfg.get("baseline") and cfg.base_dir:
        baseline_path = cfg.base_dir / cfg.get("baseline")
    baseline = suppressions.load_baseline(baseline_path) if baseline_path else None
    changed = None
    if opts.diff_base:
        changed = diff.changed_lines(target_set.root, opts.diff_base)
        # Unchanged files cannot hold a finding on a changed line: do not scan them.
        target_set.files = [f for f in target_set.files if f in changed]
    if opts.shard:
        target_set.files = targets.shard(target_set.root, target_set.files, *opts.shard)
    return Plan(cfg=cfg, rules=selected, targets=target_set, fail_on=fail_on, baseline=baseline, options=opts,
                changed=changed)


ENGINE_ARGS = ("--dataflow-traces",)


def _cache_for(plan: Plan, engine_config: dict) -> cache_mod.Cache | None:
    opts = plan.options
    if not opts.use_cache:
        return None
    directory = opts.cache_dir or (plan.cfg.base_dir or plan.targets.root) / ".backend-review-cache"
    key = cache_mod.ruleset_key(engine_config, cache_mod.engine_identity(engine.semgrep_executable()),
                                {"file_timeout": plan.cfg.get("timeout", DEFAULT_FILE_TIMEOUT),
                                 "engine_args": ENGINE_ARGS})
    return cache_mod.Cache(directory, key)


def _scan_files(plan: Plan) -> tuple[engine.EngineRun, list[Notification]]:
    """Engine results for every target: from the cache where the key matches, from
    semgrep for the rest (which are then stored)."""
    opts, root, files = plan.options, plan.targets.root, plan.targets.files
    engine_config = rules_mod.merged_config(plan.rules)
    cache = _cache_for(plan, engine_config)
    contents: dict[str, bytes] = {}
    cached = engine.EngineRun()
    cached_syntax: list[Notification] = []
    to_scan = files
    if cache is not None:
        to_scan = []
        for rel in files:
            try:
                contents[rel] = (root / rel).read_bytes()
            except OSError:
                to_scan.append(rel)
                continue
            hit = cache.get(rel, contents[rel])
            if hit is None:
                to_scan.append(rel)
            else:
                cached.results += hit["results"]
                cached.errors += hit["errors"]
                cached_syntax += [Notification(**n) for n in hit["syntax"]]
    syntax_check = syntax.Background(root, to_scan)
    if to_scan:
        run = engine.run(engine_config, to_scan, cwd=root,
                         jobs=opts.jobs or plan.cfg.get("jobs") or os.cpu_count() or 1,
                         file_timeout=plan.cfg.get("timeout", DEFAULT_FILE_TIMEOUT),
                         run_timeout=opts.run_timeout, extra_args=ENGINE_ARGS)
    else:  # everything cached, or a diff-aware scan where nothing changed
        run = engine.EngineRun(version=cache_mod.engine_version())
    fresh_syntax = syntax_check.result()
    if cache is not None and run.failure is None:
        by_path: dict[str, list] = {}
        for r in run.results:
            by_path.setdefault(r.get("path"), []).append(r)
        troubled = {e.get("path") for e in run.errors}
        syntax_by_path: dict[str, list] = {}
        for n in fresh_syntax:
            syntax_by_path.setdefault(n.path, []).append(dataclasses.asdict(n))
        for rel in to_scan:
            if rel in contents and rel not in troubled:  # a timeout may pass next time: never cache it
                cache.put(rel, contents[rel], by_path.get(rel, []), [], syntax_by_path.get(rel, []))
        cache.trim()
    run.results = cached.results + run.results
    run.errors = cached.errors + run.errors
    return run, cached_syntax + fresh_syntax


def _suppression_hygiene(plan: Plan, applied: suppressions.Applied, lines_of, engine_notes) -> list[Notification]:
    """Unknown or unused `nosemgrep` ids, judged only where the named rules really ran: on
    files the engine scanned without trouble, for the selected rules of the file's language."""
    troubled = {n.path for n in engine_notes if n.path}
    layer_contracts = plan.cfg.get("boundaries", [])
    selected = {r.id for r in plan.rules}
    everything: set[str] = set()

    def rules_ran_on(path: str) -> list[str]:
        ext = Path(path).suffix.lower()
        return [r.id for r in plan.rules
                if any(ext in targets.EXTENSIONS.get(lang, ()) for lang in r.languages)
                and contracts.in_layer(r.id, path, layer_contracts)]

    def is_known(token: str) -> bool:
        if any(suppressions.names(i, token) for i in selected):
            return True
        if not everything:  # the whole pack, only when a comment names a rule not selected
            everything.update(r.id for r in rules_mod.load_pack())
        return any(suppressions.names(i, token) for i in everything)

    return suppressions.hygiene(applied, plan.targets.root, [f for f in plan.targets.files if f not in troubled],
                                rules_ran_on, is_known, lines_of)


def execute(plan: Plan) -> ScanReport:
    opts = plan.options
    started = _now()
    root = plan.targets.root
    run, syntax_notes = _scan_files(plan)
    by_id = {r.id: r for r in plan.rules}
    lines_of = results.SourceLines(root)
    findings, notes = results.build(run, by_id, lines_of)
    layer_contracts = plan.cfg.get("boundaries", [])
    findings = [f for f in findings if contracts.in_layer(f.rule_id, f.path, layer_contracts)]
    # Suppressions before the diff filter: a comment's use is judged on every finding in the file.
    applied = suppressions.apply(findings, lines_of, plan.baseline, root,
                                 require_reason=bool(plan.cfg.get("require-suppression-reason", False)))
    hygiene = applied.notes + _suppression_hygiene(plan, applied, lines_of, syntax_notes + notes)
    kept, suppressed = applied.kept, applied.suppressed
    if plan.changed is not None:
        kept, suppressed = ([f for f in group if diff.touches(plan.changed, f.path, f.region.start_line,
                                                              f.region.end_line)] for group in (kept, suppressed))
        hygiene = [n for n in hygiene if n.path is None or diff.touches(plan.changed, n.path, n.line, n.line)]
    notes = [Notification("warning", f"skipped: {s.reason}", s.path, kind="skipped")
             for s in plan.targets.skipped] + syntax_notes + notes + hygiene
    if run.failure:
        notes.append(Notification("error", run.failure, kind="engine"))
    notes.sort(key=lambda n: (n.path or "", n.line or 0, n.message))
    return ScanReport(
        findings=sorted(kept, key=lambda f: f.sort_key), rules=plan.rules, notifications=notes,
        root=str(root), files_scanned=len(plan.targets.files), tool_version=__version__,
        engine_version=run.version, execution_successful=run.failure is None, failure=run.failure,
        fail_on=plan.fail_on, started=started, ended=_now(), suppressed=suppressed,
        category=opts.category, absolute_base_uri=opts.absolute_base_uri,
        keep_suppressed=opts.keep_suppressed, diff_base=opts.diff_base,
    )
