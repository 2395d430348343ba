"""Decorator and base-class facts (`decorators:` and `bases:` in facts/<language>/*.yaml)
are matched on the runner's own reading of the source, not by the engine: each one is a
route, handler, job, CLI command or resolver mark the model joins like an engine fact."""
import textwrap

import pytest

from backend_review import model as model_mod
from backend_review.model import read_source


def facts_of(source: str, path: str = "shop/views.py"):
    _, facts = read_source(path, textwrap.dedent(source))
    return [(f.kind, f.start, dict(f.attrs)) for f in sorted(facts, key=lambda f: (f.start, f.kind, f.attrs))]


def test_route_decorators_carry_path_method_and_router():
    got = facts_of('''
        @bp.route("/orders", methods=["GET", "POST"])
        @login_required
        def orders():
            pass

        @router.get("/items/{item_id}")
        async def item(item_id: int):
            pass

        @router.get(ITEM_PATH)
        async def not_a_literal_path():
            pass
    ''')
    assert got == [
        ("route", 2, {"framework": "flask", "path": "'/orders'", "method": "route", "router": "bp",
                      "methods": "['GET', 'POST']", "via": "bp.route"}),
        ("route", 7, {"framework": "fastapi", "path": "'/items/{item_id}'", "method": "get", "router": "router",
                      "via": "router.get"}),
    ]


def test_routes_without_a_path_argument_take_path_and_method_from_keywords_or_the_name():
    got = facts_of('''
        from cornice import Service
        from pyramid.view import view_config

        orders = Service(name="orders", path="/orders")

        @view_config(route_name="login", request_method=("GET", "POST"), renderer="json")
        def login(request):
            pass

        @view_config(context=HTTPForbidden)
        def forbidden(request):
            pass

        @orders.post(validators=(valid_order,))
        def create_order(request):
            pass

        @index.when(method="PUT", template="json")
        def on_put(self):
            pass

        @pecan.expose("json")
        def get_all(self):
            pass

        @expose("/list/")
        def list(self):
            pass

        @rpc_method(name="Auth.login")
        def login(username, password, **kwargs):
            pass
    ''')
    assert got == [
        ("route", 7, {"framework": "pyramid", "path": "'login'", "methods": "('GET', 'POST')", "via": "view_config"}),
        ("route", 11, {"framework": "pyramid", "via": "view_config"}),
        ("route", 15, {"framework": "cornice", "method": "post", "router": "orders", "via": "orders.post"}),
        ("route", 19, {"framework": "pecan", "methods": "'PUT'", "via": "index.when"}),
        ("route", 23, {"framework": "pecan", "via": "pecan.expose"}),
        # a bare `expose` is Flask-AppBuilder's too: its views are known by their base class
        # django-modernrpc: a JSON-RPC and XML-RPC method served by the web app
        ("route", 31, {"framework": "modernrpc", "path": "'Auth.login'", "via": "rpc_method"}),
    ]


def test_a_decorator_spec_takes_the_path_from_an_argument_or_from_keywords_not_both(tmp_path, monkeypatch):
    assert_bad_facts_file(tmp_path, monkeypatch, "web.yaml",
                          "decorators:\n  - kind: route\n    name: ^route$\n    path: any\n    path_from: route_name\n",
                          r"python/web.yaml: decorators\[0\]: path takes the path")


def test_aiohttp_route_table_needs_the_table_assigned_in_the_module():
    table = facts_of('''
        from aiohttp import web
        routes = web.RouteTableDef()

        @routes.route("*", "/path")
        async def any_method(request):
            pass
    ''')
    assert [(k, a["framework"]) for k, _, a in table] == [("route", "aiohttp"), ("route", "flask")]
    # the same decorator on something else is not an aiohttp route
    assert facts_of('''
        @routes.route("*", "/path")
        async def any_method(request):
            pass
    ''') == [("route", 2, {"framework": "flask", "path": "'*'", "method": "route", "router": "routes",
                           "via": "routes.route"})]


def test_jobs_commands_and_views_by_decorator():
    got = facts_of('''
        @shared_task
        def bare(): pass

        @app.task(bind=True, max_retries=3)
        def called(self): pass

        @dramatiq.actor(max_retries=0)
        def actor(): pass

        @huey.db_periodic_task(crontab(minute="0"))
        def periodic(): pass

        @job("default")
        def rq_job(): pass

        @click.command()
        def cli(): pass

        @task(help={"settings-path": "Path to settings"})
        def load_fixtures(context, settings_path=None): pass

        @task
        def send_report(report_id): pass

        @require_POST
        def view(request): pass

        @login_required
        def helper(user): pass

        @action(detail=True, methods=["post"])
        def approve(self, request, pk=None): pass

        @cache.memoize()
        def unrelated(): pass
    ''')
    assert [(k, a.get("framework", ""), a["via"]) for k, _, a in got] == [
        ("job", "celery", "shared_task"), ("job", "celery", "app.task"), ("job", "dramatiq", "dramatiq.actor"),
        ("job", "huey", "huey.db_periodic_task"), ("job", "rq", "job"), ("cli", "", "click.command"),
        ("cli", "invoke", "task"), ("handler", "django", "require_POST"), ("handler", "drf", "action")]


