"""Layer contracts from the config become rules that fire only inside their layer."""
import json

LAYOUT = {
    "app/api/orders.py": ("from app.models import Order\nfrom app.services import orders\nfrom app import db\n\n"
                          "def list_orders():\n    rows = db.session.query(Order).all()\n    return orders.serialise(rows)\n"),
    "app/services/orders.py": "from app.models import Order\nfrom app import db\n\ndef all_orders():\n    return db.session.query(Order).all()\n",
    ".backend-review.yml": ("areas: [boundaries]\nboundaries:\n  - name: api-uses-services\n    from: ['app/api/*']\n"
                           "    forbid-imports: ['app.models*']\n    forbid-calls: ['db.session']\n    severity: high\n"),
}


def test_contract_fires_in_layer_only(cli, write_tree):
    root = write_tree(LAYOUT)
    proc = cli("scan", "app", "--format", "json", "--rule", "boundaries.python.contract-*", cwd=root)
    assert proc.returncode == 1, proc.stderr
    got = sorted((f["rule"], f["evidence"]["path"], f["evidence"]["start_line"], f["severity"])
                 for f in json.loads(proc.stdout)["findings"])
    assert got == [("boundaries.python.contract-api-uses-services", "app/api/orders.py", 1, "high"),
                   ("boundaries.python.contract-api-uses-services", "app/api/orders.py", 6, "high")]


def test_contract_with_bad_call_prefix_is_a_config_error(cli, write_tree):
    root = write_tree({"a.py": "x = 1\n", ".backend-review.yml":
                       "boundaries:\n  - name: bad\n    from: ['*']\n    forbid-calls: ['db.session(']\n"})
    proc = cli("scan", "a.py", cwd=root)
    assert proc.returncode == 2 and "boundaries" in proc.stderr and "db.session(" in proc.stderr


def test_contract_missing_forbid_is_rejected_by_schema(cli, write_tree):
    root = write_tree({"a.py": "x = 1\n", ".backend-review.yml": "boundaries:\n  - name: empty\n    from: ['*']\n"})
    proc = cli("scan", "a.py", cwd=root)
    assert proc.returncode == 2 and ".backend-review.yml: boundaries.0" in proc.stderr
