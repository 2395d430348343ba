"""What a path alone says about the code in it (runner/model.py `path_context`)."""
import pytest

from backend_review.model import path_context


@pytest.mark.parametrize("path,context", [
    ("airflow/example_dags/tutorial.py", "test"),
    ("shop/docs_examples/app.py", "test"),
    ("shop/sample_apps/app.py", "test"),
    ("zou/plugin_template/resources.py", "test"),  # a scaffold plugin authors copy
    ("shop/templates/emails.py", None),       # a folder named templates alone is not one
    ("shop/examples/app.py", "test"),
    ("shop/tests/test_views.py", "test"),
    ("shop/tests.py", "test"),                # a Django app's own test module
    ("shop/testutils/settings.py", "test"),
    ("shop/contests.py", None),
    ("pulpcore/pytest_plugin.py", "test"),    # fixtures a package ships for its plugins' tests
    ("shop/pytest_fixtures.py", "test"),
    ("shop/pytestify.py", None),
    ("shop/.semgrep/rule.py", "test"),
    ("shop/migrations/0001_initial.py", "migration"),
    ("shop/management/commands/sync.py", "cli"),
    ("shop/scripts/backfill.py", "cli"),
    ("airflow/cli/commands/db_command.py", "cli"),  # argparse-dispatched, no decorator
    ("mlflow/gateway/cli.py", "cli"),
    ("superset/commands/chart/create.py", None),    # the command pattern, not a CLI
    ("mlflow/tracing/gemini_cli.py", None),
    ("shop/views.py", None),
    ("shop/examples_service.py", None),       # a module name, not a folder
    ("shop/counterexamples/views.py", None),  # only whole words before/after `_`
    ("shop/resample/views.py", None),
    ("devproject/settings.py", "test"),       # the project a package ships to develop itself
    ("shop/demo_site/urls.py", "test"),
    ("shop/testapp/models.py", "test"),
    ("shop/devices/views.py", None),
    ("shop/project/settings.py", None),
    ("bugsink/settings/development.py", "test"),  # a developer's settings module
    ("shop/config/dev.py", "test"),
    ("shop/settings_dev.py", "test"),
    ("shop/dev_settings.py", "test"),
    ("shop/settings/production.py", None),
    ("shop/settings/local.py", None),             # deployments keep their overrides here
    ("shop/api/dev.py", None),                    # a module named dev outside the settings
    ("shop/devices.py", None),
])
def test_path_context(path, context):
    found = path_context(path)
    assert (found[0] if found else None) == context


def _fact(kind, file, line, **attrs):
    from backend_review.model import Fact
    return Fact(kind=kind, path=file, start=line, end=line, attrs=tuple(attrs.items()), rule="t")


def test_router_prefixes_join_the_route_path():
    from backend_review.model import ProjectModel, _apply_router_prefixes
    model = ProjectModel()
    model.facts = [
        _fact("router", "app/api/items.py", 3, framework="fastapi", name="router", prefix='"/items/"'),
        _fact("route", "app/api/items.py", 6, framework="fastapi", path='"/{item_id}"', method="get", router="router"),
        _fact("route", "app/api/items.py", 9, framework="fastapi", path='""', method="post", router="router"),
        _fact("mount", "app/main.py", 5, framework="fastapi", name="items.router", prefix='"/api/v1"'),
        # a router named like another file's, mounted through that other module: no prefix from it
        _fact("mount", "app/main.py", 6, framework="fastapi", name="users.router", prefix='"/api/v2"'),
        # a prefix from a variable is not known: left out
        _fact("router", "app/api/admin.py", 2, framework="flask", name="bp", prefix="settings.ADMIN_PREFIX"),
        _fact("route", "app/api/admin.py", 5, framework="flask", path="'/users'", method="route", router="bp"),
        _fact("route", "app/api/other.py", 5, framework="flask", path="'/ping'", method="route", router="app"),
    ]
    _apply_router_prefixes(model)
    paths = {(f.path, f.start): f.get("path") for f in model.facts if f.kind == "route"}
    from backend_review.model import _unquote
    assert {k: _unquote(v) for k, v in paths.items()} == {
        ("app/api/items.py", 6): "/api/v1/items/{item_id}",
        ("app/api/items.py", 9): "/api/v1/items",
        ("app/api/admin.py", 5): "/users",
        ("app/api/other.py", 5): "/ping",
    }


def test_a_django_app_named_examples_is_deployed_code_but_its_tests_and_migrations_are_not():
    from backend_review.model import ProjectModel

    files = ("backend/examples/__init__.py", "backend/examples/models.py", "backend/examples/views.py",
             "backend/examples/migrations/0001_initial.py", "backend/examples/tests/test_views.py",
             "docs/examples/demo/models.py", "docs/examples/demo/views.py", "shop/tests/models.py")
    model = ProjectModel(project_dirs=("backend",), files=files)
    assert model.path_context("backend/examples/views.py") is None
    assert model.path_context("backend/examples/migrations/0001_initial.py")[0] == "migration"
    assert model.path_context("backend/examples/tests/test_views.py")[0] == "test"
    model = ProjectModel(files=files)
    assert model.path_context("docs/examples/demo/views.py")[0] == "test"  # an example project in the docs
    assert model.path_context("shop/tests/models.py")[0] == "test"  # test models are not an app
