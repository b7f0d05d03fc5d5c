"""The admin's route handlers: one object with every page kind's handlers."""

from __future__ import annotations

from plait.admin._page_base import NONE_SELECTED, Denied, is_anonymous, is_staff
from plait.admin._page_changeform import ChangeFormPage
from plait.admin._page_changelist import ChangelistPage
from plait.admin._page_delete import DeletePage
from plait.admin._page_history import HistoryPage
from plait.admin._page_index import IndexPage

__all__ = ["NONE_SELECTED", "Denied", "Views", "is_anonymous", "is_staff"]


class Views(IndexPage, ChangelistPage, ChangeFormPage, DeletePage, HistoryPage):
    """The route handlers of one :class:`~plait.admin.Admin`."""
