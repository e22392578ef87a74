"""The curator's actions on the page: logging in, and hide, pin, merge and split.

Nothing here acts without the admin token (`AGGREGATOR_ADMIN_TOKEN`, at least
`MIN_TOKEN` characters; unset, the page offers no actions at all). Logging in with it
sets a session cookie that is signed (HMAC-SHA256 with a key derived from the token, so
changing the token ends every session), HttpOnly and SameSite=Strict, and expires after
`SESSION_SECONDS`. Every POST must carry the session's CSRF token (derived from the
session id with the same key) and, when the browser sends one, an Origin of this site:
a page elsewhere can neither read the token nor make the browser send the cookie.

Each action calls the store method the CLI calls (`curate`, `uncurate`,
`merge_stories`, `split_item`), which records it and bumps the topic's version, so
the feeds and the page are rendered again with it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from aggregator import clock
from aggregator.run.service import Service
from aggregator.store import StoreError

log = logging.getLogger("aggregator.web.curator")

TOKEN_ENV = "AGGREGATOR_ADMIN_TOKEN"
MIN_TOKEN = 16
COOKIE = "aggregator_session"
SESSION_SECONDS = 12 * 3600
MAX_FORM_BYTES = 8192
FAILED_LOGIN_PAUSE = 0.5  # slows guessing; the token's length is what stops it


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in curator: the session id and the CSRF token its forms carry."""

    session_id: str
    csrf: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class CuratorAuth:
    """Signs and checks session cookies and CSRF tokens for one admin token."""

    def __init__(self, token: str | None) -> None:
        if token is not None and len(token) < MIN_TOKEN:
            log.warning(
                "%s is shorter than %d characters: curator actions stay off", TOKEN_ENV, MIN_TOKEN
            )
            token = None
        self._token = token
        self._key = (
            hashlib.sha256(b"aggregator-session\0" + token.encode()).digest() if token else b""
        )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> CuratorAuth:
        return cls(environ.get(TOKEN_ENV) or None)

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def _mac(self, text: str) -> str:
        return _b64(hmac.new(self._key, text.encode(), hashlib.sha256).digest())

    def token_matches(self, given: str) -> bool:
        return self._token is not None and hmac.compare_digest(given.encode(), self._token.encode())

    def new_cookie(self) -> str:
        """A fresh session's cookie value: `id.expiry.signature`."""
        value = f"{secrets.token_urlsafe(18)}.{int(clock.now()) + SESSION_SECONDS}"
        return f"{value}.{self._mac(value)}"

    def session(self, cookie: str | None) -> Session | None:
        """The session a cookie value proves, or None (absent, forged or expired)."""
        if not self.enabled or not cookie or cookie.count(".") != 2:
            return None
        session_id, expires, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._mac(f"{session_id}.{expires}")):
            return None
        if not expires.isdigit() or int(expires) < clock.now():
            return None
        return Session(session_id, self._mac("csrf\0" + session_id))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _same_origin(request: Request, public_base: str) -> bool:
    """True unless the browser says the form came from another site than this one, as
    reached (`Host`) or as published (`[server] base_url`, e.g. behind a TLS proxy)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin in (_origin(str(request.url)), _origin(public_base))


async def _form(request: Request) -> dict[str, str] | None:
    """The urlencoded form of a POST (None: too large)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def curator_routes(service: Service, auth: CuratorAuth) -> list[Route]:
    """/login, /logout and /actions/{action}, all POST only."""

    async def _refusal(request: Request) -> Response | dict[str, str]:
        """A 403 unless the request has a session, its CSRF token and our origin;
        else the form."""
        session = auth.session(request.cookies.get(COOKIE))
        if session is None:
            return PlainTextResponse("log in first", 403)
        form = await _form(request)
        if (
            form is None
            or not _same_origin(request, service.config.server.public_base())
            or not hmac.compare_digest(form.get("csrf", "").encode(), session.csrf.encode())
        ):
            return PlainTextResponse("refused: missing or wrong CSRF token", 403)
        return form

    async def login(request: Request) -> Response:
        form = await _form(request)
        if not auth.enabled:
            return PlainTextResponse(f"curator actions are off: set {TOKEN_ENV}", 403)
        if form is None or not _same_origin(request, service.config.server.public_base()):
            return PlainTextResponse("refused", 403)
        if not auth.token_matches(form.get("token", "")):
            await asyncio.sleep(FAILED_LOGIN_PAUSE)
            return PlainTextResponse("wrong token", 403)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            auth.new_cookie(),
            max_age=SESSION_SECONDS,
            path="/",
            httponly=True,
            samesite="strict",
            secure="https"
            in (request.url.scheme, urlsplit(service.config.server.public_base()).scheme),
        )
        return response

    async def logout(request: Request) -> Response:
        refused = await _refusal(request)
        if isinstance(refused, Response):
            return refused
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    async def action(request: Request) -> Response:
        name = request.path_params["action"]
        if name not in ACTIONS:
            return PlainTextResponse(f"no action {name!r}", 404)
        form = await _refusal(request)
        if isinstance(form, Response):
            return form
        try:
            await asyncio.to_thread(ACTIONS[name], service, form)
            service.feeds.expire_versions()
        except (KeyError, ValueError) as error:
            return PlainTextResponse(f"{name}: {error}", 400)
        except StoreError as error:
            return PlainTextResponse(f"{name}: the store cannot be written now: {error}", 503)
        log.info("curator: %s %s", name, {k: v for k, v in form.items() if k != "csrf"})
        topic = form.get("topic", "")
        return RedirectResponse("/" + (f"#topic-{topic}" if topic else ""), status_code=303)

    return [
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/actions/{action}", action, methods=["POST"]),
    ]


def _topic(service: Service, form: Mapping[str, str]) -> str:
    slug = form.get("topic", "")
    service.config.topic(slug)  # KeyError: no such topic
    return slug


def _curate(action: str) -> Callable[[Service, Mapping[str, str]], None]:
    def run(service: Service, form: Mapping[str, str]) -> None:
        service.store.curate(_topic(service, form), form["story"], action)

    return run


def _uncurate(action: str) -> Callable[[Service, Mapping[str, str]], None]:
    def run(service: Service, form: Mapping[str, str]) -> None:
        service.store.uncurate(_topic(service, form), form["story"], action)

    return run


def _merge(service: Service, form: Mapping[str, str]) -> None:
    if form["story"] == form["other"]:
        raise ValueError("a story cannot be merged with itself")
    service.store.merge_stories(form["story"], form["other"], service.pipeline.policy)


def _split(service: Service, form: Mapping[str, str]) -> None:
    service.store.split_item(form["item"], service.pipeline.policy)


#: The actions by name: each reads its form fields (KeyError: one is missing).
ACTIONS: dict[str, Callable[[Service, Mapping[str, str]], None]] = {
    "hide": _curate("hide"),
    "pin": _curate("pin"),
    "unhide": _uncurate("hide"),
    "unpin": _uncurate("pin"),
    "merge": _merge,
    "split": _split,
}
