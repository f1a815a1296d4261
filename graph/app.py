"""The Starlette application: /graphql, health, readiness and metrics."""

from __future__ import annotations

import base64
from html import escape
import dataclasses
import hashlib
import logging
import re
import time
from pathlib import Path

import anyio
import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.middleware import Middleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from cross_web import HTTPException
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.types.unset import UNSET
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from graphql import GraphQLError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from domain.accounts import service as accounts
from domain.accounts.models import TokenKind
from domain.actions import export as exports
from domain.privacy import service as privacy
from domain.mail import links as mail_links
from domain.mail import tracking
from domain.website.document import encode, website_document
from graph.core.ids import to_global_id
from graph.core.permissions import CanImport, CanReadCatalog
from graph.context import Context
from graph.persisted_queries import PersistedQueries, PersistedQueryError
from graph.execution import execute
from graph.schema import build_schema
from graph.tags.response_cache import ResponseCache
from marquee.logs import REQUEST_ID, request_id_from
from marquee.runtime import Runtime

GRAPHQL_RESPONSE = "application/graphql-response+json"
STATIC = Path(__file__).parent / "static"
EXPLORER_PAGE = (STATIC / "explorer" / "explorer.html").read_text()
MAX_BODY_BYTES = 1_000_000
UPLOAD_SECONDS = 600.0  # a feed upload's body may take this long to arrive
BODY_SECONDS = 30.0  # the whole request body must arrive within this


def error_response(request_headers, status: int, message: str, code: str, extra_headers: dict | None = None):
    """A request refused before any GraphQL ran, as a GraphQL JSON response (no ``data``): clients
    such as Apollo and urql show its message instead of failing to parse a text body."""
    accept = request_headers.get("accept", "") if request_headers is not None else ""
    media_type = GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else "application/json"
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    return Response(body, status_code=status, media_type=media_type, headers=extra_headers)


SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")
HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "REQUEST_TIMEOUT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class Metrics:
    MAX_OPERATIONS = 200

    def operation_label(self, name: str | None) -> str:
        """Clients name operations freely; cap the label set so metrics cannot grow without end."""
        name = (name or "anonymous")[:100]
        if name in self._operations:
            return name
        if len(self._operations) >= self.MAX_OPERATIONS:
            return "other"
        self._operations.add(name)
        return name

    def __init__(self) -> None:
        self._operations: set[str] = set()
        self.registry = CollectorRegistry()
        self.requests = Counter("marquee_graphql_requests", "GraphQL requests", ["operation"], registry=self.registry)
        self.errors = Counter(
            "marquee_graphql_errors", "GraphQL requests answered with errors", ["operation"], registry=self.registry
        )
        self.latency = Histogram(
            "marquee_graphql_seconds", "GraphQL execution time", ["operation"], registry=self.registry
        )


