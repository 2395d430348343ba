"""The project model: which functions are entry points and where each piece of code runs.

A rule sees one function; a reviewer knows the project. Facts (semgrep rules under
`facts/<language>/<framework>.yaml`, run in the same engine run as the pack, never
reported) say where functions and classes are, which are routes, handlers, resolvers,
jobs and CLI commands, which register others by name (Django URLconfs, `add_url_rule`,
aiohttp route tables, DRF routers, RQ `enqueue`), and which settings exist. The runner adds
what semgrep cannot see: OpenAPI specs (connexion's `operationId`) and paths (tests,
migrations, scripts). From these, every function gets one context:

    handler   runs per HTTP request (route, view, view class method, OpenAPI operation)
    resolver  runs per GraphQL field or mutation
    job       runs in a background worker (Celery, RQ, dramatiq, huey)
    cli       runs from a command line (management commands, click/typer, scripts, __main__)
    settings  a settings or configuration module
    migration a schema or data migration
    test      tests, fixtures, examples, docs, dot folders: not deployed code
    library   everything else (services, models, helpers called from the above)

Framework knowledge lives in the facts files; this module only knows the fact kinds.
"""
from __future__ import annotations

import ast
import bisect
import functools
import itertools
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import yaml

from backend_review import paths
from backend_review.calls import CallGraph, LoopCall, dotted_module, dotted_name, imports_module, module_matches

CONTEXTS = ("handler", "resolver", "job", "cli", "settings", "migration", "test", "library")
ENTRY_POINTS = frozenset({"handler", "resolver"})
FACT_PREFIX = "fact."

# Fact kinds that mark the function they match, the methods of the class they match, and
# the functions or classes they name (by reference) with a context.
FUNCTION_KINDS = {"route": "handler", "handler": "handler", "resolver": "resolver", "job": "job", "cli": "cli"}
CLASS_KINDS = {"handler-class": "handler", "resolver-class": "resolver", "job-class": "job", "cli-class": "cli"}
REF_KINDS = {"route-ref": "handler", "resolver-ref": "resolver", "job-ref": "job"}

# Path conventions (POSIX, relative to the scan root).
DJANGO_APP_FILES = frozenset({"apps.py", "models.py"})  # a folder holding one is a Django app
EXAMPLE_NAMES = frozenset({"examples", "example", "samples", "sample"})  # ...which may be named so
TEST_DIRS = frozenset({"tests", "test", "testing", "testutils", "test_utils", "fixtures", "examples", "example", "docs", "doc",
                       "samples", "sample", "e2e", "benchmarks", "bench"})
# example_dags/, example_apps/, docs_examples/: examples named after what they show;
# plugin_template/, app_skeleton/: scaffolds a project ships for others to copy
EXAMPLE_DIR = re.compile(r"^(examples?|samples?)_\w+$|^\w+_(examples?|samples?|templates?|skeletons?|scaffolds?)$")
# devproject/, demo_site/, testapp/: the project a package ships to develop or demo itself
DEV_PROJECT_DIR = re.compile(r"^(dev|demo|test|testing|example|sample)_?(project|site|app|server)s?$")
# Django apps keep theirs in tests.py; pytest plugins a package ships for its own and its
# plugins' test suites are pytest_plugin.py or pytest_<name>.py (pulpcore/pytest_plugin.py).
TEST_FILE = re.compile(r"^(tests?|test_.*|.*_tests?|conftest|pytest_\w+)\.pyi?$")
# A developer's settings: settings/development.py, config/dev.py, settings_dev.py, dev_settings.py
# (production imports its own module; `local.py` is left alone, deployments keep overrides there)
DEV_SETTINGS_FILE = re.compile(r"^(settings_)?(dev|devel|development)(_settings)?\.py$")
SETTINGS_DIRS = frozenset({"settings", "config", "configs", "conf"})
MIGRATION_DIRS = frozenset({"migrations", "alembic", "migrate_repo"})
# A package's `cli/` folder and `cli.py` module hold its console commands (airflow/cli/,
# superset/cli/, mlflow/*/cli.py); helpers there run from a terminal even when no decorator
# says so. Not `commands/`: that is also the command-pattern layer of web apps (superset).
CLI_DIRS = frozenset({"scripts", "bin", "cli"})
CLI_FILES = frozenset({"manage.py", "setup.py", "noxfile.py", "fabfile.py", "__main__.py", "cli.py"})

SPEC_SUFFIXES = (".yaml", ".yml", ".json")
SPEC_MAX_BYTES = 2_000_000
SPEC_SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox",
                            "site-packages", ".backend-review-cache"})
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Methods of a view class that answer a request (Django/DRF/Flask/aiohttp), for the routes list.
VIEW_METHODS = frozenset(HTTP_METHODS) | {"list", "create", "retrieve", "update", "partial_update", "destroy"}


@dataclass(frozen=True)
class Fact:
    kind: str
    path: str
    start: int
    end: int
    attrs: tuple[tuple[str, str], ...] = ()
    rule: str = ""

    def get(self, key: str, default: str = "") -> str:
        for k, v in self.attrs:
            if k == key:
                return v
        return default


@dataclass
class Scope:
    """A function or class: where it is, and what the model decided about it."""

    kind: str  # "function" | "class"
    name: str
    path: str
    start: int
    end: int
    context: str | None = None
    reason: str = ""
    route: Fact | None = None  # the registration that made it an entry point, if any
    bases: list[str] = field(default_factory=list)

    def contains(self, line: int) -> bool:
        return self.start <= line <= self.end


@dataclass(frozen=True)
class Placement:
    """Where a line of code runs: its context, why the model thinks so, and the scope."""

    context: str
    reason: str
    scope: Scope | None = None

    @property
    def route(self) -> Fact | None:
        return self.scope.route if self.scope else None


