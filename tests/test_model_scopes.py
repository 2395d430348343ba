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
