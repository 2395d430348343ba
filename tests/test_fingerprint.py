"""Fingerprints: GitHub's line hash reproduced exactly; ours stable under moves."""
import pytest

from backend_review.fingerprint import finding_fingerprint, line_hashes

# Expected values from github/codeql-action src/fingerprints.test.ts (the upload
# action's own test vectors for primaryLocationLineHash).
VECTORS = [
    ("", ["c129715d7a2bc9a3:1"]),
    (" a\nb\n  \t\tc\n d", ["271789c17abda88f:1", "54703d4cd895b18:1", "180aee12dab6264:1", "a23a3dc5e078b07b:1"]),
    (" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End",
     ["8b7cf3e952e7aeb2:1", "b1ae1287ec4718d9:1", "bff680108adb0fcc:1", "c6805c5e1288b612:1",
      "b86d3392aea1be30:1", "e6ceba753e1a442:1"]),
    (" hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n",
     ["e9496ae3ebfced30:1", "fb7c023a8b9ccb3f:1", "ce8ba1a563dcdaca:1", "e20e36e16fcb0cc8:1",
      "b3edc88f2938467e:1", "c8e28b0b4002a3a0:1", "c129715d7a2bc9a3:1"]),
    (" hello; \t\nworld!!!\r\r\r  \t\tGreetings\r End\r",
     ["e9496ae3ebfced30:1", "fb7c023a8b9ccb3f:1", "ce8ba1a563dcdaca:1", "e20e36e16fcb0cc8:1",
      "b3edc88f2938467e:1", "c8e28b0b4002a3a0:1", "c129715d7a2bc9a3:1"]),
    ("Lorem ipsum dolor sit amet.\n" * 10,
     ["a7f2ff13bc495cf2:1", "a7f2ff13bc495cf2:2", "a7f2ff13bc495cf2:3", "a7f2ff13bc495cf2:4",
      "a7f2ff13bc495cf2:5", "a7f2ff13bc495cf2:6", "a7f2ff1481e87703:1", "a9cf91f7bbf1862b:1",
      "55ec222b86bcae53:1", "cc97dc7b1d7d8f7b:1", "c129715d7a2bc9a3:1"]),
]


@pytest.mark.parametrize("text,expected", VECTORS)
def test_line_hash_matches_github_upload_action(text, expected):
    hashes = line_hashes(text)
    assert [hashes[i + 1] for i in range(len(expected))] == expected


def test_line_hash_survives_lines_inserted_above():
    body = "def f():\n    return requests.get(url)\n"
    before = line_hashes(body)[2]
    after = line_hashes("import os\nimport sys\n\n" + body)[5]
    assert before == after


def test_own_fingerprint_ignores_position_but_not_code():
    a = finding_fingerprint("r.python.x", "app.py", "requests.get(url)", 1)
    assert a == finding_fingerprint("r.python.x", "app.py", "requests.get( url )".replace("( ", "(").replace(" )", ")"), 1)
    assert a == finding_fingerprint("r.python.x", "app.py", "  requests.get(url)\n", 1)
    assert a != finding_fingerprint("r.python.x", "app.py", "requests.post(url)", 1)
    assert a != finding_fingerprint("r.python.x", "app.py", "requests.get(url)", 2)
    assert a != finding_fingerprint("r.python.y", "app.py", "requests.get(url)", 1)
    assert a != finding_fingerprint("r.python.x", "other.py", "requests.get(url)", 1)