@dataclass
class ProjectModel:
    facts: list[Fact] = field(default_factory=list)
    scopes: dict[str, list[Scope]] = field(default_factory=dict)  # path -> scopes, outermost first
    file_contexts: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (context, reason)
    specs: list[Fact] = field(default_factory=list)  # OpenAPI operations found by the runner
    unresolved: list[Fact] = field(default_factory=list)  # registrations naming nothing we scanned
    # The folders the user named, relative to the scan root: path conventions (tests/,
    # migrations/) apply below them, so scanning `fixtures/apps/shop` judges `shop` itself.
    project_dirs: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # every file scanned, relative to the scan root
    # path -> source text, kept while the model is built: who references a helper by name
    # decides where it runs (see _mark_cli_only_helpers); emptied afterwards
    sources: dict[str, str] = field(default_factory=dict)
    _app_dirs: frozenset[str] | None = field(default=None, repr=False)  # folders holding a Django app
    # who calls whom, kept while the model is built (see calls.py); emptied afterwards
    calls: CallGraph = field(default_factory=CallGraph)
    # synchronous functions an async function on a server's event loop calls, and through which call
    loop_helpers: dict[tuple[str, int], LoopCall] = field(default_factory=dict)

    def path_context(self, path: str) -> tuple[str, str] | None:
        if self._app_dirs is None:
            self._app_dirs = frozenset(str(PurePosixPath(f).parent) for f in self.files
                                       if PurePosixPath(f).name in DJANGO_APP_FILES)
        for base in sorted(self.project_dirs, key=len, reverse=True):
            if base and base != "." and path.startswith(base.rstrip("/") + "/"):
                return path_context(path[len(base.rstrip("/")) + 1:], self._app_dirs, base.rstrip("/") + "/")
        return path_context(path, self._app_dirs)

    # -- questions the join asks -------------------------------------------------------
    def place(self, path: str, line: int) -> Placement:
        """The context of `line` in `path`: the path's own context for tests, migrations
        and scripts; else the innermost enclosing function or class with a context; else
        the file's (a settings module) or library."""
        by_path = self.path_context(path)
        if by_path and by_path[0] in ("test", "migration"):
            return Placement(*by_path)
        best = None
        for scope in self.scopes.get(path, ()):  # outermost first: the last match is innermost
            if scope.contains(line) and scope.context is not None:
                best = scope
        if best is not None:
            return Placement(best.context, best.reason, best)
        if by_path:
            return Placement(*by_path)
        if path in self.file_contexts:
            return Placement(*self.file_contexts[path])
        enclosing = self.enclosing_function(path, line)
        return Placement("library", "no entry point or path convention applies", enclosing)

    def enclosing_function(self, path: str, line: int) -> Scope | None:
        return self.enclosing(path, line, "function")

    def admin_guard(self, path: str, line: int) -> Fact | None:
        """The administrators-only guard (`admin-only` fact) on the function or class view
        around `line`, if there is one."""
        return next((f for f in self.facts if f.kind == "admin-only" and f.path == path and f.start <= line <= f.end),
                    None)

    def enclosing(self, path: str, line: int, kind: str, outermost: bool = False) -> Scope | None:
        found = None
        for scope in self.scopes.get(path, ()):  # outermost first
            if scope.kind == kind and scope.contains(line):
                if outermost:
                    return scope
                found = scope
        return found

    def has_layer(self, names) -> bool:
        """Whether the project has a module or package of one of these names (a service or
        data-access layer: `services/`, `daos.py`...), among the files the facts saw."""
        wanted = set(names)
        return any(wanted & {PurePosixPath(p).stem, *PurePosixPath(p).parts[:-1]} for p in self.files or self.scopes)

    def of_kind(self, kind: str) -> list[Fact]:
        return [f for f in self.facts if f.kind == kind]

    def settled_by(self, kinds) -> Fact | None:
        """The first fact of these kinds in deployed code: a limiter or timeout patch that
        only a test settings module installs does not settle anything in production."""
        return next((f for kind in kinds for f in self.of_kind(kind) if self.deployed(f.path)), None)

    def setting_keys(self) -> set[str]:
        return {_unquote(f.get("key")) for f in self.facts if f.kind in ("setting", "settings-module")}

    def names_of(self, kind: str) -> set[str]:
        return {f.get("name") for f in self.facts if f.kind == kind and f.get("name")}

    def overriding_setting(self, path: str, line: int) -> Fact | None:
        """Where the Django setting assigned at `line` of `path` is assigned again by a module
        that star-imports this one (`production.py`: `from .base import *`, then `DEBUG =
        False`): that module, which deployments load, decides the value."""
        setting = next((f for f in self.facts if f.kind in ("setting", "settings-module") and f.path == path
                        and f.start <= line <= f.end), None)
        if setting is None:
            return None
        for imp in self.facts:
            if imp.kind != "star-import" or imp.path == path or not imports_module(imp.path, imp.get("module"), path):
                continue
            again = next((f for f in self.facts if f.kind in ("setting", "settings-module") and f.path == imp.path
                          and f.get("key") == setting.get("key") and f.start > imp.start), None)
            if again is not None:
                return again
        return None

    def deployed(self, path: str) -> bool:
        where = self.path_context(path)
        return not where or where[0] not in ("test", "migration")

    @functools.cached_property
    def enum_classes(self) -> frozenset[str]:
        """Names of the project's Enum classes (also through the project's own Enum bases);
        read after the model is built, once per scan."""
        classes = [s for scopes in self.scopes.values() for s in scopes if s.kind == "class"]
        found: set[str] = set()
        while True:
            more = {c.name for c in classes if c.name not in found and any(
                last_name(b) in ENUM_BASES or last_name(b) in found for b in c.bases)}
            if not more:
                return frozenset(found)
            found |= more

    @functools.cached_property
    def commit_deferred_tasks(self) -> frozenset[str]:
        """Names of tasks whose base class defers `apply_async` to `transaction.on_commit`:
        enqueueing one inside a transaction waits for the commit."""
        bases = self.names_of("commit-deferred-task-base")
        return frozenset(f.get("name") for f in self.of_kind("task-base") if f.get("base") in bases)

    def entry_points(self) -> list[Scope]:
        return [s for path, scopes in self.scopes.items() if self.deployed(path) for s in scopes
                if s.kind == "function" and s.context in ENTRY_POINTS | {"job", "cli"}]


ENUM_BASES = frozenset({"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"})


# FastAPI's dependency markers: a parameter default or `dependencies=[...]` entry
FASTAPI_DEPENDENCY = ("Depends", "Security")


def last_name(expr: str) -> str:
    """`enum.Enum` -> `Enum`: the last part of a dotted name."""
    return expr.rsplit(".", 1)[-1]


# -- facts as rules ----------------------------------------------------------------------

def facts_files(language: str) -> list[tuple[str, str, dict]]:
    """Each facts file of a language as (where, stem, document): `rules:` for the engine,
    `decorators:` and `bases:` for the runner's own reading of the source."""
    out = []
    lang_dir = paths.facts_dir() / language
    for path in sorted(lang_dir.glob("*.yaml")) if lang_dir.is_dir() else ():
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        where = f"{path.parent.name}/{path.name}"
        unknown = set(doc) - {"rules", "decorators", "bases"}
        if unknown:
            raise ValueError(f"{where}: unknown top-level key(s) {', '.join(sorted(unknown))}")
        out.append((where, path.stem, doc))
    return out


def fact_rules(languages: set[str] | frozenset[str]) -> list[dict]:
    """The fact rules for these languages, ready to merge into the engine config."""
    out = []
    for language in sorted(languages):
        for where, _, doc in facts_files(language):
            for rule in doc.get("rules", []) or []:
                if not str(rule.get("id", "")).startswith(FACT_PREFIX):
                    raise ValueError(f"{where}: fact rule id {rule.get('id')!r} must start with {FACT_PREFIX!r}")
                out.append(rule)
    return out


def is_fact(result: dict) -> bool:
    return str(result.get("check_id", "")).startswith(FACT_PREFIX)


def parse_fact(result: dict) -> Fact | None:
    """A fact result's message is `kind<TAB>key=value<TAB>...`; a metavariable that did
    not bind in that branch stays `$NAME` and is dropped."""
    message = str(result.get("extra", {}).get("message", ""))
    kind, *pairs = message.split("\t")
    attrs = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if sep and not value.startswith("$"):
            attrs.append((key, " ".join(value.split())))
    try:
        start, end = int(result["start"]["line"]), int(result["end"]["line"])
    except (KeyError, TypeError, ValueError):
        return None
    path = str(result.get("path", "")).replace("\\", "/")
    return Fact(kind=kind, path=path, start=start, end=end, attrs=tuple(attrs), rule=str(result.get("check_id")))


# -- facts read with the source ----------------------------------------------------------
# A facts file's `decorators:` and `bases:` entries are matched here, on the same reading
# of the source that finds functions and classes, not in the engine: nearly every function
# of a web app has a route, task or command decorator, and each semgrep result costs
# milliseconds in its CLI (two thirds of the facts' cost on the benchmark corpus).

DECORATOR_KEYS = {"kind", "framework", "name", "form", "path", "path_from", "method_from", "first_param",
                  "receiver_from", "field"}
BASE_KEYS = {"kind", "framework", "base", "unless_text"}


@dataclass(frozen=True)
class DecoratorFact:
    """`@name(...)` on a function makes it a route, handler, resolver, job or CLI command."""

    kind: str
    framework: str
    name: re.Pattern  # the decorator's dotted name: `app.task`, `router.get`, `shared_task`
    form: str = "any"  # `call` (`@x(...)`), `bare` (`@x`) or `any`
    path: str = ""  # `any`: the first argument is the route's path; `literal`: and a string literal
    first_param: re.Pattern | None = None  # the function's first parameter name
    receiver_from: re.Pattern | None = None  # `@r.get(...)` where the module set `r = <call>()`
    field: str = ""  # the GraphQL field: `arg` (the first argument) or `function` (its name)
    source: str = ""
    # where a route without a path argument keeps them: `route_name` (Pyramid's
    # `@view_config(route_name=...)`), `request_method`, or `name` (the decorator's last name:
    # Cornice's `@service.post()`)
    path_from: str = ""
    method_from: str = ""


@dataclass(frozen=True)
class BaseFact:
    """`class C(base)` makes every method of C (and of C's subclasses) a handler, job..."""

    kind: str
    framework: str
    base: re.Pattern
    source: str = ""
    unless_text: re.Pattern | None = None  # not in a module whose text matches (another framework's class)


@functools.cache
def source_fact_specs(language: str) -> tuple[tuple[DecoratorFact, ...], tuple[BaseFact, ...]]:
    decorators, bases = [], []
    for where, stem, doc in facts_files(language):
        for i, raw in enumerate(doc.get("decorators", []) or []):
            decorators.append(_decorator_spec(raw, f"{where}: decorators[{i}]", stem))
        for i, raw in enumerate(doc.get("bases", []) or []):
            bases.append(_base_spec(raw, f"{where}: bases[{i}]", stem))
    return tuple(decorators), tuple(bases)


