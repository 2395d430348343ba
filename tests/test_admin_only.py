"""Handlers only the site's administrators reach: a rule whose attacker is the caller (SSRF,
path traversal) is `admin-only: off`, so an admin pointing the server at a URL or a file is
configuration, not a finding. The same code behind an ordinary login stays a finding, and
an organisation admin of a multi-tenant service is not the site's administrator."""
import json

FASTAPI = '''\
import httpx
from fastapi import APIRouter, Depends

from .auth import check_admin, get_verified_user, require_org_admin

router = APIRouter()


@router.post("/admin/smtp/test")
async def test_relay(url: str, user=Depends(check_admin)):
    return httpx.get(url).status_code


@router.post("/integrations/test", dependencies=[Depends(check_admin)])
async def test_integration(url: str):
    return httpx.get(url).status_code


@router.post("/me/webhook/test")
async def test_webhook(url: str, user=Depends(get_verified_user)):
    return httpx.get(url).status_code


@router.post("/org/webhook/test")
async def test_org_webhook(url: str, user=Depends(require_org_admin)):
    return httpx.get(url).status_code
'''

DJANGO = '''\
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import FileResponse


@staff_member_required
def export_log(request):
    return FileResponse(open("/var/log/shop/" + request.GET["name"], "rb"))


@login_required
def download(request):
    return FileResponse(open("/srv/files/" + request.GET["name"], "rb"))
'''

DRF = '''\
from django.contrib.auth.decorators import user_passes_test
from django.http import FileResponse
from rest_framework.permissions import IsAdminUser
from rest_framework.views import APIView


class BackupDownload(APIView):
    permission_classes = [IsAdminUser]

    def get(self, request):
        return FileResponse(open("/srv/backups/" + request.query_params["name"], "rb"))


@user_passes_test(lambda u: u.is_superuser)
def export_dump(request):
    return FileResponse(open("/srv/dumps/" + request.GET["name"], "rb"))
'''


def _scan(cli, root):
    proc = cli("scan", root, "--format", "json", "--no-cache", "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    return {(f["rule"], f["evidence"]["path"], f["evidence"]["start_line"]) for f in json.loads(proc.stdout)["findings"]
            if f["rule"] in ("validation.python.ssrf-request-url", "validation.python.path-traversal-request-path")}


def test_admin_only_handlers_are_not_reported_for_caller_chosen_urls_and_paths(cli, write_tree):
    root = write_tree({"shop/api.py": FASTAPI, "shop/auth.py": "", "shop/views.py": DJANGO,
                       "shop/backups.py": DRF})
    assert _scan(cli, root) == {
        ("validation.python.ssrf-request-url", "shop/api.py", 21),
        ("validation.python.ssrf-request-url", "shop/api.py", 26),
        ("validation.python.path-traversal-request-path", "shop/views.py", 13),
    }


def test_the_model_lists_admin_only_entry_points(cli, write_tree):
    root = write_tree({"shop/api.py": FASTAPI, "shop/auth.py": "", "shop/views.py": DJANGO})
    proc = cli("model", root, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    view = json.loads(proc.stdout)
    assert {(a["path"], a["line"], a["guard"]) for a in view["admin_only"]} == {
        ("shop/api.py", 9, "check_admin"), ("shop/api.py", 14, "check_admin"),
        ("shop/views.py", 6, "staff_member_required")}
    text = cli("model", root).stdout
    assert "Administrators-only entry points (3)" in text
    assert "check_admin  shop/api.py:9" in text
