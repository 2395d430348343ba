"""Where functions and classes are: the model reads them from the source itself (with `ast`,
or by indentation for syntax newer than the runner's Python)."""
from backend_review.model import source_scopes

SOURCE = '''import flask

app = flask.Flask(__name__)


@app.route("/a")
@login_required
def a():
    def inner():
        return 1
    return inner()


class OrderView(views.APIView, Mixin):
    """Docstring."""

    def get(self, request):
        return None
'''


def spans(scopes):
    return [(s.kind, s.name, s.start, s.end, s.bases) for s in scopes]


def test_scopes_include_decorators_nesting_and_bases():
    assert sorted(spans(source_scopes("x.py", SOURCE)), key=lambda s: s[2]) == [
        ("function", "a", 6, 11, []), ("function", "inner", 9, 10, []),
        ("class", "OrderView", 14, 18, ["views.APIView", "Mixin"]), ("function", "get", 17, 18, [])]


def test_newer_syntax_falls_back_to_indentation_with_the_same_spans():
    newer = SOURCE.replace("import flask\n", "import flask\ntype Handler = object\n")  # PEP 695: 3.12+
    got = sorted(spans(source_scopes("x.py", newer)), key=lambda s: s[2])
    assert got == [("function", "a", 7, 12, []), ("function", "inner", 10, 11, []),
                   ("class", "OrderView", 15, 19, ["views.APIView", "Mixin"]), ("function", "get", 18, 19, [])]


def test_settings_and_graphene_facts_come_from_the_source():
    from backend_review.model import read_source
    settings = (
        "import os\n"
        "INSTALLED_APPS = ['shop']\n"
        "DEBUG: bool = False\n"
        "if os.environ.get('REDIS_URL'):\n"
        "    CACHES = {'default': {}}\n"
        "try:\n"
        "    from .local import *\n"
        "except ImportError:\n"
        "    CELERY_TASK_TIME_LIMIT = 300\n"
        "class Config:\n"
        "    DEBUG = True\n"
        "def configure():\n"
        "    MIDDLEWARE = []\n"
        "TIMEZONE = 'UTC'\n"
    )
    _, facts = read_source("shop/settings.py", settings)
    assert sorted((f.kind, f.get("key") or f.get("module"), f.start) for f in facts) == [
        ("setting", "CACHES", 5), ("setting", "CELERY_TASK_TIME_LIMIT", 9), ("setting", "DEBUG", 3),
        ("settings-module", "INSTALLED_APPS", 2), ("star-import", ".local", 7)]
    schema = ("import graphene\n"
              "class Query(graphene.ObjectType):\n"
              "    orders = graphene.List(graphene.String)\n"
              "    def resolve_orders(root, info):\n"
              "        return []\n")
    _, facts = read_source("shop/schema.py", schema)
    assert [(f.kind, f.get("field"), f.start, f.end) for f in facts] == [("resolver", "resolve_orders", 4, 5)]
    # `resolve_*` in a file that does not use graphene is an ordinary function
    _, facts = read_source("shop/paths.py", "def resolve_path(p):\n    return p\n")
    assert facts == []


def test_a_reusable_apps_installed_apps_list_is_not_a_settings_module():
    from backend_review.model import read_source
    # django-oscar's oscar/__init__.py exports the list for the installer's settings
    _, facts = read_source("oscar/__init__.py", "INSTALLED_APPS = ['oscar', 'oscar.apps.basket']\n")
    assert facts == []
    # a split settings module with two markers still is one
    _, facts = read_source("shop/settings/prod.py", "DATABASES = {}\nALLOWED_HOSTS = ['shop.example']\n")
    assert [(f.kind, f.get("key")) for f in facts] == [("settings-module", "DATABASES")]


def test_the_call_graph_resolves_calls_through_an_imported_module_name():
    import ast

    from backend_review.calls import CallGraph
    graph = CallGraph()
    graph.read("shop/clients.py", ast.parse("def fetch(url):\n    return url\n"))
    graph.read("shop/views.py", ast.parse(
        "from . import clients\nimport shop.clients as c\nimport shop.clients\n\n\n"
        "async def view(url, session):\n"
        "    clients.fetch(url)\n    c.fetch(url)\n    shop.clients.fetch(url)\n    session.fetch(url)\n"))
    caller = ("shop/views.py", 6)
    resolved = [graph.resolve(caller, kind, name) for kind, name, _line in sorted(graph.calls[caller], key=lambda c: c[2])]
    # relative `from . import clients`, an alias, the full dotted name; not some object's method
    assert resolved == [("shop/clients.py", 1)] * 3 + [None]