def _regex(raw: dict, key: str, where: str) -> re.Pattern | None:
    if raw.get(key) is None:
        return None
    try:
        return re.compile(str(raw[key]))
    except re.error as exc:
        raise ValueError(f"{where}: {key} is not a valid regex: {exc}") from None


def _check(raw, allowed: set[str], kinds, where: str) -> None:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: must be a mapping")
    unknown = set(raw) - allowed
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if raw.get("kind") not in kinds:
        raise ValueError(f"{where}: kind must be one of {', '.join(sorted(kinds))}, not {raw.get('kind')!r}")


def _decorator_spec(raw, where: str, stem: str) -> DecoratorFact:
    _check(raw, DECORATOR_KEYS, FUNCTION_KINDS, where)
    if not raw.get("name"):
        raise ValueError(f"{where}: name (a regex on the decorator's dotted name) is required")
    for key, allowed in (("form", ("any", "call", "bare")), ("path", ("", "any", "literal")),
                         ("field", ("", "arg", "function"))):
        if str(raw.get(key, allowed[0])) not in allowed:
            raise ValueError(f"{where}: {key} must be one of {', '.join(a for a in allowed if a)}")
    if raw.get("path") and (raw.get("path_from") or raw.get("method_from")):
        raise ValueError(f"{where}: path takes the path from the first argument; path_from and method_from "
                         "are for routes without one")
    return DecoratorFact(raw["kind"], str(raw.get("framework", "")), _regex(raw, "name", where),
                         str(raw.get("form", "any")), str(raw.get("path", "")), _regex(raw, "first_param", where),
                         _regex(raw, "receiver_from", where), str(raw.get("field", "")), f"facts.{stem}.{raw['kind']}",
                         str(raw.get("path_from", "")), str(raw.get("method_from", "")))


def _base_spec(raw, where: str, stem: str) -> BaseFact:
    _check(raw, BASE_KEYS, CLASS_KINDS, where)
    if not raw.get("base"):
        raise ValueError(f"{where}: base (a regex on the base class as written) is required")
    return BaseFact(raw["kind"], str(raw.get("framework", "")), _regex(raw, "base", where), f"facts.{stem}.{raw['kind']}",
                    _regex(raw, "unless_text", where))


def _is_string(node) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)))


def decorator_facts(scope: Scope, decorators: list, first_param: str, module_calls: dict[str, str]) -> list[Fact]:
    """The facts the `decorators:` specs make of a function's decorators (ast expressions)."""
    out = []
    specs = source_fact_specs("python")[0]
    for node in decorators:
        call = node if isinstance(node, ast.Call) else None
        name = dotted_name(call.func if call else node)
        if not name:
            continue
        receiver, _, last = name.rpartition(".")
        for spec in specs:
            if not spec.name.search(name) or (spec.form == "call" and not call) or (spec.form == "bare" and call):
                continue
            if spec.first_param and not spec.first_param.search(first_param):
                continue
            if spec.receiver_from and not (receiver in module_calls and spec.receiver_from.search(module_calls[receiver])):
                continue
            arg0 = call.args[0] if call and call.args and not isinstance(call.args[0], ast.Starred) else None
            attrs = [("framework", spec.framework)] if spec.framework else []
            if spec.path:
                if arg0 is None or (spec.path == "literal" and not _is_string(arg0)):
                    continue
                methods = next((k.value for k in call.keywords if k.arg == "methods"), None)
                attrs += [("path", _text(arg0)), ("method", last), ("router", receiver)]
                if methods is not None:
                    attrs.append(("methods", _text(methods)))
            else:
                keywords = {k.arg: k.value for k in call.keywords if k.arg} if call else {}
                if spec.path_from in keywords:
                    attrs.append(("path", _text(keywords[spec.path_from])))
                if spec.method_from == "name":
                    attrs.append(("method", last))
                elif spec.method_from in keywords:
                    attrs.append(("methods", _text(keywords[spec.method_from])))
                if spec.receiver_from:
                    attrs.append(("router", receiver))
            if spec.field == "arg":
                if arg0 is None:
                    continue
                attrs.append(("field", _text(arg0)))
            elif spec.field == "function":
                attrs.append(("field", scope.name))
            attrs.append(("via", name))
            out.append(Fact(spec.kind, scope.path, scope.start, scope.end, tuple((k, v) for k, v in attrs if v),
                            spec.source))
    return out


def base_specs_for(text: str) -> list[BaseFact]:
    """The `bases:` specs that apply to a module (once per file: `unless_text` reads all of it)."""
    return [spec for spec in source_fact_specs("python")[1] if not (spec.unless_text and spec.unless_text.search(text))]


def base_facts(scope: Scope, specs: list[BaseFact]) -> list[Fact]:
    out = []
    for spec in specs:
        for base in scope.bases:
            if spec.base.search(base):
                attrs = (("framework", spec.framework), ("via", base)) if spec.framework else (("via", base),)
                out.append(Fact(spec.kind, scope.path, scope.start, scope.end, attrs, spec.source))
    return out


def _text(node) -> str:
    return " ".join(ast.unparse(node).split())


# -- paths -------------------------------------------------------------------------------

def path_context(path: str, app_dirs: frozenset[str] = frozenset(), prefix: str = "") -> tuple[str, str] | None:
    """What a path alone says: tests/fixtures/examples/docs and dot folders are not
    deployed code; migrations; scripts and management commands are CLI. A folder in
    `app_dirs` (it holds a Django app's apps.py or models.py; paths there start with `prefix`)
    is code whatever its name: doccano's app `examples/` holds its annotation examples."""
    parts = PurePosixPath(path).parts
    folders, name = parts[:-1], parts[-1] if parts else ""
    for i, part in enumerate(folders):
        if part.startswith(".") and part not in (".", ".."):
            return "test", f"in the dot folder {part}/ (not deployed code)"
        if part in TEST_DIRS or EXAMPLE_DIR.match(part):
            if part in EXAMPLE_NAMES and prefix + "/".join(folders[:i + 1]) in app_dirs:
                continue
            return "test", f"in a {part}/ folder (not deployed code)"
        if DEV_PROJECT_DIR.match(part):
            return "test", f"in {part}/, a development or demo project (not deployed code)"
    if TEST_FILE.match(name):
        return "test", f"{name} is a test module"
    in_settings_dir = bool(folders) and folders[-1] in SETTINGS_DIRS
    if DEV_SETTINGS_FILE.match(name) and ("settings" in name or in_settings_dir):
        return "test", f"{name} holds development settings (not deployed configuration)"
    for part in folders:
        if part in MIGRATION_DIRS:
            return "migration", f"in a {part}/ folder"
    if "management" in folders and "commands" in folders:
        return "cli", "a Django management command module"
    for part in folders:
        if part in CLI_DIRS:
            return "cli", f"in a {part}/ folder"
    if name in CLI_FILES:
        return "cli", f"{name} runs from the command line"
    return None


# -- building ----------------------------------------------------------------------------

def build(fact_results: list[dict], root: Path | None = None, project_dirs: tuple[str, ...] = (),
          files: list[str] | tuple[str, ...] = ()) -> ProjectModel:
    model = ProjectModel(project_dirs=project_dirs, files=tuple(files))
    for raw in fact_results:
        fact = parse_fact(raw)
        if fact is not None:
            model.facts.append(fact)
    if root is not None:
        model.specs = openapi_operations(root, model)
    _scopes(model, root)
    model.facts.sort(key=lambda f: (f.path, f.start, f.end, f.kind, f.attrs))
    _apply_router_prefixes(model)
    _apply_route_names(model)
    _file_contexts(model)
    _mark_functions(model)
    _mark_classes(model)
    _mark_references(model)
    _mark_specs(model)
    _inherit_to_methods(model)
    _mark_cli_only_helpers(model)
    # a job's coroutine runs in a worker (rq runs each async job in its own loop), and a
    # startup hook runs once before anything is served: the event loops that serve requests
    # are the ones blocking hurts
    model.loop_helpers = model.calls.loop_helpers(
        lambda key: (model.place(*key).context not in CLI_LIKE | {"job"}
                     and not STARTUP_HOOK.search(model.calls.functions[key][0])), model.sources.get)
    model.calls = CallGraph()
    model.sources.clear()
    _inherit_admin_guards(model)
    return model


