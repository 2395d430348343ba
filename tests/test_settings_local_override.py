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
    proc = cli("scan", root, "--format", "json", "--no-cache", "--preview")
    assert proc.returncode in (0, 1), proc.stderr
    found = {(f["rule"], f["evidence"]["path"]) for f in json.loads(proc.stdout)["findings"] if f["rule"] in RULES}
    assert found == {(rule, "billing/settings.py") for rule in RULES}


# The settings-package layout: base.py holds development defaults, the module deployments
# load star-imports it and assigns the settings again (cookiecutter-django, Label Studio).
PRODUCTION = (
    "from .base import *  # noqa: F403\n"
    "\n"
    "DEBUG = False\n"
    "CACHES = {'default': {'BACKEND': 'django.core.cache.backends.redis.RedisCache', 'LOCATION': 'redis://cache'}}\n"
)
ABSOLUTE = "from shop.settings.base import *  # noqa: F403\n\nDEBUG = False\n"
# star-imports base but leaves DEBUG and the cache as base set them
STAGING = "from .base import *  # noqa: F403\n\nALLOWED_HOSTS = ['staging.example.com']\n"


def _found(cli, root):
    proc = cli("scan", root, "--format", "json", "--no-cache", "--preview")
    assert proc.returncode in (0, 1), proc.stderr
    return {(f["rule"], f["evidence"]["path"]) for f in json.loads(proc.stdout)["findings"] if f["rule"] in RULES}


def test_settings_assigned_again_by_a_module_that_star_imports_them_are_its_to_decide(cli, write_tree):
    root = write_tree({"shop/settings/__init__.py": "", "shop/settings/base.py": BASE,
                       "shop/settings/production.py": PRODUCTION,
                       "billing/settings/__init__.py": "", "billing/settings/base.py": BASE,
                       "billing/settings/staging.py": STAGING,
                       "crm/settings/__init__.py": "", "crm/settings/base.py": BASE, "crm/settings/prod.py": ABSOLUTE})
    assert _found(cli, root) == {
        *((rule, "billing/settings/base.py") for rule in RULES),  # nothing assigns them again
        # crm's prod.py imports shop.settings.base, not crm's: crm's base decides for itself
        *((rule, "crm/settings/base.py") for rule in RULES),
    }


def test_an_absolute_star_import_names_the_module_by_its_dotted_path(cli, write_tree):
    root = write_tree({"shop/settings/__init__.py": "", "shop/settings/base.py": BASE,
                       "shop/settings/prod.py": ABSOLUTE})
    # prod.py sets DEBUG again, not the cache
    assert _found(cli, root) == {("statefulness.python.django-locmem-default-cache", "shop/settings/base.py")}
