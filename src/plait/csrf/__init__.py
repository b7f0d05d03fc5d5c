"""CSRF protection for plait, as in Django: ``CSRF(app)``.

::

    from plait import App
    from plait.csrf import CSRF

    app = App()
    CSRF(app)  # POST/PUT/PATCH/DELETE need a same-origin request and the token

Forms carry ``{{ csrf_input() }}`` (plait.templates) or ``csrf_token(request)``; scripts send
the ``X-CSRF-Token`` header. No extra dependency.
"""

from plait.csrf import _middleware
from plait.csrf._csrf import CSRF, csrf_exempt, csrf_token, rotate_token

# The middleware, its options type and Django's failure reasons (REASON_*), as asyncio does it.
from plait.csrf._middleware import *  # noqa: F403

__all__ = ["CSRF"]
__all__ += _middleware.__all__  # the forms type checkers follow (asyncio's)
__all__ += ["csrf_exempt", "csrf_token", "rotate_token"]