# Async functions that run once while a server starts or stops (JupyterHub's `initialize` and
# `Proxy.start`, FastAPI `startup`/`lifespan` hooks, an app's `init_db`): a blocking call there
# delays the start, it does not stall requests in flight.
STARTUP_HOOK = re.compile(r"^_*(start|stop|setup|main|initiali[sz]e)$|(^|_)(startup|shutdown|init|lifespan|bootstrap)(_|$)")
CLI_ONLY_ROUNDS = 4  # a helper of a helper of a command: chains longer than this stay library
CLI_LIKE = frozenset({"cli", "test", "migration"})
# Servers are started by commands: a function that builds the web app or runs the server (and
# so everything it calls) serves requests, whoever calls it. It stays library code, and the
# chain below it with it.
SERVER_NAMES = frozenset({"Flask", "Quart", "FastAPI", "Starlette", "Sanic", "Application", "make_server",
                          "serve_forever", "run_app", "uvicorn", "gunicorn", "hypercorn", "waitress",
                          "IOLoop", "WSGIServer", "get_wsgi_application", "get_asgi_application",
                          "create_app", "make_app", "app_factory", "Celery", "Worker", "Configurator", "make_wsgi_app"})


IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _mark_cli_only_helpers(model: ProjectModel) -> None:
    """A library function whose name is referenced only from CLI code (management commands,
    click/typer/argparse mains, scripts), and from tests or migrations at most, runs in the CLI:
    `ModoAPIClient.register_instance` called only by a management command. Names are matched
    as words of the source, without types: a name that request-path code also mentions (`save`,
    `send`, a docstring, a string naming a task) keeps every function of that name in the
    library. Dunder methods, called implicitly, are never marked, and neither is a function that
    builds the web app or starts a server (see SERVER_NAMES). Only the names of library
    functions that some CLI code mentions are searched for, so the cost stays a fraction of
    reading the source."""
    file_context = {path: (model.path_context(path) or model.file_contexts.get(path) or ("library",))[0]
                    for path in model.sources}
    contexts: dict[tuple[str, int], str] = {}  # (path, scope start) -> context, this round

    def context_of(path: str, scope: Scope | None) -> str:
        """place(path, scope.start).context, for every scope of the file in one pass."""
        if scope is None:
            return file_context[path]
        if (path, scope.start) not in contexts:
            base = file_context[path]
            enclosing: list[tuple[Scope, str | None]] = []  # outer first
            for other in model.scopes[path]:  # outermost first
                while enclosing and not enclosing[-1][0].contains(other.start):
                    enclosing.pop()
                inherited = other.context or (enclosing[-1][1] if enclosing else None)
                enclosing.append((other, inherited))
                contexts[(path, other.start)] = base if base in ("test", "migration") else inherited or base
        return contexts[(path, scope.start)]

    def innermost(path: str, line: int) -> Scope | None:
        found = None
        for scope in model.scopes.get(path, ()):  # outermost first
            if scope.start > line:
                break
            if scope.contains(line):
                found = scope
        return found

    starts: dict[str, list[int]] = {}  # path -> the offset each line starts at (lines as ast counts them)

    def line_starts(path: str) -> list[int]:
        if path not in starts:
            starts[path] = list(itertools.accumulate((len(line) + 1 for line in model.sources[path].split("\n")),
                                                     initial=0))
        return starts[path]

    def words(path: str, first: int, last: int) -> set[str]:
        at = line_starts(path)
        return set(IDENTIFIER.findall(model.sources[path], at[first - 1], at[min(last, len(at) - 1)]))

    helpers: dict[str, list[tuple[str, Scope]]] = {}  # name -> library functions of that name
    for path, scopes in model.scopes.items():
        for fn in scopes:
            if (fn.kind == "function" and fn.context is None and not (fn.name.startswith("__") and fn.name.endswith("__"))
                    and fn.name not in SERVER_NAMES and context_of(path, fn) == "library"):
                helpers.setdefault(fn.name, []).append((path, fn))
    mentioned: set[str] = set()  # words of CLI code
    for path, scopes in model.scopes.items():
        for scope in scopes:
            if context_of(path, scope) == "cli":
                mentioned |= words(path, scope.start, scope.end) & helpers.keys()
    for path, text in model.sources.items():
        if file_context[path] == "cli":
            mentioned |= set(IDENTIFIER.findall(text)) & helpers.keys()

    files_with: dict[str, list[str]] = {}
    blocked: set[str] = set()  # mentioned by code whose context never changes here (a handler, a job)

    def mentions(name: str):
        """Every place the source mentions `name`, as (path, innermost scope), lazily."""
        if not files_with:  # which files mention which words: read once, when first asked
            for path, text in model.sources.items():
                for word in set(IDENTIFIER.findall(text)):
                    files_with.setdefault(word, []).append(path)
        word = re.compile(r"\b" + re.escape(name) + r"\b")
        for path in files_with.get(name, ()):
            for m in word.finditer(model.sources[path]):
                yield path, innermost(path, bisect.bisect_right(line_starts(path), m.start()))

    for _ in range(CLI_ONLY_ROUNDS):
        contexts.clear()
        changed = False
        for name in sorted(mentioned - blocked):
            fns = [(path, fn) for path, fn in helpers[name] if fn.context is None]
            if not fns:
                continue
            first_cli, other = None, False
            for p, s in mentions(name):
                if any(s is fn or (s is not None and p == path and fn.contains(s.start) and s.start > fn.start)
                       for path, fn in fns):
                    continue  # a definition of the name, or a use inside it
                c = context_of(p, s)
                if c not in CLI_LIKE:
                    other = True
                    if c != "library":
                        blocked.add(name)  # a handler, job or settings module: for good
                    break
                if c == "cli" and first_cli is None:
                    first_cli = (p, s)
            if other or first_cli is None:
                continue
            p, s = first_cli
            for path, fn in fns:
                body = words(path, fn.start, fn.end)
                if body & SERVER_NAMES:
                    continue
                fn.context, fn.reason = "cli", f"used only by CLI code ({f'{s.name} at {p}:{s.start}' if s else p})"
                mentioned |= body & helpers.keys()
                changed = True
        if not changed:
            break


def _apply_router_prefixes(model: ProjectModel) -> None:
    """Put a blueprint's or APIRouter's prefixes in front of the paths of the routes declared
    on it: its own (`Blueprint(..., url_prefix=)` in the route's file) and the one it is
    registered with (`register_blueprint(bp, url_prefix=)`, `include_router(r, prefix=)`),
    when exactly one registration names it. A prefix that is not a string literal is left out."""
    own = {(f.path, f.get("name")): f for f in model.facts if f.kind == "router"}
    mounts: dict[str, list[Fact]] = {}
    for f in model.facts:
        if f.kind == "mount":
            mounts.setdefault(last_name(f.get("name")), []).append(f)

    def literal(fact: Fact | None) -> str:
        text = _unquote(fact.get("prefix")) if fact else ""
        return "" if not fact or text == fact.get("prefix").strip() else text.rstrip("/")

    def mount_of(route: Fact) -> Fact | None:
        stem = PurePosixPath(route.path).stem
        found = [m for m in mounts.get(route.get("router"), ())
                 if "." not in m.get("name") or m.get("name").rsplit(".", 2)[-2] in (stem, PurePosixPath(route.path).parent.name)]
        return found[0] if len(found) == 1 else None

    for i, f in enumerate(model.facts):
        if f.kind not in ("route", "route-ref") or not f.get("router"):
            continue
        prefix = literal(mount_of(f)) + literal(own.get((f.path, f.get("router"))))
        # no path of its own: the router's is the route's (Cornice's `Service(path=...)`)
        path = _unquote(f.get("path")) if f.get("path") else ""
        if not prefix or (f.get("path") and path == f.get("path").strip()):
            continue
        full = prefix + (path if path.startswith("/") or not path else "/" + path)
        model.facts[i] = _with_path(f, repr(full))


def _apply_route_names(model: ProjectModel) -> None:
    """Pyramid routes a view by the name of a route declared elsewhere (`config.add_route(
    "login", "/login")`, `@view_config(route_name="login")`): the view's path is the pattern
    of the one route of that name in the project; a name declared twice or not at all stays."""
    patterns: dict[str, list[str]] = {}
    for f in model.of_kind("route-name"):
        patterns.setdefault(_unquote(f.get("name")), []).append(f.get("pattern"))
    for i, f in enumerate(model.facts):
        if f.kind not in ("route", "route-ref") or f.get("framework") != "pyramid":
            continue
        found = patterns.get(_unquote(f.get("path")), [])
        if len(found) == 1:
            model.facts[i] = _with_path(f, found[0])


