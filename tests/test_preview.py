"""Preview rules: shipped and tested, but off unless --preview or `preview: true`."""
import json

PREVIEW_ID = "database.python.sql-string-formatted-into-execute"
STABLE_ID = "resilience.python.requests-without-timeout"

APP = {
    "billing/views.py": (
        "import requests\n"
        "from django.db import connection\n"
        "from flask import Flask\n"
        "app = Flask(__name__)\n"
        "\n"
        "@app.get('/rates')\n"
        "def rates():\n"
        "    return requests.get('https://rates.example.com/today').json()\n"
        "\n"
        "def refund_total(event_id):\n"
        "    with connection.cursor() as cursor:\n"
        "        cursor.execute(f'SELECT SUM(amount) FROM refunds WHERE event_id = {event_id}')\n"
        "        return cursor.fetchone()[0]\n"
    ),
}


def _rules(proc):
    assert proc.returncode in (0, 1), proc.stderr
    return {(f["rule"], f["evidence"]["path"], f["evidence"]["start_line"]) for f in json.loads(proc.stdout)["findings"]}


def test_preview_rules_are_off_by_default(cli, write_tree):
    root = write_tree(APP)
    found = _rules(cli("scan", root, "--format", "json", "--no-cache"))
    assert (STABLE_ID, "billing/views.py", 8) in found
    assert not [f for f in found if f[0] == PREVIEW_ID]


def test_preview_flag_and_config_turn_them_on(cli, write_tree):
    root = write_tree(APP)
    assert (PREVIEW_ID, "billing/views.py", 12) in _rules(cli("scan", root, "--format", "json", "--no-cache", "--preview"))
    write_tree({".backend-review.yml": "preview: true\n"})
    assert (PREVIEW_ID, "billing/views.py", 12) in _rules(cli("scan", root, "--format", "json", "--no-cache"))
    # the flag wins over the config for one run
    assert not [f for f in _rules(cli("scan", root, "--format", "json", "--no-cache", "--no-preview"))
                if f[0] == PREVIEW_ID]


def test_selecting_only_preview_rules_without_preview_is_an_error(cli, write_tree):
    root = write_tree(APP)
    proc = cli("scan", root, "--rule", PREVIEW_ID, "--no-cache")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("backend-review: error: --rule: ")
    assert "--preview" in proc.stderr and PREVIEW_ID in proc.stderr
    # a glob that also matches stable rules runs the stable ones
    proc = cli("scan", root, "--rule", "database.python.*", "--format", "json", "--no-cache")
    assert proc.returncode in (0, 1), proc.stderr
    assert not [f for f in json.loads(proc.stdout)["findings"] if f["rule"] == PREVIEW_ID]
    proc = cli("scan", root, "--rule", PREVIEW_ID, "--preview", "--format", "json", "--no-cache")
    assert {f["rule"] for f in json.loads(proc.stdout)["findings"]} == {PREVIEW_ID}


def test_rules_list_and_show_say_preview(cli):
    proc = cli("rules", "list")
    line = next(l for l in proc.stdout.splitlines() if l.startswith(PREVIEW_ID + " "))
    assert line.rstrip().endswith("preview")
    stable = next(l for l in proc.stdout.splitlines() if l.startswith(STABLE_ID + " "))
    assert "preview" not in stable
    assert "preview: off unless --preview" in proc.stderr
    listed = json.loads(cli("rules", "list", "--format", "json").stdout)
    by_id = {r["id"]: r for r in listed}
    assert by_id[PREVIEW_ID]["preview"] and by_id[STABLE_ID]["preview"] is None
    show = cli("rules", "show", PREVIEW_ID).stdout
    assert "Preview: off unless --preview." in show and "tuning half" in show