class JobStates:
    """``marquee_jobs{status=…}``: how many jobs are queued, running, succeeded, failed, read at
    each scrape (SPEC 11)."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def describe(self):
        return []  # registering must not query the database

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415

        from domain.jobs_state.models import JobStatus  # noqa: PLC0415
        from domain.jobs_state.service import count_by_status  # noqa: PLC0415

        family = GaugeMetricFamily("marquee_jobs", "Jobs by status", labels=["status"])
        with self.runtime.new_session(read_only=True) as session:
            counts = count_by_status(session)
        for status in JobStatus:
            family.add_metric([status.value], counts.get(status.value, 0))
        yield family


def _is_request_error(result) -> bool:
    """A document that failed to parse or validate: no field ran, so no error has a path."""
    return result.data is None and bool(result.errors) and all(e.path is None for e in result.errors)


class MarqueeGraphQL(GraphQL):
    """Strawberry's ASGI view, executing each operation synchronously in a worker thread.

    Resolvers are plain functions over a synchronous session, so a slow query blocks only its
    own thread, never the event loop; the request's session is closed when execution ends.
    """

    def __init__(self, runtime: Runtime, metrics: Metrics, **kwargs):
        super().__init__(
            build_schema(runtime.settings),
            allow_queries_via_get=True,
            multipart_uploads_enabled=True,  # feed uploads; BodyLimit lets large bodies through for importers only
            graphql_ide="graphiql" if runtime.settings.graphql_ide else None,
            **kwargs,
        )
        self.runtime = runtime
        self.metrics = metrics
        self.response_cache = ResponseCache()
        self.persisted_queries = PersistedQueries(runtime.settings.redis_url)

    def encode_json(self, data: object) -> str:
        # Text, not bytes: the WebSocket protocol's messages must be text frames.
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)  # its JSONDecodeError is json's: bad bodies still get a 400

    async def parse_http_body(self, request):
        """The request's parameters, each checked: a body that is not a JSON object, or an
        ``operationName`` that is not a text, is a 400 like any other malformed parameter."""
        if request.method == "GET":
            _check_operation_name(request.query_params.get("operationName"))
            return await super().parse_http_body(request)
        content_type, _ = parse_content_type(request.content_type or "")
        if content_type == "multipart/form-data":  # the GraphQL multipart request spec (file uploads)
            return await super().parse_http_body(request)
        if content_type != "application/json":
            raise HTTPException(415, "Send the request as application/json (or multipart/form-data with a file).")
        data = self.parse_json(await request.get_body())
        if not isinstance(data, dict):
            raise HTTPException(
                400, "The request body must be a JSON object with a `query` (batches of operations are not accepted)."
            )
        _check_operation_name(data.get("operationName"))
        for key, kinds, what in (
            ("query", (str,), "a string"),
            ("variables", (dict,), "an object"),
            ("extensions", (dict,), "an object"),
        ):
            if not isinstance(data.get(key), (*kinds, type(None))):
                raise HTTPException(400, f"The GraphQL operation's `{key}` must be {what} or null, if provided.")
        return GraphQLRequestData(
            query=data.get("query"),
            variables=data.get("variables"),
            operation_name=data.get("operationName"),
            extensions=data.get("extensions"),
            protocol="http",
        )

    async def get_context(self, request, response) -> Context:
        ctx = Context(self.runtime, request.headers.get("authorization"), request)
        ctx.response = response
        return ctx

    async def on_ws_connect(self, context: Context):
        """A WebSocket authenticates once: with its Authorization header, or (browsers cannot set
        headers there) ``{"authorization": "Bearer …"}`` in the connection_init payload."""
        params: dict = context.connection_params if isinstance(context.connection_params, dict) else {}
        if not context.authorization:
            given = params.get("authorization") or params.get("Authorization")
            context.authorization = given if isinstance(given, str) else None
        try:
            viewer = await anyio.to_thread.run_sync(lambda: context.viewer)
        finally:
            context.close()  # subscriptions read with short sessions of their own
        if viewer is None:
            raise ConnectionRejectionError({"message": context.auth_error or "authentication required"})
        return UNSET

    async def render_graphql_ide(self, request) -> Response:
        """Our explorer page: GraphiQL from the API's own static files (``/explorer``), no CDN."""
        return HTMLResponse(EXPLORER_PAGE, headers={"Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"})

    def should_render_graphql_ide(self, request) -> bool:
        """Not for a GET that names a persisted query (it has no ``query`` parameter either)."""
        return super().should_render_graphql_ide(request) and "extensions" not in request.query_params

    async def execute_single(self, request, request_adapter, sub_response, context, root_value, request_data):
        allowed = OperationType.from_http(request_adapter.method)
        persisted = (
            (request_data.extensions or {}).get("persistedQuery") if isinstance(request_data.extensions, dict) else None
        )
        to_store = persisted is not None and request_data.query is not None
        if persisted is not None:
            try:
                query = await anyio.to_thread.run_sync(self.persisted_queries.resolve, request_data.query, persisted)
            except PersistedQueryError as e:
                if e.status != 200:
                    raise HTTPException(e.status, e.message) from e
                return ExecutionResult(data=None, errors=[GraphQLError(e.message, extensions={"code": e.code})])
            request_data = dataclasses.replace(request_data, query=query)
        operation = self.metrics.operation_label(request_data.operation_name)
        request.scope.setdefault("state", {})["operation"] = operation  # for the access log

        def run():
            started = time.perf_counter()
            try:
                return execute(
                    self.schema,
                    self.response_cache,
                    context,
                    query=request_data.query,
                    variables=request_data.variables,
                    operation_name=request_data.operation_name,
                    allowed_operation_types=allowed,
                    extensions=request_data.extensions,
                    root_value=root_value,
                )
            finally:
                context.close()
                self.metrics.latency.labels(operation).observe(time.perf_counter() - started)

        try:
            result = await anyio.to_thread.run_sync(run)
        except CannotGetOperationTypeError as e:
            raise HTTPException(400, e.as_http_error_reason()) from e
        except InvalidOperationTypeError as e:
            # GraphQL over HTTP: a mutation sent with GET is 405, with the method that works.
            status = 405 if request_adapter.method == "GET" else 400
            raise HTTPException(status, e.as_http_error_reason(request_adapter.method)) from e
        except MissingQueryError as e:
            raise HTTPException(400, "No GraphQL query found in the request") from e
        if to_store and not _is_request_error(result) and context.viewer is not None:
            await anyio.to_thread.run_sync(self.persisted_queries.store, request_data.query)
        self.metrics.requests.labels(operation).inc()
        if result.errors:
            self.metrics.errors.labels(operation).inc()
        accept = request.headers.get("accept", "")
        if GRAPHQL_RESPONSE in accept:
            sub_response.headers["content-type"] = GRAPHQL_RESPONSE
            if _is_request_error(result):
                sub_response.status_code = 400
        return result

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as e:
            allow = {"allow": "POST"} if e.status_code == 405 else None
            response = error_response(
                request.headers, e.status_code, e.reason, HTTP_CODES.get(e.status_code, "BAD_REQUEST"), allow
            )
        await response(scope, receive, send)

    async def process_result(self, request, result):
        """A request error (nothing executed) has no ``data`` entry (GraphQL over HTTP). In
        production, messages carry no "Did you mean …?" suggestions: they would list field,
        argument and enum names to anyone probing the schema with introspection off."""
        processed = await super().process_result(request, result)
        if isinstance(processed, dict):
            if _is_request_error(result):
                processed.pop("data", None)
            if self.runtime.settings.is_production:
                for error in processed.get("errors") or ():
                    error["message"] = SUGGESTION.sub("", error["message"])
        return processed

    def create_response(self, response_data, sub_response):
        media_type = sub_response.headers.get("content-type")
        response = super().create_response(response_data, sub_response)
        if media_type:
            response.headers["content-type"] = media_type
        return response


