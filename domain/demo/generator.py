"""Deterministic demo data for one account: a venue's catalogue and a Dutch audience.

``load_demo_data`` fills an empty account with venues, productions (each with a hidden genre),
events from two years back to one year ahead, persons (addresses, identities, custom fields,
consents, subscriptions), their orders with tickets (scanned at the door for past events) and
their interactions (offer mail opens and clicks, web page visits: about ten per person, SPEC 9).
Each person has a hidden genre affinity vector that decides which events they buy and, with
noise, what they open, click and visit; ``person_affinities`` and ``production_genres`` expose the
ground truth so that scoring and tips can be judged.

Everything follows from ``seed`` and ``today``. Persons are generated in chunks with numpy
and loaded with COPY; ids are reserved in blocks from the identity sequences so foreign keys
are known without round-trips.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import repeat
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy

from domain.demo import pools
from domain.demo import tags as demo_tags
from domain.people.validation import PERSON_FIELDS
from domain.tags.names import name_key
from domain.catalog.facts import rebuild_purchase_facts
from domain.tags.service import recount

CHUNK = 100_000  # persons generated and loaded per step
TZ = ZoneInfo("Europe/Amsterdam")
DAY = 86_400
SOURCE = "ticketing"  # the source system the sales data pretends to come from

# Independent random streams, so that e.g. affinities can be recomputed without the rest.
_CATALOG, _AFFINITY, _PERSONS, _ORDERS, _TAGS, _INTERACTIONS = 1, 2, 3, 4, 5, 6

GENRES = [g[0] for g in pools.GENRES]
_POPULARITY = np.array([g[1] for g in pools.GENRES]) / sum(g[1] for g in pools.GENRES)
_AFFINITY_ALPHA = 1.5 * _POPULARITY  # small Dirichlet alpha: most persons love 1-3 genres


def _lead_cdf() -> np.ndarray:
    """Cumulative distribution of the days between purchase and performance (0..400): some
    on the day itself, most within two months, a tail of early birds."""
    days = np.arange(401)
    near = np.exp(-days[1:61] / 18)
    far = np.exp(-(days[61:] - 60) / 90)
    pmf = np.concatenate(([0.08], 0.67 * near / near.sum(), 0.25 * far / far.sum()))
    return np.cumsum(pmf) / pmf.sum()


_LEAD_CDF = _lead_cdf()


def _lead_floor(start: np.ndarray, now: int) -> tuple[np.ndarray, np.ndarray]:
    """For events starting at ``start``: the fewest days ahead a purchase made before ``now``
    can have been (0 for past events), and the share of purchases made closer than that."""
    min_lead = np.clip(-(-(start - now) // DAY), 0, None)
    return min_lead, np.where(min_lead > 0, _LEAD_CDF[np.maximum(min_lead - 1, 0)], 0.0)


_TICKETS_PER_ORDER_P = (0.32, 0.50, 0.07, 0.08, 0.02, 0.01)  # 1..6 tickets, mean ~2
_SECOND_EVENT_SHARE = 0.05  # orders with 2+ tickets that add a second event
_REDUCED_SHARE, _REDUCED_FACTOR, _COMPLIMENTARY_SHARE = 0.08, 0.75, 0.003

Progress = Callable[[float, str], None]


def genre_names() -> list[str]:
    """The fixed genre list; column j of ``person_affinities`` is genre j."""
    return list(GENRES)


def event_count(people: int) -> int:
    """Events generated for an audience of ``people``: 2,000 at one million, at least 60."""
    return max(60, round(people / 500))


def _chunks(people: int) -> list[tuple[int, int, int]]:
    """(chunk number, first person index, size) for each chunk."""
    return [(c, start, min(CHUNK, people - start)) for c, start in enumerate(range(0, people, CHUNK))]


def _chunk_affinities(seed: int, chunk: int, size: int) -> np.ndarray:
    return np.random.default_rng([seed, _AFFINITY, chunk]).dirichlet(_AFFINITY_ALPHA, size=size)


def person_affinities(seed: int, people: int) -> np.ndarray:
    """Hidden genre affinities (people × genres, rows sum to 1).

    Row i belongs to the i-th generated person, whose id is ``first_person_id + i``.
    """
    if people == 0:
        return np.empty((0, len(GENRES)))
    return np.vstack([_chunk_affinities(seed, c, size) for c, _, size in _chunks(people)])


# --------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class Production:
    title: str
    genre: int
    promoter: str | None
    season: str
    venue: int  # index into pools.VENUES
    price_cents: int  # price of the best seats
    popularity: float
    created_at: int  # epoch seconds


@dataclass(frozen=True)
class Catalog:
    productions: list[Production]
    event_production: np.ndarray  # production index per event, events in id order
    event_start: np.ndarray  # epoch seconds (UTC)

    @property
    def event_genre(self) -> np.ndarray:
        return np.array([p.genre for p in self.productions])[self.event_production]


def _reference_now(today: date) -> int:
    """The instant the data set is generated at: the start of ``today`` in Amsterdam."""
    return int(datetime.combine(today, time(), TZ).timestamp())


def _season_days(today: date) -> dict[int, list[date]]:
    """Performance days (September to June) from two years back to one year ahead, by season."""
    seasons: dict[int, list[date]] = {}
    day, last = today - timedelta(days=730), today + timedelta(days=365)
    while day <= last:
        if day.month not in (7, 8):
            seasons.setdefault(day.year if day.month >= 9 else day.year - 1, []).append(day)
        day += timedelta(days=1)
    return seasons


def _start_time(genre: str, weekday: int) -> time:
    if genre in ("family", "youth"):
        return time(14, 30) if weekday >= 5 else time(19, 0)
    if genre == "classical" and weekday == 6:
        return time(15, 0)
    if genre in ("classical", "jazz", "pop", "world", "opera"):
        return time(20, 0)
    return time(20, 15)


def _events_per_production(rng: np.random.Generator, genre: str) -> int:
    if genre in ("musical", "family", "circus"):
        return int(rng.integers(3, 13))
    return int(rng.choice([1, 2, 3, 4, 5, 6, 8], p=[0.45, 0.25, 0.12, 0.08, 0.05, 0.03, 0.02]))


def _pick(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _title(rng: np.random.Generator, genre: str) -> str:
    performer = f"{_pick(rng, pools.FEMALE_FIRST_NAMES + pools.MALE_FIRST_NAMES)} {_pick(rng, pools.COMMON_LAST_NAMES)}"
    if rng.random() < 0.3:
        phrase = _pick(rng, pools.STANDALONE_TITLES)
    else:
        phrase = f"De {_pick(rng, pools.TITLE_ADJECTIVES)} {_pick(rng, pools.TITLE_NOUNS)}"
    match genre:
        case "cabaret" | "comedy" | "spoken word" | "jazz" | "pop" | "world":
            return f"{performer} – {phrase}"
        case "classical":
            return f"{_pick(rng, pools.ENSEMBLES)} – {_pick(rng, pools.COMPOSER_WORKS)}"
        case "opera":
            return _pick(rng, pools.OPERAS)
        case "musical":
            return f"{phrase} – de musical"
        case "dance":
            return f"{_pick(rng, pools.DANCE_COMPANIES)}: {phrase}"
        case "theatre" | "drama":
            return _pick(rng, pools.PLAYS) if rng.random() < 0.5 else phrase
        case "youth":
            return f"{phrase} (8+)"
        case "family":
            return f"{phrase} (4+)"
        case _:  # circus
            return f"{_pick(rng, pools.CIRCUS_NAMES)}: {phrase}"


def build_catalog(seed: int, people: int, today: date) -> Catalog:
    """Productions and events, independent of the persons (pure, cheap)."""
    rng = np.random.default_rng([seed, _CATALOG])
    now = _reference_now(today)
    seasons = _season_days(today)
    years = sorted(seasons)
    season_share = np.array([len(seasons[y]) for y in years], dtype=float)
    season_share /= season_share.sum()
    promoters = [
        pools.PROMOTER_FORMS[int(f)].format(pools.COMMON_LAST_NAMES[int(n)])
        for f, n in zip(
            rng.integers(len(pools.PROMOTER_FORMS), size=12),
            rng.choice(len(pools.COMMON_LAST_NAMES), size=12, replace=False),
        )
    ]
    # Every genre gets a production first, then genres follow their popularity.
    genre_queue = [int(g) for g in rng.permutation(len(GENRES))]
    productions: list[Production] = []
    event_production: list[int] = []
    event_start: list[int] = []
    remaining = event_count(people)
    while remaining > 0:
        g = genre_queue.pop() if genre_queue else int(rng.choice(len(GENRES), p=_POPULARITY))
        genre, _, venues, (low, high) = pools.GENRES[g]
        year = years[int(rng.choice(len(years), p=season_share))]
        days = seasons[year]
        n = min(remaining, _events_per_production(rng, genre), len(days))
        long_run = genre in ("musical", "family", "circus")
        offsets = np.concatenate(([0], np.cumsum(rng.integers(1, 3 if long_run else 15, size=n - 1))))
        if offsets[-1] >= len(days):
            offsets = np.arange(n)
        first = int(rng.integers(len(days) - offsets[-1]))
        starts = [
            int(datetime.combine(d, _start_time(genre, d.weekday()), TZ).timestamp())
            for d in (days[first + int(o)] for o in offsets)
        ]
        created = min(starts[0] - 400 * DAY - int(rng.integers(90 * DAY)), now - DAY)
        productions.append(
            Production(
                title=_title(rng, genre),
                genre=g,
                promoter=None if rng.random() < 0.08 else promoters[int(rng.integers(len(promoters)))],
                season=f"{year}-{year + 1}",
                venue=int(rng.choice(venues)),
                price_cents=round(rng.uniform(low, high) * 2) * 50,
                popularity=float(rng.lognormal(0, 0.7)),
                created_at=created,
            )
        )
        event_production += [len(productions) - 1] * n
        event_start += starts
        remaining -= n
    return Catalog(productions, np.array(event_production), np.array(event_start, dtype=np.int64))


def production_genres(seed: int, people: int, today: date | None = None) -> list[str]:
    """Genre of each generated production, in id order from ``first_production_id``."""
    catalog = build_catalog(seed, people, today or date.today())
    return [GENRES[p.genre] for p in catalog.productions]


@dataclass(frozen=True)
class _SalesModel:
    """Lookup arrays to sample events for orders."""

    genre_events: list[tuple[np.ndarray, np.ndarray]]  # per genre: event indexes, cumulative weights
    event_start: np.ndarray
    event_price: np.ndarray  # best-seat price in cents per event
    by_start: np.ndarray  # event indexes ordered by start
    start_rank: np.ndarray  # position of each event in by_start
    now: int

    @classmethod
    def build(cls, catalog: Catalog, now: int) -> _SalesModel:
        start = catalog.event_start
        popularity = np.array([p.popularity for p in catalog.productions])[catalog.event_production]
        # Future events have only sold what was bought that far ahead.
        weight = popularity * (1 - _lead_floor(start, now)[1])
        genre = catalog.event_genre
        genre_events = []
        for g in range(len(GENRES)):
            events = np.flatnonzero(genre == g)
            cdf = np.cumsum(weight[events])
            genre_events.append((events, cdf / cdf[-1]))
        by_start = np.argsort(start, kind="stable")
        rank = np.empty_like(by_start)
        rank[by_start] = np.arange(len(by_start))
        price = np.array([p.price_cents for p in catalog.productions])[catalog.event_production]
        return cls(genre_events, start, price, by_start, rank, now)


@dataclass
class _Orders:
    per_person: np.ndarray  # orders per person of the chunk
    person: np.ndarray  # chunk-local person index per order, sorted by (person, created)
    created: np.ndarray  # epoch seconds
    box_office: np.ndarray  # bool
    ticket_order: np.ndarray  # order index per ticket
    ticket_event: np.ndarray
    ticket_cents: np.ndarray


def _generate_orders(rng: np.random.Generator, sales: _SalesModel, affinity: np.ndarray) -> _Orders:
    n = len(affinity)
    per_person = np.minimum(rng.negative_binomial(0.7, 0.7 / 3.7, size=n), 80)  # mean 3, heavy tail
    person = np.repeat(np.arange(n), per_person)
    m = len(person)
    # Genre by the person's affinity, then an event of that genre by popularity.
    cumulative = np.cumsum(affinity, axis=1)
    genre = np.minimum((cumulative[person] < rng.random(m)[:, None]).sum(axis=1), len(GENRES) - 1)
    u = rng.random(m)
    event = np.empty(m, dtype=np.int64)
    for g, (events, cdf) in enumerate(sales.genre_events):
        chosen = genre == g
        event[chosen] = events[np.minimum(np.searchsorted(cdf, u[chosen], side="right"), len(events) - 1)]
    # Purchase lead time, at least as long as the time from now to a future event.
    start = sales.event_start[event]
    min_lead, low = _lead_floor(start, sales.now)
    lead = np.searchsorted(_LEAD_CDF, low + rng.random(m) * (1 - low), side="right")
    lead = np.maximum(np.minimum(lead, len(_LEAD_CDF) - 1), min_lead)
    same_day = lead == 0
    offset = np.where(same_day, rng.uniform(600, 9 * 3600, m), rng.uniform(0, 12 * 3600, m)).astype(np.int64)
    created = np.minimum(start - lead * DAY - offset, sales.now - 60)
    box_office = rng.random(m) < np.where(same_day, 0.55, 0.25)

    order = np.lexsort((created, person))
    person, created, box_office, event = person[order], created[order], box_office[order], event[order]
    start = start[order]

    tickets = rng.choice(6, size=m, p=_TICKETS_PER_ORDER_P) + 1
    # A few orders add tickets for a second, later event (within 60 days).
    rank = sales.start_rank[event]
    span = np.searchsorted(sales.event_start[sales.by_start], start + 60 * DAY, side="right") - rank - 1
    second = (tickets >= 2) & (rng.random(m) < _SECOND_EVENT_SHARE) & (span > 0)
    pick = np.minimum(rank + 1 + (rng.random(m) * np.maximum(span, 1)).astype(np.int64), len(sales.by_start) - 1)
    event_b = np.where(second, sales.by_start[pick], event)
    first_event_tickets = tickets - np.where(second, tickets // 2, 0)

    ticket_order = np.repeat(np.arange(m), tickets)
    position = np.arange(len(ticket_order)) - (np.cumsum(tickets) - tickets)[ticket_order]
    ticket_event = np.where(position < first_event_tickets[ticket_order], event[ticket_order], event_b[ticket_order])
    level = np.asarray(pools.SEAT_LEVELS)[rng.choice(3, size=m, p=pools.SEAT_LEVEL_SHARES)]
    r = rng.random(len(ticket_order))
    factor = level[ticket_order] * np.where((position > 0) & (r < _REDUCED_SHARE), _REDUCED_FACTOR, 1.0)
    cents = (np.round(sales.event_price[ticket_event] * factor / 50) * 50).astype(np.int64)
    cents[r > 1 - _COMPLIMENTARY_SHARE] = 0
    return _Orders(per_person, person, created, box_office, ticket_order, ticket_event, cents)


# --------------------------------------------------------------------------- interactions

# Per person on average, scaled by an engagement factor (gamma, mean 1): mail opens and clicks for
# persons with an address, page visits for everyone; ~10 per person in all (SPEC 9).
_OPENS, _CLICKS, _VISITS = 6.0, 1.8, 3.3
_TASTE_SHARE = 0.65  # of interactions follow the person's affinities; the rest is noise (popularity)
_TAG_PAGE_SHARE = 0.25  # of visits land on a genre page rather than a production page
_SCANNED_SHARE = 0.87  # of tickets for past events scanned at the door
INTERACTION_KINDS = ("open", "click", "visit")


@dataclass
class _Interactions:
    person: np.ndarray  # chunk-local person index, sorted by (person, time)
    kind: np.ndarray  # index into INTERACTION_KINDS
    at: np.ndarray  # epoch seconds
    production: np.ndarray  # production index, -1 for a visit of a genre page
    genre: np.ndarray  # generator genre (its tag for genre pages)


def _generate_interactions(
    rng: np.random.Generator,
    sales: _SalesModel,
    event_production: np.ndarray,
    affinity: np.ndarray,
    created: np.ndarray,
    has_email: np.ndarray,
) -> _Interactions:
    """Opens and clicks of offer mails about a show, some weeks before it (or lately, for shows far
    ahead), and visits of its page or its genre's page. The show's genre follows the person's
    affinities (``_TASTE_SHARE``) or overall popularity; within a genre, the popular shows."""
    n = len(affinity)
    engagement = rng.gamma(1.0, 1.0, size=n)
    counts = np.stack(
        [
            rng.poisson(_OPENS * engagement) * has_email,
            rng.poisson(_CLICKS * engagement) * has_email,
            rng.poisson(_VISITS * engagement),
        ],
        axis=1,
    ).astype(np.int64)
    counts = np.minimum(counts, 200)
    person = np.repeat(np.repeat(np.arange(n), 3), counts.ravel())
    kind = np.repeat(np.tile(np.arange(3), n), counts.ravel())
    m = len(person)
    taste = rng.random(m) < _TASTE_SHARE
    cumulative = np.cumsum(affinity, axis=1)
    by_taste = (cumulative[person] < rng.random(m)[:, None]).sum(axis=1)
    by_popularity = np.searchsorted(np.cumsum(_POPULARITY), rng.random(m), side="right")
    genre = np.minimum(np.where(taste, by_taste, by_popularity), len(GENRES) - 1)
    u = rng.random(m)
    event = np.empty(m, dtype=np.int64)
    for g, (events, cdf) in enumerate(sales.genre_events):
        chosen = genre == g
        event[chosen] = events[np.minimum(np.searchsorted(cdf, u[chosen], side="right"), len(events) - 1)]
    lead = rng.uniform(1, 60, m) * DAY
    at = (sales.event_start[event] - lead).astype(np.int64)
    at = np.where(at > sales.now - 60, sales.now - rng.uniform(60, 30 * DAY, m), at).astype(np.int64)
    # Not before the person was known: spread over their time since (not all at one moment).
    known = created[person] + 60
    since = known + rng.random(m) * np.maximum(sales.now - 60 - known, 0)
    at = np.where(at < known, since, at).astype(np.int64)
    at = np.minimum(at, sales.now - 60)
    production = event_production[event]
    production = np.where((kind == 2) & (rng.random(m) < _TAG_PAGE_SHARE), -1, production)
    order = np.lexsort((at, person))
    return _Interactions(person[order], kind[order], at[order], production[order], genre[order])


def _scan_times(rng: np.random.Generator, sales: _SalesModel, ticket_event: np.ndarray) -> np.ndarray:
    """When each ticket was scanned at the door (-1: not, or the event is still to come)."""
    start = sales.event_start[ticket_event]
    scanned = (start < sales.now - 3 * 3600) & (rng.random(len(ticket_event)) < _SCANNED_SHARE)
    return np.where(scanned, start - rng.uniform(0, 50 * 60, len(ticket_event)).astype(np.int64), -1)


# --------------------------------------------------------------------------- persons

_FIRST_NAMES = pools.FEMALE_FIRST_NAMES + pools.MALE_FIRST_NAMES
_FIRST_SLUGS = [pools.ascii_slug(n) for n in _FIRST_NAMES]
_LAST_NAMES = pools.COMMON_LAST_NAMES + pools.FAKER_LAST_NAMES
_LAST_SLUGS = [pools.ascii_slug(n) for n in _LAST_NAMES]


def _last_name_p() -> np.ndarray:
    """Half of the persons carry one of the common surnames (Zipf-like), half one of the rest."""
    zipf = 1 / (np.arange(len(pools.COMMON_LAST_NAMES)) + 5)
    rest = len(pools.FAKER_LAST_NAMES)
    return np.concatenate((0.5 * zipf / zipf.sum(), np.full(rest, 0.5 / rest)))


_LAST_P = _last_name_p()
_STREETS = [base + suffix for base in pools.STREET_BASES for suffix in pools.STREET_SUFFIXES]
_GENDERS = np.array(["female", "male", "other", None], dtype=object)
_EMAIL_TEMPLATES = (
    "{f}.{l}",
    "{f}{l}",
    "{i}.{l}",
    "{i}{l}{yy:02d}",
    "{f}.{l}{yy:02d}",
    "{l}.{f}",
    "{f}_{l}",
    "{f}{nn}",
)
_EMAIL_TEMPLATE_P = np.array([30, 12, 14, 8, 8, 5, 5, 6]) / 88
_EMAIL_DOMAINS = [d for d, _ in pools.EMAIL_DOMAINS]
_EMAIL_DOMAIN_P = np.array([w for _, w in pools.EMAIL_DOMAINS]) / sum(w for _, w in pools.EMAIL_DOMAINS)


_COUNTRIES = ("NL", "BE", "DE")


def _city_table() -> tuple[list[pools.City], np.ndarray]:
    """All cities and, per country (NL, BE, DE), the chance to live in each: Dutch customers
    cluster around the home city, by population and distance."""
    cities = list(pools.CITIES + pools.FOREIGN_CITIES)
    home = next(c for c in cities if c.name == pools.HOME_CITY)
    lat, lon = np.radians([c.latitude for c in cities]), np.radians([c.longitude for c in cities])
    hav = (
        np.sin((lat - np.radians(home.latitude)) / 2) ** 2
        + np.cos(lat) * np.cos(np.radians(home.latitude)) * np.sin((lon - np.radians(home.longitude)) / 2) ** 2
    )
    km = 12_742 * np.arcsin(np.sqrt(hav))
    population = np.array([c.population for c in cities], dtype=float)
    weights = []
    for country in _COUNTRIES:
        in_country = np.array([c.country == country for c in cities])
        w = population * in_country * ((0.15 + np.exp(-km / 20)) if country == "NL" else 1)
        weights.append(w / w.sum())
    return cities, np.array(weights)


_CITIES, _CITY_P = _city_table()
_LANGUAGES = {
    "NL": (("nl", "en", "de", "fr"), (0.93, 0.05, 0.015, 0.005)),
    "BE": (("nl", "fr"), (0.6, 0.4)),
    "DE": (("de", "en"), (0.9, 0.1)),
}

_CUSTOM_FIELDS: tuple[tuple[str, str, str, list[str]], ...] = (
    ("dietary_wishes", "Dieetwensen", "text", []),
    ("household_size", "Huishoudgrootte", "number", []),
    ("friend_since", "Vriend sinds", "date", []),
    ("wheelchair_space", "Rolstoelplaats nodig", "boolean", []),
    ("seating_preference", "Voorkeursplaats", "choice", ["zaal", "balkon", "loge", "geen voorkeur"]),
)
_DIETARY = ("vegetarisch", "veganistisch", "glutenvrij", "lactosevrij", "notenallergie", "halal")
_CONSENT_TYPES = (
    ("newsletter", "Nieuwsbrief", "De maandelijkse nieuwsbrief met het programma."),
    ("offers_email", "Aanbiedingen per e-mail", "Acties, kortingen en last-minute aanbiedingen."),
    ("post", "Post", "De seizoensbrochure en uitnodigingen per post."),
)
_CONSENT_SOURCES = np.array(["ticketing", "form", "import", "staff"], dtype=object)


def _timestamps(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds as ISO-8601 UTC strings (object array): cheap to build and to COPY."""
    return np.datetime_as_string(seconds.astype("datetime64[s]"), timezone="UTC").astype(object)


