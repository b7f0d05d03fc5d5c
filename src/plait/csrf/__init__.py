"""CSRF protection for plait, as in Django: ``CSRF(app)``.

::

    from plait import App
    from plait.csrf import CSRF

    app = App()
    CSRF(app)  # POST/PUT/PATCH/DELETE need a same-origin request and the token

Forms carry ``{{ csrf_input() }}`` (plait.templates) or ``csrf_token(request)``; scripts send
the ``X-CSRF-Token`` header. No extra dependency.
"""

from plait.csrf._csrf import CSRF, csrf_exempt, csrf_token, rotate_token
from plait.csrf._middleware import (
    REASON_BAD_ORIGIN,
    REASON_BAD_REFERER,
    REASON_INSECURE_REFERER,
    REASON_MALFORMED_REFERER,
    REASON_NO_CSRF_COOKIE,
    REASON_NO_REFERER,
    REASON_TOKEN_INCORRECT,
    REASON_TOKEN_MISSING,
    CSRFMiddleware,
    CSRFOptions,
    FailureHandler,
)

__all__ = [
    "CSRF",
    "REASON_BAD_ORIGIN",
    "REASON_BAD_REFERER",
    "REASON_INSECURE_REFERER",
    "REASON_MALFORMED_REFERER",
    "REASON_NO_CSRF_COOKIE",
    "REASON_NO_REFERER",
    "REASON_TOKEN_INCORRECT",
    "REASON_TOKEN_MISSING",
    "CSRFMiddleware",
    "CSRFOptions",
    "FailureHandler",
    "csrf_exempt",
    "csrf_token",
    "rotate_token",
]
