"""Generate a realistic Python backend of a given size for benchmarks.

Deterministic (seeded): the same arguments always write the same tree. Files mix
Flask blueprints, Django/DRF views, SQLAlchemy models and repositories, Celery tasks and
HTTP clients, mostly written the careful way, with the occasional review problem.
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

ENTITIES = ["order", "invoice", "customer", "shipment", "payment", "product", "coupon", "refund", "ticket",
            "subscription", "warehouse", "supplier", "review", "cart", "address", "session", "report", "webhook"]

MODEL = '''from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from {pkg}.db import Base


class {Cls}(Base):
    __tablename__ = "{name}s"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(32), default="new")
    amount: Mapped[float] = mapped_column(Numeric(12, 2), default=0)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow, onupdate=datetime.utcnow)

    account = relationship("Account", back_populates="{name}s")

    def to_dict(self):
        return {{
            "id": self.id,
            "reference": self.reference,
            "status": self.status,
            "amount": str(self.amount),
            "created_at": self.created_at.isoformat(),
        }}

    def can_transition(self, new_status):
        allowed = {{"new": {{"active", "cancelled"}}, "active": {{"done", "cancelled"}}}}
        return new_status in allowed.get(self.status, set())
'''

REPO = '''from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from {pkg}.models.{name} import {Cls}


class {Cls}Repository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, account_id: int, {name}_id: int) -> {Cls} | None:
        stmt = select({Cls}).where({Cls}.id == {name}_id, {Cls}.account_id == account_id)
        return self.session.scalars(stmt).first()

    def page(self, account_id: int, limit: int = 50, offset: int = 0) -> list[{Cls}]:
        stmt = (select({Cls}).where({Cls}.account_id == account_id, {Cls}.archived.is_(False))
                .options(selectinload({Cls}.account)).order_by({Cls}.id).limit(limit).offset(offset))
        return list(self.session.scalars(stmt))

    def add(self, item: {Cls}) -> {Cls}:
        self.session.add(item)
        self.session.flush()
        return item

    def archive(self, item: {Cls}) -> None:
        item.archived = True
        self.session.flush()

    def count_by_status(self, account_id: int, status: str) -> int:
        stmt = select({Cls}.id).where({Cls}.account_id == account_id, {Cls}.status == status)
        return len(self.session.scalars(stmt).all())
'''

SERVICE = '''import logging

from {pkg}.clients.http import ApiClient
from {pkg}.repositories.{name} import {Cls}Repository

log = logging.getLogger(__name__)


class {Cls}Service:
    def __init__(self, repo: {Cls}Repository, client: ApiClient):
        self.repo = repo
        self.client = client

    def list(self, account_id, limit=50, offset=0):
        return [item.to_dict() for item in self.repo.page(account_id, limit=limit, offset=offset)]

    def detail(self, account_id, {name}_id):
        item = self.repo.get(account_id, {name}_id)
        if item is None:
            raise LookupError(f"{name} {{{name}_id}} not found")
        return item.to_dict()

    def transition(self, account_id, {name}_id, new_status):
        item = self.repo.get(account_id, {name}_id)
        if item is None or not item.can_transition(new_status):
            raise ValueError("invalid transition")
        item.status = new_status
        self.client.post_json("/events", {{"type": "{name}.status", "id": item.id, "status": new_status}})
        log.info("%s %s -> %s", "{name}", item.id, new_status)
        return item.to_dict()

    def summary(self, account_id):
        return {{status: self.repo.count_by_status(account_id, status) for status in ("new", "active", "done")}}
'''

BLUEPRINT = '''from flask import Blueprint, abort, jsonify, request
from pydantic import BaseModel, Field, ValidationError

from {pkg}.auth import login_required, current_account_id
from {pkg}.wiring import {name}_service

bp = Blueprint("{name}s", __name__)


class Transition(BaseModel):
    status: str = Field(pattern="^(active|done|cancelled)$")


@bp.get("/{name}s")
@login_required
def list_{name}s():
    limit = min(int(request.args.get("limit", 50)), 200)
    offset = int(request.args.get("offset", 0))
    return jsonify({name}_service().list(current_account_id(), limit=limit, offset=offset))


@bp.get("/{name}s/<int:{name}_id>")
@login_required
def get_{name}({name}_id):
    try:
        return jsonify({name}_service().detail(current_account_id(), {name}_id))
    except LookupError:
        abort(404)


@bp.post("/{name}s/<int:{name}_id>/transition")
@login_required
def transition_{name}({name}_id):
    try:
        body = Transition.model_validate(request.get_json())
    except ValidationError as exc:
        return jsonify({{"errors": exc.errors()}}), 422
    return jsonify({name}_service().transition(current_account_id(), {name}_id, body.status))
'''

TASKS = '''from celery import shared_task

from {pkg}.wiring import {name}_service


@shared_task(bind=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5,
             time_limit=300, soft_time_limit=240, acks_late=True)
def sync_{name}(self, account_id, {name}_id):
    return {name}_service().detail(account_id, {name}_id)


@shared_task(time_limit=600, soft_time_limit=540)
def nightly_{name}_summary(account_id):
    return {name}_service().summary(account_id)
'''

CLIENT = '''import requests

DEFAULT_TIMEOUT = (3.05, 20)


class ApiClient:
    def __init__(self, base_url, token):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def get_json(self, path, **params):
        resp = self.session.get(self.base_url + path, params=params, timeout=DEFAULT_TIMEOUT)
        resp.raise_for_status()
        return resp.json()

    def post_json(self, path, payload):
        resp = self.session.post(self.base_url + path, json=payload, timeout=DEFAULT_TIMEOUT)
        resp.raise_for_status()
        return resp.json()
'''

# Problems a real code base of this size has somewhere: sprinkled at a low rate.
DRIFT = [
    '''

def legacy_{name}_export(url):
    import requests
    return requests.get(url).content
''',
    '''

def slow_{name}_report(session, ids):
    from {pkg}.models.{name} import {Cls}
    out = []
    for {name}_id in ids:
        out.append(session.get({Cls}, {name}_id))
    return out
''',
    '''

def cache_{name}(redis_client, key, value):
    redis_client.set(key, value)
''',
]


def write_corpus(root: Path, target_lines: int = 100_000, seed: int = 7) -> tuple[int, int]:
    rng = random.Random(seed)
    files = lines = 0
    group = 0
    templates = [("models", MODEL), ("repositories", REPO), ("services", SERVICE), ("api", BLUEPRINT),
                 ("tasks", TASKS)]
    while lines < target_lines:
        # Three entities share each module, so files are ~100 lines, as in real services.
        pkg = f"svc{group:03d}"
        names = [ENTITIES[(group * 3 + i) % len(ENTITIES)] for i in range(3)]
        base = root / pkg
        for folder, template in templates:
            parts = []
            for name in names:
                text = template.format(pkg=pkg, name=name, Cls=name.capitalize())
                if rng.random() < 0.08:
                    text += rng.choice(DRIFT).format(pkg=pkg, name=name, Cls=name.capitalize())
                parts.append(text)
            text = "\n\n".join(parts)
            path = base / folder / f"{'_'.join(names)}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            (path.parent / "__init__.py").touch()
            path.write_text(text)
            files += 1
            lines += text.count("\n")
        client = base / "clients" / "http.py"
        client.parent.mkdir(parents=True, exist_ok=True)
        (client.parent / "__init__.py").touch()
        client.write_text(CLIENT)
        files += 1
        lines += CLIENT.count("\n")
        group += 1
    return files, lines


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/corpus")
    n_files, n_lines = write_corpus(out, int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
    print(f"wrote {n_files} files, {n_lines} lines under {out}")
