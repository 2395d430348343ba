"""The project model on realistic apps, one per registration style (issue #11).

Every test runs the real command: `backend-review model APP --format json` for what the
model recognised (routes with method, path and handler path:line; entry points per
context; settings; wrappers and validators), and `backend-review scan APP --format json`
for the join (the same rule reported in a handler, off in a CLI, test or migration,
lowered in a job, kept or dropped by the project's own validators and wrappers).

Tests marked xfail(strict=True) name a gap the model or the pack has today; each one
starts passing (and then fails as XPASS, so the mark must go) when the gap is fixed.
"""
import json

import pytest

from conftest import ROOT, rule_findings

APPS = "fixtures/apps"

_cache: dict = {}


def _run_json(cli, *args):
    key = args
    if key not in _cache:
        proc = cli(*args, "--format", "json")
        assert proc.returncode == 0, proc.stderr
        _cache[key] = json.loads(proc.stdout)
    return _cache[key]


def model_of(cli, app):
    return _run_json(cli, "model", f"{APPS}/{app}")


def scan_of(cli, app):
    return _run_json(cli, "scan", f"{APPS}/{app}", "--fail-on", "never", "--preview")


def rel(app, path):
    prefix = f"{APPS}/{app}/"
    assert path.startswith(prefix), path
    return path[len(prefix):]


def routes(app, model):
    """{(method, path): (handler file, line, name, registered-at file, line)}"""
    out = {}
    for r in model["routes"]:
        key = (r["method"], r["path"])
        assert key not in out, f"route listed twice: {key}"
        h, at = r["handler"], r["registered_at"]
        out[key] = (rel(app, h["path"]), h["line"], h["name"], rel(app, at["path"]), at["line"])
    return out


def entry_points(app, model, context):
    return {(rel(app, e["path"]), e["line"], e["name"]) for e in model["entry_points"][context]}


def findings(app, scan):
    """{(rule, file, line): (severity, context)}; a rule reported twice on one line fails."""
    out = {}
    for f in scan["findings"]:
        ev = f["evidence"]
        key = (f["rule"], rel(app, ev["path"]), ev["start_line"])
        assert key not in out, f"reported twice: {key}"
        out[key] = (f["severity"], f["context"]["kind"])
    return out


def in_file(found, path):
    return {k: v for k, v in found.items() if k[1] == path}


NO_TIMEOUT = "resilience.python.requests-without-timeout"
SA_LOOP = "database.python.sqlalchemy-query-per-loop-iteration"
DJ_LOOP = "database.python.django-query-per-loop-iteration"
UNBOUNDED = "database.python.unbounded-query-in-route"
LOGIN = "ratelimit.python.login-handler-without-rate-limit"
SIGNUP = "ratelimit.python.signup-handler-without-rate-limit"


# -- connexion: routes come only from the OpenAPI spec ----------------------------------

CONNEXION = "connexion-inventory"
SPEC = "inventory/openapi.yaml"


def test_connexion_operations_route_to_the_functions_they_name(cli):
    got = routes(CONNEXION, model_of(cli, CONNEXION))
    assert got == {
        ("GET", "/items"): ("inventory/api/items.py", 11, "list_items", SPEC, 8),
        ("POST", "/items"): ("inventory/api/items.py", 28, "create_item", SPEC, 15),
        ("GET", "/items/{item_id}"): ("inventory/api/items.py", 21, "get_item", SPEC, 26),
        ("DELETE", "/items/{item_id}"): ("inventory/api/items.py", 43, "delete_item", SPEC, 30),
        ("GET", "/items/export"): ("inventory/api/items.py", 49, "export_items", SPEC, 35),
        ("POST", "/stock/adjustments"): ("inventory/api/items.py", 35, "adjust_stock", SPEC, 40),
        # x-openapi-router-controller on the path item, and on the operation
        ("POST", "/items/{item_id}/reorder"): ("inventory/api/reorder.py", 6, "reorder", SPEC, 46),
        ("POST", "/reorders"): ("inventory/api/reorder.py", 13, "reorder_all_low_stock", SPEC, 54),
    }


def test_connexion_entry_points_and_settings(cli):
    model = model_of(cli, CONNEXION)
    assert {name for _, _, name in entry_points(CONNEXION, model, "handler")} == {
        "list_items", "create_item", "get_item", "delete_item", "export_items", "adjust_stock",
        "reorder", "reorder_all_low_stock"}
    assert model["entry_points"]["job"] == model["entry_points"]["cli"] == model["entry_points"]["resolver"] == []
    assert model["unresolved"] == []
    assert [(rel(CONNEXION, s["path"]), s["line"], s["key"]) for s in model["settings"]] == [
        ("inventory/app.py", 16, "SQLALCHEMY_DATABASE_URI")]


def test_connexion_findings_are_placed_in_their_operation(cli):
    scan = scan_of(cli, CONNEXION)
    found = findings(CONNEXION, scan)
    assert found[(NO_TIMEOUT, "inventory/api/items.py", 16)] == ("high", "handler")
    assert found[(NO_TIMEOUT, "inventory/suppliers.py", 8)] == ("high", "library")
    assert found[(SA_LOOP, "inventory/api/items.py", 37)] == ("medium", "handler")
    assert found[(SA_LOOP, "inventory/api/reorder.py", 16)] == ("medium", "handler")
    # the handler's finding points back at the operation in the spec
    [f] = [f for f in scan["findings"] if f["rule"] == NO_TIMEOUT and f["evidence"]["path"].endswith("items.py")]
    assert [(rel(CONNEXION, r["path"]), r["line"]) for r in f["related"]] == [(SPEC, 8)]


def test_connexion_handler_rules_see_spec_routed_handlers(cli):
    found = findings(CONNEXION, scan_of(cli, CONNEXION))
    assert found.get((UNBOUNDED, "inventory/api/items.py", 50)) == ("medium", "handler")


# -- Django: URLconf function views, class-based views, a DRF router -------------------

DJANGO = "django-shop"


def test_django_urlconf_function_view_is_a_route(cli):
    got = routes(DJANGO, model_of(cli, DJANGO))
    assert got[("*", "products/")] == ("catalog/views.py", 13, "product_list", "catalog/urls.py", 8)


def test_django_every_urlconf_and_router_entry_is_a_route(cli):
    got = routes(DJANGO, model_of(cli, DJANGO))
    # include() and router prefixes may or may not be joined in: match on the path's end
    files = {}
    for (_, path), handler in got.items():
        files.setdefault(path.strip("/").rsplit("api/", 1)[-1], set()).add(handler[0])
    assert files["products/<int:pk>"] == files["checkout"] == files["categories/<slug:slug>"] == {"catalog/views.py"}
    assert files["orders"] == {"catalog/api.py"}
    assert files["products"] >= {"catalog/api.py", "catalog/views.py"}  # the DRF viewset and the function view


def test_django_entry_points_per_context(cli):
    model = model_of(cli, DJANGO)
    assert entry_points(DJANGO, model, "handler") == {
        ("catalog/views.py", 13, "product_list"),
        ("catalog/views.py", 22, "category_page"),
        ("catalog/views.py", 30, "get"),  # ProductDetailView(View)
        ("catalog/views.py", 37, "post"),  # CheckoutView(LoginRequiredMixin, View)
        ("catalog/api.py", 15, "get_queryset"),  # OrderViewSet(viewsets.ModelViewSet)
        ("catalog/api.py", 18, "perform_create"),
        ("catalog/api.py", 22, "track"),  # @action
    }
    assert entry_points(DJANGO, model, "job") == {("catalog/tasks.py", 8, "notify_warehouse")}
    assert entry_points(DJANGO, model, "cli") == {("catalog/management/commands/sync_prices.py", 11, "handle")}
    assert model["entry_points"]["resolver"] == []
    counts = model["files_by_context"]
    # every scanned file counts, __init__.py files of migrations/ and management/commands/ too
    assert (counts["migration"], counts["settings"], counts["cli"]) == (3, 1, 3)  # + manage.py
    keys = {(rel(DJANGO, s["path"]), s["key"]) for s in model["settings"]}
    assert {("shop/settings.py", k) for k in ("INSTALLED_APPS", "ROOT_URLCONF", "DATABASES", "CACHES",
                                              "REST_FRAMEWORK", "DEBUG", "CELERY_TASK_TIME_LIMIT")} <= keys
    # Django's own admin is not project code: named, not resolved
    assert [(rel(DJANGO, u["path"]), u["line"], u["target"]) for u in model["unresolved"]] == [
        ("shop/urls.py", 5, "admin.site.urls")]