def _with_path(fact: Fact, path: str) -> Fact:
    """The route fact with `path` as its path (set, or added when it had none)."""
    return replace(fact, attrs=tuple((k, v) for k, v in fact.attrs if k != "path") + (("path", path),))


def _scopes(model: ProjectModel, root: Path | None) -> None:
    """Where every function and class is (decorators included), and each class's bases:
    from the runner's own reading of the source, not from facts (one semgrep result per
    function costs milliseconds each in semgrep's CLI: most of a scan's time on big
    projects). The same reading yields the facts that are about every function or every
    module-level assignment (graphene resolvers, Django settings), for the same reason."""
    for rel in model.files if root is not None else ():
        if not rel.endswith((".py", ".pyi")):
            continue
        try:
            text = (root / rel).read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        found, facts = read_source(rel, text, model.calls)
        if found:
            model.scopes[rel] = sorted(found, key=lambda s: (s.start, -s.end))
        model.sources[rel] = text
        model.facts.extend(facts)


# Django settings: names that make a module a settings module, and the settings rules read.
SETTINGS_MODULE_KEYS = re.compile(r"^(INSTALLED_APPS|MIDDLEWARE|ROOT_URLCONF|DATABASES)$")
# ...but only where the module sets at least two of these: a reusable app that exports an
# `INSTALLED_APPS` helper list (django-oscar's `oscar/__init__.py`) is not the project's settings
SETTINGS_MARKERS = re.compile(r"^(INSTALLED_APPS|MIDDLEWARE|ROOT_URLCONF|DATABASES|SECRET_KEY|ALLOWED_HOSTS|"
                              r"TEMPLATES|STATIC_URL|STATIC_ROOT|WSGI_APPLICATION|AUTH_USER_MODEL|TIME_ZONE|"
                              r"USE_TZ|LANGUAGE_CODE|CACHES|LOGGING)$")
SETTING_KEYS = re.compile(r"^(REST_FRAMEWORK|CACHES|SESSION_ENGINE|CELERY_\w+|CELERYD_\w+|RATELIMIT_\w+|DEBUG|"
                          r"CORS_\w+|SESSION_COOKIE_SECURE|CSRF_COOKIE_SECURE|EMAIL_\w+)$")
IMPORTS_GRAPHENE = re.compile(r"^[ \t]*(from|import)[ \t]+graphene", re.M)
# Guards that let only the site's administrators in (the operator's own accounts): decorators
# (`@admin_required`, `@staff_member_required`, `@superuser_required`), FastAPI dependencies
# (`Depends(check_admin)`, `Depends(get_admin_user)`), DRF's `IsAdminUser`. Organisation or
# project admins of a multi-tenant service are other customers, so `org_admin`-style guards
# and role checks with arguments are not these.
ADMIN_GUARD = re.compile(r"^_?(require[sd]?_|check_|get_|get_current_|current_|ensure_|verify_|is_)?"
                         r"(super_?user|admin|administrator|site_admin|staff|staff_member)"
                         r"(_user|_required|_only|_access|_permission_required)?$")
# Methods where a class-based view or its mixin decides who gets in (Django's dispatch and
# as_view, UserPassesTestMixin's test_func, DRF's has_permission, indico's _check_access).
ACCESS_METHODS = frozenset({"as_view", "dispatch", "test_func", "has_permission", "check_permissions",
                            "_check_access", "check_access", "_check_auth", "before_request"})
ADMIN_TEST = re.compile(r"\.is_(superuser|staff|admin)\b")
# Role decorators (Flask-Security's `roles_required`/`roles_accepted`, and look-alikes) whose
# every role named is the site administrators' (`@roles_required("Administrator")`): the
# roles of these libraries are site-wide, not per organisation.
ROLE_DECORATORS = frozenset({"roles_required", "roles_accepted", "role_required", "require_role",
                             "requires_role", "requires_roles", "has_role"})
ADMIN_ROLE = re.compile(r"^(admin|admins|administrator|administrators|super_?user|super_?admin|site_?admin|staff)$", re.I)


def source_scopes(path: str, text: str) -> list[Scope]:
    return read_source(path, text)[0]


def read_source(path: str, text: str, calls: CallGraph | None = None) -> tuple[list[Scope], list[Fact]]:
    """Functions and classes of one Python file, and its facts about them: with `ast`
    (parsing only; nothing is imported or run), else, for code this Python cannot parse
    (newer syntax), scopes by indentation and the facts their decorators and bases make."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return _indented_read(path, text)
    if calls is not None:
        calls.read(path, tree)
    graphene = bool(IMPORTS_GRAPHENE.search(text))
    mentions_timeout = "timeout" in text
    mentions_on_commit, mentions_base = "on_commit" in text, "base=" in text
    module_calls = {t.id: dotted_name(node.value.func) for node in tree.body
                    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                    for t in node.targets if isinstance(t, ast.Name)}
    out, facts = [], []
    base_specs = base_specs_for(text)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            if isinstance(node, ast.ClassDef):
                # ast.unparse, not get_source_segment: that one splits the whole file again
                # for every base (quadratic; seconds on large GraphQL schema files)
                bases = [ast.unparse(b) for b in node.bases]
                scope = Scope("class", node.name, path, start, node.end_lineno or start,
                              bases=[" ".join(b.split()) for b in bases if b])
                facts += base_facts(scope, base_specs)
                if mentions_on_commit and _defers_enqueue_to_commit(node):
                    facts.append(Fact("commit-deferred-task-base", path, scope.start, scope.end,
                                      (("name", node.name),), "source.on-commit-task-base"))
                guard = _class_admin_guard(node)
            else:
                scope = Scope("function", node.name, path, start, node.end_lineno or start)
                params = node.args.posonlyargs + node.args.args
                facts += decorator_facts(scope, node.decorator_list, params[0].arg if params else "", module_calls)
                if mentions_timeout and _sets_a_timeout(node):
                    facts.append(Fact("wrapper", path, scope.start, scope.end,
                                      (("name", node.name), ("sets", "timeout")), "source.timeout-wrapper"))
                if mentions_base:
                    facts += _task_base_facts(scope, node)
                if graphene and node.name.startswith("resolve_") and len(node.name) > 8:
                    facts.append(Fact("resolver", path, scope.start, scope.end,
                                      (("framework", "graphene"), ("field", node.name)), "source.graphene-resolver"))
                guard = _function_admin_guard(node)
            if guard:
                facts.append(Fact("admin-only", path, scope.start, scope.end, (("guard", guard),), "source.admin-guard"))
            out.append(scope)
    facts += _settings_facts(path, tree.body)
    return out, facts


def _defers_enqueue_to_commit(cls) -> bool:
    """A Celery task base whose `apply_async`/`delay` hands the enqueue to Django's
    `transaction.on_commit` (pretix's `TransactionAwareTask`)."""
    return any(isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name in ("apply_async", "delay")
               and any(isinstance(n, ast.Call) and last_name(dotted_name(n.func)) == "on_commit" for n in ast.walk(fn))
               for fn in cls.body)


def _task_base_facts(scope: Scope, fn) -> list[Fact]:
    """`@app.task(base=TransactionAwareTask)` / `@shared_task(base=...)`: the task's class."""
    out = []
    for dec in fn.decorator_list:
        if isinstance(dec, ast.Call) and last_name(dotted_name(dec.func)) in ("task", "shared_task"):
            for kw in dec.keywords:
                if kw.arg == "base" and dotted_name(kw.value):
                    out.append(Fact("task-base", scope.path, scope.start, scope.end,
                                    (("name", fn.name), ("base", last_name(dotted_name(kw.value)))), "source.task-base"))
    return out


def _guard_name(node) -> str:
    """The guard a decorator or dependency names, if it is an administrators-only one:
    `admin_required`, `staff_member_required(...)`, `Depends(check_admin)`,
    `user_passes_test(lambda u: u.is_superuser)`, `permission_classes = [IsAdminUser]`,
    `roles_required("Administrator")`."""
    if isinstance(node, ast.Call):
        name = last_name(dotted_name(node.func))
        if name in FASTAPI_DEPENDENCY and node.args:
            return _guard_name(node.args[0])
        if name == "user_passes_test" and node.args and ADMIN_TEST.search(ast.unparse(node.args[0])):
            return "user_passes_test(" + ast.unparse(node.args[0]) + ")"
        if name in ROLE_DECORATORS and node.args and all(
                isinstance(a, ast.Constant) and isinstance(a.value, str) and ADMIN_ROLE.match(a.value) for a in node.args):
            return ast.unparse(node)
        node = node.func
    name = last_name(dotted_name(node))
    # a permission class is CamelCase: DRF's IsAdminUser, a project's IsSuperUser or IsStaff
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower() if name else ""
    return name if name and ADMIN_GUARD.match(snake) else ""


def _function_admin_guard(fn) -> str:
    """An administrators-only guard on a function: a decorator, a route's
    `dependencies=[Depends(...)]`, or a parameter filled by such a dependency."""
    for dec in fn.decorator_list:
        guard = _guard_name(dec)
        if guard:
            return guard
        if isinstance(dec, ast.Call):
            for kw in dec.keywords:
                if kw.arg == "dependencies" and isinstance(kw.value, (ast.List, ast.Tuple)):
                    guard = next((g for g in map(_guard_name, kw.value.elts) if g), "")
                    if guard:
                        return guard
    defaults = list(fn.args.defaults) + [d for d in fn.args.kw_defaults if d is not None]
    annotations = [a.annotation for a in fn.args.args + fn.args.kwonlyargs if a.annotation is not None]
    for node in defaults + [m for a in annotations if isinstance(a, ast.Subscript) for m in ast.walk(a.slice)]:
        if isinstance(node, ast.Call) and last_name(dotted_name(node.func)) in FASTAPI_DEPENDENCY:
            guard = _guard_name(node)
            if guard:
                return guard
    return ""


def _class_admin_guard(cls) -> str:
    """A class-based view only administrators reach: an admin-only decorator on the class
    (`@method_decorator(staff_member_required, name="dispatch")`) or DRF's
    `permission_classes = [IsAuthenticated, IsAdminUser]` (DRF lets a request in only when
    every class listed does, so one admin-only class is enough; not inside an `|`)."""
    for dec in cls.decorator_list:
        guard = _guard_name(dec)
        if not guard and isinstance(dec, ast.Call) and dotted_name(dec.func).endswith("method_decorator") and dec.args:
            guard = _guard_name(dec.args[0])
        if guard:
            return guard
    for stmt in cls.body:
        if (isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "permission_classes" for t in stmt.targets)
                and isinstance(stmt.value, (ast.List, ast.Tuple))):
            guard = next((g for g in map(_guard_name, stmt.value.elts) if g), "")
            if guard:
                return guard
    for fn in cls.body:
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name in ACCESS_METHODS:
            guard = _access_method_guard(fn)
            if guard:
                return f"{cls.name}.{fn.name}: {guard}"
    return ""