def _nullable(values: np.ndarray, present: np.ndarray) -> list:
    out = values.astype(object)
    out[~present] = None
    return out.tolist()


class _EmailBook:
    """Builds realistic addresses and keeps them unique (lower-case) across the whole load."""

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self.next_suffix: dict[str, int] = {}

    def make(
        self, rng: np.random.Generator, first: np.ndarray, last: np.ndarray, year: np.ndarray, present: np.ndarray
    ) -> list[str | None]:
        size = len(first)
        template = rng.choice(len(_EMAIL_TEMPLATES), size=size, p=_EMAIL_TEMPLATE_P).tolist()
        domain = rng.choice(len(_EMAIL_DOMAINS), size=size, p=_EMAIL_DOMAIN_P).tolist()
        number = rng.integers(1, 1000, size=size).tolist()
        first, last, year = first.tolist(), last.tolist(), (year % 100).tolist()
        out: list[str | None] = [None] * size
        for i in np.flatnonzero(present).tolist():
            f = _FIRST_SLUGS[first[i]]
            local = _EMAIL_TEMPLATES[template[i]].format(f=f, l=_LAST_SLUGS[last[i]], i=f[0], yy=year[i], nn=number[i])
            email = f"{local}@{_EMAIL_DOMAINS[domain[i]]}"
            if email in self.taken:
                k = self.next_suffix.get(email, 2)
                while (candidate := f"{local}{k}@{_EMAIL_DOMAINS[domain[i]]}") in self.taken:
                    k += 1
                self.next_suffix[email] = k + 1
                email = candidate
            self.taken.add(email)
            out[i] = email
        return out