def test_django_class_views_are_explained_as_django(cli):
    model = model_of(cli, DJANGO)
    reasons = {e["name"]: e["reason"] for e in model["entry_points"]["handler"] if e["path"].endswith("views.py")}
    assert "aiohttp" not in reasons["get"] and "django" in reasons["get"]


def test_django_findings_joined_to_their_context(cli):
    found = findings(DJANGO, scan_of(cli, DJANGO))
    assert found[(NO_TIMEOUT, "catalog/views.py", 32)] == ("high", "handler")  # class view method
    assert found[(NO_TIMEOUT, "catalog/api.py", 25)] == ("high", "handler")  # viewset @action
    assert found[(NO_TIMEOUT, "catalog/tasks.py", 11)] == ("medium", "job")  # lowered in a job
    assert found[(DJ_LOOP, "catalog/views.py", 17)] == ("medium", "handler")
    assert found[("api.python.drf-settings-without-default-pagination", "shop/settings.py", 45)] == ("medium", "settings")
    # the same shapes in the management command and the data migration are off there
    assert in_file(found, "catalog/management/commands/sync_prices.py") == {}
    assert in_file(found, "catalog/migrations/0002_backfill_category_slugs.py") == {}


def test_django_command_and_migration_bodies_are_findings_outside_their_context(cli, write_tree):
    """Control for the test above: the same code as plain modules is reported, so the
    silence in the command and the migration comes from the context, not the rules."""
    app = ROOT / APPS / DJANGO / "catalog"
    command = (app / "management/commands/sync_prices.py").read_text().replace("(BaseCommand)", "(object)")
    tree = write_tree({"jobs/sync.py": command,
                       "jobs/backfill.py": (app / "migrations/0002_backfill_category_slugs.py").read_text()})
    proc = cli("scan", tree, "--format", "json", "--fail-on", "never", "--preview", cwd=tree)
    assert proc.returncode == 0, proc.stderr
    got = {(f["rule"], f["evidence"]["path"], f["evidence"]["start_line"], f["context"]["kind"])
           for f in json.loads(proc.stdout)["findings"]}
    assert {(NO_TIMEOUT, "jobs/sync.py", 12, "library"), (DJ_LOOP, "jobs/sync.py", 14, "library"),
            (DJ_LOOP, "jobs/backfill.py", 11, "library")} <= got


# -- Flask: app factory, add_url_rule, MethodView through the project's base view ------

FLASK = "flask-methodview"


def test_flask_add_url_rule_function_and_blueprint_routes(cli):
    got = routes(FLASK, model_of(cli, FLASK))
    assert got[("GET", "/healthz")] == ("billing/views.py", 55, "healthz", "billing/__init__.py", 20)
    assert got[("GET", "/reports/overdue")][:3] == ("billing/views.py", 62, "overdue")


def test_flask_method_view_registrations_are_routes(cli):
    model = model_of(cli, FLASK)
    got = routes(FLASK, model)
    methods = {}
    for method, path in got:  # "GET,POST" or one route per method
        methods.setdefault(path, set()).update(method.split(","))
    assert methods["/customers"] == {"GET", "POST"}
    assert methods["/customers/<int:customer_id>"] == {"GET", "PUT", "DELETE"}
    assert methods["/invoices/<int:invoice_id>"] == {"GET"}
    assert model["unresolved"] == []


def test_flask_blueprint_prefix_is_part_of_the_path(cli):
    assert ("GET", "/reports/overdue") in routes(FLASK, model_of(cli, FLASK))


def test_flask_method_views_are_handlers_through_the_project_base_view(cli):
    model = model_of(cli, FLASK)
    assert entry_points(FLASK, model, "handler") == {
        ("billing/views.py", 16, "get"), ("billing/views.py", 20, "post"),  # CustomerListAPI(BaseAPI)
        ("billing/views.py", 28, "get"), ("billing/views.py", 32, "put"), ("billing/views.py", 38, "delete"),
        ("billing/views.py", 45, "get"),  # InvoiceAPI(BaseAPI)
        ("billing/views.py", 55, "healthz"), ("billing/views.py", 62, "overdue"),
    }
    assert entry_points(FLASK, model, "cli") == {("billing/commands.py", 8, "import_customers"),
                                                ("billing/commands.py", 19, "export_customers")}
    assert {(rel(FLASK, s["path"]), s["line"]) for s in model["settings"]} == {("billing/__init__.py", 9)}


def test_flask_findings_in_method_views(cli):
    found = findings(FLASK, scan_of(cli, FLASK))
    assert found[("validation.python.mass-assignment-from-request", "billing/views.py", 21)] == ("high", "handler")
    assert found[(NO_TIMEOUT, "billing/views.py", 51)] == ("high", "handler")
    assert found[(SA_LOOP, "billing/views.py", 49)] == ("medium", "handler")
    assert found[(UNBOUNDED, "billing/views.py", 64)] == ("medium", "handler")
    # requests without timeout and a whole-table read in click commands: off (not request paths)
    assert in_file(found, "billing/commands.py") == {}


def test_flask_handler_rules_see_method_views(cli):
    found = findings(FLASK, scan_of(cli, FLASK))
    assert found.get((UNBOUNDED, "billing/views.py", 17)) == ("medium", "handler")


# -- aiohttp: router.add_*, RouteTableDef, web.View, web.get in add_routes -------------

AIOHTTP = "aiohttp-routes"


def test_aiohttp_routes(cli):
    got = routes(AIOHTTP, model_of(cli, AIOHTTP))
    assert got[("GET", "/stock/{sku}")] == ("stockd/handlers.py", 11, "get_stock", "stockd/app.py", 19)
    assert got[("POST", "/stock/{sku}/adjust")] == ("stockd/handlers.py", 17, "adjust_stock", "stockd/app.py", 20)
    assert got[("GET", "/healthz")] == ("stockd/handlers.py", 35, "healthz", "stockd/app.py", 24)
    assert got[("GET", "/warehouses/{code}/stock")] == (
        "stockd/warehouses.py", 8, "warehouse_stock", "stockd/warehouses.py", 8)
    assert got[("POST", "/warehouses/{code}/transfers")] == (
        "stockd/warehouses.py", 18, "create_transfer", "stockd/warehouses.py", 18)
    assert {(h[0], h[1], h[2]) for h in got.values()} >= {("stockd/handlers.py", 30, "retire_sku")}


def test_aiohttp_add_route_method(cli):
    assert routes(AIOHTTP, model_of(cli, AIOHTTP))[("DELETE", "/stock/{sku}")][:3] == (
        "stockd/handlers.py", 30, "retire_sku")


def test_aiohttp_add_view_is_a_route(cli):
    got = routes(AIOHTTP, model_of(cli, AIOHTTP))
    # one route per method or one for the class: either way, handled in shipments.py
    assert {h[0] for (_, p), h in got.items() if p == "/shipments/{shipment_id}"} == {"stockd/shipments.py"}


