"""The web console: the customer call page, the operator view, their static files and the vendored SDK."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from agent.server.errors import ApiError
from agent.server.keys import SETTINGS

routes = web.RouteTableDef()

# Only these kinds of file are served from web_console/ (never package.json, never a directory listing).
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".map": "application/json",
}
# The browser SDK for LiveKit calls, installed by `npm ci` in web_console (scripts/install); name -> file.
VENDOR_FILES = {
    "livekit-client.esm.mjs": Path("node_modules/livekit-client/dist/livekit-client.esm.mjs"),
    "livekit-client.esm.mjs.map": Path("node_modules/livekit-client/dist/livekit-client.esm.mjs.map"),
}
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def resolve_static(root: Path, name: str) -> Path | None:
    """A file directly in `root` with a served extension, or None (sub-paths, dot files, traversal)."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
        return None
    if Path(name).suffix.lower() not in CONTENT_TYPES:
        return None
    path = (root / name).resolve()
    if path.parent != root.resolve():
        return None
    return path


async def _send_file(path: Path) -> web.FileResponse:
    if not await asyncio.to_thread(path.is_file):
        raise ApiError(404, "not_found", "No such file.")
    content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
    charset = "; charset=utf-8" if content_type.startswith("text/") else ""
    return web.FileResponse(path, headers={**HEADERS, "Content-Type": content_type + charset})


@routes.get("/")
async def root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/console/")


@routes.get("/console")
async def console_no_slash(request: web.Request) -> web.Response:
    raise web.HTTPFound("/console/")


@routes.get("/console/")
async def call_page(request: web.Request) -> web.FileResponse:
    return await _send_file(request.app[SETTINGS].server.console_path / "index.html")


@routes.get("/console/operator")
async def operator_page(request: web.Request) -> web.FileResponse:
    return await _send_file(request.app[SETTINGS].server.console_path / "operator.html")


@routes.get("/console/static/{name:.*}")
async def static_file(request: web.Request) -> web.FileResponse:
    path = resolve_static(request.app[SETTINGS].server.console_path, request.match_info["name"])
    if path is None or path.suffix == ".html":
        raise ApiError(404, "not_found", "No such file.")
    return await _send_file(path)


@routes.get("/console/vendor/{name:.*}")
async def vendor_file(request: web.Request) -> web.FileResponse:
    relative = VENDOR_FILES.get(request.match_info["name"])
    if relative is None:
        raise ApiError(404, "not_found", "No such file.")
    path = request.app[SETTINGS].server.console_path / relative
    if not await asyncio.to_thread(path.is_file):
        raise ApiError(
            404, "vendor_missing", "The LiveKit browser SDK is not installed (run scripts/install with npm)."
        )
    return await _send_file(path)


@routes.get("/api/console/config")
async def console_config(request: web.Request) -> web.Response:
    """What the call page needs to choose its voice path; nothing an operator alone may see."""
    settings = request.app[SETTINGS]
    webrtc = any(resource.canonical == "/api/voice/webrtc" for resource in request.app.router.resources())
    return web.json_response(
        {
            "livekit": settings.livekit.livekit_enabled and bool(settings.livekit.livekit_url),
            "webrtc": webrtc,
            "environment": settings.server.environment,
        }
    )
