"""Offer e-mails rendered from an account's layout and the action's subject and text: Jinja2 in its
sandbox (templates written by staff cannot reach Python), HTML autoescaped.

What a template sees:

- ``person``: ``first_name``, ``last_name``, ``email`` (empty when unknown).
- ``content`` (layouts only): the action's text, rendered and escaped, paragraphs and line breaks kept.
- ``offer``: ``title`` (the production's), ``starts_at`` (the event's, in the account's zone,
  e.g. "za 14 november 2026 20:15"; empty in production mode), ``venue``, ``url`` (the offer's
  link, tracked).
- ``venue_name`` (the account's name), ``unsubscribe_url``, ``link(url)`` (any other link, tracked).
- ``picks``: the person's personal picks when the offer names a picks action (else empty), best
  first, each with ``title``, ``starts_at`` (its next event), ``venue`` and ``reasons`` (the names
  of the tags it was picked for; empty when it is picked for selling well):
  ``{% for pick in picks %}<li>{{ pick.title }}, {{ pick.starts_at }}</li>{% endfor %}``.

A layout must place ``unsubscribe_url`` (every mail carries a working unsubscribe link; the
headers carry it too). Subject and plain text are not autoescaped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError, Undefined, meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from domain.errors import Collector, ErrorCode

MAX_TEMPLATE = 100_000  # characters of one layout
MAX_SUBJECT, MAX_TEXT = 300, 20_000

_html = SandboxedEnvironment(autoescape=True, undefined=Undefined)
_plain = SandboxedEnvironment(autoescape=False, undefined=Undefined)

SAMPLE = {
    "person": {"first_name": "Anna", "last_name": "de Vries", "email": "anna@example.nl"},
    "offer": {"title": "Voorstelling", "starts_at": "za 14 november 2026 20:15", "venue": "Grote Zaal", "url": "#"},
    "venue_name": "Schouwburg",
    "unsubscribe_url": "#",
    "content": Markup("<p>…</p>"),
    "picks": [{"title": "Voorstelling", "starts_at": "14-11-2026 20:15", "venue": "Grote Zaal", "reasons": ["jazz"]}],
    "link": lambda url: url,
}


def _check(
    env: SandboxedEnvironment, source: str, field: str, limit: int, problems: Collector
) -> nodes.Template | None:
    if len(source) > limit:
        problems.add(ErrorCode.TOO_LONG, f"{field.replace('_', ' ')} is longer than {limit:,} characters", field)
        return None
    try:
        tree = env.parse(source)
        env.from_string(tree).render(SAMPLE)
    except TemplateError as error:
        line = getattr(error, "lineno", None)
        where = f" (line {line})" if line else ""
        problems.add(ErrorCode.INVALID, f"{field.replace('_', ' ')} does not compile{where}: {error.message}", field)
        return None
    except Exception as error:  # noqa: BLE001  (a sample render that fails: the template is broken, say how)
        problems.add(ErrorCode.INVALID, f"{field.replace('_', ' ')} does not render: {error}", field)
        return None
    return tree


def check_layout(html: str, text: str, problems: Collector) -> None:
    tree = _check(_html, html, "html", MAX_TEMPLATE, problems)
    if tree is not None and "unsubscribe_url" not in meta.find_undeclared_variables(tree):
        problems.add(ErrorCode.REQUIRED, "the layout must place {{ unsubscribe_url }}: every mail carries it", "html")
    if text:
        _check(_plain, text, "text", MAX_TEMPLATE, problems)


def check_offer_texts(subject: str, text: str, problems: Collector) -> None:
    if not subject.strip():
        problems.add(ErrorCode.REQUIRED, "an offer e-mail needs a subject", "subject")
    else:
        _check(_plain, subject, "subject", MAX_SUBJECT, problems)
    _check(_plain, text, "text", MAX_TEXT, problems)


def _paragraphs(text: str) -> Markup:
    """Plain text as HTML: escaped, blank lines make paragraphs, single newlines breaks."""
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    return Markup("".join(f"<p>{Markup('<br>').join(escape(line) for line in b.split(chr(10)))}</p>" for b in blocks))


@dataclass(frozen=True)
class Templates:
    """An action's compiled templates (compiled once per send, rendered per person)."""

    subject: Any
    text: Any
    html: Any
    plain_layout: Any | None

    @classmethod
    def compile(cls, *, subject: str, text: str, layout_html: str, layout_text: str) -> Templates:
        return cls(
            subject=_plain.from_string(subject),
            text=_plain.from_string(text),
            html=_html.from_string(layout_html),
            plain_layout=_plain.from_string(layout_text) if layout_text.strip() else None,
        )

    def render(self, context: Mapping[str, Any], link: Callable[[str], str]) -> tuple[str, str, str]:
        """(subject, HTML, plain text) for one person."""
        values = {**context, "link": link}
        subject = " ".join(self.subject.render(values).split())
        body = self.text.render(values)
        html = self.html.render({**values, "content": _paragraphs(body)})
        if self.plain_layout is not None:
            plain = self.plain_layout.render({**values, "content": body})
        else:
            offer = values.get("offer") or {}
            picked = "".join(f"- {p['title']}, {p['starts_at']}\n" for p in values.get("picks") or ())
            plain = (
                f"{body}\n\n{offer.get('title', '')}\n{offer.get('url', '')}\n\n"
                + (f"{picked}\n" if picked else "")
                + f"Afmelden / unsubscribe: {values['unsubscribe_url']}\n"
            )
        return subject, html, plain
