"""Untimed requests calls are reported once per function, the later ones as related places of
that finding; calls in another function are a finding of their own."""
import json

RULE = "resilience.python.requests-without-timeout"

CLIENT = '''import requests


class DirectoryClient:
    def __init__(self, base_url):
        self.base_url = base_url
        self.http = requests.Session()

    def sync(self, group):
        members = self.http.get(f"{self.base_url}/groups/{group}").json()
        for member in members:
            self.http.put(f"{self.base_url}/users/{member['id']}", json=member)
        return members

    def remove(self, user_id):
        return self.http.delete(f"{self.base_url}/users/{user_id}")
'''


def test_one_finding_per_function_with_the_other_calls_related(write_tree, cli):
    tree = write_tree({"directory/client.py": CLIENT})
    proc = cli("scan", tree, "--rule", RULE, "--format", "json", "--fail-on", "never", "--no-cache", cwd=tree)
    assert proc.returncode == 0, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert [(f["rule"], f["evidence"]["path"], f["evidence"]["start_line"]) for f in findings] == [
        (RULE, "directory/client.py", 10), (RULE, "directory/client.py", 16)]
    assert [r["line"] for r in findings[0]["related"]] == [12]
