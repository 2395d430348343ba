"""Rule behaviour that one fixture file cannot show: a library whose import changes what a
call means (joserfc's `jwt.decode` beside PyJWT's), and a finding that is reported once for
the whole project (or once per value) with the other places as related locations."""
import json

PYJWT = (
    "import jwt\n"
    "\n"
    "def read(token, key):\n"
    "    return jwt.decode(token, key)\n"
)
JOSERFC = (
    "from joserfc import jwt\n"
    "from joserfc.jwk import OctKey\n"
    "\n"
    "def read(token, secret):\n"
    "    return jwt.decode(token, OctKey.import_key(secret)).claims\n"
)

THREADS = (
    "import threading\n"
    "from flask import Blueprint, redirect\n"
    "\n"
    "bp = Blueprint('tags', __name__)\n"
    "\n"
    "def remove_tag(uuid):\n"
    "    pass\n"
    "\n"
    "@bp.post('/tags/<uuid>/delete')\n"
    "def delete_tag(uuid):\n"
    "    threading.Thread(target=remove_tag, args=(uuid,), daemon=True).start()\n"
    "    return redirect('/tags')\n"
    "\n"
    "@bp.post('/tags/clear')\n"
    "def clear_tags():\n"
    "    threading.Thread(target=remove_tag, args=('*',), daemon=True).start()\n"
    "    return redirect('/tags')\n"
)


def _findings(cli, root, rule):
    proc = cli("scan", root, "--format", "json", "--no-cache", "--rule", rule, "--fail-on", "never", "--preview")
    assert proc.returncode == 0, proc.stderr
    return [f for f in json.loads(proc.stdout)["findings"] if f["rule"] == rule]


def test_joserfc_decode_is_not_an_unpinned_pyjwt_decode(cli, write_tree):
    root = write_tree({"auth/pyjwt_tokens.py": PYJWT, "auth/joserfc_tokens.py": JOSERFC})
    found = _findings(cli, root, "auth.python.jwt-algorithm-not-pinned")
    assert [f["evidence"]["path"] for f in found] == ["auth/pyjwt_tokens.py"]


def test_threads_started_in_handlers_are_one_finding_for_the_project(cli, write_tree):
    root = write_tree({"app/tags.py": THREADS})
    found = _findings(cli, root, "jobs.python.thread-started-in-request-handler")
    assert len(found) == 1
    assert found[0]["evidence"]["start_line"] == 11
    assert [r["line"] for r in found[0]["related"]] == [16]


DEV_CELERY = (
    "from celery import Celery\n"
    "\n"
    "app = Celery('devproject')\n"
    "app.config_from_object('django.conf:settings', namespace='CELERY')\n"
)
FORUM_TASKS = (
    "import requests\n"
    "from celery import shared_task\n"
    "\n"
    "@shared_task\n"
    "def fetch_avatar(url):\n"
    "    return requests.get(url, timeout=10).content\n"
)
SITE_CELERY = DEV_CELERY.replace("devproject", "site")


def test_a_celery_app_in_a_dev_project_is_not_where_the_deployer_sets_limits(cli, write_tree):
    # a reusable app that ships devproject/ to develop itself: the deployer's own Celery app
    # sets the time limits, so there is no project to report the missing setting on
    root = write_tree({"devproject/celery.py": DEV_CELERY, "forum/tasks.py": FORUM_TASKS})
    assert _findings(cli, root, "jobs.python.celery-task-without-time-limit") == []


def test_a_deployed_celery_app_takes_the_missing_time_limit(cli, write_tree):
    root = write_tree({"devproject/celery.py": DEV_CELERY, "site/celery.py": SITE_CELERY,
                       "forum/tasks.py": FORUM_TASKS})
    found = _findings(cli, root, "jobs.python.celery-task-without-time-limit")
    assert [f["evidence"]["path"] for f in found] == ["site/celery.py"]


def _plugin(name):
    return (
        "import requests\n"
        "\n"
        f"class {name}:\n"
        "    API_KEY = \"AIzaSyB68u-qFPP9oBJpo1DWAPFE_VD2Sfy9hpk\"\n"
        "\n"
        "    def fetch(self, url):\n"
        "        return requests.get(url, params={'key': self.API_KEY}, timeout=10)\n"
    )


