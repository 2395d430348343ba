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

from backend_review import __version__, cache as cache_mod, config as config_mod, context, contracts, diff, engine, model as model_mod, results, rules as rules_mod, suppressions, targets
from backend_review.finding import Notification, ScanReport, Severity

DEFAULT_MAX_FILE_BYTES = 1_000_000
DEFAULT_FILE_TIMEOUT = 30


class UsageError(Exception):
    """Bad usage, config or rule: exit code 2."""


class NothingToScan(UsageError):
    """Only files were named and none is one the selected rules read (a pre-commit hook on a
    commit that stages no Python file): `scan` notes it and exits 0; elsewhere it is exit 2."""


@dataclass
class ScanOptions:
    paths: list[Path] = field(default_factory=list)
    config: Path | None = None
    areas: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    preview: bool | None = None  # None: the config's `preview`, default False
    exclude: tuple[str, ...] = ()
    force_exclude: bool | None = None  # None: the config's `force-exclude`, default True
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
    notes: list[str] = field(default_factory=list)  # "note: ..."/"warning: ..." lines for stderr


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def effective_rules(cfg: config_mod.Config, opts: ScanOptions, pack: list | None = None) -> list:
    """The rules a scan runs, with the config's severity overrides applied. Assumes
    `check` found no problem (otherwise raises on the first)."""
    pack = pack if pack is not None else rules_mod.load_pack()
    layer_contracts = cfg.get("boundaries", [])
    try:
        pack = pack + contracts.rules_from_config(layer_contracts, cfg.path)
    except ValueError as exc:
        raise UsageError(f"{cfg.path}: boundaries: {exc}") from None
    selected = rules_mod.select(
        pack,
        areas=opts.areas or tuple(cfg.get("areas", ())),
        languages=opts.languages or tuple(cfg.get("languages", ())),
        include=opts.select or tuple(cfg.get("select", ())),
        exclude=tuple(opts.ignore) + tuple(cfg.get("ignore", ())),
        preview=use_preview(cfg, opts),
    )
    overrides = cfg.get("severity", {})
    fixed = contracts.explicit_severity_ids(layer_contracts)
    out = []
    for rule in selected:
        # The exact id wins; else the last matching glob, except over a contract's own severity.
        level = overrides.get(rule.id)
        if level is None and rule.id not in fixed:
            for pattern, glob_level in overrides.items():
                if fnmatch.fnmatchcase(rule.id, pattern):
                    level = glob_level
        out.append(dataclasses.replace(rule, severity=Severity.parse(level)) if level else rule)
    return out


@dataclass
class Problem:
    topic: str  # config | rules | paths | baseline
    message: str  # one line that names where the bad value was set


@dataclass
class Checked:
    rules: list
    baseline: dict | None
    problems: list[Problem]


def use_preview(cfg: config_mod.Config, opts: ScanOptions) -> bool:
    return opts.preview if opts.preview is not None else bool(cfg.get("preview", False))


def _where(cfg: config_mod.Config, key: str) -> str:
    prefix = "tool.backend-review." if cfg.path and cfg.path.suffix == ".toml" else ""
    return f"{cfg.path}: {prefix}{key}"


