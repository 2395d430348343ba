"""Judge every finding in its context (the project model), then keep one per root cause.

Each rule says, in its metadata, where it applies:

    contexts:          severity per context, or `off` to drop the finding there;
                       every rule is `off` in `test` and `migration` unless it says otherwise
    entry-point-only:  the rule's candidates come from any function (e.g. any parameter);
                       keep them only in handlers and resolvers
    aggregate:         (every rule: one finding per statement, i.e. per rule, file and line)
      per: function    one finding per rule and function, the other places related
      per: class       one per rule and outermost class (a view class), else per function
      per: file        one per rule and file (a module of client factories, one per provider)
      per: value       one per rule and value (the last string literal of the matched line),
                       e.g. one key copied into several modules; the other places related
      per: project     one finding per rule for the whole scan, placed on the first fact of
                       kind `anchor` (the Celery app, the settings module) when there is one;
                       none at all when a setting in `unless-setting` is defined anywhere,
                       or when `anchor-required` and the scan holds no such fact, or when the
                       only such facts are in code the rule is off for (a devproject/);
                       `anchor-near`: setting names; on the anchor module's first of them
                       (a missing EMAIL_TIMEOUT beside EMAIL_HOST), where it has one
    validated-by:      fact kinds (e.g. `validator`) whose functions, called in the same
                       function as the finding, make it safe
    wrapped-by:        fact kinds (e.g. `wrapper`) inside which the finding is the wrapper's
                       own default, not a defect
    unless-fact:       fact kinds (e.g. `timeout-patch`) whose presence anywhere in the project's
                       deployed code settles the rule for every call (pretix patches
                       HTTPAdapter.send); not in tests or a test settings module
    overridden-by-importers: true
                       no finding on a module-level Django setting that another scanned
                       module star-imports (`from .base import *`) and then assigns again:
                       the importing settings module decides what deployments get
    requires-layer:    module or package names (e.g. `services`, `daos`); the rule applies
                       only to projects that have one (a layer the finding would bypass)
    skip-commit-deferred-tasks: true
                       an enqueue (`name.delay(...)`, `name.apply_async(...)`) of a task whose
                       base class defers `apply_async` to `transaction.on_commit` (a fact of
                       another file) is not a finding
    unless-only-logged: true
                       no finding when the matched value is assigned to a local variable that
                       the function only passes to logging calls (`log.error(f"... {ip}")`):
                       a log line records the value, it decides nothing
    superseded-by:     rule ids; no finding in a function or view class where one of those
                       rules already reports, or in a module where one reports at module level
                       (a framework's own rule, or the app without a limiter, said it already)
    class-named-in:    fact kinds (e.g. `list-serializer`); keep the finding only in a class
                       that such a fact names somewhere in the project (a serializer rendered
                       with many=True or as a listing view's serializer_class)
    called-from-async: true
                       keep the finding only inside a synchronous function that an async
                       function on a server's event loop calls (directly or through up to two
                       more helpers; calls.py); the async call is a related place
    admin-only:        severity (or `off`) in a handler only the site's administrators reach
                       (`@staff_member_required`, `Depends(check_admin)`, `IsAdminUser`): for
                       rules whose attacker is the caller (a path or URL the admin chooses)
"""
from __future__ import annotations

import ast
import dataclasses
import re
import textwrap

from backend_review.finding import Finding, Region, Related, Severity
from backend_review.fingerprint import finding_fingerprint, line_hashes
from backend_review.model import ENTRY_POINTS, FASTAPI_DEPENDENCY, Fact, ProjectModel, dotted_name, last_name

DEFAULT_CONTEXTS = {"test": "off", "migration": "off"}


def policy(rule) -> dict[str, str]:
    return {**DEFAULT_CONTEXTS, **(rule.raw.get("metadata", {}).get("contexts") or {})}


