"""The command line: parse, dispatch, exit code. No logic of its own.

Exit codes (as ruff and bandit):
  0  nothing at or above --fail-on
  1  findings at or above --fail-on
  2  bad usage, config, rule, path or output
  3  the engine (semgrep) is missing or failed
  130/143  interrupted (Ctrl-C) / terminated (SIGTERM), after stopping the engine and cleaning up
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path

import click

from backend_review import __version__, config as config_mod, engine, output, paths as data_paths, report, ruledocs, rules as rules_mod
from backend_review import diff, merge as merge_mod, model as model_mod, scan as scan_mod, suppressions, targets
from backend_review.finding import Severity
from backend_review.report import model_view, text as text_report

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_ENGINE = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143  # 128 + SIGINT / SIGTERM, as a shell reports them
USER_ERRORS = (config_mod.ConfigError, rules_mod.RuleError, targets.TargetError, scan_mod.UsageError,
               output.OutputError, suppressions.BaselineError, engine.RuleRejected, diff.DiffError)


def fail(message: str, code: int) -> None:
    click.echo(f"backend-review: error: {text_report.clean(str(message))}", err=True)
    sys.exit(code)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that it unwinds like Ctrl-C: the engine's
    process group is killed, temporary folders are removed, no output is half-written."""


def _on_sigterm(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not cut the cleanup short
    raise Terminated()


class SignalSafeGroup(click.Group):
    """Ctrl-C exits 130 and SIGTERM 143, after cleanup, with one line on stderr
    (Click's own handling would print "Aborted!" and exit 1)."""

    def invoke(self, ctx):
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("backend-review: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Terminated:
            click.echo("backend-review: terminated", err=True)
            sys.exit(EXIT_TERMINATED)
        finally:
            signal.signal(signal.SIGTERM, previous)


@click.group(cls=SignalSafeGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="backend-review")
def main() -> None:
    """Review a backend codebase the way a senior engineer would: N+1 queries, missing
    timeouts, rate limits, authorization, state that breaks a second replica, and more."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, readable=False))
@click.option("--format", "fmt", type=click.Choice(sorted(report.FORMATS)),
              help="Output format.  [default: from the -o FILE extension (.sarif, .json, .md, .txt), else text]")
@click.option("-o", "--output", "output_path", type=click.Path(path_type=Path, readable=False),
              help="Write the report to FILE (atomically) instead of stdout; a one-line summary goes to stderr.")
@click.option("--fail-on", type=click.Choice(["critical", "high", "medium", "low", "never"], case_sensitive=False),
              help="Exit 1 when a finding at or above this severity remains.  [default: high]")
@click.option("--area", "areas", multiple=True, type=click.Choice(rules_mod.AREAS), help="Only rules of this area (repeatable).")
@click.option("--language", "languages", multiple=True, type=click.Choice(rules_mod.languages()),
              help="Only rules for this language (repeatable).")
@click.option("--rule", "select", multiple=True, metavar="ID", help="Only this rule id or glob (repeatable).")
@click.option("--ignore", "ignore", multiple=True, metavar="ID", help="Skip this rule id or glob (repeatable).")
@click.option("--preview/--no-preview", default=None,
              help="Also run preview rules (not yet precise enough on real code to be on by default; "
                   "`rules list` marks them).  [default: no-preview, or the config's `preview`]")
@click.option("--exclude", multiple=True, metavar="PATTERN",
              help="Skip paths matching this pattern (repeatable; `dir/` a folder at any depth, `a/b/` from here).")
@click.option("--force-exclude/--no-force-exclude", default=None,
              help="Apply excludes to files named on the command line too (as pre-commit passes them).  "
                   "[default: force-exclude]")
@click.option("--config", "config_path", type=click.Path(path_type=Path, readable=False),
              help="Config file (.backend-review.yml or pyproject.toml). Default: found by walking up from the target.")
@click.option("--baseline", type=click.Path(path_type=Path, readable=False), help="Report only findings not listed in this baseline file.")
@click.option("--keep-suppressed", is_flag=True, help="Keep suppressed and baselined findings in SARIF/JSON, marked with their reason.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Parallel semgrep jobs.  [default: number of cores]")
@click.option("--category", default="backend-review", show_default=True,
              help="SARIF automationDetails category (one per upload to GitHub).")
@click.option("--absolute-base-uri", is_flag=True,
              help="Put the scan root's absolute file:// URI in SARIF (for local IDE viewers; leaks the path, not for CI).")
@click.option("--engine-timeout", type=click.IntRange(min=1), metavar="SECONDS",
              help="Stop semgrep if the whole run takes longer (exit 3, partial results kept).")
@click.option("--diff-base", metavar="REF", help="Gate on lines changed since the merge base with git REF (e.g. "
              "origin/main): exit code, text, markdown and --summary count only those; sarif and json keep "
              "every finding, marked.")
@click.option("--shard", metavar="K/N", help="Scan only shard K of N (a stable, size-balanced split of the files); "
              "combine the shards' SARIF with `backend-review merge`.")
@click.option("--cache-dir", type=click.Path(path_type=Path, readable=False),
              help="Result cache folder.  [default: .backend-review-cache beside the config, or in the scan root]")
@click.option("--no-cache", is_flag=True, help="Do not read or write the result cache.")
@click.option("--also", "also", multiple=True, metavar="FORMAT=FILE",
              help="Also write this format to FILE from the same scan (repeatable), "
                   "e.g. --also markdown=$GITHUB_STEP_SUMMARY.")
@click.option("--summary", is_flag=True, help="Also print a one-screen summary to stderr.")
def scan(paths, fmt, output_path, fail_on, areas, languages, select, ignore, preview, exclude, force_exclude, config_path, baseline,
         keep_suppressed, jobs, category, absolute_base_uri, engine_timeout, diff_base, shard, cache_dir, no_cache,
         also, summary) -> None:
    """Scan PATHS (default: the current directory) and report findings."""
    opts = scan_mod.ScanOptions(paths=list(paths), config=config_path, areas=areas, languages=languages,
                                select=select, ignore=ignore, preview=preview, exclude=exclude,
                                force_exclude=force_exclude,
                                fail_on=fail_on, jobs=jobs,
                                baseline=baseline, keep_suppressed=keep_suppressed, category=category,
                                absolute_base_uri=absolute_base_uri, run_timeout=engine_timeout,
                                diff_base=diff_base, cache_dir=cache_dir, use_cache=not no_cache)
    try:
        fmt = fmt or _format_from_output(output_path)
        opts.shard = _parse_shard(shard) if shard else None
        extra = [_parse_also(item) for item in also]
        for path in [output_path, *(p for _, p in extra)]:
            if path is not None:
                output.check_writable(path)
        plan = scan_mod.prepare(opts)
        _say(plan.notes)
        with progress(f"scanning {len(plan.targets.files)} files with {len(plan.rules)} rules"):
            result = scan_mod.execute(plan)
        rendered = [(output_path, report.render(fmt, result))] + [(p, report.render(f, result)) for f, p in extra]
        for path, text in rendered:
            output.write(path, text)
    except scan_mod.NothingToScan as exc:
        click.echo(f"backend-review: {text_report.clean(str(exc))}", err=True)
        sys.exit(EXIT_OK)
    except USER_ERRORS as exc:
        fail(str(exc), EXIT_USAGE)
    except engine.EngineNotFound as exc:
        fail(str(exc), EXIT_ENGINE)
    if fmt != "text" or output_path is not None:
        click.echo(text_report.notices(result), err=True, nl=False)
    if summary:
        click.echo(text_report.summary(result.changed_only(), text_report.use_colour(sys.stderr)), err=True, nl=False)
    written = [(f, p) for f, p in [(fmt, output_path), *extra] if p is not None]
    if result.failure:
        kept = f" (partial results written to {', '.join(str(p) for _, p in written)})" if written else ""
        click.echo(f"backend-review: error: the engine failed: {text_report.clean(result.failure)}{kept}", err=True)
        sys.exit(EXIT_ENGINE)
    if written:
        click.echo(text_report.written_line(result.changed_only(), written), err=True)
    sys.exit(EXIT_FINDINGS if result.failing() else EXIT_OK)


def _say(notes: list[str]) -> None:
    for note in notes:
        click.echo(f"backend-review: {text_report.clean(note)}", err=True)


def _format_from_output(path: Path | None) -> str:
    """No --format: the -o file's extension decides; refuse to guess from any other."""
    if path is None:
        return "text"
    fmt = report.format_for(path)
    if fmt is None:
        raise scan_mod.UsageError(f"-o {path}: cannot tell the format from the file name; use an extension "
                                  f"({', '.join(report.EXTENSIONS)}) or pass --format")
    return fmt


def _parse_shard(text: str) -> tuple[int, int]:
    k, sep, n = text.partition("/")
    if not (sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise scan_mod.UsageError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 2/4")
    return int(k), int(n)


def _parse_also(item: str) -> tuple[str, Path]:
    fmt, sep, file = item.partition("=")
    if not sep or fmt not in report.FORMATS or not file:
        raise scan_mod.UsageError(f"--also {item!r}: expected FORMAT=FILE with FORMAT one of "
                                  f"{', '.join(sorted(report.FORMATS))}")
    return fmt, Path(file)


class progress:
    """A status line on stderr while the engine works, only for a person at a terminal:
    silent when stderr is piped or in CI."""

    def __init__(self, text: str):
        self.text = text
        self.active = sys.stderr.isatty() and not os.environ.get("CI")

    def __enter__(self):
        if self.active:
            sys.stderr.write(f"backend-review: {self.text}…")
            sys.stderr.flush()

    def __exit__(self, *exc):
        if self.active:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


@main.group()
def baseline() -> None:
    """Record today's findings so that only new ones fail the build."""


@baseline.command("create")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, readable=False))
@click.option("-o", "--output", "output_path", type=click.Path(path_type=Path, readable=False),
              default=Path(".backend-review-baseline.json"), show_default=True)
@click.option("--reason", required=True, help="Why these findings are deferred (kept with every entry).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, readable=False))
def baseline_create(paths, output_path, reason, config_path) -> None:
    """Scan PATHS and write every current finding to a baseline file with REASON."""
    opts = scan_mod.ScanOptions(paths=list(paths), config=config_path, fail_on="never")
    try:
        output.check_writable(output_path)
        plan = scan_mod.prepare(opts)
        _say(plan.notes)
        plan.baseline = None  # a new baseline starts from every finding
        with progress(f"scanning {len(plan.targets.files)} files"):
            result = scan_mod.execute(plan)
        if result.failure:
            fail(f"the engine failed, no baseline written: {result.failure}", EXIT_ENGINE)
        doc = suppressions.baseline_document(result.findings, reason, plan.targets.root, output_path)
        output.write(output_path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    except USER_ERRORS as exc:
        fail(str(exc), EXIT_USAGE)
    except engine.EngineNotFound as exc:
        fail(str(exc), EXIT_ENGINE)
    click.echo(f"backend-review: wrote {len(doc['findings'])} finding(s) to {output_path}", err=True)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, readable=False))
@click.option("--config", "config_path", type=click.Path(path_type=Path, readable=False))
def doctor(paths, config_path) -> None:
    """Check the setup: engine, optional tools, config, rules, and every check `scan` makes
    on the config and PATHS (one row per problem)."""
    engine_missing = config_or_rules_bad = False
    rows = [("backend-review", __version__, "ok"), ("python", sys.version.split()[0], sys.executable)]
    try:
        exe = engine.semgrep_executable()
        rows.append(("semgrep (required)", engine.version(exe), exe))
    except engine.EngineNotFound as exc:
        rows.append(("semgrep (required)", "MISSING", str(exc)))
        engine_missing = True
    git = shutil.which("git")
    rows.append(("git (optional: --diff-base)", "found" if git else "not found", git or "install git for --diff-base"))
    opts = scan_mod.ScanOptions(paths=list(paths), config=config_path)
    cfg = pack = None
    try:
        cfg = config_mod.resolve(config_path, opts.paths or [opts.cwd])
        rows.append(("config", "valid" if cfg.path else "none (defaults)", str(cfg.path or "-")))
        rows += [("config", "note", note) for note in cfg.notes]
    except config_mod.ConfigError as exc:
        rows.append(("config", "INVALID", str(exc)))
        config_or_rules_bad = True
    try:
        pack = rules_mod.load_pack()
        rows.append(("rules", f"{len(pack)} loaded", f"{len({r.area for r in pack})} areas from {data_paths.rules_dir()}"))
    except rules_mod.RuleError as exc:
        rows.append(("rules", "INVALID", str(exc)))
        config_or_rules_bad = True
    if cfg is not None and pack is not None:
        checked = scan_mod.check(cfg, opts, pack)
        rows += [(p.topic, "INVALID", p.message) for p in checked.problems]
        config_or_rules_bad |= bool(checked.problems)
        if not checked.problems:
            try:
                target_set, notes = scan_mod.list_targets(cfg, opts, checked.rules)
                rows.append(("targets", f"{len(target_set.files)} files", f"{len(checked.rules)} rules selected, "
                                                                          f"root {target_set.root}"))
                rows += [("targets", note.split(":", 1)[0], note.split(": ", 1)[1]) for note in notes]
            except USER_ERRORS as exc:
                rows.append(("targets", "INVALID", str(exc)))
                config_or_rules_bad = True
    width = max(len(r[0]) for r in rows)
    for name, status, detail in rows:
        click.echo(f"{name:<{width}}  {text_report.clean(status):<16}  {text_report.clean(detail)}")
    sys.exit(EXIT_ENGINE if engine_missing else EXIT_USAGE if config_or_rules_bad else EXIT_OK)


@main.command("model")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, readable=False))
@click.option("--config", "config_path", type=click.Path(path_type=Path, readable=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def model_cmd(paths, config_path, fmt) -> None:
    """Show the project model: routes, handlers, resolvers, jobs, CLIs, settings, wrappers
    and validators the scan recognised, and where each file runs."""
    opts = scan_mod.ScanOptions(paths=list(paths), config=config_path, fail_on="never")
    try:
        plan = scan_mod.prepare(opts)
        with progress(f"reading {len(plan.targets.files)} files"):
            project, run = scan_mod.project_model(plan)
    except USER_ERRORS as exc:
        fail(str(exc), EXIT_USAGE)
    except engine.EngineNotFound as exc:
        fail(str(exc), EXIT_ENGINE)
    if run.failure:
        fail(f"the engine failed: {run.failure}", EXIT_ENGINE)
    view = model_mod.describe(project)
    if fmt == "json":
        click.echo(json.dumps(view, indent=2))
    else:
        click.echo(model_view.text(view), nl=False)


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("-o", "--output", "output_path", type=click.Path(path_type=Path, readable=False),
              help="Write the merged SARIF here (atomically) instead of stdout.")
def merge(inputs, output_path) -> None:
    """Merge shard SARIF files into one run: rules de-duplicated, results in a stable order."""
    try:
        if output_path is not None:
            output.check_writable(output_path)
        doc = merge_mod.merge(list(inputs))
        output.write(output_path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    except (merge_mod.MergeError, output.OutputError) as exc:
        fail(str(exc), EXIT_USAGE)


@main.group()
def rules() -> None:
    """List and explain the rules of the pack."""


def _load_pack():
    try:
        return rules_mod.load_pack()
    except rules_mod.RuleError as exc:
        fail(str(exc), EXIT_USAGE)


@rules.command("list")
@click.option("--area", "areas", multiple=True, type=click.Choice(rules_mod.AREAS))
@click.option("--language", "languages", multiple=True, type=click.Choice(rules_mod.languages()))
@click.option("--severity", "min_severity", type=click.Choice(["critical", "high", "medium", "low"], case_sensitive=False),
              help="Only rules at or above this severity.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules_list(areas, languages, min_severity, fmt) -> None:
    """One line per rule: id, severity, confidence, section, and `preview` for rules off by default."""
    pack = rules_mod.select(_load_pack(), areas=areas, languages=languages,
                            min_severity=Severity.parse(min_severity) if min_severity else None)
    if fmt == "json":
        click.echo(json.dumps([{"id": r.id, "area": r.area, "language": r.language, "severity": r.severity.name.lower(),
                                "confidence": r.confidence, "section": r.section, "title": r.title,
                                "preview": r.preview, "message": r.message} for r in pack], indent=2))
        return
    width = max((len(r.id) for r in pack), default=10)
    for r in pack:
        click.echo(f"{r.id:<{width}}  {r.severity.label:<8}  {r.confidence:<6}  {r.section:<12}"
                   f"{'  preview' if r.preview else ''}".rstrip())
    previews = sum(1 for r in pack if r.preview)
    click.echo(f"{len(pack)} rules ({previews} preview: off unless --preview)" if previews else f"{len(pack)} rules",
               err=True)


@rules.command("show")
@click.argument("rule_id")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
def rules_show(rule_id, fmt) -> None:
    """Explain one rule: what it finds, why, a bad and a good example, the fix.

    RULE_ID is the full id or, when unambiguous, its end (`requests-without-timeout`,
    `python.requests-without-timeout`)."""
    try:
        rule = rules_mod.find(_load_pack(), rule_id)
    except rules_mod.RuleError as exc:
        fail(str(exc), EXIT_USAGE)
    if fmt == "json":
        click.echo(json.dumps({"id": rule.id, "title": rule.title, "severity": rule.severity.name.lower(),
                               "confidence": rule.confidence, "section": rule.section, "area": rule.area,
                               "languages": list(rule.languages), "technology": list(rule.technology),
                               "message": rule.message, "remediation": rule.remediation,
                               "references": list(rule.references), "cwe": list(rule.cwe), "owasp": list(rule.owasp),
                               "security_severity": rule.security_severity, "docs": rule.docs,
                               "help_uri": ruledocs.help_uri(rule)}, indent=2))
    elif fmt == "markdown":
        click.echo(f"# {rule.id}\n\n" + ruledocs.markdown(rule), nl=False)
    else:
        click.echo(ruledocs.text(rule), nl=False)


if __name__ == "__main__":
    main()
