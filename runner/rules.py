"""Load, validate, index, select and merge the rule pack."""
from __future__ import annotations

import copy
import difflib
import fnmatch
import functools
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import yaml

from backend_review import paths
from backend_review.finding import Severity

AREAS = ("api", "database", "caching", "jobs", "boundaries", "auth", "ratelimit",
         "validation", "statefulness", "resilience")


class RuleError(Exception):
    """A rule file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Rule:
    id: str
    area: str
    language: str
    languages: tuple[str, ...]
    severity: Severity
    section: str
    confidence: str
    message: str
    remediation: str
    references: tuple[str, ...]
    technology: tuple[str, ...]
    cwe: tuple[str, ...]
    owasp: tuple[str, ...]
    security_severity: str | None
    docs: dict
    path: Path
    raw: dict
    preview: str | None = None  # why the rule is not on by default yet (measured on real code)

    @property
    def slug(self) -> str:
        return self.id.rsplit(".", 1)[-1]

    @property
    def is_security(self) -> bool:
        return self.section == "security"

    @property
    def title(self) -> str:
        """A readable name distinct from the id, e.g. `Requests without timeout`."""
        return self.slug.replace("-", " ").capitalize()


# libyaml's loader when present: the pack loads on every run, and it is several times faster.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=None)
def metadata_schema() -> dict:
    return json.loads(paths.schema_path("rule-metadata.schema.json").read_text())


@functools.lru_cache(maxsize=None)
def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(metadata_schema())


def _validate(raw: dict, path: Path) -> None:
    errors = sorted(_validator().iter_errors(raw),
                    key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.absolute_path) or "(rule)"
        raise RuleError(f"{path}: {where}: {err.message}")
    meta = raw["metadata"]
    expected = f"{meta['area']}.{path.parent.name}.{path.stem}"
    if raw["id"] != expected or path.parent.parent.name != meta["area"]:
        raise RuleError(f"{path}: id {raw['id']!r} does not match its path (expected {expected!r})")
    if "requires-text" in meta:
        try:
            re.compile(meta["requires-text"])
        except re.error as exc:
            raise RuleError(f"{path}: metadata.requires-text is not a valid regex: {exc}") from None
    if "security-severity" in meta:
        low, high = Severity.parse(meta["severity"]).security_band
        if not low <= float(meta["security-severity"]) <= high:
            raise RuleError(f"{path}: metadata.security-severity {meta['security-severity']} is outside "
                            f"{low}-{high}, the band of severity {meta['severity']}")


def load_rule_file(path: Path) -> Rule:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader)  # safe: SafeLoader only
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read rule file: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise RuleError(f"{path}{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list) or len(doc["rules"]) != 1:
        raise RuleError(f"{path}: a rule file must hold `rules:` with exactly one rule")
    raw = doc["rules"][0]
    if not isinstance(raw, dict):
        raise RuleError(f"{path}: the rule must be a mapping")
    _validate(raw, path)
    raw = _expand_sources(raw, path)
    meta = raw["metadata"]
    return Rule(
        id=raw["id"], area=meta["area"], language=path.parent.name,
        languages=tuple(raw["languages"]), severity=Severity.parse(meta["severity"]),
        section=meta["section"], confidence=meta["confidence"],
        message=" ".join(raw["message"].split()), remediation=" ".join(meta["remediation"].split()),
        references=tuple(meta["references"]), technology=tuple(meta["technology"]),
        cwe=tuple(meta.get("cwe", ())), owasp=tuple(meta.get("owasp", ())),
        security_severity=meta.get("security-severity"), docs=meta["docs"], path=path, raw=raw,
        preview=" ".join(meta["preview"].split()) if meta.get("preview") else None,
    )


SOURCES_DIR = "_sources"  # rules/_sources/<language>.yaml: the shared source models, not rules
SOURCE_MODEL_KEY = "source-model"
# Where the expanded rule keeps the text its sources need (not a Semgrep key: engine_rule
# turns it into a conjunct of each sink, then drops it)
SOURCES_TEXT_KEY = "x-sources-text"


def sources_file(rule_path: Path) -> Path:
    """The source-model file of a rule at `<root>/<area>/<language>/<slug>.yaml`."""
    return rule_path.parents[2] / SOURCES_DIR / f"{rule_path.parent.name}.yaml"


@functools.lru_cache(maxsize=None)
def source_models(path: Path) -> dict[str, list[dict]]:
    """Model name -> its `pattern-sources` entries, groups (`include`) flattened."""
    return _read_source_models(path)[0]


@functools.lru_cache(maxsize=None)
def source_model_texts(path: Path) -> dict[str, str | None]:
    """Model name -> a regex every file holding one of its sources matches (`requires-text`;
    a group's is the union of its members'), or None when the model (or a member) has none."""
    return _read_source_models(path)[1]


@functools.lru_cache(maxsize=None)
def _read_source_models(path: Path) -> tuple[dict[str, list[dict]], dict[str, str | None]]:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader)  # safe: SafeLoader only
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RuleError(f"{path}: cannot read source models: {exc}") from None
    models = doc.get("models") if isinstance(doc, dict) else None
    if not isinstance(models, dict) or not models:
        raise RuleError(f"{path}: a source-model file must hold a `models:` mapping")
    out: dict[str, list[dict]] = {}
    texts: dict[str, str | None] = {}

    def flatten(name: str, seen: tuple[str, ...]) -> list[dict]:
        if name in out:
            return out[name]
        entry = models.get(name)
        if not isinstance(entry, dict):
            raise RuleError(f"{path}: unknown source model {name!r} in {seen[-1]!r}" if seen
                            else f"{path}: model {name!r} must be a mapping")
        if name in seen:
            raise RuleError(f"{path}: source model {name!r} includes itself")
        sources = list(entry.get("pattern-sources") or [])
        own = [entry["requires-text"]] if entry.get("requires-text") else []
        if sources and not own:
            own = [None]  # sources with no text requirement: the model (and its groups) has none
        for inc in entry.get("include") or []:
            sources += flatten(inc, (*seen, name))
            own.append(texts[inc])
        if not sources:
            raise RuleError(f"{path}: source model {name!r} has no pattern-sources or include")
        out[name] = sources
        texts[name] = None if None in own else "|".join(dict.fromkeys(own))
        return sources

    for name in models:
        flatten(name, ())
    return out, texts


def _expand_sources(raw: dict, path: Path) -> dict:
    """Replace each `- source-model: NAME` (or a list of names) in `pattern-sources` with
    the named models' sources, so Semgrep only ever sees plain taint sources."""
    items = raw.get("pattern-sources")
    if not isinstance(items, list) or not any(isinstance(i, dict) and SOURCE_MODEL_KEY in i for i in items):
        return raw
    model_path = sources_file(path)
    if not model_path.is_file():
        raise RuleError(f"{path}: rule {raw['id']}: uses {SOURCE_MODEL_KEY} but {model_path} does not exist")
    models, texts = source_models(model_path), source_model_texts(model_path)
    expanded: list = []
    needs: list[str | None] = []
    for item in items:
        if not (isinstance(item, dict) and SOURCE_MODEL_KEY in item):
            expanded.append(item)
            needs.append(None)  # a rule's own source: no text is known to come with it
            continue
        names = item[SOURCE_MODEL_KEY]
        for name in [names] if isinstance(names, str) else names:
            if name not in models:
                raise RuleError(f"{path}: rule {raw['id']}: unknown source model {name!r} "
                                f"(known: {', '.join(sorted(models))})")
            expanded += models[name]
            needs.append(texts[name])
    out = dict(raw)
    # a deep copy: shared objects would turn into YAML anchors in the merged pack
    out["pattern-sources"] = copy.deepcopy(expanded)
    if None not in needs:
        out[SOURCES_TEXT_KEY] = "|".join(dict.fromkeys(needs))
    return out