def _postal_codes(rng: np.random.Generator, city: np.ndarray) -> list[str]:
    low = np.array([c.postal_from for c in _CITIES])[city]
    high = np.array([c.postal_to for c in _CITIES])[city]
    number = (low + rng.random(len(city)) * (high - low + 1)).astype(np.int64).tolist()
    letters = pools.POSTAL_LETTERS
    first = rng.integers(len(letters), size=len(city)).tolist()
    second = rng.integers(len(letters), size=len(city)).tolist()
    dutch = [_CITIES[c].country == "NL" for c in city.tolist()]
    codes = []
    for num, a, b, nl in zip(number, first, second, dutch):
        if not nl:
            codes.append(str(num))
            continue
        pair = letters[a] + letters[b]
        codes.append(f"{num} {'ST' if pair in ('SA', 'SD', 'SS') else pair}")  # SA, SD, SS are not issued
    return codes


def _addresses(rng: np.random.Generator, size: int) -> list[str]:
    street = rng.integers(len(_STREETS), size=size).tolist()
    number = (1 + np.minimum(rng.geometric(0.025, size=size), 350)).tolist()
    addition = np.where(rng.random(size) < 0.07, rng.integers(len(pools.HOUSE_NUMBER_ADDITIONS), size=size), -1)
    extras = [""] * size
    for i in np.flatnonzero(addition >= 0).tolist():
        extras[i] = pools.HOUSE_NUMBER_ADDITIONS[addition[i]]
    return [f"{_STREETS[s]} {n}{x}" for s, n, x in zip(street, number, extras)]


