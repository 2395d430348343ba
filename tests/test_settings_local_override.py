"""A base Django settings module that ends by star-importing the site's own settings module
leaves DEBUG and the cache to it (Review Board's `settings.py` sets `DEBUG = True` and a
local-memory cache for development, then `from settings_local import *`, which every
installation generates). The same assignments without that import are findings."""
import json

BASE = (
    "DEBUG = True\n"
    "INSTALLED_APPS = ['django.contrib.auth', 'shop']\n"
    "MIDDLEWARE = ['django.middleware.csrf.CsrfViewMiddleware']\n"
    "CACHES = {\n"
    "    'default': {\n"
    "        'BACKEND': 'django.core.cache.backends.locmem.LocMemCache',\n"
    "        'LOCATION': 'shop',\n"
    "    },\n"
    "}\n"
)
OVERRIDDEN = BASE + (
    "\n"
    "try:\n"
    "    from settings_local import *  # noqa: F403\n"
    "except ImportError as exc:\n"
    "    raise SystemExit('settings_local.py is required: %s' % exc)\n"
)
RULES = {"api.python.django-debug-enabled-in-settings", "statefulness.python.django-locmem-default-cache"}


def test_star_imported_local_settings_take_over_debug_and_cache(cli, write_tree):
    root = write_tree({"shop/settings.py": OVERRIDDEN, "billing/settings.py": BASE})
    proc = cli("scan", root, "--format", "json", "--no-cache")
    assert proc.returncode in (0, 1), proc.stderr
    found = {(f["rule"], f["evidence"]["path"]) for f in json.loads(proc.stdout)["findings"] if f["rule"] in RULES}
    assert found == {(rule, "billing/settings.py") for rule in RULES}
