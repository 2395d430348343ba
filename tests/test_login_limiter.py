"""A login form without a rate limit is reported unless the project installs a limiter that
works on every authenticate() call (django-axes, django-defender): the `login-limiter` fact
of another file settles it."""
import json

RULE = "ratelimit.python.django-login-form-without-ratelimit"

FORMS = '''from django import forms
from django.contrib.auth import authenticate


class LoginForm(forms.Form):
    email = forms.EmailField()
    password = forms.CharField(widget=forms.PasswordInput())

    def clean(self):
        data = super().clean()
        user = authenticate(email=data.get("email"), password=data.get("password"))
        if user is None:
            raise forms.ValidationError("Wrong e-mail or password")
        return {"user": user}
'''

SETTINGS = '''INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.sessions",
{extra}    "shop",
]
AUTHENTICATION_BACKENDS = [
{backend}    "django.contrib.auth.backends.ModelBackend",
]
'''


def findings_of(cli, tree):
    proc = cli("scan", tree, "--rule", RULE, "--format", "json", "--fail-on", "never", "--no-cache", cwd=tree)
    assert proc.returncode == 0, proc.stderr
    return [(f["rule"], f["evidence"]["path"], f["evidence"]["start_line"]) for f in json.loads(proc.stdout)["findings"]]


def test_login_form_without_limiter_is_reported(cli, write_tree):
    tree = write_tree({"shop/forms.py": FORMS, "shop/settings.py": SETTINGS.format(extra="", backend="")})
    assert findings_of(cli, tree) == [(RULE, "shop/forms.py", 11)]


def test_axes_in_settings_settles_every_login_form(cli, write_tree):
    tree = write_tree({"shop/forms.py": FORMS,
                       "shop/settings.py": SETTINGS.format(extra='    "axes",\n',
                                                           backend='    "axes.backends.AxesStandaloneBackend",\n')})
    assert findings_of(cli, tree) == []


def test_defender_middleware_settles_it_too(cli, write_tree):
    settings = SETTINGS.format(extra="", backend="") + 'MIDDLEWARE = [\n    "defender.middleware.FailedLoginMiddleware",\n]\n'
    tree = write_tree({"shop/forms.py": FORMS, "shop/settings.py": settings})
    assert findings_of(cli, tree) == []


def test_model_lists_the_login_limiter(cli, write_tree):
    tree = write_tree({"shop/settings.py": SETTINGS.format(extra='    "axes",\n', backend="")})
    proc = cli("model", tree, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["login_limiters"] == [{"path": "shop/settings.py", "line": 4, "framework": "django"}]
    assert "django  shop/settings.py:4" in cli("model", tree).stdout