def test_graphql_resolvers_by_decorator():
    got = facts_of('''
        @strawberry.mutation
        def cancel_order(self, info, order_id: int) -> bool: pass

        @query.field("orders")
        def resolve_orders(obj, info): pass
    ''')
    assert [(k, a["framework"], a["field"]) for k, _, a in got] == [
        ("resolver", "strawberry", "cancel_order"), ("resolver", "ariadne", "'orders'")]


def test_classes_by_base():
    got = facts_of('''
        class OrderList(generics.ListAPIView):
            pass

        class Rebuild(BaseCommand):
            pass

        class Charge(celery.Task):
            pass

        class CancelOrder(graphene.Mutation):
            pass

        class Order(models.Model):
            pass
    ''')
    assert [(k, a["framework"], a["via"]) for k, _, a in got] == [
        ("handler-class", "django", "generics.ListAPIView"), ("cli-class", "django", "BaseCommand"),
        ("job-class", "celery", "celery.Task"), ("resolver-class", "graphene", "graphene.Mutation")]


def test_newer_syntax_still_yields_decorator_and_base_facts():
    # PEP 695 (3.12+) does not parse on the runner's Python 3.11: scopes by indentation, and
    # each decorator parsed alone, also across lines
    got = facts_of('''
        type Handler = object
        routes = web.RouteTableDef()

        @router.post(
            "/orders",  # the path
            status_code=201,
        )
        async def create(order: Order):
            pass

        @routes.get("/health")
        async def health(request):
            pass

        class Rebuild(BaseCommand):
            def handle(self, *args, **options):
                pass
    ''')
    assert [(k, line, a["via"], a.get("path")) for k, line, a in got] == [
        ("route", 5, "router.post", "'/orders'"), ("route", 12, "routes.get", "'/health'"),
        ("route", 12, "routes.get", "'/health'"), ("cli-class", 16, "BaseCommand", None)]


def assert_bad_facts_file(tmp_path, monkeypatch, name: str, text: str, error: str):
    """Loading a facts folder holding only `name` fails with an error matching `error`."""
    lang = tmp_path / "facts" / "python"
    lang.mkdir(parents=True)
    (lang / name).write_text(text)
    monkeypatch.setattr(model_mod.paths, "facts_dir", lambda: tmp_path / "facts")
    model_mod.source_fact_specs.cache_clear()
    try:
        with pytest.raises(ValueError, match=error):
            model_mod.source_fact_specs("python")
    finally:
        model_mod.source_fact_specs.cache_clear()


def test_a_bad_decorator_spec_names_its_file_and_entry(tmp_path, monkeypatch):
    assert_bad_facts_file(tmp_path, monkeypatch, "shop.yaml",
                          "decorators:\n  - kind: job\n    name: ^task$\n    forms: call\n",
                          r"python/shop.yaml: decorators\[0\]: unknown key\(s\) forms")


def test_the_shipped_facts_files_load():
    decorators, bases = model_mod.source_fact_specs("python")
    assert {d.kind for d in decorators} == set(model_mod.FUNCTION_KINDS)
    assert {b.kind for b in bases} == set(model_mod.CLASS_KINDS)


def test_a_mock_patch_decorator_is_not_a_route():
    assert facts_of('''
        @mock.patch("shop.payments.capture")
        def check_capture(capture):
            pass
    ''') == []


def test_timeout_wrappers():
    got = facts_of('''
        def call(method, url, **kwargs):
            kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
            return _session.request(method, url, **kwargs)

        def get_json(url, params=None, timeout=10):
            return requests.get(url, params=params, timeout=timeout).json()

        def post(url, **options):
            options["timeout"] = options.get("timeout") or 5
            return requests.post(url, **options)

        def fetch(url, timeout):
            # no default: the caller decides, which is what the timeout rule checks at the call
            return requests.get(url, timeout=timeout)

        def log_timeout(logger, timeout=5):
            logger.warning("timed out after %s", timeout)
    ''')
    assert [(k, a["name"]) for k, _, a in got] == [("wrapper", "call"), ("wrapper", "get_json"), ("wrapper", "post")]


def test_a_timeout_parameter_defaulting_to_none_is_not_a_wrapper():
    assert facts_of('''
        async def handle(lnurl, *, timeout: int | None = None):
            async with httpx.AsyncClient() as client:
                return await client.get(lnurl, timeout=timeout)

        async def fetch(url, *, timeout: float = 10.0):
            async with httpx.AsyncClient() as client:
                return await client.get(url, timeout=timeout)
    ''') == [("wrapper", 6, {"name": "fetch", "sets": "timeout"})]