def test_aiohttp_route_table_is_labelled_aiohttp(cli):
    assert {r["framework"] for r in model_of(cli, AIOHTTP)["routes"]} == {"aiohttp"}


def test_aiohttp_entry_points(cli):
    model = model_of(cli, AIOHTTP)
    assert entry_points(AIOHTTP, model, "handler") == {
        ("stockd/handlers.py", 11, "get_stock"), ("stockd/handlers.py", 17, "adjust_stock"),
        ("stockd/handlers.py", 30, "retire_sku"), ("stockd/handlers.py", 35, "healthz"),
        ("stockd/shipments.py", 6, "get"), ("stockd/shipments.py", 12, "post"),  # ShipmentView(web.View)
        ("stockd/warehouses.py", 8, "warehouse_stock"), ("stockd/warehouses.py", 18, "create_transfer"),
    }
    # `if __name__ == "__main__": web.run_app(...)` is a module-level block, not a function
    assert model["entry_points"]["cli"] == []


def test_aiohttp_findings(cli):
    found = findings(AIOHTTP, scan_of(cli, AIOHTTP))
    assert found == {
        ("jobs.python.blocking-call-in-async-function", "stockd/handlers.py", 25): ("high", "handler"),
        ("statefulness.python.module-state-written-in-handler", "stockd/handlers.py", 26): ("high", "handler"),
        ("jobs.python.blocking-call-in-async-function", "stockd/shipments.py", 9): ("high", "handler"),
        (NO_TIMEOUT, "stockd/shipments.py", 9): ("high", "handler"),
        ("resilience.python.aiohttp-timeout-disabled", "stockd/app.py", 9): ("high", "library"),
    }


# -- Tornado: RequestHandler subclasses through the project's base, (path, Handler) lists --

TORNADO = "tornado-handlers"


def test_tornado_routes_per_method_of_the_handler_class(cli):
    got = routes(TORNADO, model_of(cli, TORNADO))
    assert got[("GET", "/api/notebooks")] == ("notebookd/handlers.py", 10, "get", "notebookd/app.py", 8)
    assert got[("PUT", "/api/notebooks/([^/]+)")] == ("notebookd/handlers.py", 21, "put", "notebookd/app.py", 9)
    # url(...) specs, not Django's url(): the target is a handler class, not a view
    assert got[("POST", "/login")] == ("notebookd/handlers.py", 39, "post", "notebookd/app.py", 11)
    assert {r["framework"] for r in model_of(cli, TORNADO)["routes"]} == {"tornado"}
    # pairs of strings are not routes
    assert not [p for (_, p) in got if not p.startswith("/")]


def test_tornado_handler_methods_are_entry_points(cli):
    handlers = entry_points(TORNADO, model_of(cli, TORNADO), "handler")
    assert {("notebookd/handlers.py", 29, "get"), ("notebookd/handlers.py", 39, "post"),
            ("notebookd/handlers.py", 58, "on_message"),  # WebSocketHandler
            ("notebookd/base.py", 11, "get_current_user")} <= handlers
    assert not [h for h in handlers if h[0] == "notebookd/store.py"]


def test_tornado_findings(cli):
    found = findings(TORNADO, scan_of(cli, TORNADO))
    assert found == {
        (NO_TIMEOUT, "notebookd/handlers.py", 31): ("high", "handler"),
        # LoginHandler.post checks the submitted password with nothing limiting attempts
        (LOGIN, "notebookd/handlers.py", 39): ("high", "handler"),
        # get_argument("next") into self.redirect; the logout's `next=` + the request's
        # own URI after the login URL (line 54) is not a finding
        ("validation.python.open-redirect-request-url", "notebookd/handlers.py", 46): ("medium", "handler"),
        # LogoutHandler.get clears the login cookie: a GET from any site logs the user out
        ("api.python.logout-accepts-get", "notebookd/handlers.py", 50): ("low", "handler"),
    }


# -- Pyramid and Cornice: view_config, add_view, route names, services ---------------

PYRAMID = "pyramid-cornice"


def test_pyramid_routes_resolve_route_names_and_cornice_service_paths(cli):
    got = routes(PYRAMID, model_of(cli, PYRAMID))
    assert got[("POST", "/login")] == ("shelf/views.py", 15, "login", "shelf/views.py", 15)
    assert got[("GET", "/books/{isbn}")] == ("shelf/views.py", 31, "book_cover", "shelf/views.py", 31)
    # config.add_view(home, route_name="home"): registered in the app factory
    assert got[("*", "/")] == ("shelf/views.py", 11, "home", "shelf/__init__.py", 14)
    # orders = Service(path="/orders"), then @orders.get() / @orders.post()
    assert got[("GET", "/orders")][:3] == ("shelf/services.py", 12, "list_orders")
    assert got[("POST", "/orders")][:3] == ("shelf/services.py", 18, "create_order")
    assert got[("POST", "/readers")][:3] == ("shelf/services.py", 27, "register")
    assert {r["framework"] for r in model_of(cli, PYRAMID)["routes"]} == {"pyramid", "cornice"}


def test_pyramid_view_class_methods_are_handlers_and_its_helpers_are_not(cli):
    handlers = entry_points(PYRAMID, model_of(cli, PYRAMID), "handler")
    assert {("shelf/views.py", 43, "show"), ("shelf/views.py", 48, "rename")} <= handlers
    assert not [h for h in handlers if h[2] in ("_titles", "__init__", "main")]
    # the app factory builds the WSGI app (Configurator): library code, whoever calls it;
    # the operator script's main is the only command
    assert entry_points(PYRAMID, model_of(cli, PYRAMID), "cli") == {("shelf/scripts/import_covers.py", 8, "main")}


def test_pyramid_findings(cli):
    assert findings(PYRAMID, scan_of(cli, PYRAMID)) == {
        # the login view checks the password with nothing limiting attempts (the framework-
        # neutral rule: the Django one needs a Django module)
        (LOGIN, "shelf/views.py", 16): ("high", "handler"),
        # a person signs up with a password; the e-reader's `register` in services.py adds an
        # account row too, but that module never mentions a password: a device, not a person
        (SIGNUP, "shelf/views.py", 24): ("medium", "handler"),
        (NO_TIMEOUT, "shelf/views.py", 34): ("high", "handler"),
        # preview (this test scans with --preview): the matchdict value reaches the URL, and the
        # SSRF rule does not see that the module constant before it fixes the host, one of the
        # reasons that rule is preview
        ("validation.python.ssrf-request-url", "shelf/views.py", 34): ("high", "handler"),
        # the operator script's call without a timeout is not reported
    }


# -- Falcon: responders named on_<verb> ----------------------------------------------

FALCON = "falcon-resources"


def test_falcon_responders_are_handlers_with_their_method(cli):
    model = model_of(cli, FALCON)
    got = {(r["method"], rel(FALCON, r["handler"]["path"]), r["handler"]["line"], r["handler"]["name"])
           for r in model["routes"]}
    assert got == {("GET", "queued/resources.py", 11, "on_get_collection"), ("GET", "queued/resources.py", 15, "on_get"),
                   ("DELETE", "queued/resources.py", 21, "on_delete"), ("POST", "queued/resources.py", 30, "on_post"),
                   ("POST", "queued/resources.py", 48, "on_post")}
    assert {r["framework"] for r in model["routes"]} == {"falcon"}
    # helpers of a resource class are not responders
    assert not [h for h in entry_points(FALCON, model, "handler") if not h[2].startswith("on_")]


def test_falcon_findings(cli):
    found = findings(FALCON, scan_of(cli, FALCON))
    # the webhook fan-out in a responder is a handler's call; the confirmation helper is library
    assert found[(NO_TIMEOUT, "queued/resources.py", 34)] == ("high", "handler")
    assert found[(NO_TIMEOUT, "queued/resources.py", 56)][1] == "library"
    assert not [k for k in found if k[0] == NO_TIMEOUT and k[2] == 50]  # timeout=3