def _check_operation_name(name) -> None:
    if name is not None and not isinstance(name, str):
        raise HTTPException(400, "The GraphQL operation's `operationName` must be a string or null, if provided.")


class BodyLimit:
    """Refuse request bodies over a limit, whether announced by Content-Length or chunked, and
    bodies that do not arrive in time (a client trickling bytes holds no worker for long)."""

    def __init__(
        self,
        app,
        limit: int = MAX_BODY_BYTES,
        seconds: float = BODY_SECONDS,
        *,
        upload_limit: int = MAX_BODY_BYTES,
        may_upload=None,
    ):
        self.app = app
        self.limit = limit
        self.seconds = seconds
        self.upload_limit = upload_limit
        self.may_upload = may_upload  # async (headers) -> bool: may this request send a file?

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        limit, seconds = self.limit, self.seconds
        content_type, _ = parse_content_type(headers.get("content-type") or "")
        # A file upload (GraphQL multipart request) may be larger and slower, but only for a
        # viewer who may import: the credentials are checked before any of the body is read.
        if content_type == "multipart/form-data" and self.may_upload is not None and await self.may_upload(headers):
            limit, seconds = self.upload_limit, UPLOAD_SECONDS
        declared = headers.get("content-length")
        too_large = f"the request body is larger than {limit} bytes"
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await error_response(headers, 413, too_large, HTTP_CODES[413])(scope, receive, send)
        received = 0
        deadline = None
        complete = False

        async def limited_receive():
            nonlocal received, deadline, complete
            if complete:  # the body is in; what follows is the disconnect, waited for as usual
                return await receive()
            deadline = deadline or anyio.current_time() + seconds
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())) as waiting:
                message = await receive()
            if waiting.cancelled_caught:
                raise BodyTimeout()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
                complete = not message.get("more_body", False)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            await error_response(headers, 413, too_large, HTTP_CODES[413])(scope, receive, send)
        except BodyTimeout:
            await error_response(
                headers,
                408,
                f"the request body did not arrive within {seconds:g} s",
                HTTP_CODES[408],
                {"connection": "close"},
            )(scope, receive, send)


