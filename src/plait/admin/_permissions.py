"""Who may do what in the admin: plait.auth's permissions, per model and action.

A staff user may ``view``, ``add``, ``change`` or ``delete`` a model's rows when they hold
the permission ``"<app_label>.<action>_<model>"`` (``"blog.change_post"``, as in Django),
given directly or through one of their groups; ``change`` also lets them view. Superusers
may do everything. Without plait.auth on the app (or with ``Admin(...,
auth_permissions=False)``) every staff user may do everything, and only the
``permission=`` rule narrows it down.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from plait import Request

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from plait.admin._options import Action, ModelAdmin
    from plait.admin._site import Admin

__all__ = ["ACTIONS", "create_permissions", "granted", "user_codes"]

ACTIONS: tuple[Action, ...] = ("view", "add", "change", "delete")

# PERF: the codes are read once per request (one query), however many links a page checks.
_LOADED: ContextVar[tuple[Any, frozenset[str] | None]] = ContextVar("plait_admin_codes")


async def user_codes(site: Admin, request: Request) -> frozenset[str] | None:
    """The ``"app_label.codename"`` permissions of the request's user, or None for all."""
    cached = _LOADED.get(None)
    if cached is not None and cached[0] is request.scope:
        return cached[1]
    codes = await _load(site, request.user)
    _LOADED.set((request.scope, codes))
    return codes


async def _load(site: Admin, user: Any) -> frozenset[str] | None:
    if not site.auth_permissions or site.auth is None:
        return None
    from plait.auth import Group, Permission, User

    if not isinstance(user, User):  # a stand-in user (tests): only the permission= rule
        return None
    if user.is_superuser:
        return None
    columns = (Permission.app_label, Permission.codename)
    direct = sa.select(*columns).select_from(User).join(User.user_permissions)
    via_groups = sa.select(*columns).select_from(User).join(User.groups).join(Group.permissions)
    query = sa.union(direct.where(User.id == user.id), via_groups.where(User.id == user.id))
    async with site.db.session() as session:
        rows = (await session.execute(query)).all()
    return frozenset(f"{label}.{code}" for label, code in rows)


def granted(codes: frozenset[str] | None, action: Action, model_admin: ModelAdmin) -> bool:
    """Whether ``codes`` let a user do ``action`` on ``model_admin``'s rows."""
    if codes is None:
        return True
    if model_admin.perm(action) in codes:
        return True
    return action == "view" and model_admin.perm("change") in codes


async def create_permissions(site: Admin, session: AsyncSession) -> int:
    """Add the missing view/add/change/delete permissions of every registered model (as
    Django's ``migrate`` does); returns how many were added. Commits nothing."""
    from plait.auth import Permission

    existing = {
        (label, code)
        for label, code in (
            await session.execute(sa.select(Permission.app_label, Permission.codename))
        ).all()
    }
    added = 0
    for model_admin in site.registry.values():
        for action in ACTIONS:
            label, _, code = model_admin.perm(action).partition(".")
            if (label, code) not in existing:
                name = f"Can {action} {model_admin.label}"
                session.add(Permission(app_label=label, codename=code, name=name))
                added += 1
    if added:
        await session.flush()
    return added
