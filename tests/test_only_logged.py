"""`unless-only-logged`: a spoofable client IP written only to log lines records a value, it
decides nothing; the same value returned by a helper or used as a rate-limit key is a finding."""
import json

VIEWS = '''\
import logging

import flask
from flask import request

log = logging.getLogger(__name__)
app = flask.Flask(__name__)


@app.post("/login")
def login():
    client_ip = request.headers.get("X-Forwarded-For", "").split(",")[0].strip() or request.remote_addr
    if not check_password(request.form["user"], request.form["password"]):
        log.warning(f"login failed for {request.form['user']} [CLIENT: {client_ip}]")
        return "no", 401
    log.info("login ok [CLIENT: %s]", client_ip)
    return "ok"


def client_ip_of(req):
    forwarded = req.headers.get("X-Forwarded-For")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return req.remote_addr


@app.post("/reset")
def reset():
    ip = request.headers.get("X-Forwarded-For", "").split(",")[0]
    log.info("reset asked from %s", ip)
    if limiter.hit(f"reset:{ip}"):
        return "slow down", 429
    return "ok"
'''


def test_an_ip_only_written_to_logs_is_not_reported(cli, write_tree):
    root = write_tree({"shop/views.py": VIEWS})
    proc = cli("scan", root, "--format", "json", "--no-cache", "--fail-on", "never",
               "--rule", "auth.python.client-ip-from-first-forwarded-for", "--preview")
    assert proc.returncode == 0, proc.stderr
    lines = sorted(f["evidence"]["start_line"] for f in json.loads(proc.stdout)["findings"])
    assert lines == [23, 29]  # the helper's return, the rate-limit key; not the login logs (line 12)