class BodyTooLarge(Exception):
    pass


class BodyTimeout(Exception):
    pass


ACCESS_LOG = logging.getLogger("marquee.access")


class RequestId:
    """Give every request an id (the caller's ``X-Request-Id`` when sane): on its log lines and
    echoed in the response's ``X-Request-Id`` header. Each request then gets one access-log line
    (logger ``marquee.access``): request id, method, path, GraphQL operation, status, duration."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        header = dict(scope.get("headers") or []).get(b"x-request-id")
        request_id = request_id_from(header.decode("latin-1") if header else None)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            ACCESS_LOG.info(
                "%s %s %s",
                scope.get("method"),
                scope.get("path"),
                status,
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "operation": (scope.get("state") or {}).get("operation"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            REQUEST_ID.reset(token)


def preference_page_headers(page: str, frame_ancestors: tuple[str, ...]) -> dict[str, str]:
    """The preference page runs only its own inline script and style (by hash), talks only to this
    API, and may be framed only by the origins the venue names (``MARQUEE_FRAME_ANCESTORS``; none
    by default) — a page that holds a person's link must not be framed by anyone."""

    def hashes(tag: str) -> str:
        bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.S)
        return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in bodies)

    ancestors = " ".join(frame_ancestors) or "'none'"
    policy = (
        f"default-src 'none'; script-src {hashes('script')}; style-src {hashes('style')}; "
        f"connect-src 'self'; img-src 'self' data: https:; base-uri 'none'; form-action 'self'; "
        f"frame-ancestors {ancestors}"
    )
    headers = {
        "Cache-Control": "no-cache",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
    }
    if not frame_ancestors:
        headers["X-Frame-Options"] = "DENY"
    return headers


WEBSITE_KEY_PREFIX = accounts.TOKEN_PREFIXES[TokenKind.WEBSITE]