def test_one_key_pasted_into_several_modules_is_one_finding(cli, write_tree):
    root = write_tree({"plugins/drive.py": _plugin("Drive"), "plugins/folder.py": _plugin("Folder"),
                       "plugins/video.py": _plugin("Video"),
                       "plugins/share.py": "API_KEY = \"dMnqMMZMUnN5YpvKENaEhdQQ5jxDqddt\"\n"})
    found = _findings(cli, root, "auth.python.hardcoded-credential")
    assert sorted(f["evidence"]["path"] for f in found) == ["plugins/drive.py", "plugins/share.py"]
    drive = next(f for f in found if f["evidence"]["path"] == "plugins/drive.py")
    assert sorted(r["path"] for r in drive["related"]) == ["plugins/folder.py", "plugins/video.py"]


TASK_BASES = (
    "from celery import Task\n"
    "from django.db import transaction\n"
    "\n"
    "\n"
    "class TransactionAwareTask(Task):\n"
    "    def apply_async(self, *args, **kwargs):\n"
    "        transaction.on_commit(lambda: super(TransactionAwareTask, self).apply_async(*args, **kwargs))\n"
)
SHOP_TASKS = (
    "from shop.celery_app import app\n"
    "from shop.task_bases import TransactionAwareTask\n"
    "\n"
    "\n"
    "@app.task(base=TransactionAwareTask)\n"
    "def send_receipt(order_id):\n"
    "    pass\n"
    "\n"
    "\n"
    "@app.task\n"
    "def invalidate_cache(order_id):\n"
    "    pass\n"
)
SHOP_SERVICE = (
    "from django.db import transaction\n"
    "\n"
    "from shop import tasks\n"
    "from shop.tasks import invalidate_cache, send_receipt\n"
    "\n"
    "\n"
    "def place_order(order):\n"
    "    with transaction.atomic():\n"
    "        order.save()\n"
    "        send_receipt.apply_async(args=(order.pk,))\n"
    "        tasks.send_receipt.delay(order.pk)\n"
    "        invalidate_cache.apply_async(args=(order.pk,))\n"
)


def test_a_task_whose_base_waits_for_the_commit_may_be_enqueued_in_a_transaction(cli, write_tree):
    root = write_tree({"shop/task_bases.py": TASK_BASES, "shop/tasks.py": SHOP_TASKS,
                       "shop/services.py": SHOP_SERVICE})
    found = _findings(cli, root, "database.python.network-call-inside-transaction")
    assert [(f["evidence"]["path"], f["evidence"]["start_line"]) for f in found] == [("shop/services.py", 12)]


def test_without_the_deferring_base_every_enqueue_in_a_transaction_is_reported(cli, write_tree):
    plain = TASK_BASES.replace("transaction.on_commit(lambda: ", "(lambda: ")
    root = write_tree({"shop/task_bases.py": plain, "shop/tasks.py": SHOP_TASKS,
                       "shop/services.py": SHOP_SERVICE})
    found = _findings(cli, root, "database.python.network-call-inside-transaction")
    assert [f["evidence"]["start_line"] for f in found] == [10, 11, 12]


PROVIDERS = (
    "from anthropic import AsyncAnthropic\n"
    "from openai import AsyncOpenAI\n"
    "\n"
    "\n"
    "def openai_client(api_key):\n"
    "    return AsyncOpenAI(api_key=api_key)\n"
    "\n"
    "\n"
    "def anthropic_client(api_key):\n"
    "    return AsyncAnthropic(api_key=api_key)\n"
)


def test_one_module_of_client_factories_is_one_finding(cli, write_tree):
    root = write_tree({"llm/providers.py": PROVIDERS, "llm/other.py": PROVIDERS})
    found = _findings(cli, root, "resilience.python.sdk-client-long-default-timeout")
    assert sorted((f["evidence"]["path"], f["evidence"]["start_line"]) for f in found) == [
        ("llm/other.py", 6), ("llm/providers.py", 6)]
    assert all([r["line"] for r in f["related"]] == [10] for f in found)


