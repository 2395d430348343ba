"""A public sign-up without a rate limit is reported unless the project installs a CAPTCHA
app (the `signup-captcha` fact of its settings), whose field the sign-up form carries."""
from conftest import rule_findings

RULE = "ratelimit.python.signup-handler-without-rate-limit"

VIEWS = '''from django import forms
from django.contrib.auth.models import User
from django.shortcuts import redirect, render


class SignupForm(forms.ModelForm):
    password = forms.CharField(widget=forms.PasswordInput())

    class Meta:
        model = User
        fields = ["username", "email"]


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        return redirect("/")
    return render(request, "signup.html", {"form": form})
'''

URLS = '''from django.urls import path

from shop import views

urlpatterns = [path("signup/", views.signup)]
'''

SETTINGS = '''INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.sessions",
{extra}    "shop",
]
ROOT_URLCONF = "shop.urls"
SECRET_KEY = "dev-only"
'''


def test_public_signup_without_limit_is_reported(write_tree):
    tree = write_tree({"shop/views.py": VIEWS, "shop/urls.py": URLS, "shop/settings.py": SETTINGS.format(extra="")})
    assert rule_findings(tree, RULE) == [(RULE, "shop/views.py", 14)]


def test_an_installed_captcha_app_settles_the_signup(write_tree):
    for app in ("captcha", "django_recaptcha", "hcaptcha"):
        tree = write_tree({"shop/views.py": VIEWS, "shop/urls.py": URLS,
                           "shop/settings.py": SETTINGS.format(extra=f'    "{app}",\n')})
        assert rule_findings(tree, RULE) == [], app


def test_a_captcha_only_in_test_settings_settles_nothing(write_tree):
    tree = write_tree({"shop/views.py": VIEWS, "shop/urls.py": URLS, "shop/settings.py": SETTINGS.format(extra=""),
                       "shop/test_settings.py": SETTINGS.format(extra='    "captcha",\n')})
    assert rule_findings(tree, RULE) == [(RULE, "shop/views.py", 14)]
