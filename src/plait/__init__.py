"""plait: a small explicit core, typed async APIs, and batteries when you want them."""

from plait.__about__ import __version__
from plait._app import App
from plait._background import BackgroundTask, BackgroundTasks
from plait._convertors import Convertor, register_convertor
from plait._datastructures import URL, FormData, Headers, QueryParams, State, UploadFile
from plait._exceptions import HTTPException, WebSocketException
from plait._fileresponse import FileResponse
from plait._formparser import FormLimits
from plait._outages import BackingService, ServiceUnavailable
from plait._params import Body, Cookie, Depends, File, Form, Header, Param, Path, Query, Security
from plait._request import ClientDisconnect, HTTPConnection, Request
from plait._responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from plait._routing import Router
from plait._settings import Settings, SettingsError
from plait._sse import EventSourceResponse, ServerSentEvent
from plait._staticfiles import StaticFiles
from plait._websockets import WebSocket, WebSocketDisconnect

__all__ = [
    "URL",
    "App",
    "BackgroundTask",
    "BackgroundTasks",
    "BackingService",
    "Body",
    "ClientDisconnect",
    "Convertor",
    "Cookie",
    "Depends",
    "EventSourceResponse",
    "File",
    "FileResponse",
    "Form",
    "FormData",
    "FormLimits",
    "HTMLResponse",
    "HTTPConnection",
    "HTTPException",
    "Header",
    "Headers",
    "JSONResponse",
    "Param",
    "Path",
    "PlainTextResponse",
    "Query",
    "QueryParams",
    "RedirectResponse",
    "Request",
    "Response",
    "Router",
    "Security",
    "ServerSentEvent",
    "ServiceUnavailable",
    "Settings",
    "SettingsError",
    "State",
    "StaticFiles",
    "StreamingResponse",
    "UploadFile",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketException",
    "__version__",
    "register_convertor",
]