def load_pack(root: Path | None = None) -> list[Rule]:
    """Every rule under `root` (default: the bundled pack), sorted by id; ids are unique."""
    root = root or paths.rules_dir()
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
                   and SOURCES_DIR not in p.relative_to(root).parts)
    rules: dict[str, Rule] = {}
    for path in files:
        rule = load_rule_file(path)
        if rule.id in rules:
            raise RuleError(f"{path}: rule id {rule.id!r} is also defined in {rules[rule.id].path}")
        rules[rule.id] = rule
    return [rules[k] for k in sorted(rules)]


def unknown_areas(areas) -> list[str]:
    return [a for a in areas if a not in AREAS]


def unmatched(ids, patterns) -> list[str]:
    """The ids/globs in `patterns` that match none of `ids`."""
    ids = list(ids)
    return [p for p in patterns if not any(fnmatch.fnmatchcase(i, p) for i in ids)]


def only_preview(rules, patterns) -> list[str]:
    """The patterns that match rules, but only preview ones."""
    rules = list(rules)
    return [p for p in patterns
            if (hits := [r for r in rules if fnmatch.fnmatchcase(r.id, p)]) and all(r.preview for r in hits)]


def preview_message(pattern: str) -> str:
    return (f"{pattern!r} selects only preview rules, which are off by default: add --preview "
            "(or `preview: true` in the config) to run them (see `backend-review rules show`)")


