"""The typed per-request context: viewer, session, plugin facade and fresh loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session
from strawberry.types import Info as StrawberryInfo

from domain.accounts import service as accounts
from domain.accounts import staff
from domain.forms import service as forms
from domain.accounts.person_links import PERSON_TOKEN_PREFIX, PersonTokenExpired
from domain.viewer import Viewer
from marquee.runtime import Runtime


@dataclass
class Loaders:
    """Created per request; each loader is named after what it returns and its key."""

    context: Context
    _made: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, factory):
        loader = self._made.get(name)
        if loader is None:
            loader = self._made[name] = factory(self.context)
        return loader


_UNKNOWN = object()


class Context:
    """Built by the HTTP view; everything here lives for exactly one request."""

    def __init__(self, runtime: Runtime, authorization: str | None, request: Any = None):
        self.runtime = runtime
        self.authorization = authorization
        self.request = request
        self.loaders = Loaders(self)
        self._session: Session | None = None
        self._viewer: Viewer | None | object = _UNKNOWN
        self.auth_error: str | None = None
        self._tags_version: int | None = None
        self.person_page: forms.PersonPage | None = None  # a person viewer's page, read with their link
        self.document_key = None  # the operation's text, name and variables (graph.executor.Shared)
        self.read_only = False
        self.raw_variables: dict | None = None  # the request's variables as sent, before defaults
        self.announced_tags: set[int] = set()  # tags a list resolved, for per-tag loaders (graph.tags.types)
        self.announced_persons: set[int] = set()  # persons lists resolved, for loaders made later
        self.installed_plugins: list[str] = []  # plugins the `plugins` list resolved (run loaders)
        self.connection_params = None  # a WebSocket's connection_init payload (strawberry sets it)

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self.runtime.new_session(read_only=self.read_only)
        return self._session

    @property
    def session_not_started(self) -> bool:
        return self._session is None

    @property
    def viewer(self) -> Viewer | None:
        """Who is asking, authenticated once per request. (Not ``functools.cached_property``:
        before Python 3.12 it holds one lock for all instances, so concurrent requests would
        wait for each other's authentication round trip.)"""
        if self._viewer is _UNKNOWN:
            self._viewer = self._authenticate()
        return self._viewer

    def _authenticate(self) -> Viewer | None:
        header = (self.authorization or "").strip()
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            self.auth_error = "the Authorization header must be 'Bearer <token>'"
            return None
        secret = secret.strip()
        settings = self.runtime.settings
        if secret.startswith(PERSON_TOKEN_PREFIX):
            try:
                visit = forms.open_person_link(
                    self.session, settings.secret_key, secret, max_age=settings.preference_link_max_age
                )
            except PersonTokenExpired:
                self.auth_error = "this link has expired"
                return None
            except forms.PersonLinkRevoked:
                self.auth_error = "this link was withdrawn; ask for a new one"
                return None
            if visit is None:
                self.auth_error = "this link is not valid"
                return None
            self.person_page = visit.page
            return visit.viewer
        viewer = accounts.authenticate_token(self.session, secret)
        if viewer is None:
            self.auth_error = "unknown, revoked or expired token"
        elif viewer.token_id is not None:
            staff.note_token_use(self.runtime.new_session, viewer.account_id, viewer.token_id)
        return viewer

    @property
    def tags_version(self) -> int:
        """The account's tag version this request reads at (refreshed after tag changes)."""
        if self._tags_version is None:
            self._tags_version = self.viewer.account.tags_version
        return self._tags_version

    def refresh_tags_version(self) -> None:
        from domain.accounts.models import Account  # noqa: PLC0415

        self._tags_version = self.session.get(Account, self.viewer.account_id, populate_existing=True).tags_version

    def commit(self) -> None:
        """Commit the request's unit of work; domain events reach plugins after this."""
        if self._session is not None:
            self._session.commit()
        self.person_page = None  # read before this request's writes

    def rollback(self) -> None:
        if self._session is not None:
            self._session.rollback()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


Info = StrawberryInfo[Context, None]
