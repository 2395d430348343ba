"""`backend-review model` as text: what the project model recognised, for a person to
check (CodeQL's RequestHandlers meta query is the idea: show what the engine believes)."""
from __future__ import annotations

from backend_review.report.text import clean


def _where(item: dict) -> str:
    return f"{item['path']}:{item['line']}"


def text(view: dict) -> str:
    out: list[str] = []

    def section(title: str, rows: list[str]) -> None:
        out.append(f"{title} ({len(rows)})")
        out.extend(f"  {clean(r)}" for r in rows)
        out.append("")

    section("Routes", [f"{r['method']:<7} {r['path'] or '-':<40} {r['handler']['name']}  {_where(r['handler'])}"
                       + ("" if r["registered_at"]["path"] == r["handler"]["path"]
                          and r["registered_at"]["line"] == r["handler"]["line"]
                          else f"  (registered at {_where(r['registered_at'])})")
                       for r in view["routes"]])
    titles = {"handler": "Request handlers", "resolver": "GraphQL resolvers", "job": "Background jobs",
              "cli": "Command-line entry points"}
    for ctx, title in titles.items():
        section(title, [f"{e['name']}  {_where(e)}  {e['reason']}" for e in view["entry_points"][ctx]])
    section("Settings", [f"{s['framework']:<8} {s['key'] or '(app)'}  {_where(s)}" for s in view["settings"]])
    section("Project wrappers", [f"{w['name']} (sets {w['kind']})  {_where(w)}" for w in view["wrappers"]])
    section("Project validators", [f"{v['name']} ({v['kind']})  {_where(v)}" for v in view["validators"]])
    section("Login limiters for every authenticate() call (django-axes, django-defender)",
            [f"{v['framework']}  {_where(v)}" for v in view["login_limiters"]])
    section("Login forms that rate-limit in clean() (limit the login views that render them)",
            [f"{v['name']}  {_where(v)}" for v in view["login_forms_with_limits"]])
    section("Administrators-only entry points", [f"{a['guard']}  {_where(a)}" for a in view["admin_only"]])
    section("Tasks enqueued after the commit (their base defers apply_async to on_commit)",
            [f"{t['name']} (base={t['base']})  {_where(t)}" for t in view["commit_deferred_tasks"]])
    if view["unresolved"]:
        section("Registrations naming nothing scanned", [f"{u['kind']} {u['target']}  {_where(u)}"
                                                          for u in view["unresolved"]])
    counts = ", ".join(f"{k} {v}" for k, v in view["files_by_context"].items())
    out.append(f"Files by context: {counts or 'none'}")
    return "\n".join(out) + "\n"