def apply(findings: list[Finding], model: ProjectModel, rules_by_id: dict, lines_of) -> list[Finding]:
    kept: list[Finding] = []
    for f in findings:
        rule = rules_by_id[f.rule_id]
        meta = rule.raw.get("metadata", {})
        placement = model.place(f.path, f.region.start_line)
        if meta.get("entry-point-only") and placement.context not in ENTRY_POINTS:
            continue
        level = policy(rule).get(placement.context)
        if level == "off":
            continue
        if _validated(f, meta.get("validated-by"), model, lines_of) or _wrapped(f, meta.get("wrapped-by"), model):
            continue
        if _constrained_sources(f, rule, model, lines_of):
            continue
        if meta.get("skip-commit-deferred-tasks") and _enqueues_commit_deferred_task(f, model):
            continue  # the task's own class waits for the commit
        if model.settled_by(meta.get("unless-fact") or ()):
            continue  # the project settles it once for every call (e.g. a global timeout patch)
        if meta.get("unless-only-logged") and _only_logged(f, model, lines_of):
            continue
        if meta.get("overridden-by-importers") and model.overriding_setting(f.path, f.region.start_line):
            continue  # a settings module that star-imports this one sets the value deployments get
        if meta.get("requires-layer") and not model.has_layer(meta["requires-layer"]):
            continue  # no service or data-access layer to bypass: querying in the handler is the design
        if meta.get("class-named-in") and not _class_named_in(f, meta["class-named-in"], model):
            continue  # e.g. a serializer no list renders: a per-row query there runs once
        loop_call = None
        if meta.get("called-from-async"):
            loop_call = _loop_call(f, model)
            if loop_call is None:
                continue  # no async function calls this helper on the event loop
        f.context, f.context_reason = placement.context, placement.reason
        if loop_call is not None:
            f.context_reason += f"; called on the event loop by async {loop_call.async_name}"
            f.related.append(Related(loop_call.path, Region(loop_call.line, 1, loop_call.line, 1),
                                     f"called on the event loop by async {loop_call.async_name}"))
        admin = meta.get("admin-only")
        if admin and placement.context in ENTRY_POINTS:
            guard = model.admin_guard(f.path, f.region.start_line)
            if guard is not None:
                if admin == "off":
                    continue  # the caller is the site's administrator: the rule's attacker is not
                level = admin
                f.context_reason += f"; only administrators reach it ({guard.get('guard')})"
        if level:
            f.severity = Severity.parse(level)
        route, scope = placement.route, placement.scope
        if route is not None and scope is not None and (route.path, route.start) != (scope.path, scope.start):
            f.related.append(Related(route.path, Region(route.start, 1, route.end, 1),
                                     f"registered here: {placement.reason}"))
        kept.append(f)
    return _without_superseded(_aggregate(kept, model, rules_by_id, lines_of), model, rules_by_id)


def _without_superseded(findings: list[Finding], model: ProjectModel, rules_by_id: dict) -> list[Finding]:
    """Drop a finding of a rule with `superseded-by` where a named rule reports in the same
    function or outermost class, or at module level in the same module: one root cause,
    reported once, by the more precise rule. Nothing to do when no finding's rule names one."""
    superseded_by = {f.rule_id: rules_by_id[f.rule_id].raw.get("metadata", {}).get("superseded-by") or ()
                     for f in findings}
    superseding = {other for by in superseded_by.values() for other in by}
    if not superseding:
        return findings

    def scopes(f: Finding) -> set[tuple]:
        line = f.region.start_line
        return {(f.path, s.start) for s in (model.enclosing_function(f.path, line),
                                             model.enclosing(f.path, line, "class", outermost=True)) if s}

    reported: dict[str, set[tuple]] = {}
    for f in findings:  # a module-level finding (the app without a limiter) covers its module
        if f.rule_id in superseding:
            reported.setdefault(f.rule_id, set()).update(scopes(f) or {(f.path, 0)})
    out = []
    for f in findings:
        by = superseded_by[f.rule_id]
        if by and any((scopes(f) | {(f.path, 0)}) & reported.get(other, set()) for other in by):
            continue
        out.append(f)
    return out