# -- Pecan: exposed controller methods ------------------------------------------------

PECAN = "pecan-controllers"


def test_pecan_exposed_methods_are_handlers(cli):
    model = model_of(cli, PECAN)
    got = {(r["method"], r["handler"]["line"], r["handler"]["name"]) for r in model["routes"]}
    assert got == {("*", 13, "get_all"), ("*", 18, "get_one"), ("*", 22, "post"), ("*", 36, "index"),
                   ("GET", 40, "on_get"), ("DELETE", 44, "on_delete"), ("*", 51, "post")}
    assert {r["framework"] for r in model["routes"]} == {"pecan"}
    # the unexposed helper and the module-level maintenance function are not entry points
    assert not [h for h in entry_points(PECAN, model, "handler") if h[2] in ("_load", "rotate_all_keys")]


def test_pecan_findings(cli):
    found = findings(PECAN, scan_of(cli, PECAN))
    assert found[(NO_TIMEOUT, "vault/controllers/root.py", 25)] == ("high", "handler")
    assert found[(NO_TIMEOUT, "vault/controllers/root.py", 64)][1] == "library"
    assert (NO_TIMEOUT, "vault/controllers/root.py", 46) not in found  # timeout=10



# -- Twisted Web resources and XML-RPC procedures -------------------------------------

TWISTED = "twisted-resources"


def test_twisted_render_methods_and_xmlrpc_procedures_are_handlers(cli):
    model = model_of(cli, TWISTED)
    got = {(r["method"], r["framework"], rel(TWISTED, r["handler"]["path"]), r["handler"]["name"])
           for r in model["routes"]}
    assert got == {("GET", "twisted", "lookupd/resources.py", "render_GET"),
                   ("POST", "twisted", "lookupd/resources.py", "render_POST"),
                   ("*", "twisted-xmlrpc", "lookupd/resources.py", "xmlrpc_purge"),
                   ("*", "twisted-xmlrpc", "lookupd/resources.py", "xmlrpc_sync"),
                   ("*", "xmlrpc", "lookupd/legacy_rpc.py", "ping"),
                   ("*", "xmlrpc", "lookupd/legacy_rpc.py", "stats"),
                   ("*", "xmlrpc", "lookupd/legacy_rpc.py", "resync")}
    # a Twisted `Resource` is not Flask-RESTful's: its helpers and constructor are not handlers,
    # nor are the XMLRPC resource's methods without the `xmlrpc_` prefix; an instance registered
    # with the standard library's server publishes its public methods only
    handlers = {h[2] for h in entry_points(TWISTED, model, "handler")}
    assert handlers == {"render_GET", "render_POST", "xmlrpc_purge", "xmlrpc_sync", "ping", "stats",
                        "resync"}


def test_twisted_findings(cli):
    found = findings(TWISTED, scan_of(cli, TWISTED))
    # request.args is request data (the `twisted` source model)
    assert found[("database.python.sql-built-from-request-data", "lookupd/resources.py", 19)] == ("critical", "handler")
    assert found[(NO_TIMEOUT, "lookupd/resources.py", 25)] == ("high", "handler")
    assert found[(NO_TIMEOUT, "lookupd/legacy_rpc.py", 7)] == ("high", "handler")
    assert found[(NO_TIMEOUT, "lookupd/resources.py", 30)][1] == "library"  # the replication helper
    assert found[(NO_TIMEOUT, "lookupd/legacy_rpc.py", 19)] == ("high", "handler")  # MaintenanceApi.resync
    assert found[(NO_TIMEOUT, "lookupd/legacy_rpc.py", 23)][1] == "library"  # its private helper

# -- GraphQL: graphene, strawberry, ariadne ------------------------------------------

GRAPHQL = "graphql-graphene"


def test_graphql_resolvers(cli):
    model = model_of(cli, GRAPHQL)
    assert entry_points(GRAPHQL, model, "resolver") == {
        ("catalog_graph/schema.py", 19, "resolve_vendor"),
        ("catalog_graph/schema.py", 27, "resolve_products"),
        ("catalog_graph/schema.py", 30, "resolve_vendor_names"),
        ("catalog_graph/schema.py", 46, "mutate"),  # AddReview(graphene.Mutation)
        ("catalog_graph/admin_schema.py", 18, "products_without_vendor"),  # @strawberry.field
        ("catalog_graph/admin_schema.py", 26, "reindex"),  # @strawberry.mutation
        ("catalog_graph/partner_schema.py", 16, "product_name"),  # @query.field("product")
        ("catalog_graph/partner_schema.py", 22, "sync_stock"),  # mutation.set_field(...)
    }
    assert model["entry_points"]["handler"] == model["routes"] == []
    # /graphql is served by a library view class: named, not resolved to project code
    [u] = model["unresolved"]
    assert (rel(GRAPHQL, u["path"]), u["line"]) == ("catalog_graph/app.py", 10)


def test_graphql_findings_in_resolvers(cli):
    found = findings(GRAPHQL, scan_of(cli, GRAPHQL))
    assert found == {
        (NO_TIMEOUT, "catalog_graph/schema.py", 47): ("high", "resolver"),
        (NO_TIMEOUT, "catalog_graph/admin_schema.py", 28): ("high", "resolver"),
        (NO_TIMEOUT, "catalog_graph/partner_schema.py", 23): ("high", "resolver"),
        # the ariadne argument picks the host (`partner = "evil.test/x?"`): GraphQL arguments
        # are sources of the shared model (rules/_sources/python.yaml)
        ("validation.python.ssrf-request-url", "catalog_graph/partner_schema.py", 23): ("high", "resolver"),
        (SA_LOOP, "catalog_graph/schema.py", 33): ("medium", "resolver"),
        # the strawberry schema has no depth or token limiter among its extensions
        ("api.python.graphql-schema-without-query-limits", "catalog_graph/admin_schema.py", 32): ("medium", "library"),
    }


# -- the project's own timeout wrapper and URL validators ------------------------------

WRAPPED = "wrapped-clients"


def test_wrappers_and_validators_recognised(cli):
    model = model_of(cli, WRAPPED)
    assert {(rel(WRAPPED, w["path"]), w["line"], w["name"], w["kind"]) for w in model["wrappers"]} == {
        ("storefront/http.py", 11, "call", "timeout"), ("storefront/http.py", 27, "request", "timeout")}
    assert {(rel(WRAPPED, v["path"]), v["line"], v["name"], v["kind"]) for v in model["validators"]} == {
        ("storefront/security.py", 7, "is_safe_redirect", "url"),
        ("storefront/security.py", 16, "is_allowed_webhook", "url")}
    assert entry_points(WRAPPED, model, "job") == {
        ("storefront/tasks.py", 7, "refresh_catalog_cache"), ("storefront/tasks.py", 13, "push_feed")}
    assert len(entry_points(WRAPPED, model, "handler")) == len(model["routes"]) == 9


def test_wrapped_and_validated_calls_are_not_findings(cli):
    found = findings(WRAPPED, scan_of(cli, WRAPPED))
    assert found == {
        (NO_TIMEOUT, "storefront/views.py", 21): ("high", "handler"),  # bypasses the wrapper
        (NO_TIMEOUT, "storefront/tasks.py", 17): ("medium", "job"),
        ("validation.python.open-redirect-request-url", "storefront/views.py", 44): ("medium", "handler"),
        ("validation.python.ssrf-request-url", "storefront/views.py", 65): ("high", "handler"),
        # one per handler function
        ("validation.python.flask-request-body-without-schema", "storefront/views.py", 49): ("low", "handler"),
        ("validation.python.flask-request-body-without-schema", "storefront/views.py", 58): ("low", "handler"),
        # GET /logout clears the session
        ("api.python.logout-accepts-get", "storefront/views.py", 41): ("low", "handler"),
    }