def test_the_model_lists_tasks_whose_base_waits_for_the_commit(cli, write_tree):
    root = write_tree({"shop/task_bases.py": TASK_BASES, "shop/tasks.py": SHOP_TASKS,
                       "shop/services.py": SHOP_SERVICE})
    proc = cli("model", root, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    view = json.loads(proc.stdout)
    assert [(t["name"], t["base"], t["path"]) for t in view["commit_deferred_tasks"]] == [
        ("send_receipt", "TransactionAwareTask", "shop/tasks.py")]
    text = cli("model", root)
    assert "send_receipt (base=TransactionAwareTask)  shop/tasks.py:5" in text.stdout


POOL_FALLBACK = '''import urllib3
from flask import Flask

app = Flask(__name__)


@app.get("/host-ip")
def host_ip():
    http = urllib3.PoolManager()
    try:
        return http.request("GET", "https://ip.example.net").data
    except urllib3.exceptions.HTTPError:
        return http.request("GET", "https://ip.example.org").data


@app.get("/status")
def status():
    return urllib3.request("GET", "https://status.example.net").data
'''


def test_requests_through_one_pool_without_a_timeout_are_one_finding_per_function(cli, write_tree):
    root = write_tree({"shop/views.py": POOL_FALLBACK})
    proc = cli("scan", ".", "--rule", "resilience.python.urllib-without-timeout", "--format", "json",
               "--fail-on", "never", "--no-cache", cwd=root)
    assert proc.returncode == 0, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert [f["evidence"]["start_line"] for f in findings] == [11, 18]
    assert [r["line"] for r in findings[0]["related"] if "same problem" in r["message"]] == [13]


COOKIE_SETTINGS = '''import os

SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"

SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
'''

ENV_COOKIE_SETTINGS = '''import environ

env = environ.Env()
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", False)
'''


def test_the_cookie_flags_of_one_settings_module_are_one_finding(cli, write_tree):
    """SESSION_COOKIE_SECURE and CSRF_COOKIE_SECURE switched off side by side are one choice of
    one settings module: one finding on the first, the other related."""
    root = write_tree({"shop/settings.py": COOKIE_SETTINGS, "blog/settings.py": ENV_COOKIE_SETTINGS})
    off = _findings(cli, root, "auth.python.cookie-secure-flag-disabled")
    assert [(f["evidence"]["path"], f["evidence"]["start_line"], [r["line"] for r in f["related"]]) for f in off] == [
        ("shop/settings.py", 6, [7])]
    env = _findings(cli, root, "auth.python.cookie-secure-defaults-to-off")
    assert [(f["evidence"]["path"], f["evidence"]["start_line"], [r["line"] for r in f["related"]]) for f in env] == [
        ("blog/settings.py", 4, [5])]


JWT_CONFIG = '''import datetime

JWT_ACCESS_TOKEN_EXPIRES = datetime.timedelta(days=7)
JWT_REFRESH_TOKEN_EXPIRES = datetime.timedelta(days=15)
'''

JWT_APP = '''from flask import Flask
from flask_jwt_extended import JWTManager

from api import config, revoked

app = Flask(__name__)
app.config.from_object(config)
jwt = JWTManager(app)


@jwt.token_in_blocklist_loader
def is_revoked(jwt_header, jwt_payload):
    return revoked.contains(jwt_payload["jti"])
'''


def test_a_long_access_token_is_settled_by_a_revocation_list(cli, write_tree):
    """flask-jwt-extended asks the project's blocklist loader about every token: with one
    registered, a long access-token lifetime is not a finding; without it, it is."""
    plain = write_tree({"api/config.py": JWT_CONFIG})
    assert [f["evidence"]["start_line"] for f in _findings(cli, plain, "auth.python.jwt-access-token-lifetime-in-days")] == [3]
    revocable = write_tree({"api/config.py": JWT_CONFIG, "api/app.py": JWT_APP})
    assert _findings(cli, revocable, "auth.python.jwt-access-token-lifetime-in-days") == []
