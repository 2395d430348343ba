"""Docs that copy real output (README help block, output samples, catalogue) are current."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_docs_are_fresh():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "update_docs.py"), "--check"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{proc.stdout}{proc.stderr}\nrun `make docs` to regenerate"


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text()[:1500]
    assert "make scan" in head and "make test" in head


def test_readme_exit_codes_match_the_cli():
    from backend_review import cli
    text = (ROOT / "README.md").read_text()
    for code in (cli.EXIT_OK, cli.EXIT_FINDINGS, cli.EXIT_USAGE, cli.EXIT_ENGINE):
        assert f"| {code} |" in text