def create_app(runtime: Runtime) -> Starlette:
    metrics = Metrics()
    graphql = MarqueeGraphQL(runtime, metrics)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        def check() -> dict:
            status = {}
            try:
                with runtime.engine.connect() as conn:
                    conn.execute(text("select 1"))
                status["database"] = "ok"
            except Exception as exc:  # noqa: BLE001  (any failure is an answer of the probe, not a crash)
                status["database"] = f"error: {exc.__class__.__name__}"
            if runtime.settings.redis_url:
                try:
                    import redis  # noqa: PLC0415

                    redis.Redis.from_url(runtime.settings.redis_url, socket_timeout=2).ping()
                    status["redis"] = "ok"
                except Exception as exc:  # noqa: BLE001  (as above)
                    status["redis"] = f"error: {exc.__class__.__name__}"
            return status

        status = await anyio.to_thread.run_sync(check)
        ok = all(v == "ok" for v in status.values())
        return JSONResponse(status, status_code=200 if ok else 503)

    preferences_page = (Path(__file__).parent / "static" / "preferences.html").read_text()
    preferences_headers = preference_page_headers(preferences_page, runtime.settings.frame_ancestors)

    async def preferences(request: Request) -> Response:
        return HTMLResponse(preferences_page, headers=preferences_headers)

    metrics.registry.register(JobStates(runtime))

    async def metrics_endpoint(request: Request) -> Response:
        body = await anyio.to_thread.run_sync(generate_latest, metrics.registry)
        return PlainTextResponse(body.decode(), media_type=CONTENT_TYPE_LATEST)

    async def website_feed(request: Request) -> Response:
        """The website document (domain/website/document.py) for the account of the key sent as
        ``Authorization: Bearer`` (a website key, staff, or a connector with catalog:read) or
        ``?key=`` (a website key only). Revalidate with If-None-Match (304 when unchanged)."""
        scheme, _, secret = (request.headers.get("authorization") or "").partition(" ")
        secret = secret.strip() if scheme.lower() == "bearer" else ""
        in_url = (request.query_params.get("key") or "").strip()
        if in_url and not in_url.startswith(WEBSITE_KEY_PREFIX):
            # Only the public website key may travel in a URL (logs, history, Referer headers).
            return error_response(
                request.headers,
                401,
                "only a website key goes in ?key=; send other keys as a Bearer header",
                "UNAUTHENTICATED",
            )
        secret = secret or in_url
        if not secret or len(secret) > 200:
            return error_response(
                request.headers, 401, "send the website key (Authorization: Bearer, or ?key=)", "UNAUTHENTICATED"
            )

        def build():
            with runtime.new_session(read_only=True) as session:
                viewer = accounts.authenticate_token(session, secret)
                if viewer is None or not CanReadCatalog().allows(viewer):
                    return viewer
                return encode(website_document(session, viewer.account_id, to_global_id))

        built = await anyio.to_thread.run_sync(build)
        if built is None:
            return error_response(request.headers, 401, "unknown or revoked key", "UNAUTHENTICATED")
        if not isinstance(built, tuple):
            return error_response(request.headers, 403, CanReadCatalog.forbidden_message, "FORBIDDEN")
        body, etag = built
        headers = {"ETag": etag, "Cache-Control": "private, max-age=60", "Vary": "Authorization"}
        if etag in [t.strip() for t in (request.headers.get("if-none-match") or "").split(",")]:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)

    async def signed_download(request: Request, object_id: int, purpose: str, what: str, find_file, missing: str):
        """A file behind a signed link: 403 for a link that was changed, 410 for one that expired,
        404 (``missing``) when there is no file (yet, or any more)."""
        account_id = request.path_params["account_id"]
        problem = exports.check_link(
            runtime.settings.secret_key,
            account_id,
            object_id,
            request.query_params.get("expires", "")[:20],
            request.query_params.get("signature", "")[:128],
            purpose=purpose,
        )
        if problem is exports.LinkProblem.TAMPERED:
            return PlainTextResponse("this download link is not valid (it was changed or cut short)", status_code=403)
        if problem is exports.LinkProblem.EXPIRED:
            return PlainTextResponse(
                f"this download link has expired: open the {what} in Marquee for a fresh link", status_code=410
            )

        def find():
            with runtime.new_session(read_only=True) as session:
                return find_file(session, runtime.settings.storage, account_id, object_id)

        found = await anyio.to_thread.run_sync(find)
        if found is None:
            return PlainTextResponse(missing, status_code=404)
        path, name = found
        return FileResponse(
            path,
            media_type=exports.MEDIA_TYPES[path.suffix],
            filename=name,
            headers={"Cache-Control": "private, no-store"},
        )

    async def export_download(request: Request) -> Response:
        """A segment export's file through its signed link (the action's ``downloadUrl``)."""
        return await signed_download(
            request,
            request.path_params["action_id"],
            exports.SEGMENT_EXPORT,
            "export",
            exports.export_file,
            "this export has no file (not finished yet, or removed)",
        )

    async def privacy_download(request: Request) -> Response:
        """A privacy export's document through its signed link (the request's ``downloadUrl``)."""
        return await signed_download(
            request,
            request.path_params["request_id"],
            privacy.DOWNLOAD_PURPOSE,
            "request",
            privacy.export_file,
            "this export has no document (not finished, removed, or erased)",
        )

    links = mail_links.Links(runtime.settings.secret_key, runtime.settings.base_url)
    pixel = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
    no_store = {"Cache-Control": "no-store"}

    def page(title: str, body: str, status: int = 200) -> HTMLResponse:
        html = (
            '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title></head><body style="font-family: sans-serif; max-width: 36rem; '
            f'margin: 3rem auto; padding: 0 1rem"><h1>{escape(title)}</h1>{body}</body></html>'
        )
        return HTMLResponse(html, status_code=status, headers={**no_store, "Referrer-Policy": "no-referrer"})

    async def unsubscribe(request: Request) -> Response:
        """A mail's unsubscribe link: GET shows what it withdraws and a button (link scanners
        fetch links, so a GET changes nothing); POST withdraws — the button, or the mailbox
        provider's one-click POST (RFC 8058) — without cookie or login."""
        data = links.read(mail_links.UNSUBSCRIBE, request.path_params["token"])
        if data is None:
            return page(
                "Link niet geldig", "<p>Deze afmeldlink is niet geldig. / This unsubscribe link is not valid.</p>", 404
            )

        def act():
            with runtime.new_session() as session:
                if request.method == "POST":
                    name = tracking.unsubscribe(session, data)
                    session.commit()
                    return name
                return tracking.consent_name(session, data)

        name = await anyio.to_thread.run_sync(act)
        if name is None:
            return page(
                "Niet gevonden", "<p>Wij kennen dit adres niet (meer). / We no longer hold this address.</p>", 404
            )
        if request.method == "POST":
            return page(
                "Afgemeld",
                f"<p>Je ontvangt geen mail meer voor: <strong>{escape(name)}</strong>.</p>"
                f"<p>You will no longer receive mail for: <strong>{escape(name)}</strong>.</p>",
            )
        return page(
            "Afmelden",
            f"<p>Afmelden voor <strong>{escape(name)}</strong>? / Unsubscribe from <strong>{escape(name)}</strong>?</p>"
            '<form method="post"><button type="submit" style="font-size: 1.1rem; padding: .6rem 1.2rem">'
            "Afmelden / Unsubscribe</button></form>",
        )

    async def click(request: Request) -> Response:
        """A tracked link: records the click once, then forwards to the link's own address."""
        data = links.read(mail_links.CLICK, request.path_params["token"])
        if data is None or not (data.url or "").startswith(("http://", "https://")):
            return page("Link niet geldig", "<p>Deze link is niet geldig. / This link is not valid.</p>", 404)

        def act():
            with runtime.new_session() as session:
                tracking.record(session, data, "click")
                session.commit()

        await anyio.to_thread.run_sync(act)
        return Response(status_code=302, headers={"Location": data.url or "", **no_store})

    async def opened(request: Request) -> Response:
        """The open pixel: records the open once; always the same transparent GIF."""
        data = links.read(mail_links.OPEN, request.path_params["token"])
        if data is not None:

            def act():
                with runtime.new_session() as session:
                    tracking.record(session, data, "open")
                    session.commit()

            await anyio.to_thread.run_sync(act)
        return Response(pixel, media_type="image/gif", headers=no_store)

    routes = [
        Route("/healthz", healthz),
        Route("/mail/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"]),
        Route("/mail/click/{token}", click),
        Route("/mail/open/{token}.gif", opened),
        Route("/downloads/exports/{account_id:int}/{action_id:int}", export_download),
        Route(privacy.DOWNLOAD_ROUTE + "/{account_id:int}/{request_id:int}", privacy_download),
        Route("/website/feed.json", website_feed),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/preferences", preferences),
    ]
    if runtime.settings.graphql_ide:
        routes.append(Mount("/explorer", StaticFiles(directory=STATIC / "explorer"), name="explorer"))

    async def may_upload(headers: Headers) -> bool:
        scheme, _, secret = (headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return False

        def check() -> bool:
            with runtime.new_session(read_only=True) as session:
                viewer = accounts.authenticate_token(session, secret.strip())
            return viewer is not None and CanImport().allows(viewer)

        return await anyio.to_thread.run_sync(check)

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestId),
            Middleware(BodyLimit, upload_limit=runtime.settings.upload_max_bytes, may_upload=may_upload),
        ],
    )
    app.state.runtime = runtime
    return app


__all__ = ["create_app"]
