"""A csrf_exempt Django view acting as the session user is reported once per view method,
and not at all when the deployed settings make the session cookie SameSite=Strict."""
from conftest import rule_findings

RULE = "auth.python.django-csrf-exempt-session-view"

VIEWS = '''from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from shop.models import Tile


@method_decorator(csrf_exempt, name="dispatch")
class TileView(View):
    def post(self, request, tileid):
        tile = Tile.objects.get(pk=tileid)
        tile.data = request.POST["data"]
        tile.editor = request.user
        tile.save(user=request.user)
        return JsonResponse({"ok": True})
'''

SETTINGS = '''INSTALLED_APPS = ["django.contrib.auth", "django.contrib.sessions", "shop"]
SECRET_KEY = "dev-only"
{extra}'''


def test_one_finding_per_view_method(write_tree):
    tree = write_tree({"shop/views.py": VIEWS, "shop/settings.py": SETTINGS.format(extra="")})
    assert rule_findings(tree, RULE) == [(RULE, "shop/views.py", 14)]


def test_a_strict_session_cookie_settles_the_view(write_tree):
    tree = write_tree({"shop/views.py": VIEWS,
                       "shop/settings.py": SETTINGS.format(extra='SESSION_COOKIE_SAMESITE = "Strict"\n')})
    assert rule_findings(tree, RULE) == []


def test_a_lax_cookie_or_strict_only_in_test_settings_settles_nothing(write_tree):
    tree = write_tree({"shop/views.py": VIEWS,
                       "shop/settings.py": SETTINGS.format(extra='SESSION_COOKIE_SAMESITE = "Lax"\n'),
                       "shop/test_settings.py": SETTINGS.format(extra='SESSION_COOKIE_SAMESITE = "Strict"\n')})
    assert rule_findings(tree, RULE) == [(RULE, "shop/views.py", 14)]