def _class_named_in(f: Finding, kinds, model: ProjectModel) -> bool:
    """Whether the class around the finding is one that facts of these kinds name anywhere in
    the project (`UserSerializer(users, many=True)`, `serializer_class = UserSerializer`)."""
    cls = model.enclosing(f.path, f.region.start_line, "class", outermost=True)
    return cls is not None and cls.name in {last_name(n) for k in kinds for n in model.names_of(k)}


def _loop_call(f: Finding, model: ProjectModel):
    """The async call through which the synchronous function around the finding runs on the
    event loop, if one does."""
    scope = model.enclosing_function(f.path, f.region.start_line)
    return model.loop_helpers.get((scope.path, scope.start)) if scope is not None else None


def _names_called(text: str, names: set[str]) -> bool:
    return any(re.search(rf"\b{re.escape(n)}\s*\(", text) for n in names)


def _validated(f: Finding, kinds, model: ProjectModel, lines_of) -> bool:
    if not kinds:
        return False
    names = set().union(*(model.names_of(k) for k in kinds))
    scope = model.enclosing_function(f.path, f.region.start_line)
    if not names or scope is None:
        return False
    body = "\n".join(lines_of(f.path)[scope.start - 1:scope.end])
    return _names_called(body, names)


ENQUEUE = re.compile(r"\b(\w+)\s*\.\s*(?:delay|apply_async)\s*\(")


def _enqueues_commit_deferred_task(f: Finding, model: ProjectModel) -> bool:
    first_line = f.snippet.split("\n", 1)[0]  # the matched call's line, already read for the snippet
    return any(name in model.commit_deferred_tasks for name in ENQUEUE.findall(first_line))


# Parameter types a web framework validates into a value that cannot carry a payload, and
# parameters the server resolves itself (the source model's exclusions).
SCALAR_TYPES = frozenset({"int", "float", "bool", "UUID", "date", "datetime", "time", "Decimal", "None"})
SERVER_TYPES = frozenset({"Request", "Response", "WebSocket", "BackgroundTasks", "Session", "AsyncSession",
                          "SecurityScopes", "HTTPConnection"})
TYPE_WRAPPERS = frozenset({"Optional", "Union", "typing", "Annotated"})
REQUEST_READ = re.compile(r"\b(request|req)\s*\.")


def _constrained_sources(f: Finding, rule, model: ProjectModel, lines_of) -> bool:
    """Whether a taint finding's handler has no source but parameters typed as a `Literal` or one
    of the project's Enums. FastAPI (and pydantic) reject any other value before the handler
    runs, so no client text reaches the sink. Semgrep's taint is intraprocedural, so when the
    handler has no free-text parameter and reads nothing from `request`, the taint came from
    one of those."""
    if rule.raw.get("mode") != "taint":
        return False
    scope = model.enclosing_function(f.path, f.region.start_line)
    if scope is None or scope.context not in ENTRY_POINTS:
        return False
    node = _function_node(f.path, scope, lines_of)
    if node is None:
        return False
    body = "\n".join(lines_of(f.path)[node.body[0].lineno - 1:scope.end]) if node.body else ""
    if REQUEST_READ.search(body):
        return False
    args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    defaults = dict(zip([a.arg for a in [*node.args.posonlyargs, *node.args.args]][::-1], node.args.defaults[::-1]))
    defaults.update({a.arg: d for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults) if d is not None})
    if node.args.vararg or node.args.kwarg:
        return False
    enums, constrained = model.enum_classes, False
    for arg in args:
        if arg.arg in ("self", "cls"):
            continue
        default = defaults.get(arg.arg)
        if isinstance(default, ast.Call) and last_name(ast.unparse(default.func)) in FASTAPI_DEPENDENCY:
            continue
        kind = _parameter_kind(arg.annotation, enums)
        if kind == "free":
            return False
        constrained |= kind == "constrained"
    return constrained