def check(cfg: config_mod.Config, opts: ScanOptions, pack: list | None = None) -> Checked:
    """Every validation of the user's input that a scan does before the engine starts,
    collected rather than stopping at the first: `scan` reports the first, `doctor` all."""
    problems: list[Problem] = []
    pack = pack if pack is not None else rules_mod.load_pack()
    layer_contracts = cfg.get("boundaries", [])
    contract_rules = []
    for contract in layer_contracts:
        try:
            contract_rules += contracts.rules_from_config([contract], cfg.path)
        except ValueError as exc:
            problems.append(Problem("config", f"{_where(cfg, 'boundaries')}: {contract['name']}: {exc}"))
    for name in contracts.duplicate_names(layer_contracts):
        problems.append(Problem("config", f"{_where(cfg, 'boundaries')}: contract name {name!r} is used twice"))
    ids = [r.id for r in pack + contract_rules]
    for where, areas in (("--area", opts.areas), (_where(cfg, "areas"), cfg.get("areas", ()))):
        for area in rules_mod.unknown_areas(areas):
            problems.append(Problem("config", f"{where}: unknown area {area!r} (known: {', '.join(rules_mod.AREAS)})"))
    for where, patterns in (("--rule", opts.select), ("--ignore", opts.ignore),
                            (_where(cfg, "select"), cfg.get("select", ())),
                            (_where(cfg, "ignore"), cfg.get("ignore", ())),
                            (_where(cfg, "severity"), cfg.get("severity", {}))):
        for pattern in rules_mod.unmatched(ids, patterns):
            problems.append(Problem("config", f"{where}: {rules_mod.no_match_message(pattern)}"))
    if not use_preview(cfg, opts):
        for where, patterns in (("--rule", opts.select), (_where(cfg, "select"), cfg.get("select", ()))):
            for pattern in rules_mod.only_preview(pack + contract_rules, patterns):
                problems.append(Problem("config", f"{where}: {rules_mod.preview_message(pattern)}"))
    for path in opts.paths or [opts.cwd]:
        try:
            targets.check_path(path)
        except targets.TargetError as exc:
            problems.append(Problem("paths", str(exc)))
    baseline = None
    baseline_path = opts.baseline
    if baseline_path is None and cfg.get("baseline") and cfg.base_dir:
        baseline_path = cfg.base_dir / cfg.get("baseline")
    if baseline_path:
        try:
            baseline = suppressions.load_baseline(baseline_path)
        except suppressions.BaselineError as exc:
            problems.append(Problem("baseline", str(exc)))
    selected: list = []
    if not any(p.topic == "config" for p in problems):
        selected = effective_rules(cfg, opts, pack)
        if not selected:
            problems.append(Problem("config", "no rules selected: the area, language and rule filters "
                                              "exclude every rule"))
    return Checked(rules=selected, baseline=baseline, problems=problems)


def exclude_patterns(cfg: config_mod.Config, opts: ScanOptions) -> tuple[list, list]:
    """All exclude patterns, and the ones the user wrote (with where), for the scan.
    Config patterns are anchored at the config file's folder, `--exclude` at the
    working directory, as ruff does."""
    user: list[tuple[targets.Exclude, str]] = []
    if cfg.get("exclude") is not None:
        user += [(targets.Exclude(p, cfg.base_dir), _where(cfg, "exclude")) for p in cfg.get("exclude")]
        defaults = []
    else:
        defaults = targets.as_excludes(targets.DEFAULT_EXCLUDE)
    user += [(targets.Exclude(p, cfg.base_dir), _where(cfg, "extend-exclude")) for p in cfg.get("extend-exclude", ())]
    user += [(targets.Exclude(p, opts.cwd.resolve()), "--exclude") for p in opts.exclude]
    return defaults + [e for e, _ in user], user