def _custom_field_values(rng: np.random.Generator, size: int, created: np.ndarray) -> list[str]:
    """JSON for ``person.custom_fields``: about 30% of persons have some values."""
    has = rng.random(size) < 0.3
    shares = np.array([0.15, 0.6, 0.25, 0.35, 0.5])
    present = (rng.random((size, len(shares))) < shares).tolist()
    diet = rng.integers(len(_DIETARY), size=size).tolist()
    household = rng.choice([1, 2, 3, 4, 5, 6], size=size, p=[0.22, 0.42, 0.14, 0.15, 0.05, 0.02]).tolist()
    since = np.datetime_as_string(
        (created - rng.integers(0, 12 * 365, size=size) * DAY).astype("datetime64[s]").astype("datetime64[D]")
    ).tolist()
    wheelchair = (rng.random(size) < 0.08).tolist()
    seating_choices = _CUSTOM_FIELDS[4][3]
    seating = rng.integers(len(seating_choices), size=size).tolist()
    out = ["{}"] * size
    for i in np.flatnonzero(has).tolist():
        p = present[i]
        values: dict[str, object] = {}
        if p[0]:
            values["dietary_wishes"] = _DIETARY[diet[i]]
        if p[1]:
            values["household_size"] = household[i]
        if p[2]:
            values["friend_since"] = since[i]
        if p[3]:
            values["wheelchair_space"] = wheelchair[i]
        if p[4]:
            values["seating_preference"] = seating_choices[seating[i]]
        out[i] = json.dumps(values, separators=(",", ":"))
    return out


@dataclass
class _Persons:
    columns: list[list]  # in PERSON_COLUMNS order, without account_id and id
    created: np.ndarray  # epoch seconds
    has_email: np.ndarray
    has_address: np.ndarray
    city: np.ndarray  # index into _CITIES
    age: np.ndarray  # whole years
    has_birth: np.ndarray


PERSON_COLUMNS = (*PERSON_FIELDS, "created_at", "updated_at")