def test_validators_are_what_silences_the_redirects_and_the_webhook(cli, write_tree):
    """Control: rename the validators so no fact recognises them; the guarded redirects
    and the guarded webhook call become findings."""
    src = ROOT / APPS / WRAPPED / "storefront"
    files = {}
    for path in src.glob("*.py"):
        text = path.read_text().replace("is_allowed_webhook", "webhook_host_ok").replace("is_safe_redirect", "redirect_host_ok")
        files[f"storefront/{path.name}"] = text
    tree = write_tree(files)
    proc = cli("scan", tree, "--format", "json", "--fail-on", "never", "--preview", cwd=tree)
    assert proc.returncode == 0, proc.stderr
    got = {(f["rule"], f["evidence"]["start_line"]) for f in json.loads(proc.stdout)["findings"]
           if f["evidence"]["path"] == "storefront/views.py"}
    assert {("validation.python.open-redirect-request-url", 30), ("validation.python.open-redirect-request-url", 38),
            ("validation.python.ssrf-request-url", 52)} <= got


@pytest.mark.xfail(strict=True, reason="the model knows http.call is an outbound-call wrapper, but the SSRF "
                   "rule's sinks are requests/httpx calls only: a request URL sent through the wrapper is missed")
def test_ssrf_through_the_project_wrapper(cli):
    found = findings(WRAPPED, scan_of(cli, WRAPPED))
    assert found.get(("validation.python.ssrf-request-url", "storefront/views.py", 58)) == ("high", "handler")


# -- code that is not deployed: .gitignored, dot folder, tests, examples ---------------

NOT_DEPLOYED = "not-deployed"


def test_only_the_real_module_is_reported(cli):
    scan = scan_of(cli, NOT_DEPLOYED)
    found = findings(NOT_DEPLOYED, scan)
    assert in_file(found, "notifier/app.py") == {
        (NO_TIMEOUT, "notifier/app.py", 12): ("high", "handler"),
        ("validation.python.flask-request-body-without-schema", "notifier/app.py", 12): ("low", "handler"),
    }
    assert not [k for k in found if k[1].startswith((".semgrep/", "examples/", "tests/"))]
    # one finding per rule and statement: the second read of the body on line 12 is the same finding
    [body] = [f for f in scan["findings"] if f["rule"] == "validation.python.flask-request-body-without-schema"]
    assert "related" not in body


def test_dot_folder_and_examples_are_test_context(cli):
    model = model_of(cli, NOT_DEPLOYED)
    assert routes(NOT_DEPLOYED, model)[("POST", "/notify")] == ("notifier/app.py", 9, "notify", "notifier/app.py", 9)
    assert model["files_by_context"]["test"] == 1  # examples/send_one.py (.semgrep/ is not walked)


def test_gitignored_folder_is_not_scanned(cli):
    found = findings(NOT_DEPLOYED, scan_of(cli, NOT_DEPLOYED))
    assert not [k for k in found if k[1].startswith("generated/")]


def test_dot_folder_routes_are_not_entry_points(cli):
    model = model_of(cli, NOT_DEPLOYED)
    assert not [e for e in model["entry_points"]["handler"] if "/.semgrep/" in e["path"]]
    assert not [r for r in model["routes"] if "/.semgrep/" in r["handler"]["path"]]


def test_only_deployed_and_example_files_are_walked(cli):
    app = ROOT / APPS / NOT_DEPLOYED
    expected = [p for p in app.rglob("*.py")
                if not any(part.startswith(".") or part in ("generated", "tests") for part in p.relative_to(app).parts)]
    assert scan_of(cli, NOT_DEPLOYED)["scan"]["files_scanned"] == len(expected) == 3


# -- rules that need a project fact: a layer to bypass, one finding per view class ---------

VIEWS = '''from flask.views import MethodView
from shop.models import Order, db


class OrderAPI(MethodView):
    def get(self, order_id):
        return db.session.query(Order).get(order_id).to_dict()

    def delete(self, order_id):
        db.session.delete(db.session.query(Order).get(order_id))
        db.session.commit()
        return "", 204
'''
ORM_RULE = "boundaries.python.handler-queries-orm-directly"


def test_handler_orm_queries_need_a_layer_to_bypass_and_are_one_per_view_class(cli, write_tree):
    root = write_tree({"shop/api/orders.py": VIEWS, "shop/models.py": "db = None\n"})
    proc = cli("scan", ".", "--rule", ORM_RULE, "--format", "json", "--fail-on", "never", "--preview", cwd=root)
    assert json.loads(proc.stdout)["findings"] == []  # no service layer: querying in the view is the design
    (root / "shop/services").mkdir()
    (root / "shop/services/__init__.py").write_text("")
    proc = cli("scan", ".", "--rule", ORM_RULE, "--format", "json", "--fail-on", "never", "--preview", cwd=root)
    [one] = json.loads(proc.stdout)["findings"]
    assert (one["evidence"]["path"], one["evidence"]["start_line"], one["context"]["kind"]) == ("shop/api/orders.py", 7, "handler")
    assert [r["line"] for r in one["related"]] == [10, 11]  # the delete handler's queries, same class


NO_TIMEOUT_CLIENT = '''import requests
from flask import Flask

app = Flask(__name__)


@app.get("/rates")
def rates():
    return requests.get("https://rates.example.com/today").json()
'''
PATCH = '''from requests.adapters import HTTPAdapter


def monkeypatch_requests_timeout():
    old_send = HTTPAdapter.send

    def send(self, request, timeout=None, **kwargs):
        return old_send(self, request, timeout=30 if timeout is None else timeout, **kwargs)

    HTTPAdapter.send = send
'''


def test_a_global_timeout_patch_settles_every_requests_call(cli, write_tree):
    root = write_tree({"rates/app.py": NO_TIMEOUT_CLIENT})
    proc = cli("scan", ".", "--rule", NO_TIMEOUT, "--format", "json", "--fail-on", "never", "--preview", cwd=root)
    assert [(f["evidence"]["path"], f["evidence"]["start_line"]) for f in json.loads(proc.stdout)["findings"]] == [
        ("rates/app.py", 9)]
    (root / "rates/patches.py").write_text(PATCH)  # like pretix's monkeypatch_requests_timeout
    proc = cli("scan", ".", "--rule", NO_TIMEOUT, "--format", "json", "--fail-on", "never", "--preview", cwd=root)
    assert json.loads(proc.stdout)["findings"] == []
    model = json.loads(cli("model", ".", "--format", "json", cwd=root).stdout)
    assert [(w["path"], w["name"]) for w in model["wrappers"]] == [("rates/patches.py", "send")]


HELPER = '''from myapp.models import Enrollment


def verify_enrollment(request=None, action=None):
    enrollment = Enrollment.objects.get(pk=request.POST["id"])
    enrollment.state = "verified"
    enrollment.save()
    Enrollment.objects.filter(user=enrollment.user).exclude(pk=enrollment.pk).delete()
'''


def test_view_writes_rule_keeps_only_views_the_model_knows(cli, write_tree):
    rule = "database.python.django-view-writes-without-transaction"
    root = write_tree({"myapp/policy.py": HELPER})
    proc = cli("scan", ".", "--rule", rule, "--format", "json", "--fail-on", "never", "--preview", cwd=root)
    assert json.loads(proc.stdout)["findings"] == []  # a helper taking `request`, not a view
    (root / "myapp/urls.py").write_text("from django.urls import path\nfrom myapp import policy\n\n"
                                        "urlpatterns = [path('verify/', policy.verify_enrollment)]\n")
    proc = cli("scan", ".", "--rule", rule, "--format", "json", "--fail-on", "never", "--preview", cwd=root)
    [one] = json.loads(proc.stdout)["findings"]
    assert (one["evidence"]["path"], one["context"]["kind"]) == ("myapp/policy.py", "handler")
    assert one["related"][0]["path"] == "myapp/urls.py"  # the URLconf entry that makes it a view


