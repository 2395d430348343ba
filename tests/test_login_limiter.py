"""A login form without a rate limit is reported unless the project installs a limiter that
works on every authenticate() call (django-axes, django-defender): the `login-limiter` fact
of another file settles it."""
import json

from conftest import rule_findings

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


def findings_of(tree):
    return rule_findings(tree, RULE)


def test_login_form_without_limiter_is_reported(write_tree):
    tree = write_tree({"shop/forms.py": FORMS, "shop/settings.py": SETTINGS.format(extra="", backend="")})
    assert findings_of(tree) == [(RULE, "shop/forms.py", 11)]


def test_axes_in_settings_settles_every_login_form(write_tree):
    tree = write_tree({"shop/forms.py": FORMS,
                       "shop/settings.py": SETTINGS.format(extra='    "axes",\n',
                                                           backend='    "axes.backends.AxesStandaloneBackend",\n')})
    assert findings_of(tree) == []


def test_axes_only_in_test_settings_settles_nothing(cli, write_tree):
    test_settings = SETTINGS.format(extra='    "axes",\n', backend='    "axes.backends.AxesStandaloneBackend",\n')
    tree = write_tree({"shop/forms.py": FORMS, "shop/settings.py": SETTINGS.format(extra="", backend=""),
                       "shop/test_settings.py": test_settings})
    assert findings_of(tree) == [(RULE, "shop/forms.py", 11)]
    assert json.loads(cli("model", tree, "--format", "json").stdout)["login_limiters"] == []


def test_defender_middleware_settles_it_too(write_tree):
    settings = SETTINGS.format(extra="", backend="") + 'MIDDLEWARE = [\n    "defender.middleware.FailedLoginMiddleware",\n]\n'
    tree = write_tree({"shop/forms.py": FORMS, "shop/settings.py": settings})
    assert findings_of(tree) == []


def test_model_lists_the_login_limiter(cli, write_tree):
    tree = write_tree({"shop/settings.py": SETTINGS.format(extra='    "axes",\n', backend="")})
    proc = cli("model", tree, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["login_limiters"] == [{"path": "shop/settings.py", "line": 4, "framework": "django"}]
    assert "django  shop/settings.py:4" in cli("model", tree).stdout


VIEW_RULE = "ratelimit.python.django-login-view-without-ratelimit"

LOGIN_VIEW = '''from django.contrib.auth import views as auth_views

from .forms import SignInForm


class SignInView(auth_views.LoginView):
    form_class = SignInForm
'''

LIMITED_FORM = '''from django.contrib.auth.forms import AuthenticationForm

from .ratelimit import check_rate_limit


class SignInForm(AuthenticationForm):
    def clean(self):
        if not check_rate_limit("login", self.request):
            raise self.get_invalid_login_error()
        return super().clean()
'''

PLAIN_FORM = '''from django.contrib.auth.forms import AuthenticationForm


class SignInForm(AuthenticationForm):
    def clean(self):
        self.cleaned_data["username"] = self.cleaned_data.get("username", "").strip()
        return super().clean()
'''


def view_findings_of(tree):
    return [(path, line) for _, path, line in rule_findings(tree, VIEW_RULE)]


def test_a_login_view_is_limited_by_the_project_form_that_rate_limits_in_clean(write_tree):
    limited = write_tree({"shop/views.py": LOGIN_VIEW, "shop/forms.py": LIMITED_FORM, "shop/ratelimit.py": ""})
    assert view_findings_of(limited) == []
    plain = write_tree({"shop/views.py": LOGIN_VIEW, "shop/forms.py": PLAIN_FORM})
    assert view_findings_of(plain) == [("shop/views.py", 6)]


def test_model_lists_login_forms_that_rate_limit(cli, write_tree):
    tree = write_tree({"shop/forms.py": LIMITED_FORM})
    view = json.loads(cli("model", tree, "--format", "json").stdout)
    assert view["login_forms_with_limits"] == [{"path": "shop/forms.py", "line": 8, "name": "SignInForm"}]
    assert "SignInForm  shop/forms.py:8" in cli("model", tree).stdout