def _generate_persons(
    rng: np.random.Generator, size: int, today: date, now: int, first_order: np.ndarray, emails: _EmailBook
) -> _Persons:
    """One chunk of persons; ``first_order`` is each person's first order time (-1 for none)."""
    gender = rng.choice(4, size=size, p=(0.53, 0.43, 0.01, 0.03))  # female, male, other, unknown
    female_name = (gender == 0) | ((gender >= 2) & (rng.random(size) < 0.5))
    n_female = len(pools.FEMALE_FIRST_NAMES)
    first = np.where(
        female_name, rng.integers(n_female, size=size), n_female + rng.integers(len(pools.MALE_FIRST_NAMES), size=size)
    )
    last = rng.choice(len(_LAST_NAMES), size=size, p=_LAST_P)

    age_days = (np.clip(rng.normal(50, 17, size), 16, 94) * 365.25).astype(np.int64)
    birth = np.datetime64(today, "D") - age_days.astype("timedelta64[D]")
    has_birth = rng.random(size) >= 0.12

    country = rng.choice(3, size=size, p=(0.985, 0.01, 0.005))
    has_address = rng.random(size) >= 0.07
    city = np.empty(size, dtype=np.int64)
    language = np.empty(size, dtype=object)
    for c, name in enumerate(_COUNTRIES):
        chosen = country == c
        city[chosen] = rng.choice(len(_CITIES), size=int(chosen.sum()), p=_CITY_P[c])
        codes, shares = _LANGUAGES[name]
        language[chosen] = np.array(codes, dtype=object)[rng.choice(len(codes), size=int(chosen.sum()), p=shares)]
    spread = 0.004 * np.sqrt(np.array([c.population for c in _CITIES]) / 50)[city]
    latitude = np.round(np.array([c.latitude for c in _CITIES])[city] + rng.normal(0, 1, size) * spread, 5)
    longitude = np.round(np.array([c.longitude for c in _CITIES])[city] + rng.normal(0, 1, size) * spread * 1.6, 5)

    has_email = rng.random(size) < 0.97
    email = emails.make(rng, first, last, birth.astype("datetime64[Y]").astype(np.int64) + 1970, has_email)

    # Added on: spread over eight years, more recently more, and before the first purchase.
    created = now - (8 * 365 * DAY * rng.random(size) ** 1.5).astype(np.int64)
    before_first = first_order - rng.integers(3600, 45 * DAY, size=size)
    created = np.where(first_order >= 0, np.minimum(created, before_first), created)
    updated = created + ((now - created) * rng.beta(0.7, 2.5, size)).astype(np.int64)

    columns = [
        email,
        np.array(_FIRST_NAMES, dtype=object)[first].tolist(),
        np.array(_LAST_NAMES, dtype=object)[last].tolist(),
        _GENDERS[gender].tolist(),
        _nullable(np.datetime_as_string(birth), has_birth),
        language.tolist(),
        _nullable(np.array(_addresses(rng, size), dtype=object), has_address),
        _nullable(np.array(_postal_codes(rng, city), dtype=object), has_address),
        _nullable(np.array([c.name for c in _CITIES], dtype=object)[city], has_address),
        _nullable(np.array([c.country for c in _CITIES], dtype=object)[city], has_address),
        _nullable(latitude, has_address),
        _nullable(longitude, has_address),
        _custom_field_values(rng, size, created),
        _timestamps(created).tolist(),
        _timestamps(updated).tolist(),
    ]
    return _Persons(columns, created, has_email, has_address, city, age_days // 365, has_birth)


def _identities(
    rng: np.random.Generator, first_index: int, created: np.ndarray, buyer: np.ndarray, has_email: np.ndarray
) -> tuple[np.ndarray, list, list, list]:
    """(chunk-local person, source, external id, created_at) of external identities: the
    ticketing system knows every buyer and half of the others; the mailer a third of e-mailers."""
    size = len(created)
    ticketing = np.flatnonzero(buyer | (rng.random(size) < 0.5))
    mailer = np.flatnonzero(has_email & (rng.random(size) < 0.35))
    person = np.concatenate((ticketing, mailer))
    order = np.argsort(person, kind="stable")
    person = person[order]
    source = np.array(["ticketing"] * len(ticketing) + ["mailer"] * len(mailer), dtype=object)[order]
    index = (first_index + person).astype(np.int64)
    # Customer numbers for ticketing; a unique 40-bit hash for the mailer (odd multiplier).
    external = [
        str(1_000_000 + i) if s == "ticketing" else f"{(i * 0x9E3779B1) % (1 << 40):010x}"
        for i, s in zip(index.tolist(), source.tolist())
    ]
    return person, source.tolist(), external, _timestamps(created[person]).tolist()


def _consents(
    rng: np.random.Generator, now: int, created: np.ndarray, has_email: np.ndarray, has_address: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list, list, list, list, list]:
    """(person, consent type index, granted, granted_at, withdrawn_at, updated_at, source)."""
    size = len(created)
    persons, types, granted, granted_at, withdrawn_at = [], [], [], [], []
    for t, (eligible, share, granted_share) in enumerate(
        ((has_email, 0.85, 0.72), (has_email, 0.45, 0.55), (has_address, 0.2, 0.8))
    ):
        chosen = np.flatnonzero(eligible & (rng.random(size) < share))
        yes = rng.random(len(chosen)) < granted_share
        start = created[chosen]
        at = start + ((now - start) * rng.beta(0.4, 4, len(chosen))).astype(np.int64)
        withdrawn = at + ((now - at) * rng.random(len(chosen))).astype(np.int64)
        never_granted = ~yes & (rng.random(len(chosen)) < 0.3)  # said no straight away
        persons.append(chosen)
        types.append(np.full(len(chosen), t))
        granted.append(yes)
        granted_at.append(np.where(never_granted, -1, at))
        withdrawn_at.append(np.where(yes, -1, np.where(never_granted, at, withdrawn)))
    person, kind = np.concatenate(persons), np.concatenate(types)
    order = np.lexsort((kind, person))
    person, kind = person[order], kind[order]
    granted_a, granted_at_a = np.concatenate(granted)[order], np.concatenate(granted_at)[order]
    withdrawn_at_a = np.concatenate(withdrawn_at)[order]
    source = _CONSENT_SOURCES[rng.choice(4, size=len(person), p=(0.55, 0.3, 0.1, 0.05))]
    return (
        person,
        kind,
        granted_a.tolist(),
        _nullable(_timestamps(granted_at_a), granted_at_a >= 0),
        _nullable(_timestamps(withdrawn_at_a), withdrawn_at_a >= 0),
        _timestamps(np.maximum(granted_at_a, withdrawn_at_a)).tolist(),
        source.tolist(),
    )


def _subscriptions(
    rng: np.random.Generator, today: date, now: int, created: np.ndarray, orders_per_person: np.ndarray
) -> tuple[list, list, list, list, list]:
    """(person, name, valid_from, valid_until, created_at) for a few percent of persons (more
    among frequent buyers): season subscriptions, some current, some expired, and open-ended
    friends' passes."""
    holders = np.flatnonzero(rng.random(len(created)) < np.where(orders_per_person >= 5, 0.08, 0.025))
    n = len(holders)
    open_ended = (rng.random(n) < 0.2).tolist()
    since = (created[holders] + (now - created[holders]) * rng.random(n)).astype(np.int64).tolist()
    kind = rng.integers(len(pools.SUBSCRIPTION_NAMES), size=n).tolist()
    current = today.year if today.month >= 9 else today.year - 1
    last = (current - rng.choice(4, size=n, p=(0.4, 0.3, 0.2, 0.1))).tolist()
    seasons = rng.choice([1, 2, 3], size=n, p=(0.6, 0.3, 0.1)).tolist()
    lead = rng.integers(10, 60, size=n).tolist()
    rows = []
    for i, p in enumerate(holders.tolist()):
        if open_ended[i]:
            moment = datetime.fromtimestamp(since[i], TZ)
            rows.append((p, pools.OPEN_SUBSCRIPTION_NAME, moment.date(), None, moment))
            continue
        for year in range(last[i] - seasons[i] + 1, last[i] + 1):
            start = date(year, 9, 1)
            rows.append(
                (
                    p,
                    f"{pools.SUBSCRIPTION_NAMES[kind[i]]} {year}-{year + 1}",
                    start,
                    date(year + 1, 6, 30),
                    datetime.combine(start - timedelta(days=lead[i]), time(11), TZ),
                )
            )
    if not rows:
        return [], [], [], [], []
    people, names, starts, ends, created_at = (list(column) for column in zip(*rows))
    return people, names, starts, ends, created_at


# --------------------------------------------------------------------------- loading


def _reserve_ids(cur, table: str, n: int) -> int:
    """Reserve ``n`` consecutive ids from ``table``'s identity sequence; return the first.

    One statement moves the sequence past the block, so concurrent inserts elsewhere take ids
    after it (the window between nextval and setval inside the statement is negligible).
    """
    if n == 0:
        return 0
    cur.execute(
        "select setval(s::regclass, nextval(s::regclass) + %s - 1) from pg_get_serial_sequence(%s, 'id') as s",
        (n, table),
    )
    return cur.fetchone()[0] - n + 1


def _copy(cur, table: str, columns: Sequence[str], account_id: int, data: Sequence[Iterable]) -> None:
    """COPY one list per column (``account_id`` prepended) into ``table``."""
    with cur.copy(f"COPY {table} (account_id, {', '.join(columns)}) FROM STDIN") as copy:
        for row in zip(repeat(account_id), *data):
            copy.write_row(row)


def _load_catalog(cur, account_id: int, catalog: Catalog) -> tuple[int, int]:
    """Venues, productions and events; returns the first production and event ids."""
    venue_id = _reserve_ids(cur, "venue", len(pools.VENUES))
    production_id = _reserve_ids(cur, "production", len(catalog.productions))
    event_id = _reserve_ids(cur, "event", len(catalog.event_start))
    opened = _timestamps(np.array([min(p.created_at for p in catalog.productions) - 30 * DAY]))[0]
    venues = pools.VENUES
    _copy(
        cur,
        "venue",
        ("id", "name", "address", "city", "latitude", "longitude", "source", "external_id", "created_at"),
        account_id,
        (
            [venue_id + i for i in range(len(venues))],
            [v.name for v in venues],
            [v.address for v in venues],
            [v.city for v in venues],
            [v.latitude for v in venues],
            [v.longitude for v in venues],
            repeat(SOURCE),
            [f"V{i + 1}" for i in range(len(venues))],
            repeat(opened),
        ),
    )
    productions = catalog.productions
    created = _timestamps(np.array([p.created_at for p in productions])).tolist()
    _copy(
        cur,
        "production",
        ("id", "title", "promoter", "season", "description", "source", "external_id", "created_at"),
        account_id,
        (
            [production_id + i for i in range(len(productions))],
            [p.title for p in productions],
            [p.promoter for p in productions],
            [p.season for p in productions],
            [
                f"{pools.GENRE_LABELS[GENRES[p.genre]]} in {pools.VENUES[p.venue].name}, seizoen {p.season}."
                for p in productions
            ],
            repeat(SOURCE),
            [f"P{10_000 + i}" for i in range(len(productions))],
            created,
        ),
    )
    prod = catalog.event_production.tolist()
    _copy(
        cur,
        "event",
        ("id", "production_id", "venue_id", "starts_at", "capacity", "source", "external_id", "created_at"),
        account_id,
        (
            [event_id + i for i in range(len(prod))],
            [production_id + p for p in prod],
            [venue_id + productions[p].venue for p in prod],
            _timestamps(catalog.event_start).tolist(),
            [venues[productions[p].venue].capacity for p in prod],
            repeat(SOURCE),
            [f"E{100_000 + i}" for i in range(len(prod))],
            [created[p] for p in prod],
        ),
    )
    return production_id, event_id


def _load_definitions(cur, account_id: int, now: int) -> int:
    """Custom field definitions and consent types; returns the first consent type id."""
    at = _timestamps(np.array([now - 9 * 365 * DAY]))[0]
    field_id = _reserve_ids(cur, "custom_field_definition", len(_CUSTOM_FIELDS))
    _copy(
        cur,
        "custom_field_definition",
        ("id", "key", "label", "type", "choices", "created_at"),
        account_id,
        (
            [field_id + i for i in range(len(_CUSTOM_FIELDS))],
            *zip(*[(k, lbl, t, json.dumps(c)) for k, lbl, t, c in _CUSTOM_FIELDS]),
            repeat(at),
        ),
    )
    consent_id = _reserve_ids(cur, "consent_type", len(_CONSENT_TYPES))
    _copy(
        cur,
        "consent_type",
        ("id", "key", "name", "description", "created_at"),
        account_id,
        ([consent_id + i for i in range(len(_CONSENT_TYPES))], *zip(*_CONSENT_TYPES), repeat(at)),
    )
    return consent_id


DEMO_TABLES = (
    "venue",
    "production",
    "event",
    "custom_field_definition",
    "consent_type",
    "person",
    "person_identity",
    "person_consent",
    "subscription",
    "orders",
    "ticket",
    "tag_category",
    "tag",
    "production_tag",
    "person_tag",
    "form",
    "form_tag",
    "interaction",
)


@dataclass(frozen=True)
class _TagPlan:
    """The account's tags and what each production carries; persons' links follow from these."""

    tree: demo_tags.TagTree
    productions: demo_tags.ProductionTags
    event_production: np.ndarray  # production index per event

    @classmethod
    def build(cls, seed: int, catalog: Catalog, today: date) -> _TagPlan:
        tree = demo_tags.build_tree(today)
        genres = np.array([p.genre for p in catalog.productions], dtype=np.int64)
        return cls(
            tree,
            demo_tags.production_tags(np.random.default_rng([seed, _TAGS]), tree, genres),
            catalog.event_production,
        )


_PREFERENCE_CENTRE = (
    "Jouw voorkeuren",
    "Waar ben je in geïnteresseerd?",
    "Kies de genres waarover je van ons wilt horen. Je kunt je keuze altijd weer aanpassen.",
)


def _load_tags(
    cur, account_id: int, plan: _TagPlan, catalog: Catalog, production_id: int, now: int
) -> tuple[int, dict[str, int]]:
    """Tag categories, tags, production tags and the preference centre with its tags; returns
    the first tag id (tag i of the tree has id ``first + i``) and rows per table."""
    tree = plan.tree
    at = _timestamps(np.array([now - 9 * 365 * DAY]))[0]
    category_id = _reserve_ids(cur, "tag_category", len(demo_tags.CATEGORIES))
    _copy(
        cur,
        "tag_category",
        ("id", "name", "position", "created_at"),
        account_id,
        (
            [category_id + i for i in range(len(demo_tags.CATEGORIES))],
            demo_tags.CATEGORIES,
            range(1, len(demo_tags.CATEGORIES) + 1),
            repeat(at),
        ),
    )
    tag_id = _reserve_ids(cur, "tag", len(tree.tags))
    t = tree.tags
    _copy(
        cur,
        "tag",
        (
            "id",
            "category_id",
            "parent_id",
            "name",
            "name_key",
            "note",
            "active",
            "label",
            "description",
            "show_on_form",
            "visible_to_everyone",
            "position",
            "show_on_website",
            "starred",
            "created_at",
            "updated_at",
        ),
        account_id,
        (
            [tag_id + i for i in range(len(t))],
            [category_id + d.category for d in t],
            [None if d.parent is None else tag_id + d.parent for d in t],
            [d.name for d in t],
            [name_key(d.name) for d in t],
            [d.note for d in t],
            [d.active for d in t],
            [d.name for d in t],
            [d.description for d in t],
            [d.show_on_form for d in t],
            repeat(True),
            [d.position for d in t],
            [d.show_on_website for d in t],
            [d.starred for d in t],
            repeat(at),
            repeat(at),
        ),
    )
    tag, production, source = plan.productions.links()
    order = np.lexsort((source, tag, production))
    tag, production, source = tag[order], production[order], source[order]
    created = _timestamps(np.array([p.created_at for p in catalog.productions]))[production]
    _copy(
        cur,
        "production_tag",
        ("tag_id", "production_id", "source", "actor", "created_at"),
        account_id,
        (
            (tag_id + tag).tolist(),
            (production_id + production).tolist(),
            [demo_tags.SOURCES[s] for s in source.tolist()],
            [SOURCE if s == demo_tags.INTEGRATION else None for s in source.tolist()],
            created.tolist(),
        ),
    )
    counts = {
        "tag_category": len(demo_tags.CATEGORIES),
        "tag": len(t),
        "production_tag": len(tag),
        "form": 0,
        "form_tag": 0,
    }
    # The preference centre (an account has one): created with its tags unless it exists already.
    title, tags_title, tags_description = _PREFERENCE_CENTRE
    cur.execute(
        "insert into form (account_id, kind, title, tags_title, tags_description, created_at, updated_at) "
        "values (%s, 'preference_centre', %s, %s, %s, %s, %s) "
        "on conflict (account_id) where kind = 'preference_centre' do nothing returning id",
        (account_id, title, tags_title, tags_description, at, at),
    )
    row = cur.fetchone()
    if row is not None:
        _copy(
            cur,
            "form_tag",
            ("form_id", "tag_id", "position"),
            account_id,
            (repeat(row[0]), [tag_id + i for i in tree.form], range(1, len(tree.form) + 1)),
        )
        counts.update(form=1, form_tag=len(tree.form))
    return tag_id, counts


@dataclass
class Chunk:
    """Everything generated for one chunk of persons, with chunk-local person indexes."""

    start: int
    size: int
    persons: list[list]
    person_created: np.ndarray  # epoch seconds
    identities: tuple  # (person, source, external id, created_at)
    consents: tuple  # (person, consent type index, granted, granted_at, withdrawn_at, updated_at, source)
    subscriptions: tuple  # (person, name, valid_from, valid_until, created_at)
    orders: _Orders
    order_channels: list[str]
    order_times: list[str]
    ticket_prices: list[str]
    tags: demo_tags.PersonLinks
    tag_sources: list[str]
    tag_actors: list[str | None]
    tag_times: list[str]
    ticket_scans: list[str | None]
    interactions: _Interactions
    interaction_tags: np.ndarray  # tag index (of the tree) of each interaction's genre


def _generate_chunk(
    seed: int,
    chunk: int,
    start: int,
    size: int,
    sales: _SalesModel,
    today: date,
    emails: _EmailBook,
    plan: _TagPlan,
    first_person_id: int,
) -> Chunk:
    affinity = _chunk_affinities(seed, chunk, size)
    orders = _generate_orders(np.random.default_rng([seed, _ORDERS, chunk]), sales, affinity)
    buyer = orders.per_person > 0
    first_order = np.full(size, -1, dtype=np.int64)
    first_order[buyer] = orders.created[(np.cumsum(orders.per_person) - orders.per_person)[buyer]]
    rng = np.random.default_rng([seed, _PERSONS, chunk])
    persons = _generate_persons(rng, size, today, sales.now, first_order, emails)
    cents, inverse = np.unique(orders.ticket_cents, return_inverse=True)
    prices = np.array([f"{c // 100}.{c % 100:02d}" for c in cents.tolist()], dtype=object)[inverse]
    identities = _identities(rng, start, persons.created, buyer, persons.has_email)
    consents = _consents(rng, sales.now, persons.created, persons.has_email, persons.has_address)
    subscriptions = _subscriptions(rng, today, sales.now, persons.created, orders.per_person)
    ticket_order = orders.ticket_order
    links = demo_tags.person_links(
        np.random.default_rng([seed, _TAGS, chunk]),
        plan.tree,
        affinity=affinity,
        now=sales.now,
        person_created=persons.created,
        city=persons.city,
        has_address=persons.has_address,
        age=persons.age,
        has_birth=persons.has_birth,
        orders_per_person=orders.per_person,
        ticket_person=orders.person[ticket_order],
        ticket_production=plan.event_production[orders.ticket_event],
        ticket_time=orders.created[ticket_order],
        productions=plan.productions,
        subscription_person=np.asarray(subscriptions[0], dtype=np.int64),
        subscription_name=subscriptions[1],
        subscription_created=np.array([int(d.timestamp()) for d in subscriptions[4]], dtype=np.int64),
    )
    interactions_rng = np.random.default_rng([seed, _INTERACTIONS, chunk])
    scans = _scan_times(interactions_rng, sales, orders.ticket_event)
    interactions = _generate_interactions(
        interactions_rng, sales, plan.event_production, affinity, persons.created, persons.has_email
    )
    person_actor = np.char.add("person:", (first_person_id + start + links.person).astype(str)).astype(object)
    actors = np.where(
        links.source == demo_tags.PERSON, person_actor, np.where(links.source == demo_tags.INTEGRATION, SOURCE, None)
    )
    return Chunk(
        start,
        size,
        persons.columns,
        persons.created,
        identities,
        consents,
        subscriptions,
        orders,
        np.where(orders.box_office, "box_office", "online").astype(object).tolist(),
        _timestamps(orders.created).tolist(),
        prices.tolist(),
        links,
        np.array(demo_tags.SOURCES, dtype=object)[links.source].tolist(),
        actors.tolist(),
        _timestamps(links.created).tolist(),
        _nullable(_timestamps(np.maximum(scans, 0)), scans >= 0),
        interactions,
        np.asarray(plan.tree.genre, dtype=np.int64)[interactions.genre],
    )


def _load_chunk(
    cur,
    account_id: int,
    data: Chunk,
    first_person_id: int,
    consent_type_id: int,
    event_id: int,
    first_tag_id: int,
    first_production_id: int,
    step: Callable[[float, str], None],
) -> dict[str, int]:
    """Reserve ids for one generated chunk and COPY it; returns rows per table."""
    person_ids = first_person_id + data.start + np.arange(data.size)
    _copy(cur, "person", ("id", *PERSON_COLUMNS), account_id, (person_ids.tolist(), *data.persons))
    step(0.3, "identities")

    who, *rest = data.identities
    first_id = _reserve_ids(cur, "person_identity", len(who))
    _copy(
        cur,
        "person_identity",
        ("id", "person_id", "source", "external_id", "created_at"),
        account_id,
        (range(first_id, first_id + len(who)), person_ids[who].tolist(), *rest),
    )
    step(0.4, "consents")

    who, kind, *rest = data.consents
    _copy(
        cur,
        "person_consent",
        ("person_id", "consent_type_id", "granted", "granted_at", "withdrawn_at", "updated_at", "source"),
        account_id,
        (person_ids[who].tolist(), (consent_type_id + kind).tolist(), *rest),
    )
    subscription_person, *rest = data.subscriptions
    first_id = _reserve_ids(cur, "subscription", len(subscription_person))
    _copy(
        cur,
        "subscription",
        ("id", "person_id", "name", "valid_from", "valid_until", "created_at"),
        account_id,
        (range(first_id, first_id + len(subscription_person)), person_ids[subscription_person].tolist(), *rest),
    )
    step(0.5, "orders")

    orders = data.orders
    n_orders, n_tickets = len(orders.person), len(orders.ticket_order)
    order_id = _reserve_ids(cur, "orders", n_orders)
    order_person = person_ids[orders.person]
    _copy(
        cur,
        "orders",
        ("id", "person_id", "channel", "created_at", "source", "external_id"),
        account_id,
        (
            range(order_id, order_id + n_orders),
            order_person.tolist(),
            data.order_channels,
            data.order_times,
            repeat(SOURCE),
            map(str, range(order_id, order_id + n_orders)),
        ),
    )
    step(0.6, "tickets")

    ticket_id = _reserve_ids(cur, "ticket", n_tickets)
    _copy(
        cur,
        "ticket",
        ("id", "order_id", "event_id", "person_id", "price", "source", "scanned_at"),
        account_id,
        (
            range(ticket_id, ticket_id + n_tickets),
            (order_id + orders.ticket_order).tolist(),
            (event_id + orders.ticket_event).tolist(),
            order_person[orders.ticket_order].tolist(),
            data.ticket_prices,
            repeat(SOURCE),
            data.ticket_scans,
        ),
    )
    step(0.8, "tags")

    links = data.tags
    _copy(
        cur,
        "person_tag",
        ("tag_id", "person_id", "source", "actor", "created_at"),
        account_id,
        (
            (first_tag_id + links.tag).tolist(),
            person_ids[links.person].tolist(),
            data.tag_sources,
            data.tag_actors,
            data.tag_times,
        ),
    )
    step(0.9, "interactions")

    seen = data.interactions
    n_interactions = len(seen.person)
    interaction_id = _reserve_ids(cur, "interaction", n_interactions)
    genre_page = seen.production < 0
    at = _timestamps(seen.at).tolist()
    _copy(
        cur,
        "interaction",
        ("id", "person_id", "kind", "occurred_at", "production_id", "tag_id", "idempotency_key", "created_at"),
        account_id,
        (
            range(interaction_id, interaction_id + n_interactions),
            person_ids[seen.person].tolist(),
            np.array(INTERACTION_KINDS, dtype=object)[seen.kind].tolist(),
            at,
            _nullable(first_production_id + seen.production, ~genre_page),
            _nullable(first_tag_id + data.interaction_tags, genre_page),
            [f"demo:{i}" for i in range(interaction_id, interaction_id + n_interactions)],
            at,
        ),
    )
    step(1.0, "done")
    return {
        "person": data.size,
        "person_identity": len(data.identities[0]),
        "person_consent": len(who),
        "subscription": len(subscription_person),
        "orders": n_orders,
        "ticket": n_tickets,
        "person_tag": len(links),
        "interaction": n_interactions,
    }


def _organisations(cur, account_id: int, first_person_id: int, people: int) -> tuple[int, int]:
    """One business relation per 250 persons (at least five), each with one to three contacts
    among the persons and the tag "Zakelijke relatie" (staff). Set-based, deterministic."""
    n = max(5, people // 250)
    kinds, names, roles = (list(pools.ORGANISATION_KINDS), list(pools.ORGANISATION_NAMES),
                           list(pools.ORGANISATION_ROLES))  # fmt: skip
    cur.execute(
        "insert into organisation (account_id, name, email, city, country) "
        "select %s, (%s::text[])[1 + i %% %s] || ' ' || (%s::text[])[1 + (i / %s) %% %s] "
        "       || case when i >= %s then ' ' || (i / %s + 1) else '' end, "
        "       'info@relatie' || i || '.example.nl', c.city, 'NL' "
        "from generate_series(0, %s - 1) i "
        "left join lateral (select city from person where account_id = %s and id = %s + (i * 7919) %% %s) c on true",
        (account_id, kinds, len(kinds), names, len(kinds), len(names), len(kinds) * len(names),
         len(kinds) * len(names), n, account_id, first_person_id, people),
    )  # fmt: skip
    cur.execute(
        "insert into person_organisation (account_id, person_id, organisation_id, role) "
        "select distinct on (p, o.id) %s, p, o.id, (%s::text[])[1 + ((o.id + k) %% %s)] "
        "from organisation o cross join lateral generate_series(0, o.id %% 3) k "
        "cross join lateral (select %s + ((o.id * 104729 + k * 7919) %% %s) as p) x where o.account_id = %s "
        "order by p, o.id",
        (account_id, roles, len(roles), first_person_id, people, account_id),
    )
    links = cur.rowcount
    cur.execute(  # one of the demo's own tags (domain.demo.tags)
        "select id from tag where account_id = %s and name_key = %s",
        (account_id, name_key(pools.ORGANISATION_TAG)),
    )
    tag = cur.fetchone()
    if tag is not None:
        cur.execute(
            "insert into organisation_tag (account_id, tag_id, organisation_id, source, actor) "
            "select %s, %s, id, 'staff', 'demo' from organisation where account_id = %s",
            (account_id, tag[0], account_id),
        )
    return n, links


@dataclass
class DemoCatalogue:
    """What ``load_demo_catalogue`` put in an account, and what the persons are generated from."""

    seed: int
    people: int
    today: date
    catalog: Catalog
    sales: _SalesModel
    plan: _TagPlan
    production_id: int  # id of the first production (ids follow the catalogue's order)
    event_id: int
    consent_type_id: int
    first_tag_id: int
    counts: dict[str, int]


def catalogue_models(seed: int, people: int, today: date) -> tuple[Catalog, _SalesModel, _TagPlan]:
    """The catalogue and what orders and tags are drawn from (pure: nothing is loaded)."""
    catalog = build_catalog(seed, people, today)
    return catalog, _SalesModel.build(catalog, _reference_now(today)), _TagPlan.build(seed, catalog, today)


def load_demo_catalogue(cur, account_id: int, *, people: int, seed: int, today: date) -> DemoCatalogue:
    """Venues, productions, events, definitions and tags of the demo account (no persons)."""
    now = _reference_now(today)
    catalog, sales, plan = catalogue_models(seed, people, today)
    production_id, event_id = _load_catalog(cur, account_id, catalog)
    consent_type_id = _load_definitions(cur, account_id, now)
    first_tag_id, counts = _load_tags(cur, account_id, plan, catalog, production_id, now)
    counts.update(
        venue=len(pools.VENUES),
        production=len(catalog.productions),
        event=len(catalog.event_start),
        custom_field_definition=len(_CUSTOM_FIELDS),
        consent_type=len(_CONSENT_TYPES),
    )
    return DemoCatalogue(
        seed, people, today, catalog, sales, plan, production_id, event_id, consent_type_id, first_tag_id, counts
    )


def generate_chunks(catalogue: DemoCatalogue, first_person_id: int) -> Iterator[Chunk]:
    """The persons of the catalogue's audience, chunk by chunk; a worker thread generates the
    next chunk while the caller works on the current one."""
    emails = _EmailBook()  # chunks are generated one after the other, so its order is fixed
    chunks = _chunks(catalogue.people)
    fixed = (catalogue.sales, catalogue.today, emails, catalogue.plan, first_person_id)
    with ThreadPoolExecutor(max_workers=1) as worker:
        upcoming = worker.submit(_generate_chunk, catalogue.seed, *chunks[0], *fixed) if chunks else None
        for i in range(len(chunks)):
            assert upcoming is not None
            data = upcoming.result()
            if i + 1 < len(chunks):
                upcoming = worker.submit(_generate_chunk, catalogue.seed, *chunks[i + 1], *fixed)
            yield data


def load_demo_data(
    connection: sqlalchemy.engine.Connection,
    account_id: int,
    *,
    people: int,
    seed: int = 42,
    today: date | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Fill an existing, empty account with realistic demo data; return row counts per table.

    Besides one count per table the result holds ``first_person_id`` (person i of
    ``person_affinities`` has id ``first_person_id + i``), ``first_production_id`` (in the order
    of ``production_genres``), ``first_event_id`` and ``first_tag_id`` (tag i of
    ``domain.demo.tags.build_tree(today)`` has id ``first_tag_id + i``). Runs in the caller's
    transaction and does not commit. As a superuser it loads with ``session_replication_role =
    replica`` (foreign keys are consistent by construction; note that no triggers fire on the
    loaded rows, so the tag counters, and the purchase facts where the schema has them, are
    rebuilt at the end, as is the tag version) and restores the setting before returning. A worker
    thread generates the next chunk while the database ingests the current one. The account must
    hold no tags yet (names are unique per account); an existing preference centre keeps its own tags.
    """
    today = today or date.today()
    report = progress or (lambda fraction, message: None)
    counts = dict.fromkeys(DEMO_TABLES, 0)
    raw = connection.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute("select current_setting('is_superuser') = 'on', current_setting('session_replication_role')")
        superuser, replication_role = cur.fetchone()
        if superuser:
            cur.execute("set local session_replication_role = replica")
        report(0.0, "catalogue")
        catalogue = load_demo_catalogue(cur, account_id, people=people, seed=seed, today=today)
        catalog, production_id, event_id = catalogue.catalog, catalogue.production_id, catalogue.event_id
        counts.update(catalogue.counts)
        first_person_id = _reserve_ids(cur, "person", people)
        sold = np.zeros(len(catalog.event_start), dtype=np.int64)
        for data in generate_chunks(catalogue, first_person_id):
            start, size = data.start, data.size

            def step(part: float, what: str, start: int = start, size: int = size) -> None:
                report(
                    0.01 + 0.94 * (start + part * size) / people,
                    f"persons {start + 1:,}–{start + size:,} of {people:,}: {what}",
                )

            for table, n in _load_chunk(
                cur,
                account_id,
                data,
                first_person_id,
                catalogue.consent_type_id,
                event_id,
                catalogue.first_tag_id,
                production_id,
                step,
            ).items():
                counts[table] += n
            sold += np.bincount(data.orders.ticket_event, minlength=len(sold))

        # Halls are as big as the sales need (the data set fixes tickets per event).
        capacity = np.maximum(
            [pools.VENUES[catalog.productions[p].venue].capacity for p in catalog.event_production.tolist()],
            -(-sold * 11 // 500) * 50,
        )
        cur.execute(
            "update event e set capacity = v.capacity "
            "from unnest(%s::bigint[], %s::bigint[]) as v(id, capacity) "
            "where e.account_id = %s and e.id = v.id",
            ((event_id + np.arange(len(sold))).tolist(), capacity.tolist(), account_id),
        )
        if superuser:  # the caller's further work in this transaction fires triggers again
            cur.execute("select set_config('session_replication_role', %s, true)", (replication_role,))
        counts["organisation"], counts["person_organisation"] = _organisations(cur, account_id, first_person_id, people)
        report(0.95, "tag counters")
        # No trigger kept the counters during the load: rebuild them from the links, exactly.
        recount(connection, account_id)
        # Likewise the per-person purchase facts that segment conditions read, and the tag version
        # cached tag trees are keyed on (its triggers did not fire either).
        report(0.96, "purchase facts")
        rebuild_purchase_facts(connection, account_id)
        cur.execute("update account set tags_version = tags_version + 1 where id = %s", (account_id,))
        cur.execute(  # each loaded consent state is its person's first history entry
            "insert into consent_history (account_id, person_id, consent_type_id, granted, changed_at, source) "
            "select account_id, person_id, consent_type_id, granted, updated_at, source from person_consent "
            "where account_id = %s",
            (account_id,),
        )
        derived = ["tag_counter", "person_stats", "person_season_stats", "ticket_fact", "consent_history"]
        report(0.99, "analyze")
        cur.execute(f"analyze {', '.join((*DEMO_TABLES, *derived))}")
    report(1.0, "done")
    counts.update(
        first_person_id=first_person_id,
        first_production_id=production_id,
        first_event_id=event_id,
        first_tag_id=catalogue.first_tag_id,
    )
    return counts