def _access_method_guard(fn) -> str:
    """What makes an access method admin-only: it wraps the view in an admin-only guard
    (`staff_member_required()(view)`, pretix's mixins), refuses whoever is not an admin
    (`if not session.user.is_admin: raise Forbidden`), or answers the test with the flag
    (`return self.request.user.is_superuser`)."""
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            inner = node.func.func if isinstance(node.func, ast.Call) else node.func
            guard = _guard_name(inner)
            if guard and not guard.startswith("is_"):  # `event.is_admin(user)` asks, it does not guard
                return guard
        elif isinstance(node, ast.If) and isinstance(node.test, ast.UnaryOp) and _admin_flag(node.test) \
                and any(isinstance(n, ast.Raise) or (isinstance(n, ast.Call) and last_name(dotted_name(n.func)) == "abort")
                        for stmt in node.body for n in ast.walk(stmt)):
            return "refuses unless " + " ".join(ast.unparse(node.test.operand).split())
        elif isinstance(node, ast.Return) and node.value is not None and fn.name in ("test_func", "has_permission") \
                and _admin_flag(node.value):
            return "lets in only " + " ".join(ast.unparse(node.value).split())
    return ""


def _admin_flag(expr) -> bool:
    """Whether an expression reads the site-wide admin flag of a user (`user.is_superuser`,
    `session.user.is_admin`), not a call asking for admin rights on something
    (`event.is_admin(user)`: an organiser of one event, another customer)."""
    called = {id(n.func) for n in ast.walk(expr) if isinstance(n, ast.Call)}
    return any(isinstance(n, ast.Attribute) and n.attr in ("is_superuser", "is_staff", "is_admin") and id(n) not in called
               for n in ast.walk(expr))


def _sets_a_timeout(fn) -> bool:
    """A project wrapper that gives the calls through it a timeout: it sets one in the keyword
    arguments it passes on (`kwargs.setdefault("timeout", ...)`, `kwargs["timeout"] = ...`), or
    takes a `timeout=` parameter with a default other than None and passes it to a call."""
    params = fn.args.args + fn.args.kwonlyargs
    defaults = [None] * (len(fn.args.args) - len(fn.args.defaults)) + list(fn.args.defaults) + list(fn.args.kw_defaults)
    takes_timeout = any(a.arg == "timeout" and d is not None and not (isinstance(d, ast.Constant) and d.value is None)
                        for a, d in zip(params, defaults))  # `timeout=None` passes on no timeout
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            if (isinstance(node.func, ast.Attribute) and node.func.attr == "setdefault" and node.args
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value == "timeout"):
                return True
            if takes_timeout and any(k.arg == "timeout" and isinstance(k.value, ast.Name) and k.value.id == "timeout"
                                     for k in node.keywords):
                return True
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant) and t.slice.value == "timeout"
                for t in node.targets):
            return True
    return False


def _settings_facts(path: str, body: list) -> list[Fact]:
    facts, markers = _settings_assignments(path, body)
    if len(markers) < 2:
        facts = [f for f in facts if f.kind != "settings-module"]
    return facts


def _settings_assignments(path: str, body: list) -> tuple[list[Fact], set[str]]:
    """Module-level assignments (also under `if`/`try`/`with`) of Django settings names, and
    the settings-module marker names assigned."""
    out, markers = [], set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
            module = "." * node.level + (node.module or "")
            out.append(Fact("star-import", path, node.lineno, node.end_lineno or node.lineno,
                            (("module", module),), "source.star-import"))
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for name in (t.id for t in targets if isinstance(t, ast.Name)):
                if SETTINGS_MARKERS.match(name):
                    markers.add(name)
                kind = ("settings-module" if SETTINGS_MODULE_KEYS.match(name) else
                        "setting" if SETTING_KEYS.match(name) else None)
                if kind:
                    out.append(Fact(kind, path, node.lineno, node.end_lineno or node.lineno,
                                    (("framework", "django"), ("key", name)), f"source.django-{kind}"))
        for field_name in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, field_name, None)
            if isinstance(inner, list) and not isinstance(node, (ast.Assign, ast.AnnAssign)):
                inner_facts, inner_markers = _settings_assignments(path, inner)
                out += inner_facts
                markers |= inner_markers
    return out, markers


_DEF = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?(?P<kind>def|class)[ \t]+(?P<name>\w+)")
_MODULE_CALL = re.compile(r"^(\w+)[ \t]*(?::[^=\n]*)?=[ \t]*([\w.]+)[ \t]*\(", re.M)
_FIRST_PARAM = re.compile(r"\bdef\s+\w+\s*(?:\[[^\]]*\])?\s*\(\s*(\w+)")


def _indented_read(path: str, text: str) -> tuple[list[Scope], list[Fact]]:
    """For syntax newer than the runner's Python: scopes by indentation, and the facts of
    their bases and of each decorator parsed on its own (a decorator is an expression)."""
    scopes, decorators = _indented_scopes(path, text)
    module_calls = {m.group(1): m.group(2) for m in _MODULE_CALL.finditer(text)}
    facts = []
    base_specs = base_specs_for(text)
    for scope in scopes:
        if scope.kind == "class":
            facts += base_facts(scope, base_specs)
            continue
        head, texts = decorators.get(id(scope), ("", []))
        nodes = []
        for expr in texts:
            try:
                nodes.append(ast.parse(expr, mode="eval").body)
            except (SyntaxError, ValueError, RecursionError):
                pass
        param = _FIRST_PARAM.search(head)
        facts += decorator_facts(scope, nodes, param.group(1) if param else "", module_calls)
    return scopes, facts