def no_match_message(pattern: str) -> str:
    what = f"{pattern!r} matches no rule id" if any(c in pattern for c in "*?[") else f"unknown rule id {pattern!r}"
    return f"{what} (see `backend-review rules list`)"


def select(rules: list[Rule], *, areas=(), languages=(), include=(), exclude=(),
           min_severity: Severity | None = None, preview: bool = True) -> list[Rule]:
    """Filter the pack. `include`/`exclude` take ids or glob patterns over ids; with
    `preview` off, preview rules are left out. A caller that wants every problem at once
    (scan, doctor) checks first with scan.check."""
    unknown = unknown_areas(areas)
    if unknown:
        raise RuleError(f"unknown area {unknown[0]!r} (known: {', '.join(AREAS)})")
    for pattern in unmatched((r.id for r in rules), (*include, *exclude)):
        raise RuleError(no_match_message(pattern))
    if not preview:
        for pattern in only_preview(rules, include):
            raise RuleError(preview_message(pattern))
    out = []
    for r in rules:
        if r.preview and not preview:
            continue
        if areas and r.area not in areas:
            continue
        if languages and not (set(languages) & ({r.language} | set(r.languages))):
            continue
        if include and not any(fnmatch.fnmatchcase(r.id, p) for p in include):
            continue
        if any(fnmatch.fnmatchcase(r.id, p) for p in exclude):
            continue
        if min_severity and r.severity < min_severity:
            continue
        out.append(r)
    return out


def languages(root: Path | None = None) -> list[str]:
    """Languages that have rules: the `<language>` folders of `rules/<area>/<language>/`
    (a rule's id and path agree, see `_validate`). Read from the folder names so that
    `--help` does not load the whole pack."""
    root = root or paths.rules_dir()
    return sorted({p.parent.name for p in root.glob("*/*/*.y*ml")})


