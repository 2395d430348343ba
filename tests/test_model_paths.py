"""What a path alone says about the code in it (runner/model.py `path_context`)."""
import pytest

from backend_review.model import path_context


@pytest.mark.parametrize("path,context", [
    ("airflow/example_dags/tutorial.py", "test"),
    ("shop/docs_examples/app.py", "test"),
    ("shop/sample_apps/app.py", "test"),
    ("shop/examples/app.py", "test"),
    ("shop/tests/test_views.py", "test"),
    ("shop/.semgrep/rule.py", "test"),
    ("shop/migrations/0001_initial.py", "migration"),
    ("shop/management/commands/sync.py", "cli"),
    ("shop/scripts/backfill.py", "cli"),
    ("shop/views.py", None),
    ("shop/examples_service.py", None),       # a module name, not a folder
    ("shop/counterexamples/views.py", None),  # only whole words before/after `_`
    ("shop/resample/views.py", None),
])
def test_path_context(path, context):
    found = path_context(path)
    assert (found[0] if found else None) == context
