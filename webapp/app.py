"""The application factory: ``create_app(app_ctx)`` → FastAPI (pages + /api)."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import Response

from chainwatch import search, users
from chainwatch.context import AppContext
from webapp import api
from webapp.auth import Forbidden, NotAuthenticated, csrf_guard, login_url
from webapp.pages import admin, archive, auth_pages, digests, sources
from webapp.templating import render

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")

# No inline script, nothing from elsewhere: stored markup that slipped past escaping still could not run.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # the first search would otherwise wait a second for jieba's dictionary and the gazetteer
    threading.Thread(target=search.warm_up, name="cw-warm-up", daemon=True).start()
    yield


def create_app(app_ctx: AppContext) -> FastAPI:
    app = FastAPI(title="chainwatch", version="0.1", openapi_url="/api/openapi.json", docs_url=None,
                  redoc_url=None, dependencies=[Depends(csrf_guard)], lifespan=lifespan,
                  description="Search the archive of regional industrial-policy news, its events, sources, "
                              "subscribers and digests. Authenticate with the session cookie (send the "
                              "X-CSRF-Token header on changes) or `Authorization: Bearer <API token>`.")
    app.state.ctx = app_ctx
    app.state.secret_key = users.secret_key(app_ctx.config)

    @app.middleware("http")
    async def security_headers(request: Request, call_next) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, _exc: NotAuthenticated) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "authentication required"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return RedirectResponse(login_url(request), status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": f"this needs the {exc.role} role"}, status_code=403)
        return render(request, "error.html", status_code=403, code=403, role=exc.role)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _is_api(request) or exc.status_code in (405,):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return render(request, "error.html", status_code=exc.status_code, code=exc.status_code,
                      detail=str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": e.get("loc"), "msg": e.get("msg")} for e in exc.errors()]
        if _is_api(request):
            return JSONResponse({"detail": errors}, status_code=422)
        return render(request, "error.html", status_code=422, code=422,
                      detail="; ".join(str(e["msg"]) for e in errors))

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for module in (auth_pages, archive, sources, digests, admin):
        app.include_router(module.router)
    app.include_router(api.router)
    return app