def _parameter_kind(annotation, enums: frozenset[str]) -> str:
    """`constrained` (Literal, a project Enum), `server` (resolved by the framework, a scalar) or `free`."""
    if annotation is None:
        return "free"
    text = ast.unparse(annotation)
    if re.search(r"\b(Depends|Security)\(", text) or re.search(r"(Dep|Deps|Dependency)$", text):
        return "server"
    inner = re.match(r"(typing\.)?Annotated\[(.*)\]$", text)
    if inner and isinstance(annotation, ast.Subscript) and isinstance(annotation.slice, ast.Tuple):
        return _parameter_kind(annotation.slice.elts[0], enums)
    if re.match(r"(Optional\[)?(typing\.)?Literal\[", text):
        return "constrained"
    names = {last_name(n) for n in re.findall(r"[A-Za-z_][\w.]*", text)} - TYPE_WRAPPERS
    if names and names <= SCALAR_TYPES | SERVER_TYPES:
        return "server"
    if names and names <= SCALAR_TYPES | enums:
        return "constrained"
    return "free"


def _function_node(path: str, scope, lines_of):
    """The `ast` node of a function scope (its signature and body), or None."""
    text = "\n".join(lines_of(path)[scope.start - 1:scope.end])
    try:
        tree = ast.parse(textwrap.dedent(text))
    except (SyntaxError, ValueError, RecursionError):
        return None
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    for n in ast.walk(node):  # line numbers of the file, not of the snippet
        if hasattr(n, "lineno"):
            n.lineno += scope.start - 1
        if getattr(n, "end_lineno", None) is not None:
            n.end_lineno += scope.start - 1
    return node


LOG_CALL = re.compile(r"^(?:[\w.]*\.)?_?(?:log|logger|logging|LOG|LOGGER|audit_log)\."
                      r"(?:debug|info|warning|warn|error|exception|critical|log)$|^print$")


def _only_logged(f: Finding, model: ProjectModel, lines_of) -> bool:
    """Whether the finding's value is assigned to local names that the function reads only
    inside logging calls (not returned, compared, stored or passed on)."""
    scope = model.enclosing_function(f.path, f.region.start_line)
    node = _function_node(f.path, scope, lines_of) if scope is not None else None
    if node is None:
        return False
    line = f.region.start_line
    assigns = [n for n in ast.walk(node) if isinstance(n, ast.Assign) and n.lineno <= line <= (n.end_lineno or n.lineno)
               and all(isinstance(t, ast.Name) for t in n.targets)]
    if not assigns:
        return False
    names = {t.id for t in assigns[-1].targets}
    in_log_calls = {id(n) for call in ast.walk(node) if isinstance(call, ast.Call)
                    and LOG_CALL.match(dotted_name(call.func) or "") for n in ast.walk(call)}
    reads = [n for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in names and isinstance(n.ctx, ast.Load)]
    return bool(reads) and all(id(n) in in_log_calls for n in reads)


def _wrapped(f: Finding, kinds, model: ProjectModel) -> bool:
    if not kinds:
        return False
    scope = model.enclosing_function(f.path, f.region.start_line)
    return scope is not None and any(
        fact.path == f.path and fact.start == scope.start and fact.kind in kinds for fact in model.facts)