def list_targets(cfg: config_mod.Config, opts: ScanOptions, selected: list) -> tuple[targets.TargetSet, list[str]]:
    """The files to scan and notes about excludes: a pattern the user wrote that matched
    nothing (likely a typo), files named on the command line that an exclude skipped."""
    paths = opts.paths or [opts.cwd]
    patterns, user = exclude_patterns(cfg, opts)
    force = opts.force_exclude if opts.force_exclude is not None else cfg.get("force-exclude", True)
    languages = {lang for r in selected for lang in r.languages}
    target_set = targets.collect(paths, languages=languages, exclude=patterns, force_exclude=force,
                                 max_bytes=cfg.get("max-file-bytes", DEFAULT_MAX_FILE_BYTES), cwd=opts.cwd,
                                 respect_ignore_files=cfg.get("respect-gitignore", True))
    notes = []
    if target_set.walked:
        notes += [f"warning: exclude pattern {e.pattern!r} ({where}) matched nothing"
                  for e, where in user if e not in target_set.matched]
    if target_set.force_excluded:
        named = ", ".join(f"{rel} ({pat})" for rel, pat in target_set.force_excluded)
        notes.append(f"note: not scanned, excluded although named: {named}; --no-force-exclude scans them")
    if not target_set.files and not (target_set.force_excluded and all(p.is_file() for p in paths)):
        where = ", ".join(str(p) for p in paths)
        kinds = ", ".join(s for lang in sorted(languages) for s in targets.EXTENSIONS.get(lang, ()))
        excluded = ", ".join(e.pattern for e in patterns) or "nothing"
        hint = "; --no-force-exclude scans named paths anyway" if target_set.force_excluded else ""
        if opts.paths and not any(p.is_dir() for p in paths):
            skipped = f"; {len(target_set.skipped)} skipped" if target_set.skipped else ""
            raise NothingToScan(f"nothing to scan: none of the {len(paths)} file(s) given is one the "
                                f"selected rules read ({kinds}{skipped})")
        raise UsageError(f"no files to scan in {where} (looked for {kinds}; "
                         f"{len(target_set.skipped)} skipped, excluded: {excluded}{hint})")
    return target_set, notes


def prepare(opts: ScanOptions) -> Plan:
    """Everything that can be wrong with the user's input is found here, before the
    engine starts and before any output is written."""
    paths = opts.paths or [opts.cwd]
    cfg = config_mod.resolve(opts.config, paths)
    checked = check(cfg, opts)
    if checked.problems:
        more = len(checked.problems) - 1
        tail = f" (and {more} more problem{'s' * (more > 1)})" if more else ""
        raise UsageError(checked.problems[0].message + tail)
    selected = checked.rules
    fail_on_text = opts.fail_on or cfg.get("fail-on", "high")
    fail_on = None if fail_on_text == "never" else Severity.parse(fail_on_text)
    target_set, notes = list_targets(cfg, opts, selected)
    changed = None
    if opts.diff_base:
        # Every file is still analysed: the project model needs the whole project (a changed
        # view may be registered in an unchanged URLconf); only the gate is narrowed.
        changed = diff.changed_lines(target_set.root, opts.diff_base)
    if opts.shard:
        target_set.files = targets.shard(target_set.root, target_set.files, *opts.shard)
    return Plan(cfg=cfg, rules=selected, targets=target_set, fail_on=fail_on, baseline=checked.baseline,
                options=opts, changed=changed, notes=[f"note: {n}" for n in cfg.notes] + notes)


# --timeout-threshold 0: after three rules time out on a file, Semgrep otherwise skips the
# file's remaining rules, so which findings of unrelated rules a large file keeps depends on
# the machine's load (LiteLLM's 23k-line proxy_server.py lost two between runs).
ENGINE_ARGS = ("--dataflow-traces", "--timeout-threshold", "0")


def _cache_for(plan: Plan, engine_config: dict) -> cache_mod.Cache | None:
    opts = plan.options
    if not opts.use_cache:
        return None
    directory = opts.cache_dir or (plan.cfg.base_dir or plan.targets.root) / ".backend-review-cache"
    key = cache_mod.ruleset_key(engine_config, cache_mod.engine_identity(engine.semgrep_executable()),
                                {"file_timeout": plan.cfg.get("timeout", DEFAULT_FILE_TIMEOUT),
                                 "engine_args": ENGINE_ARGS})
    return cache_mod.Cache(directory, key)


def engine_config_for(rules: list, *, facts_only: bool = False) -> dict:
    """The merged pack plus the project-model facts for the rules' languages: one engine
    run, one parse of every file."""
    config = {"rules": []} if facts_only else rules_mod.merged_config(rules)
    config["rules"] += model_mod.fact_rules({lang for r in rules for lang in r.languages})
    return config