EXTENSION_ZIP = '''import os
import shutil

from fastapi import FastAPI
from fastapi.responses import FileResponse

app = FastAPI()
ZIPS = "/srv/zips"


@app.post("/extensions/{ext_id}/zip")
def build_zip(ext_id: str):
    path = os.path.join(ZIPS, ext_id + ".zip")
    os.remove(path)
    shutil.copyfile("/srv/stub.zip", path)
    return FileResponse(path)


@app.get("/extensions/{ext_id}/readme")
def readme(ext_id: str):
    return FileResponse(os.path.join(ZIPS, ext_id, "README.md"))
'''
PATH_RULE = "validation.python.path-traversal-request-path"


def test_an_injection_rule_reports_one_finding_per_handler_with_the_other_sinks_related(cli, write_tree):
    root = write_tree({"shop/api/extensions.py": EXTENSION_ZIP})
    proc = cli("scan", ".", "--rule", PATH_RULE, "--format", "json", "--fail-on", "never", "--preview", cwd=root)
    first, second = json.loads(proc.stdout)["findings"]
    assert (first["evidence"]["start_line"], second["evidence"]["start_line"]) == (14, 21)
    assert [r["line"] for r in first["related"] if "same problem" in r["message"]] == [15, 16]
    assert "related" not in second  # a handler of its own


THEMED_LOGO = '''import os
from typing import Literal, Optional

from fastapi import FastAPI
from fastapi.responses import FileResponse

from shop.types import Theme

app = FastAPI()
ASSETS = "/srv/assets"


@app.get("/logo")
def logo(theme: Optional[Theme] = None):
    return FileResponse(os.path.join(ASSETS, f"logo_{theme.value}.svg"))


@app.get("/icon/{size}")
def icon(size: Literal["small", "large"]):
    return FileResponse(os.path.join(ASSETS, f"icon_{size}.svg"))


@app.get("/font/{name}")
def font(name: str, theme: Theme):
    return FileResponse(os.path.join(ASSETS, theme.value, name))
'''
THEME_TYPES = '''from enum import Enum


class ThemeBase(str, Enum):
    pass


class Theme(ThemeBase):
    light = "light"
    dark = "dark"
'''


def test_a_parameter_typed_as_a_project_enum_or_a_literal_is_no_taint_source(cli, write_tree):
    root = write_tree({"shop/api/assets.py": THEMED_LOGO, "shop/types.py": THEME_TYPES})
    proc = cli("scan", ".", "--rule", PATH_RULE, "--format", "json", "--fail-on", "never", "--preview", cwd=root)
    # FastAPI rejects any other value of an Enum or Literal parameter; `name: str` is free text
    assert [f["evidence"]["start_line"] for f in json.loads(proc.stdout)["findings"]] == [25]
    (root / "shop/types.py").write_text("class Theme:\n    light = 'light'\n")  # no Enum: free text
    proc = cli("scan", ".", "--rule", PATH_RULE, "--format", "json", "--fail-on", "never", "--preview", cwd=root)
    assert [f["evidence"]["start_line"] for f in json.loads(proc.stdout)["findings"]] == [15, 25]


MAIL_VIEWS = '''from django.core.mail import send_mail
from django.shortcuts import redirect


def contact(request):
    send_mail("Contact", request.POST["body"], None, ["support@example.com"])
    return redirect("thanks")


def reset(request):
    send_mail("Reset", "link", None, [request.user.email])
    return redirect("done")
'''
MAIL_SETTINGS = '''INSTALLED_APPS = ["django.contrib.auth", "shop"]
ROOT_URLCONF = "shop.urls"
EMAIL_HOST = "smtp.example.com"
'''
EMAIL_RULE = "resilience.python.django-email-without-timeout"