def _aggregate(findings: list[Finding], model: ProjectModel, rules_by_id: dict, lines_of) -> list[Finding]:
    out: list[Finding] = []
    groups: dict[tuple, Finding] = {}
    project: dict[str, list[Finding]] = {}
    statements: set[tuple] = set()
    for f in sorted(findings, key=lambda f: (f.path, f.region.start_line, f.region.start_column, f.rule_id)):
        statement = (f.rule_id, f.path, f.region.start_line)
        if statement in statements:  # one finding per rule and statement (a rule matching twice on one line)
            continue
        statements.add(statement)
        spec = rules_by_id[f.rule_id].raw.get("metadata", {}).get("aggregate") or {}
        per = spec.get("per")
        if per == "project":
            project.setdefault(f.rule_id, []).append(f)
            continue
        joined = _group_of(f, per, model)
        if joined is not None:
            key, again = joined
            if key in groups:
                groups[key].related.append(Related(f.path, f.region, again))
                continue
            groups[key] = f
        out.append(f)
    for rule_id, group in project.items():
        merged = _one_for_project(group, rules_by_id[rule_id], model, lines_of)
        if merged is not None:
            out.append(merged)
    return out


def _group_of(f: Finding, per, model: ProjectModel) -> tuple[tuple, str] | None:
    """The group a finding joins under `aggregate: per:` (its key, and how a related place is
    described), or None: one finding of its own."""
    if per == "value":
        literal = _value_literal(f.snippet)
        return ((f.rule_id, literal), "the same value again") if literal else None
    if per == "file":
        return (f.rule_id, f.path, 0), "same problem again in this file"
    if per in ("function", "class"):
        scope = ((model.enclosing(f.path, f.region.start_line, "class", outermost=True) if per == "class" else None)
                 or model.enclosing_function(f.path, f.region.start_line))
        where = "class" if scope is not None and scope.kind == "class" else "function"
        return ((f.rule_id, f.path, scope.start if scope else f.region.start_line),
                f"same problem again in this {where}")
    return None


def _near_setting(anchor: Fact, keys, model: ProjectModel) -> Fact:
    """The first assignment in the anchor's module of one of `keys` (the e-mail settings for a
    missing EMAIL_TIMEOUT): the fix goes beside them, not beside INSTALLED_APPS."""
    near = sorted((f for f in model.facts if f.kind == "setting" and f.path == anchor.path
                   and f.get("key") in keys), key=lambda f: f.start)
    return near[0] if near else anchor


_LITERAL = re.compile(r"""(['"])((?:\\.|(?!\1).)+)\1""")


def _value_literal(code: str) -> str | None:
    """The last string literal of a matched line: the value of `KEY = "..."` or `"key": "..."`."""
    found = _LITERAL.findall(code)
    return found[-1][1] if found else None


def _one_for_project(group: list[Finding], rule, model: ProjectModel, lines_of) -> Finding | None:
    spec = rule.raw["metadata"]["aggregate"]
    settled = set(spec.get("unless-setting") or ()) & model.setting_keys()
    if settled:
        return None
    found = model.of_kind(spec.get("anchor", ""))
    # an app or settings module in code the rule is off for (a package's devproject/, a test
    # settings module) is not where the deployed project configures it
    anchors = sorted((a for a in found if policy(rule).get(model.place(a.path, a.start).context) != "off"),
                     key=lambda f: (f.path, f.start))
    if not anchors and (spec.get("anchor-required") or found):
        return None  # the setting belongs to a project the scan does not hold (a reusable app)
    first = group[0]
    related = [Related(g.path, g.region, "affected here") for g in group]
    if anchors:
        a = _near_setting(anchors[0], spec.get("anchor-near") or (), model)
        lines = lines_of(a.path)
        code = lines[a.start - 1] if 0 < a.start <= len(lines) else ""
        end_col = len(code) + 1
        merged = dataclasses.replace(
            first, path=a.path, region=Region(a.start, 1, a.start, end_col), snippet=code,
            fingerprint=finding_fingerprint(rule.id, a.path, code, 1),
            line_hash=line_hashes("\n".join(lines)).get(a.start, "") if lines else "",
            # a place on the finding's own line (the settings line that marks the use) is the finding
            related=[r for r in related if (r.path, r.region.start_line) != (a.path, a.start)],
            context="settings", context_reason=f"one finding for the project at its {spec['anchor']}")
        return merged
    first.related = related[1:]
    return first