def _scan_files(plan: Plan) -> engine.EngineRun:
    """Engine results for every target: from the cache where the key matches, from
    semgrep for the rest (which are then stored)."""
    root, files = plan.targets.root, plan.targets.files
    engine_config = engine_config_for(plan.rules)
    cache = _cache_for(plan, engine_config)
    contents: dict[str, bytes] = {}
    cached = engine.EngineRun()
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
    if to_scan:
        run = _run_engine(plan, engine_config, to_scan, extra_args=ENGINE_ARGS)
    else:  # everything cached, or a diff-aware scan where nothing changed
        run = engine.EngineRun(version=cache_mod.engine_version())
    if cache is not None and run.failure is None:
        by_path: dict[str, list] = {}
        for r in run.results:
            by_path.setdefault(r.get("path"), []).append(r)
        # A timeout may pass next time and a parse error should be reported every time: never cache either.
        troubled = {e.get("path") for e in run.errors}
        for rel in to_scan:
            if rel in contents and rel not in troubled:
                cache.put(rel, contents[rel], by_path.get(rel, []), [], [])
        cache.trim()
    run.results = cached.results + run.results
    run.errors = cached.errors + run.errors
    return run


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
    run = _scan_files(plan)
    project = _build_model(plan, run)
    run.results = [r for r in run.results if not model_mod.is_fact(r)]
    by_id = {r.id: r for r in plan.rules}
    lines_of = results.SourceLines(root)
    findings, notes = results.build(run, by_id, lines_of)
    layer_contracts = plan.cfg.get("boundaries", [])
    findings = [f for f in findings if contracts.in_layer(f.rule_id, f.path, layer_contracts)]
    findings = context.apply(findings, project, by_id, lines_of)
    # Suppressions before the diff marks: a comment's use is judged on every finding in the file.
    applied = suppressions.apply(findings, lines_of, plan.baseline, root,
                                 require_reason=bool(plan.cfg.get("require-suppression-reason", False)))
    hygiene = applied.notes + _suppression_hygiene(plan, applied, lines_of, notes)
    kept, suppressed = applied.kept, applied.suppressed
    if plan.changed is not None:  # mark, not drop: SARIF and JSON keep the full analysis
        for f in kept + suppressed:
            f.in_diff = diff.touches(plan.changed, f.path, f.region.start_line, f.region.end_line)
        hygiene = [n for n in hygiene if n.path is None or diff.touches(plan.changed, n.path, n.line, n.line)]
    notes = [Notification("warning", f"skipped: {s.reason}", s.path, kind="skipped")
             for s in plan.targets.skipped] + notes + hygiene
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


def project_model(plan: Plan) -> tuple[model_mod.ProjectModel, engine.EngineRun]:
    """The project model alone (`backend-review model`): one engine run of the facts."""
    run = _run_engine(plan, engine_config_for(plan.rules, facts_only=True), plan.targets.files)
    return _build_model(plan, run), run


def _run_engine(plan: Plan, config: dict, files: list[str], extra_args: tuple[str, ...] = ()) -> engine.EngineRun:
    opts = plan.options
    return engine.run(config, files, cwd=plan.targets.root,
                      jobs=opts.jobs or plan.cfg.get("jobs") or os.cpu_count() or 1,
                      file_timeout=plan.cfg.get("timeout", DEFAULT_FILE_TIMEOUT),
                      run_timeout=opts.run_timeout, extra_args=extra_args)


def _build_model(plan: Plan, run: engine.EngineRun) -> model_mod.ProjectModel:
    return model_mod.build([r for r in run.results if model_mod.is_fact(r)], plan.targets.root,
                           project_dirs(plan), plan.targets.files)


def project_dirs(plan: Plan) -> tuple[str, ...]:
    """The folders the user named, relative to the scan root (the model's path
    conventions apply below them)."""
    named = plan.options.paths or [plan.options.cwd]
    return tuple(sorted({targets.relative(p, plan.targets.root) if p.resolve() != plan.targets.root else "."
                         for p in named if p.is_dir()}))
