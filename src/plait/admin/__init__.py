"""plait's admin: Django's auto-generated admin pages for your plait.db models.

::

    from plait import App
    from plait.admin import Admin, ModelAdmin
    from plait.csrf import CSRF
    from plait.db import Database

    app = App()
    db = Database(app)
    CSRF(app)
    admin = Admin(app, db, prefix="/admin", title="Blog administration")

    @admin.register(Post)
    class PostAdmin(ModelAdmin):
        list_display = ("title", "author_id", "published")
        search_fields = ("title", "body")

Staff users (``request.user.is_staff``, from plait.auth) list, search, add, change and delete
rows; forms validate with the models' ``Create``/``Update`` schemas. Needs
``pip install 'plait[db,templates]'``.
"""

from plait._optional import require

require("jinja2", "templates", "plait.admin")
require("sqlalchemy", "db", "plait.admin")

from plait.admin._actions import action  # noqa: E402
from plait.admin._history import LogEntry  # noqa: E402
from plait.admin._inlines import StackedInline, TabularInline  # noqa: E402
from plait.admin._options import ModelAdmin  # noqa: E402
from plait.admin._site import Action, Admin, Permission  # noqa: E402
from plait.admin._users import GroupAdmin, UserAdmin  # noqa: E402

__all__ = [
    "Action",
    "Admin",
    "GroupAdmin",
    "LogEntry",
    "ModelAdmin",
    "Permission",
    "StackedInline",
    "TabularInline",
    "UserAdmin",
    "action",
]