def test_a_missing_email_timeout_is_one_finding_on_the_settings_and_none_for_a_reusable_app(cli, write_tree):
    root = write_tree({"shop/views.py": MAIL_VIEWS})
    proc = cli("scan", ".", "--rule", EMAIL_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    assert json.loads(proc.stdout)["findings"] == []  # no settings module: the installer's settings decide
    (root / "config").mkdir()
    (root / "config/settings.py").write_text(MAIL_SETTINGS)
    proc = cli("scan", ".", "--rule", EMAIL_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    [one] = json.loads(proc.stdout)["findings"]
    # on the first e-mail setting, where EMAIL_TIMEOUT goes; with none, on the module's first marker
    assert (one["evidence"]["path"], one["evidence"]["start_line"]) == ("config/settings.py", 3)
    assert [(r["path"], r["line"]) for r in one["related"]] == [("shop/views.py", 6), ("shop/views.py", 11)]
    (root / "config/settings.py").write_text(MAIL_SETTINGS.replace('EMAIL_HOST = "smtp.example.com"\n', ""))
    proc = cli("scan", ".", "--rule", EMAIL_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    assert [f["evidence"]["start_line"] for f in json.loads(proc.stdout)["findings"]] == [1]
    (root / "config/settings.py").write_text(MAIL_SETTINGS + "EMAIL_TIMEOUT = 30\n")
    proc = cli("scan", ".", "--rule", EMAIL_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    assert json.loads(proc.stdout)["findings"] == []


CORS_VIEWS = '''from flask import Flask
from flask_cors import cross_origin

app = Flask(__name__)
app.config.from_object("alerts.settings")


@app.post("/auth/login")
@cross_origin(supports_credentials=True)
def login():
    return {"ok": True}


@app.get("/auth/me")
@cross_origin(supports_credentials=True)
def me():
    return {"user": None}
'''
CORS_RULE = "api.python.flask-cors-credentials-default-origins"


def test_flask_cors_default_origins_is_one_finding_settled_by_the_config(cli, write_tree):
    root = write_tree({"alerts/app.py": CORS_VIEWS, "alerts/settings.py": "DEBUG = False\n"})
    proc = cli("scan", ".", "--rule", CORS_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    [one] = json.loads(proc.stdout)["findings"]
    assert (one["evidence"]["path"], one["evidence"]["start_line"]) == ("alerts/app.py", 9)
    assert [(r["path"], r["line"]) for r in one["related"]] == [("alerts/app.py", 15)]
    # the settings module the app loads names the origins every decorator reads
    (root / "alerts/settings.py").write_text('DEBUG = False\nCORS_ORIGINS = ["https://alerts.example.com"]\n')
    proc = cli("scan", ".", "--rule", CORS_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    assert json.loads(proc.stdout)["findings"] == []


# -- logins without a rate limit, whatever the framework --------------------------------

LOGIN_HANDLERS = """import tornado.web

from accounts.store import check


class LoginHandler(tornado.web.RequestHandler):
    def post(self):
        if not check(self.get_body_argument("user"), self.get_body_argument("password")):
            raise tornado.web.HTTPError(403)
        self.set_secure_cookie("user", self.get_body_argument("user"))


def login(handler):
    return check(handler.get_body_argument("user"), handler.get_body_argument("password"))
"""

LIMITED_LOGIN = """import tornado.web

from accounts.limits import login_limiter
from accounts.store import check


class SigninHandler(tornado.web.RequestHandler):
    @login_limiter.limit("5/minute")
    def post(self):
        if not check(self.get_body_argument("user"), self.get_body_argument("password")):
            raise tornado.web.HTTPError(403)
"""

LOGIN_APP = """import tornado.web

from accounts.handlers import LoginHandler
from accounts.limited import SigninHandler

app = tornado.web.Application([(r"/login", LoginHandler), (r"/signin", SigninHandler)])
"""

FLASK_LOGIN = """from flask import Flask, request
from werkzeug.security import check_password_hash

from accounts.store import password_hash_of

app = Flask(__name__)


@app.route("/login", methods=["POST"])
def login():
    if check_password_hash(password_hash_of(request.form["user"]), request.form["password"]):
        return "ok"
    return "no", 403
"""

DRF_SETTINGS = """REST_FRAMEWORK = {
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"anon": "20/minute"},
}
"""


def test_a_login_handler_without_a_limit_is_reported_once_in_any_framework(cli, write_tree):
    root = write_tree({"accounts/handlers.py": LOGIN_HANDLERS, "accounts/limited.py": LIMITED_LOGIN,
                       "accounts/app.py": LOGIN_APP, "accounts/web.py": FLASK_LOGIN})
    proc = cli("scan", root, "--format", "json", "--no-cache", "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    got = sorted((f["rule"], f["evidence"]["path"], f["evidence"]["start_line"])
                 for f in json.loads(proc.stdout)["findings"] if f["area"] == "ratelimit")
    assert got == [
        # the Flask module's app has no limiter at all: one finding there covers its login
        ("ratelimit.python.flask-app-without-limiter", "accounts/web.py", 6),
        # the Tornado handler; not the module function `login` (no route), not the handler
        # whose module applies a limiter
        (LOGIN, "accounts/handlers.py", 7),
    ]
    # DRF's default throttles settle it for the project
    root = write_tree({"accounts/handlers.py": LOGIN_HANDLERS, "accounts/app.py": LOGIN_APP.replace(
        "from accounts.limited import SigninHandler\n", "").replace(', (r"/signin", SigninHandler)', ""),
        "accounts/settings.py": DRF_SETTINGS})
    proc = cli("scan", root, "--format", "json", "--no-cache", "--fail-on", "never", "--rule", LOGIN)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["findings"] == []


# -- helpers only the CLI uses run in the CLI -------------------------------------------

API_CLIENT = """import requests


class RegistryClient:
    def register_instance(self, hostname):
        return self.__send("post", "/instances/", {"hostname": hostname})

    def __send(self, method, path, payload):
        return requests.request(method, "https://registry.example.org" + path, json=payload)


def latest_version():
    return requests.get("https://registry.example.org/latest").json()
"""

REGISTER_COMMAND = """from django.core.management.base import BaseCommand

from shop.client import RegistryClient


class Command(BaseCommand):
    def handle(self, *args, **options):
        RegistryClient().register_instance(options["hostname"])
"""

VERSION_VIEW = """from django.http import JsonResponse

from shop.client import latest_version


def version(request):
    return JsonResponse({"latest": latest_version()})
"""

VERSION_URLS = """from django.urls import path

from shop import views

urlpatterns = [path("version/", views.version)]
"""


def test_a_helper_only_management_commands_use_runs_in_the_cli(cli, write_tree):
    """register_instance is used only by a management command, and _send only by it: both run
    in the CLI, where a missing timeout is not reported; latest_version is also used by a view,
    so its missing timeout is."""
    root = write_tree({"shop/client.py": API_CLIENT, "shop/management/commands/register.py": REGISTER_COMMAND,
                       "shop/views.py": VERSION_VIEW, "shop/urls.py": VERSION_URLS})
    proc = cli("scan", root, "--format", "json", "--no-cache", "--fail-on", "never", "--rule", NO_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert [(f["evidence"]["path"], f["evidence"]["start_line"]) for f in json.loads(proc.stdout)["findings"]] == [
        ("shop/client.py", 13)]
    from pathlib import Path

    from backend_review import model as model_mod

    files = ["shop/client.py", "shop/management/commands/register.py", "shop/views.py", "shop/urls.py"]
    built = model_mod.build([], root=Path(root), files=files)
    send = built.place("shop/client.py", 9)
    assert (send.context, send.reason) == (
        "cli", "used only by CLI code (register_instance at shop/client.py:5)")
    assert built.place("shop/client.py", 6).reason == (
        "used only by CLI code (handle at shop/management/commands/register.py:7)")
    assert built.place("shop/client.py", 13).context == "library"


FLASK_MAIL_APP = '''from flask import Flask
from flask_mail import Mail

mail = Mail()


def create_app():
    app = Flask(__name__)
    mail.init_app(app)
    return app
'''
FLASK_MAIL_RULE = "resilience.python.flask-mail-without-timeout"


def test_flask_mail_without_timeout_is_one_finding_unless_the_process_sets_a_socket_default(cli, write_tree):
    root = write_tree({"kitsu/app.py": FLASK_MAIL_APP,
                       "kitsu/digest.py": "import flask_mail\n\n\ndef mailer(app):\n    return flask_mail.Mail(app)\n",
                       "tests/conftest.py": "import socket\n\nsocket.setdefaulttimeout(5)\n"})
    proc = cli("scan", ".", "--rule", FLASK_MAIL_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    [one] = json.loads(proc.stdout)["findings"]  # a test's socket default settles nothing
    assert (one["evidence"]["path"], one["evidence"]["start_line"]) == ("kitsu/app.py", 4)
    assert [(r["path"], r["line"]) for r in one["related"]] == [("kitsu/digest.py", 5)]
    (root / "kitsu/wsgi.py").write_text("import socket\n\nsocket.setdefaulttimeout(30)\n")
    proc = cli("scan", ".", "--rule", FLASK_MAIL_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    assert json.loads(proc.stdout)["findings"] == []


NOTIFIER = '''import smtplib
import urllib.request


def notify_prowl(url):
    return urllib.request.urlopen(url).read()


def notify_mail(host, message):
    with smtplib.SMTP(host) as server:
        server.send_message(message)
'''


def test_a_socket_default_set_at_startup_settles_stdlib_clients_and_one_set_on_one_path_does_not(write_tree):
    rules = ["resilience.python.urllib-without-timeout", "resilience.python.smtp-client-without-timeout"]
    # an FTP fetch that sets the default right before its own call leaves it unset until it runs
    root = write_tree({"tracker/notifiers.py": NOTIFIER,
                       "tracker/ftp.py": "import socket\nimport urllib.request\n\n\ndef fetch_ftp(url):\n"
                                         "    socket.setdefaulttimeout(30)\n    return urllib.request.urlopen(url)\n"})
    assert sorted(rule_findings(root, *rules)) == [(rules[1], "tracker/notifiers.py", 10), (rules[0], "tracker/notifiers.py", 6)]
    (root / "tracker/start.py").write_text("import socket\n\n\ndef initialize(config):\n"
                                           "    socket.setdefaulttimeout(config.socket_timeout)\n")
    assert rule_findings(root, *rules) == []


LDAP_BACKEND = '''import ldap


class LDAPBackend:
    def authenticate(self, request, username=None, password=None):
        conn = ldap.initialize(self.uri)
        conn.set_option(ldap.OPT_REFERRALS, 0)
        conn.simple_bind_s(self.user_dn(username), password)
        return self.get_user(username)
'''
LDAP_RULE = "resilience.python.ldap-client-without-timeout"


def test_a_python_ldap_connection_is_bounded_by_a_process_wide_network_timeout(cli, write_tree):
    root = write_tree({"portal/auth.py": LDAP_BACKEND, "portal/settings.py": "DEBUG = False\n"})
    proc = cli("scan", ".", "--rule", LDAP_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    assert [(f["evidence"]["path"], f["evidence"]["start_line"])
            for f in json.loads(proc.stdout)["findings"]] == [("portal/auth.py", 6)]
    # django-auth-ldap's global options (or ldap.set_option) reach every LDAPObject made later
    (root / "portal/settings.py").write_text("import ldap\n\nAUTH_LDAP_GLOBAL_OPTIONS = {ldap.OPT_NETWORK_TIMEOUT: 5}\n")
    proc = cli("scan", ".", "--rule", LDAP_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    assert json.loads(proc.stdout)["findings"] == []


LOOP_CLIENTS = '''import time

import requests


def fetch_status(url):
    return requests.get(url, timeout=5).status_code


def unused_probe(url):
    return requests.get(url, timeout=5).status_code


def retry_wait(attempt):
    time.sleep(attempt)


def poll(url):
    retry_wait(1)
    return fetch_status(url)
'''
LOOP_VIEWS = '''import asyncio

import bcrypt
from fastapi import FastAPI

from .clients import fetch_status, poll

app = FastAPI()


@app.get("/status")
async def status(url: str):
    return {"code": fetch_status(url)}


@app.get("/offloaded")
async def offloaded(url: str):
    return {"code": await asyncio.to_thread(fetch_status, url)}


class Accounts:
    def _hash(self, password):
        return bcrypt.hashpw(password, bcrypt.gensalt())

    async def register(self, password):
        return self._hash(password)


@app.get("/poll")
async def polled(url: str):
    return {"code": poll(url)}
'''
LOOP_SCRIPT = '''import asyncio
import time


def slow_step():
    time.sleep(5)


async def main():
    slow_step()


if __name__ == "__main__":
    asyncio.run(main())
'''
LOOP_RULE = "jobs.python.blocking-helper-called-from-async"


def test_a_blocking_helper_is_reported_where_an_async_function_calls_it_on_the_loop(cli, write_tree):
    root = write_tree({"svc/__init__.py": "", "svc/clients.py": LOOP_CLIENTS, "svc/views.py": LOOP_VIEWS,
                       "scripts/warmup.py": LOOP_SCRIPT})
    proc = cli("scan", ".", "--rule", LOOP_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    found = {(f["evidence"]["path"], f["evidence"]["start_line"]): [(r["path"], r["line"]) for r in f["related"]]
             for f in json.loads(proc.stdout)["findings"]}
    # imported helper, a helper's helper (two levels down), a method called through self;
    # not the unused helper, not a helper only a script's asyncio.run main calls
    assert found == {("svc/clients.py", 7): [("svc/views.py", 13)],
                     ("svc/clients.py", 15): [("svc/views.py", 31)],
                     ("svc/views.py", 23): [("svc/views.py", 26)]}
    # handed to a thread everywhere: not on the loop
    (root / "svc/views.py").write_text(LOOP_VIEWS.replace('{"code": fetch_status(url)}', '{"code": 0}')
                                       .replace('{"code": poll(url)}', '{"code": await asyncio.to_thread(poll, url)}'))
    proc = cli("scan", ".", "--rule", LOOP_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    assert [(f["evidence"]["path"], f["evidence"]["start_line"])
            for f in json.loads(proc.stdout)["findings"]] == [("svc/views.py", 23)]


LOOP_AUTH = '''import bcrypt


def verify(password, hashed):
    return bcrypt.checkpw(password.encode(), hashed)


def fingerprint(token):
    return token[:8]
'''
LOOP_LOGIN = '''from fastapi import APIRouter

from svc import auth
import svc.auth
import svc.auth as passwords

router = APIRouter()


@router.post("/login")
async def login(password: str, hashed: bytes):
    return {"ok": auth.verify(password, hashed)}


@router.post("/login/v2")
async def login_v2(password: str, hashed: bytes):
    return {"ok": svc.auth.verify(password, hashed), "fp": passwords.fingerprint(password)}


@router.post("/login/v3")
async def login_v3(password: str, hashed: bytes, session):
    return {"ok": session.verify(password, hashed)}
'''


def test_a_helper_called_through_its_module_name_is_on_the_loop(cli, write_tree):
    # `from svc import auth` then `auth.verify(...)`, and `svc.auth.verify(...)`: the module's
    # function; `session.verify(...)` is some object's method, not resolved
    first, second = LOOP_LOGIN.split("\n\n\n@router.post(\"/login/v2\")")
    second = '@router.post("/login/v2")' + second
    for views, line in ((first, 12), (first.replace("return {\"ok\": auth.verify", "return {\"ok\": False, \"x\": auth") + "\n\n\n" + second, 17)):
        root = write_tree({"svc/__init__.py": "", "svc/auth.py": LOOP_AUTH, "svc/views.py": views})
        proc = cli("scan", ".", "--rule", LOOP_RULE, "--format", "json", "--fail-on", "never", cwd=root)
        assert [(f["evidence"]["path"], f["evidence"]["start_line"], [(r["path"], r["line"]) for r in f["related"]])
                for f in json.loads(proc.stdout)["findings"]] == [("svc/auth.py", 5, [("svc/views.py", line)])]
    (root / "svc/views.py").write_text(first.split("@router.post")[0] + "@router.post" + LOOP_LOGIN.split("@router.post")[-1])
    proc = cli("scan", ".", "--rule", LOOP_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    assert json.loads(proc.stdout)["findings"] == []


LOOP_STARTUP = '''import subprocess
import time

from fastapi import FastAPI

app = FastAPI()


def migrate():
    subprocess.check_call(["alembic", "upgrade", "head"])


def wait_for_cache():
    time.sleep(1)


@app.on_event("startup")
async def startup_event():
    migrate()


class Hub:
    async def initialize(self):
        wait_for_cache()


@app.get("/health")
async def health():
    wait_for_cache()
    return {"ok": True}
'''


def test_a_blocking_helper_that_only_startup_hooks_call_is_not_on_a_serving_loop(cli, write_tree):
    root = write_tree({"svc/__init__.py": "", "svc/app.py": LOOP_STARTUP})
    proc = cli("scan", ".", "--rule", LOOP_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    # the migration runs once before anything is served; the sleep also runs per request
    assert [(f["evidence"]["start_line"], [r["line"] for r in f["related"]])
            for f in json.loads(proc.stdout)["findings"]] == [(14, [29])]


ROW_SERIALIZERS = '''from rest_framework import serializers

from polls.models import Poll


class PollSerializer(serializers.ModelSerializer):
    open_answers = serializers.SerializerMethodField()

    class Meta:
        model = Poll
        fields = ["id", "open_answers"]

    def get_open_answers(self, obj):
        return obj.answers.filter(closed=False).count()
'''
ROW_DETAIL_VIEW = '''from rest_framework import generics

from polls.serializers import PollSerializer


class PollDetail(generics.RetrieveAPIView):
    serializer_class = PollSerializer
'''
ROW_RULE = "database.python.serializer-method-query-per-row"


def test_a_per_row_query_in_a_serializer_method_counts_only_where_a_list_renders_the_serializer(cli, write_tree):
    root = write_tree({"polls/serializers.py": ROW_SERIALIZERS, "polls/views.py": ROW_DETAIL_VIEW})
    proc = cli("scan", ".", "--rule", ROW_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    assert json.loads(proc.stdout)["findings"] == []  # one object per request: one query
    (root / "polls/feeds.py").write_text("from polls.serializers import PollSerializer\n\n\n"
                                          "def recent(polls):\n    return PollSerializer(polls, many=True).data\n")
    proc = cli("scan", ".", "--rule", ROW_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    assert [(f["evidence"]["path"], f["evidence"]["start_line"])
            for f in json.loads(proc.stdout)["findings"]] == [("polls/serializers.py", 14)]
    (root / "polls/feeds.py").unlink()
    (root / "polls/views.py").write_text(ROW_DETAIL_VIEW.replace("generics.RetrieveAPIView", "generics.ListAPIView"))
    proc = cli("scan", ".", "--rule", ROW_RULE, "--format", "json", "--fail-on", "never", cwd=root)
    assert len(json.loads(proc.stdout)["findings"]) == 1
