"""The changelist: one model's rows, searched, filtered, sorted and paged."""

from __future__ import annotations

from plait import Request, Response
from plait.admin._actions import actions_of
from plait.admin._display import format_value
from plait.admin._keyset import CURSORS
from plait.admin._links import date_links, filter_links, header_links, link, page_links
from plait.admin._page_base import Denied, PageBase
from plait.admin._queries import (
    load_changelist,
    load_dates,
    load_filters,
    related_labels,
)

__all__ = ["ChangelistPage"]


class ChangelistPage(PageBase):
    """``{prefix}/<model>/``: the rows, with the bulk actions the user may run."""

    async def changelist(self, request: Request, model: str) -> Response:
        try:
            model_admin = await self.authorize(request, "view", model)
        except Denied as denied:
            return denied.response
        query = {k: v for k, v in request.query_params.items() if k not in ("_msg", "_pk")}
        params = {k: v for k, v in query.items() if k not in CURSORS}  # for the other links
        async with self.site.db.session() as session:
            page = await load_changelist(model_admin, session, query)
            filters = await load_filters(model_admin, session, params)
            dates = await load_dates(model_admin, session, params)
            labels = await related_labels(model_admin, session, page.objects)
            messages = await self.messages(request, model_admin, session)
        rows = []
        for obj in page.objects:
            cells = []
            for entry in model_admin.list_display:
                value = model_admin.display_value(entry, obj)
                if isinstance(entry, str) and entry in labels:
                    cells.append(labels[entry].get(value, format_value(value)))
                else:
                    cells.append(value if entry == "__str__" else format_value(value))
            key = str(getattr(obj, model_admin.pk_name))
            url = self.site.url(request, model_admin.slug, key, "change")
            rows.append({"url": url, "cells": cells, "key": key})
        can_add = await self.site.allowed(request, "add", model_admin.model)
        can_delete = await self.site.allowed(request, "delete", model_admin.model)
        delete = ("delete_selected", f"Delete selected {model_admin.label_plural}")
        actions = [delete] if can_delete else []
        for name, bulk in actions_of(model_admin).items():
            if await self.site.allowed(request, bulk.permission, model_admin.model):
                actions.append((name, bulk.description))
        context = {
            "title": f"Select {model_admin.label} to change",
            "model": model_admin,
            "headers": header_links(model_admin, params, page.order),
            "rows": rows,
            "page": page,
            "pages": page_links(query, page, model_admin.per_page),
            "query": params.get("q", ""),
            "search": bool(model_admin.search_fields),
            "filters": [(f, filter_links(params, f.param, f.choices)) for f in filters],
            "dates": date_links(params, dates),
            "add_url": self.site.url(request, model_admin.slug, "add") if can_add else None,
            "bulk_delete_url": self.site.url(request, model_admin.slug, "action")
            if actions
            else None,
            "actions": actions,
            "export_url": self.site.url(request, model_admin.slug, "export")
            + link(params, p=None).rstrip("?"),
            "messages": messages,
            "breadcrumbs": self.crumbs(request, model_admin)[:1],
        }
        return self.page(request, "change_list.html", context)