def find(rules: list[Rule], rule_id: str) -> Rule:
    """A rule by its full id, or by the end of it (`requests-without-timeout`,
    `python.requests-without-timeout`) when exactly one rule has that end."""
    for r in rules:
        if r.id == rule_id:
            return r
    matches = [r for r in rules if r.id.endswith("." + rule_id)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise RuleError(f"rule id {rule_id!r} is ambiguous: {', '.join(r.id for r in matches)}")
    # close matches against full ids and slugs, reported as full ids
    names = {r.id: r.id for r in rules} | {r.slug: r.id for r in rules}
    close = [names[n] for n in difflib.get_close_matches(rule_id, list(names), n=3, cutoff=0.6)]
    words = set(rule_id.lower().replace(".", "-").split("-")) - {""}
    close += [r.id for r in rules if words and words <= set(r.id.replace(".", "-").split("-"))]  # same words
    close = list(dict.fromkeys(close))[:5]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise RuleError(f"unknown rule id {rule_id!r}{hint} (see `backend-review rules list`)")


def engine_rule(rule: Rule) -> dict:
    """The rule as Semgrep should see it: long docs stripped (every JSON result repeats
    a rule's whole metadata), only what the runner reads back kept."""
    raw = copy.deepcopy(rule.raw)
    needs = raw.get("metadata", {}).get("requires-text")
    raw["metadata"] = {"area": rule.area, "severity": rule.severity.name.lower()}
    if needs:
        _require_text(raw, needs, rule.id)
    sources_text = raw.pop(SOURCES_TEXT_KEY, None)
    if sources_text:
        _require_text(raw, sources_text, rule.id)  # no source in the file: nothing can reach a sink
    return raw


def _require_text(raw: dict, needs: str, rule_id: str) -> None:
    """Add a conjunct that matches the whole file when it contains `needs`: to the rule, or to
    each sink of a taint rule (a requirement of its sources is one of the file too). Semgrep prefilters files on the identifiers a rule names (as
    substrings: `re` is in every `return`) and on its regexes, not on string literals or
    metavariable-regex, so a rule about `"Access-Control-*"` headers or `*_PASSWORD = "..."`
    assignments otherwise runs its patterns on every function of every file. The conjunct's
    range is the whole file, so it keeps every match of the rest."""
    formulas = raw.get("pattern-sinks", []) if raw.get("mode") == "taint" else [raw]
    for formula in formulas:
        whole_file = {"pattern-regex": rf"(?s)\A(?=.*?(?:{needs})).*\z"}  # one each: no YAML anchors
        key = next((k for k in ("patterns", "pattern", "pattern-either", "pattern-regex") if k in formula), None)
        if key is None:
            raise RuleError(f"{rule_id}: metadata.requires-text needs pattern, pattern-either or patterns formulas")
        # Spliced into a `patterns` that focuses on a metavariable: nested, the focus would no
        # longer make a taint sink exact (a tainted argument anywhere in the call would count).
        # Nested otherwise: spliced next to a bare `pattern: $BASE`, it changed what that
        # matched (ssrf's f-string base). Fixtures of both shapes hold the two forms.
        if key == "patterns" and any("focus-metavariable" in p for p in formula["patterns"] if isinstance(p, dict)):
            formula["patterns"] = [whole_file, *formula["patterns"]]
        else:
            formula["patterns"] = [whole_file, {key: formula.pop(key)}]


def merged_config(rules: list[Rule]) -> dict:
    return {"rules": [engine_rule(r) for r in rules]}


def write_expanded(rules: list[Rule], root: Path, out_dir: Path) -> list[Path]:
    """Each rule as the engine runs it (`engine_rule`: source models expanded, docs
    stripped), one file per rule in a tree that mirrors `root`, so that
    `semgrep --test --config OUT fixtures` tests what a scan runs."""
    if out_dir.exists():
        shutil.rmtree(out_dir)  # stale files of removed rules would still be tested
    written = []
    for rule in rules:
        target = out_dir / rule.path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump({"rules": [engine_rule(rule)]}, sort_keys=False), encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    """`python -m backend_review.rules --expand build/rules`: write the expanded pack."""
    import argparse
    import sys
    parser = argparse.ArgumentParser(prog="python -m backend_review.rules")
    parser.add_argument("--expand", metavar="DIR", type=Path, required=True,
                        help="write every rule as the engine runs it into DIR, mirroring rules/")
    parser.add_argument("--rules", metavar="DIR", type=Path, default=None,
                        help="the rules tree (default: the bundled pack)")
    args = parser.parse_args(argv)
    root = (args.rules or paths.rules_dir()).resolve()
    try:
        written = write_expanded(load_pack(root), root, args.expand)
    except RuleError as exc:
        print(f"backend-review: error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(written)} rules written to {args.expand}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
