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
    proc = cli("scan", root, "--format", "json", "--no-cache", "--fail-on", "never", "--preview")
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


MIXINS = '''\
from django.contrib.admin.views.decorators import staff_member_required
from django.views.generic import DetailView, ListView
from werkzeug.exceptions import Forbidden

from .decorators import administrator_permission_required


class AdministratorPermissionRequiredMixin:
    @classmethod
    def as_view(cls, **initkwargs):
        view = super().as_view(**initkwargs)
        return administrator_permission_required()(view)


class LogDetailView(AdministratorPermissionRequiredMixin, DetailView):
    pass


class RHAdminBase:
    def _check_access(self):
        if not session.user.is_admin:
            raise Forbidden("Only administrators may access this page.")


class RHAdminSettingsBase(RHAdminBase):
    pass


class RHRegistrationRequests(RHAdminSettingsBase):
    def _process(self):
        return RegistrationRequest.query.all()


class RHEventManage:
    def _check_access(self):
        if not self.event.is_admin(session.user):
            raise Forbidden("Only event managers may access this page.")


class SuperuserOnly:
    def test_func(self):
        return self.request.user.is_superuser


class OrderList(ListView):
    pass
'''


def test_admin_only_mixins_and_base_classes_pass_to_their_subclasses(write_tree):
    from pathlib import Path

    from backend_review.model import build
    root = Path(write_tree({"shop/views.py": MIXINS}))
    model = build([], root=root, files=["shop/views.py"])
    guards = {f.start: f.get("guard") for f in model.of_kind("admin-only")}
    assert guards == {
        8: "AdministratorPermissionRequiredMixin.as_view: administrator_permission_required",
        15: "derives from AdministratorPermissionRequiredMixin",
        19: "RHAdminBase._check_access: refuses unless session.user.is_admin",
        25: "derives from RHAdminBase",
        29: "derives from RHAdminSettingsBase",
        40: "SuperuserOnly.test_func: lets in only self.request.user.is_superuser",
    }
    # an event's organiser (`event.is_admin(user)`) and a plain list view are not the site's admins
    assert model.admin_guard("shop/views.py", 36) is None and model.admin_guard("shop/views.py", 45) is None


FLASK_LISTS = '''\
from flask import Blueprint, jsonify

from flask_security import roles_accepted, roles_required

from .auth import admin_required, login_required
from .models import Invite, Order, Report, Role

bp = Blueprint("admin", __name__)


@bp.get("/admin/invites")
@admin_required
def invites():
    return jsonify([i.to_dict() for i in Invite.query.all()])


@bp.get("/orders")
@login_required
def orders():
    return jsonify([o.to_dict() for o in Order.query.all()])


@bp.get("/admin/roles")
@roles_required("Administrator")
def roles():
    return jsonify([r.name for r in Role.query.all()])


@bp.get("/reports")
@roles_accepted("Administrator", "Auditor")
def reports():
    return jsonify([r.to_dict() for r in Report.query.all()])
'''


def test_an_unbounded_list_on_an_admin_page_is_not_reported(cli, write_tree):
    root = write_tree({"shop/views.py": FLASK_LISTS, "shop/auth.py": "", "shop/models.py": ""})
    proc = cli("scan", root, "--format", "json", "--no-cache", "--fail-on", "never", "--preview",
               "--rule", "database.python.unbounded-query-in-route")
    assert proc.returncode == 0, proc.stderr
    # admin pages list what the operators created: not reported; `roles_required("Administrator")`
    # is the site's administrators, a role list that also lets auditors in is not
    assert {(f["evidence"]["start_line"], f["severity"]) for f in json.loads(proc.stdout)["findings"]} == {
        (20, "medium"), (32, "medium")}


DRF_PERMISSIONS = '''\
from rest_framework import permissions, viewsets
from rest_framework.permissions import IsAdminUser, IsAuthenticated

from .permissions import IsOrgAdmin, IsSuperUser


class HarvestViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAuthenticated, IsSuperUser]


class BackupViewSet(viewsets.ModelViewSet):
    permission_classes = (permissions.IsAuthenticated, IsAdminUser)


class TeamViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAuthenticated, IsOrgAdmin]


class ReportViewSet(viewsets.ModelViewSet):
    permission_classes = [IsAuthenticated | IsAdminUser]
'''


def test_one_admin_only_permission_class_among_several_makes_a_drf_view_admin_only(write_tree):
    from pathlib import Path

    from backend_review.model import build
    root = Path(write_tree({"shop/api.py": DRF_PERMISSIONS}))
    model = build([], root=root, files=["shop/api.py"])
    # DRF lets a request in only when every listed class does: a project's IsSuperUser next to
    # IsAuthenticated is enough; an organisation's admin is another customer, and `A | B` lets
    # in whoever passes either
    assert {f.start: f.get("guard") for f in model.of_kind("admin-only")} == {7: "IsSuperUser", 11: "IsAdminUser"}