def _indented_scopes(path: str, text: str) -> tuple[list[Scope], dict[int, tuple[str, list[str]]]]:
    """Scopes by indentation, and for each function its `def` line and decorator texts."""
    lines = text.splitlines()
    out, open_scopes = [], []  # (indent, scope)
    decorators: dict[int, tuple[str, list[str]]] = {}
    last_code = 0
    decorators_from, texts, depth = None, [], 0
    for i, line in enumerate(lines, 1):
        stripped = line.strip()
        if depth > 0:  # inside a decorator's brackets
            texts[-1] += "\n" + stripped
            depth += _bracket_depth(stripped)
            last_code = i
            continue
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        while open_scopes and indent <= open_scopes[-1][0] and not stripped.startswith((")", "]", "}")):
            open_scopes.pop()[1].end = last_code
        if stripped.startswith("@"):
            decorators_from = decorators_from or i
            texts.append(stripped[1:])
            depth = max(_bracket_depth(stripped), 0)
        else:
            m = _DEF.match(line)
            if m:
                scope = Scope("function" if m.group("kind") == "def" else "class", m.group("name"), path,
                              decorators_from or i, i)
                if scope.kind == "class":
                    head = re.match(r"\s*class\s+\w+\s*(?:\[[^\]]*\])?\s*\((.*)\)\s*:", line)
                    scope.bases = [b.strip() for b in head.group(1).split(",") if b.strip() and "=" not in b] if head else []
                else:
                    decorators[id(scope)] = (" ".join(lines[i - 1:i + 4]), texts)
                open_scopes.append((indent, scope))
                out.append(scope)
            decorators_from, texts = None, []
        last_code = i
    for _, scope in open_scopes:
        scope.end = last_code
    return out, decorators


def _bracket_depth(line: str) -> int:
    """Brackets opened minus closed on a line, strings and comments ignored (roughly)."""
    code = re.sub(r"#.*$", "", re.sub(r"(['\"]).*?\1", "", line))
    return sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")


def _file_contexts(model: ProjectModel) -> None:
    for f in model.facts:
        if f.kind == "settings-module":
            model.file_contexts.setdefault(f.path, ("settings", f"a {f.get('framework')} settings module "
                                                                f"(defines {f.get('key')})"))


def _scope_at(model: ProjectModel, path: str, start: int, kind: str) -> Scope | None:
    """The scope a fact matched: same first line, else the innermost one containing it."""
    found = None
    for scope in model.scopes.get(path, ()):
        if scope.kind != kind:
            continue
        if scope.start == start:
            return scope
        if scope.contains(start):
            found = scope
    return found


def _set(scope: Scope, context: str, reason: str, route: Fact | None = None) -> None:
    # Entry points win over jobs and CLI: a view that is also a click command runs per request.
    rank = {"handler": 3, "resolver": 3, "job": 2, "cli": 1}
    if scope.context is None or rank.get(context, 0) > rank.get(scope.context, 0):
        scope.context, scope.reason = context, reason
        if route is not None:
            scope.route = route
    elif scope.context == context and scope.route is None and route is not None:
        # marked first by its base class or a decorator; the registration adds the route
        scope.route, scope.reason = route, reason


def http_methods(fact: Fact) -> str:
    """`GET`, `GET,POST` or `*` (any/unknown) for a route fact or OpenAPI operation."""
    method = _unquote(fact.get("method")).lower()
    # aiohttp's `add_post`; Falcon's `on_post`, `on_get_collection`; Twisted's `render_POST`
    for verb_prefix in ("add_", "on_", "render_"):
        if method.startswith(verb_prefix):
            method = method[len(verb_prefix):].split("_")[0]
    if method in HTTP_METHODS:
        return method.upper()
    listed = re.findall(r"[A-Za-z]+", fact.get("methods"))
    if listed:
        return ",".join(m.upper() for m in listed)
    if fact.get("framework") == "flask":
        return "GET"  # Flask's default for route() and add_url_rule()
    return "*"


def _describe(fact: Fact) -> str:
    bits = [fact.get("framework") or fact.get("via")]
    route_path = _unquote(fact.get("path"))
    if route_path:
        bits.append(f"{http_methods(fact)} {route_path}")
    return " ".join(b for b in bits if b)


def _mark_functions(model: ProjectModel) -> None:
    for f in model.facts:
        context = FUNCTION_KINDS.get(f.kind)
        if context is None:
            continue
        scope = _scope_at(model, f.path, f.start, "function")
        if scope is None and f.kind == "cli" and f.get("via") == "__main__ block":
            continue  # a module-level block: the functions it calls stay as they are
        if scope is not None:
            what = {"route": "route", "handler": "view", "resolver": "GraphQL resolver",
                    "job": "background job", "cli": "command-line entry"}[f.kind]
            _set(scope, context, f"{what} ({_describe(f)})", f if f.kind == "route" else None)


def _mark_classes(model: ProjectModel) -> None:
    """Classes marked by a fact, then their subclasses in the project (by base name)."""
    marked: dict[str, tuple[str, str]] = {}
    for f in model.facts:
        context = CLASS_KINDS.get(f.kind)
        if context is None:
            continue
        scope = _scope_at(model, f.path, f.start, "class")
        if scope is not None:
            _set(scope, context, f"{scope.name} derives from {f.get('via')} ({f.get('framework')})")
            marked.setdefault(scope.name, (scope.context, scope.reason))
    # a project's own base view, and views deriving from it
    for scope, parent in _derived_classes(model, marked, done=lambda s: s.context is not None):
        _set(scope, marked[parent][0], f"{scope.name} derives from {parent} ({marked[parent][0]})")
        marked[scope.name] = (scope.context, scope.reason)


def _derived_classes(model: ProjectModel, known, done):
    """The project's classes that derive, by base name, from a class named in `known` or
    from each other, parents first: (class, the base it derives through). The caller adds
    each class it is given to `known` and makes `done` true for it."""
    classes = [s for scopes in model.scopes.values() for s in scopes if s.kind == "class"]
    changed = True
    while changed:
        changed = False
        for scope in classes:
            if done(scope):
                continue
            parent = next((p for p in map(last_name, scope.bases) if p in known), None)
            if parent:
                changed = True
                yield scope, parent


def reference_names(target: str) -> tuple[str, str]:
    """What a registration names: (module hint, function or class name).

    `views.order_detail` -> ("views", "order_detail"); `OrderView.as_view()` ->
    ("", "OrderView"); `csrf_exempt(views.hook)` -> ("views", "hook");
    `"app.tasks.rebuild"` -> ("app.tasks", "rebuild")."""
    text = target.strip()
    as_view = re.search(r"([\w.]+)\s*\.\s*as_view\b", text)
    if as_view:
        text = as_view.group(1)
    else:
        inner = re.findall(r"\(\s*([\w.]+)\s*[,)]", text)  # a wrapper call: take its argument
        if inner and "(" in text:
            text = inner[-1]
        text = _unquote(text).split("(")[0]
    names = [n for n in re.split(r"[.:]", text) if n]
    if not names or not re.match(r"^[A-Za-z_]\w*$", names[-1]):
        return "", ""
    return ".".join(names[:-1]), names[-1]


def _resolve(model: ProjectModel, module: str, name: str, near: str) -> list[Scope]:
    """Top-level-ish scopes named `name`; narrowed to the hinted module, else to the file
    that registered it and its package, when that picks fewer."""
    candidates = [s for scopes in model.scopes.values() for s in scopes if s.name == name]
    if len(candidates) <= 1:
        return candidates
    for narrow in (lambda s: module and module_matches(s.path, module),
                   lambda s: s.path == near,
                   lambda s: PurePosixPath(s.path).parent == PurePosixPath(near).parent):
        picked = [s for s in candidates if narrow(s)]
        if picked:
            return picked
    return candidates


def _mark_references(model: ProjectModel) -> None:
    for f in model.facts:
        context = REF_KINDS.get(f.kind)
        if context is None:
            continue
        module, name = reference_names(f.get("target"))
        if not name:
            continue
        found = _resolve(model, module, name, f.path)
        if not found:  # `view = OrderAPI.as_view("orders")`, then `view_func=view`
            for alias in model.of_kind("view-alias"):
                if alias.get("name") == name and (alias.path == f.path or not module):
                    found = _resolve(model, *reference_names(alias.get("target")), alias.path)
                    break
        if not found:
            model.unresolved.append(f)
        for scope in found:
            what = {"handler": "registered as a route", "resolver": "registered as a GraphQL resolver",
                    "job": "enqueued as a background job"}[context]
            reason = f"{what} ({_describe(f)}) at {f.path}:{f.start}"
            if scope.kind == "class" and f.get("exposes") == "public-methods":
                # an XML-RPC instance: the server publishes its public methods, not `_helpers`
                for method in _methods(model, scope):
                    if not method.name.startswith("_"):
                        _set(method, context, f"method of {scope.name}: {reason}", f)
                continue
            _set(scope, context, reason, f if context == "handler" else None)


def _methods(model: ProjectModel, cls: Scope) -> list[Scope]:
    """The functions defined directly in a class's body (not nested in one of its methods)."""
    inside = [s for s in model.scopes.get(cls.path, ()) if s is not cls and cls.start < s.start and s.end <= cls.end]
    return [s for s in inside if s.kind == "function"
            and not any(o is not s and o.start <= s.start and s.end <= o.end for o in inside)]


def _mark_specs(model: ProjectModel) -> None:
    for op in model.specs:
        module, name = reference_names(op.get("operationId"))
        controller = op.get("controller")
        if controller:
            module = controller
        found = [s for s in _resolve(model, module, name, "") if s.kind == "function"] if name else []
        if not found:
            model.unresolved.append(op)
        for scope in found:
            _set(scope, "handler", f"OpenAPI operation {op.get('method').upper()} {op.get('path')} "
                                   f"at {op.path}:{op.start}", op)


def _inherit_admin_guards(model: ProjectModel) -> None:
    """A class deriving (through the project's own classes, by base name) from an admin-only
    class or mixin is admin-only too: indico's `RHAdminBase` and the views built on it."""
    guarded = {s.name for f in model.facts if f.kind == "admin-only"
               for s in model.scopes.get(f.path, ()) if s.kind == "class" and s.start == f.start}
    for scope, parent in _derived_classes(model, guarded, done=lambda s: s.name in guarded):
        guarded.add(scope.name)
        model.facts.append(Fact("admin-only", scope.path, scope.start, scope.end,
                                (("guard", f"derives from {parent}"),), "source.admin-guard"))


def _inherit_to_methods(model: ProjectModel) -> None:
    """Methods of a view, resolver, task or command class run in its context; functions
    nested in an entry point run in it too (place() walks outward for those)."""
    for scopes in model.scopes.values():
        for cls in scopes:
            if cls.kind != "class" or cls.context is None:
                continue
            for fn in scopes:
                if fn.kind != "function" or not (cls.start < fn.start and fn.end <= cls.end):
                    continue
                if fn.context is None:
                    fn.context, fn.reason, fn.route = cls.context, f"method of {cls.name}: {cls.reason}", cls.route
                elif fn.route is None and fn.context == cls.context:
                    fn.route = cls.route


# -- OpenAPI specs (connexion) -----------------------------------------------------------

def openapi_operations(root: Path, model: ProjectModel) -> list[Fact]:
    """Operations with an `operationId` in the OpenAPI/Swagger files under `root`
    (connexion routes them to the named function). Read with a safe loader; never
    executed."""
    ops: list[Fact] = []
    tops = [root / d for d in model.project_dirs if (root / d).is_dir()] or [root]
    for dirpath, dirnames, filenames in (step for top in tops for step in os.walk(top)):
        dirnames[:] = sorted(d for d in dirnames if d not in SPEC_SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if not name.endswith(SPEC_SUFFIXES):
                continue
            full = Path(dirpath) / name
            try:
                if full.stat().st_size > SPEC_MAX_BYTES:
                    continue
                text = full.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if "operationId" not in text or ("openapi" not in text and "swagger" not in text):
                continue
            rel = full.relative_to(root).as_posix()
            where = model.path_context(rel)
            if where and where[0] == "test":
                continue
            ops.extend(_operations(text, rel, name.endswith(".json")))
    return ops


def _operations(text: str, rel: str, is_json: bool) -> list[Fact]:
    try:
        doc = json.loads(text) if is_json else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return []
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        return []
    lines = text.splitlines()
    out = []
    for route, item in doc["paths"].items():
        if not isinstance(item, dict):
            continue
        path_controller = item.get("x-openapi-router-controller", "")
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict) or not isinstance(op.get("operationId"), str):
                continue
            op_id = op["operationId"]
            line = next((i + 1 for i, ln in enumerate(lines) if op_id in ln and "operationId" in ln), 1)
            controller = op.get("x-openapi-router-controller", path_controller) or doc.get("x-openapi-router-controller", "")
            out.append(Fact(kind="operation", path=rel, start=line, end=line, rule="openapi",
                            attrs=(("framework", "connexion"), ("method", method), ("path", str(route)),
                                   ("operationId", op_id), ("controller", str(controller)))))
    return out


def _unquote(text: str) -> str:
    text = text.strip()
    m = re.match(r"^[rbuRBU]{0,2}(['\"])(.*)\1$", text, re.S)
    return m.group(2) if m else text


# -- what `backend-review model` shows -------------------------------------------------

def describe(model: ProjectModel) -> dict:
    """The model as plain data: routes, entry points by context, settings, wrappers,
    validators, registrations that named nothing scanned, and file counts per context."""
    def loc(scope: Scope) -> dict:
        return {"path": scope.path, "line": scope.start, "name": scope.name, "context": scope.context,
                "reason": scope.reason}

    def route_row(s: Scope, method: str | None = None) -> dict:
        r = s.route
        return {"method": method or http_methods(r), "path": _unquote(r.get("path")) or r.get("path"),
                "framework": r.get("framework"), "handler": loc(s),
                "registered_at": {"path": r.path, "line": r.start}}

    routes = []
    for path, scopes in model.scopes.items():
        if not model.deployed(path):
            continue
        for s in scopes:
            if s.context != "handler" or s.route is None:
                continue
            cls = next((c for c in scopes if c.kind == "class" and c.route is s.route and c is not s
                        and c.start < s.start <= s.end <= c.end), None)
            if s.kind == "function" and cls is None:
                routes.append(route_row(s))
            elif s.kind == "function" and s.name in VIEW_METHODS:
                routes.append(route_row(s, s.name.upper() if s.name in HTTP_METHODS else None))
            elif s.kind == "class" and not any(f.kind == "function" and f.route is s.route and f.name in VIEW_METHODS
                                                 and s.start < f.start <= f.end <= s.end for f in scopes):
                routes.append(route_row(s))  # a viewset or view with no handler method of its own
    entry = {c: [loc(s) for s in model.entry_points() if s.context == c] for c in ("handler", "resolver", "job", "cli")}
    settings, seen = [], set()
    for f in model.facts:
        if f.kind in ("setting", "settings-module", "celery-app") and model.deployed(f.path):
            key = _unquote(f.get("key"))
            if (f.path, f.start, key) not in seen:
                seen.add((f.path, f.start, key))
                settings.append({"path": f.path, "line": f.start, "framework": f.get("framework"), "key": key})
    helpers = {kind: [{"path": f.path, "line": f.start, "name": f.get("name"), "kind": f.get("sets") or f.get("for")}
                      for f in model.facts if f.kind in kinds] for kind, kinds in
               (("wrapper", ("wrapper", "timeout-patch")), ("validator", ("validator",)))}
    files: dict[str, str] = {}
    for path in sorted(set(model.files) | {f.path for f in model.facts}):
        where = model.path_context(path) or model.file_contexts.get(path)
        contexts = {s.context for s in model.scopes.get(path, ()) if s.context}
        files[path] = where[0] if where else (sorted(contexts)[0] if len(contexts) == 1 else
                                              "mixed" if contexts else "library")
    counts: dict[str, int] = {}
    for ctx in files.values():
        counts[ctx] = counts.get(ctx, 0) + 1
    return {
        "routes": sorted(routes, key=lambda r: (r["handler"]["path"], r["handler"]["line"])),
        "entry_points": entry,
        "settings": settings,
        "wrappers": helpers["wrapper"],
        "validators": helpers["validator"],
        "login_limiters": [{"path": f.path, "line": f.start, "framework": f.get("framework")}
                           for f in model.of_kind("login-limiter") if model.deployed(f.path)],
        "login_forms_with_limits": [{"path": f.path, "line": f.start, "name": f.get("name")}
                                    for f in model.of_kind("form-login-limiter") if model.deployed(f.path)],
        "admin_only": [{"path": f.path, "line": f.start, "guard": f.get("guard")} for f in model.facts
                       if f.kind == "admin-only" and model.deployed(f.path)
                       and model.place(f.path, f.start).context in ENTRY_POINTS],
        "commit_deferred_tasks": [{"name": f.get("name"), "base": f.get("base"), "path": f.path, "line": f.start}
                                  for f in model.of_kind("task-base") if f.get("name") in model.commit_deferred_tasks],
        "unresolved": [{"path": f.path, "line": f.start, "kind": f.kind,
                        "target": f.get("target") or f.get("operationId")} for f in model.unresolved],
        "files_by_context": dict(sorted(counts.items())),
    }
