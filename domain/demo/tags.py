"""Tags in the demo data (SPEC 3, 4, 9): the account's tag tree, production tags, person tags
and the preference-centre form.

The tree (about 500 tags in five categories, three levels deep) is fixed apart from the
season-dependent label groups (campaigns, subscriptions), which follow ``today``. Links follow
the generated data:

- productions carry their genre and subgenre (source ``integration``, the ticketing feed) and
  often a smart colour (source ``staff``);
- persons carry the genres of the productions they bought tickets for and the tag of every
  subscription they hold (``integration``); the genres (and some subgenres and
  interests) they stated themselves, drawn from their hidden affinities (``person``); and staff
  labels: their city as a region, a smart colour for some, relation, audience, campaign and
  behaviour labels, several of them derived from age, address and purchases (``staff``).

About five links per person at scale (5,000,000 at 1,000,000 persons, SPEC 9).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import numpy as np

from domain.demo import pools
from domain.tags.names import name_key

CATEGORIES = ("Genres", "Smart colours", "Interests", "Regions", "Labels")
GENRES_C, COLOURS_C, INTERESTS_C, REGIONS_C, LABELS_C = range(len(CATEGORIES))

SOURCES = ("person", "staff", "integration")
PERSON, STAFF, INTEGRATION = range(len(SOURCES))

# Subgenres per generator genre (pools.GENRES order is looked up by name).
SUBGENRES: dict[str, tuple[str, ...]] = {
    "cabaret": ("Politiek cabaret", "Muzikaal cabaret", "Nieuw cabaret", "Oudejaarsconference"),
    "dance": ("Moderne dans", "Klassiek ballet", "Urban dance"),
    "classical": ("Symfonisch", "Kamermuziek", "Oude muziek", "Koormuziek"),
    "jazz": ("Big band", "Vocal jazz", "Moderne jazz"),
    "musical": ("Grote musical", "Kleine musical", "Familiemusical"),
    "opera": ("Grand opera", "Operette", "Kameropera"),
    "theatre": ("Klassiek repertoire", "Nieuw Nederlands toneel", "Locatietheater", "Muziektheater"),
    "comedy": ("Stand-up comedy", "Improvisatietheater", "Sketchcomedy"),
    "youth": ("Peuter- en kleutervoorstelling", "Jeugdtheater 8+", "Jongerenvoorstelling 12+"),
    "pop": ("Singer-songwriter", "Nederlandstalige muziek", "Tribute en covers", "Rock"),
    "world": ("Latin", "Afrikaanse muziek", "Fado en flamenco"),
    "family": ("Poppentheater", "Kerstvoorstelling", "Sprookjes", "Familieconcert"),
    "drama": ("Psychologisch drama", "Historisch drama", "Tragedie"),
    "circus": ("Nieuw circus", "Acrobatiek", "Kerstcircus"),
    "spoken word": ("Poëzie", "Verhalenvertellers", "Literaire avond"),
}
GENRE_DESCRIPTIONS = {
    "cabaret": "Humor met een boodschap: van politiek cabaret tot muzikale conferences.",
    "dance": "Moderne dans, ballet en urban dance van gezelschappen uit binnen- en buitenland.",
    "classical": "Orkesten, kamermuziek en koren in de concertzalen.",
    "jazz": "Van big band tot improvisatie, in de kleine zaal en op het podium.",
    "musical": "Grote producties en kleine musicals, ook voor het hele gezin.",
    "opera": "Opera, operette en kameropera, met boventiteling.",
    "theatre": "Toneel: klassiek repertoire en nieuw Nederlands werk.",
    "comedy": "Stand-up, improvisatie en sketches: lachen geblazen.",
    "youth": "Voorstellingen voor kinderen en jongeren, met een leeftijdsadvies.",
    "pop": "Popconcerten, singer-songwriters en Nederlandstalige muziek.",
    "world": "Muziek uit alle windstreken.",
    "family": "Voorstellingen voor jong en oud samen.",
    "drama": "Drama en tragedie op het toneel.",
    "circus": "Nieuw circus, acrobatiek en het jaarlijkse kerstcircus.",
    "spoken word": "Poëzie, verhalen en literaire avonden.",
}
# (name, description, share of persons with the colour): the smart colour model's four
# base colours and their mixes.
SMART_COLOURS = (
    ("Rood", "Vrij, uitbundig en ondernemend.", 0.16),
    ("Geel", "Gezellig, harmonieus en zorgzaam.", 0.18),
    ("Groen", "Ingetogen, rustig en bescheiden.", 0.14),
    ("Blauw", "Zakelijk, gestructureerd en kritisch.", 0.16),
    ("Oranje", "Sociaal en avontuurlijk.", 0.09),
    ("Paars", "Onafhankelijk en eigenzinnig.", 0.09),
    ("Aqua", "Beschouwend en afwachtend.", 0.08),
    ("Lime", "Loyaal en behulpzaam.", 0.10),
)
INTERESTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Inleidingen en nagesprekken", ("Inleiding vooraf", "Nagesprek", "Meet and greet", "Open repetitie")),
    ("Achter de schermen", ("Rondleiding", "Backstage", "Techniek en licht", "Kostuums en decor")),
    ("Workshops", ("Dansworkshop", "Zangworkshop", "Theaterworkshop", "Schrijfworkshop", "Kinderworkshop")),
    ("Eten en drinken", ("Diner vooraf", "Borrel na afloop", "High tea", "Wijnproeverij")),
    ("Talentontwikkeling", ("Nieuwe makers", "Try-outs", "Studentenvoorstellingen", "Open podium")),
    ("Educatie", ("Schoolvoorstellingen", "Lesmateriaal", "Docentendag", "Cultuurkaart")),
    (
        "Toegankelijkheid",
        ("Rolstoeltoegankelijk", "Ringleiding", "Audiodescriptie", "Prikkelarme voorstelling", "Boventiteling"),
    ),
    ("Uitgaan", ("Premières", "Seizoenspresentatie", "Festivals", "Zomerprogramma", "Oudejaarsavond")),
    ("Maatschappij", ("Debat", "Lezingen", "Filmvertoningen", "Exposities")),
    ("Gezelschap", ("Uit met kinderen", "Uit met vrienden", "Uit met collega's", "Uit met z'n tweeën")),
    ("Steun het theater", ("Vriendenkring", "Sponsoring", "Nalatenschap", "Crowdfunding")),
    ("Op de hoogte blijven", ("Last-minute aanbiedingen", "Programmaboekje", "WhatsApp-updates", "Podcast")),
)
PROVINCES = (
    "Groningen",
    "Friesland",
    "Drenthe",
    "Overijssel",
    "Flevoland",
    "Gelderland",
    "Utrecht",
    "Noord-Holland",
    "Zuid-Holland",
    "Zeeland",
    "Noord-Brabant",
    "Limburg",
)
COUNTRIES = {"BE": "België", "DE": "Duitsland"}
# Province of every Dutch city in pools.CITIES.
CITY_PROVINCE = {
    "Amsterdam": "Noord-Holland",
    "Rotterdam": "Zuid-Holland",
    "Den Haag": "Zuid-Holland",
    "Utrecht": "Utrecht",
    "Eindhoven": "Noord-Brabant",
    "Groningen": "Groningen",
    "Tilburg": "Noord-Brabant",
    "Almere": "Flevoland",
    "Breda": "Noord-Brabant",
    "Nijmegen": "Gelderland",
    "Apeldoorn": "Gelderland",
    "Haarlem": "Noord-Holland",
    "Arnhem": "Gelderland",
    "Enschede": "Overijssel",
    "Amersfoort": "Utrecht",
    "Zaandam": "Noord-Holland",
    "'s-Hertogenbosch": "Noord-Brabant",
    "Hoofddorp": "Noord-Holland",
    "Zwolle": "Overijssel",
    "Zoetermeer": "Zuid-Holland",
    "Leiden": "Zuid-Holland",
    "Maastricht": "Limburg",
    "Dordrecht": "Zuid-Holland",
    "Ede": "Gelderland",
    "Alphen aan den Rijn": "Zuid-Holland",
    "Leeuwarden": "Friesland",
    "Alkmaar": "Noord-Holland",
    "Emmen": "Drenthe",
    "Delft": "Zuid-Holland",
    "Deventer": "Overijssel",
    "Venlo": "Limburg",
    "Hilversum": "Noord-Holland",
    "Zeist": "Utrecht",
    "Nieuwegein": "Utrecht",
    "Houten": "Utrecht",
    "Veenendaal": "Utrecht",
    "Woerden": "Utrecht",
    "IJsselstein": "Utrecht",
    "Maarssen": "Utrecht",
    "Soest": "Utrecht",
    "Bilthoven": "Utrecht",
    "Gouda": "Zuid-Holland",
    "Middelburg": "Zeeland",
    "Heerlen": "Limburg",
}
# More places per province or country, for staff who tag by region (no generated person lives there).
MORE_PLACES = {
    "Groningen": ("Delfzijl", "Veendam", "Winschoten", "Stadskanaal", "Hoogezand", "Appingedam"),
    "Friesland": ("Sneek", "Heerenveen", "Drachten", "Harlingen", "Franeker", "Dokkum"),
    "Drenthe": ("Assen", "Hoogeveen", "Meppel", "Coevorden", "Roden"),
    "Overijssel": ("Almelo", "Hengelo", "Kampen", "Oldenzaal", "Rijssen", "Hardenberg"),
    "Flevoland": ("Lelystad", "Dronten", "Emmeloord", "Zeewolde"),
    "Gelderland": (
        "Doetinchem",
        "Harderwijk",
        "Tiel",
        "Zutphen",
        "Wageningen",
        "Barneveld",
        "Culemborg",
        "Winterswijk",
    ),
    "Utrecht": (
        "Baarn",
        "Bunnik",
        "De Bilt",
        "Leusden",
        "Montfoort",
        "Vianen",
        "Wijk bij Duurstede",
        "Driebergen",
        "Breukelen",
        "Mijdrecht",
        "Lopik",
        "Rhenen",
    ),
    "Noord-Holland": (
        "Purmerend",
        "Hoorn",
        "Den Helder",
        "Heemskerk",
        "Bussum",
        "Amstelveen",
        "Enkhuizen",
        "Weesp",
        "Huizen",
        "Laren",
    ),
    "Zuid-Holland": (
        "Schiedam",
        "Vlaardingen",
        "Spijkenisse",
        "Gorinchem",
        "Rijswijk",
        "Katwijk",
        "Capelle aan den IJssel",
        "Leidschendam",
        "Wassenaar",
        "Bodegraven",
    ),
    "Zeeland": ("Vlissingen", "Goes", "Terneuzen", "Zierikzee", "Hulst"),
    "Noord-Brabant": ("Helmond", "Oss", "Roosendaal", "Bergen op Zoom", "Uden", "Veghel", "Waalwijk", "Oosterhout"),
    "Limburg": ("Roermond", "Sittard", "Geleen", "Weert", "Kerkrade", "Venray"),
    "België": ("Brussel", "Leuven", "Hasselt", "Mechelen"),
    "Duitsland": ("Keulen", "Kleef", "Münster", "Emmerich"),
}
# (name, share of persons, starred): relation labels staff give by hand.
RELATIONS = (
    ("VIP", 0.004, True),
    ("Pers", 0.001, True),
    ("Donateur", 0.015, True),
    ("Vrijwilliger", 0.003, False),
    ("Lid", 0.02, False),
    ("Vriend van het theater", 0.03, False),
    ("Sponsor", 0.001, False),
    ("Bestuur", 0.0001, False),
    ("Artiest", 0.002, False),
    ("Medewerker", 0.002, False),
    ("Oud-medewerker", 0.001, False),
    ("Ambassadeur", 0.001, False),
    ("Mecenas", 0.0005, False),
    ("Zakelijke relatie", 0.005, False),
    ("Leverancier", 0.0005, False),
)
# (name, share of persons): audience labels; "65+" and "Student" follow the birth date instead.
AUDIENCES = (
    ("Student", 0.0),
    ("65+", 0.0),
    ("CJP", 0.02),
    ("Stadspas", 0.04),
    ("Gezin", 0.06),
    ("Groepsboeker", 0.01),
    ("School", 0.002),
    ("Docent", 0.01),
    ("Zorginstelling", 0.0005),
    ("Bedrijf", 0.005),
)
CAMPAIGNS = (
    "Seizoensopening",
    "Voorjaarsactie",
    "Last-minute",
    "Kerstactie",
    "Abonnementenverkoop",
    "Winactie",
    "Black Friday",
)
CAMPAIGN_SHARE = 0.004  # of persons per campaign tag
# (name, share of persons): behaviour labels; the first ones follow purchases and addresses.
BEHAVIOUR = (
    ("Terugkerende bezoeker", 0.0),
    ("Eerste bezoek", 0.0),
    ("Heavy user", 0.0),
    ("Adres onbekend", 0.0),
    ("Nieuwsbrief-opener", 0.08),
    ("No-show", 0.01),
    ("E-mail bounce", 0.015),
    ("Verhuisd", 0.01),
    ("Klacht", 0.004),
    ("Dubbel account", 0.003),
    ("Fax-nummer", 0.0),
    ("Overleden", 0.001),
)
EVENT_LISTS = ("Uitmarkt", "Open dag", "Premièregasten", "Seizoenspresentatie gasten", "Nieuwjaarsborrel")
EVENT_LIST_SHARE = 0.002
MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
MAILINGS = 24  # monthly mailing selections of the last two years
MAILING_SHARE = 0.005
SEASONS_BACK = 7  # season label groups cover the current season and this many before it


@dataclass(frozen=True)
class TagDef:
    name: str
    category: int
    parent: int | None  # index of the parent in the tag list
    position: int  # 1.. among its siblings
    description: str = ""
    note: str = ""
    active: bool = True
    show_on_form: bool = False
    show_on_website: bool = False
    starred: bool = False


@dataclass
class TagTree:
    """The account's tags (parents before children) and the indexes the links draw from."""

    tags: list[TagDef] = field(default_factory=list)
    genre: list[int] = field(default_factory=list)  # tag per generator genre
    subgenres: list[list[int]] = field(default_factory=list)  # per generator genre
    colours: list[int] = field(default_factory=list)
    interests: list[int] = field(default_factory=list)  # the topics (leaves)
    city: list[int] = field(default_factory=list)  # tag per generator city (pools.CITIES + FOREIGN_CITIES)
    labels: dict[str, int] = field(default_factory=dict)
    subscriptions: dict[str, int] = field(default_factory=dict)  # subscription name -> tag
    campaigns: list[int] = field(default_factory=list)
    event_lists: list[int] = field(default_factory=list)
    mailings: list[int] = field(default_factory=list)
    form: list[int] = field(default_factory=list)  # the preference centre's tags, in order

    def add(self, name: str, category: int, parent: int | None, **values) -> int:
        siblings = sum(1 for t in self.tags if t.parent == parent and t.category == category)
        self.tags.append(TagDef(name, category, parent, siblings + 1, **values))
        return len(self.tags) - 1


def _season(today: date) -> int:
    return today.year if today.month >= 9 else today.year - 1


@lru_cache(maxsize=8)
def build_tree(today: date) -> TagTree:
    """The demo account's tag tree (pure; the season labels depend on ``today``)."""
    tree = TagTree()
    current = _season(today)
    seasons = list(range(current - SEASONS_BACK, current + 1))

    root = tree.add("Genres", GENRES_C, None, starred=True, note="Gevuld door de kaartverkoopkoppeling.")
    popularity = {g[0]: g[1] for g in pools.GENRES}
    for genre, _, _, _ in pools.GENRES:
        label = pools.GENRE_LABELS[genre]
        g = tree.add(
            label,
            GENRES_C,
            root,
            description=GENRE_DESCRIPTIONS[genre],
            show_on_form=True,
            show_on_website=True,
            starred=popularity[genre] >= 1.3,
        )
        tree.genre.append(g)
        tree.subgenres.append(
            [tree.add(sub, GENRES_C, g, show_on_form=True, show_on_website=True) for sub in SUBGENRES[genre]]
        )
    # Genre tags are ordered by position on forms; subgenres by their own position.
    root = tree.add("Smart colours", COLOURS_C, None, note="Smart colours: leefstijlmodel, vier basiskleuren.")
    tree.colours = [tree.add(name, COLOURS_C, root, description=text) for name, text, _ in SMART_COLOURS]

    root = tree.add("Interests", INTERESTS_C, None)
    for theme, topics in INTERESTS:
        t = tree.add(theme, INTERESTS_C, root, show_on_form=True)
        tree.interests += [
            tree.add(topic, INTERESTS_C, t, show_on_form=True, show_on_website=theme == "Toegankelijkheid")
            for topic in topics
        ]

    root = tree.add("Regions", REGIONS_C, None, note="Woonplaats volgens het adres.")
    region: dict[str, int] = {}
    for province in PROVINCES:
        region[province] = tree.add(f"Provincie {province}", REGIONS_C, root, starred=province == "Utrecht")
    for country in COUNTRIES.values():
        region[country] = tree.add(country, REGIONS_C, root)
    places: dict[str, int] = {}
    for city in pools.CITIES + pools.FOREIGN_CITIES:
        parent = region[CITY_PROVINCE[city.name] if city.country == "NL" else COUNTRIES[city.country]]
        places[city.name] = tree.add(city.name, REGIONS_C, parent, starred=city.name == pools.HOME_CITY)
    for province, names in MORE_PLACES.items():
        for name in names:
            places[name] = tree.add(name, REGIONS_C, region[province])
    tree.city = [places[c.name] for c in pools.CITIES + pools.FOREIGN_CITIES]

    root = tree.add("Labels", LABELS_C, None, starred=True)
    group = tree.add("Relaties", LABELS_C, root, note="Met de hand toegekend; nooit zichtbaar voor de persoon.")
    for name, _, starred in RELATIONS:
        tree.labels[name] = tree.add(name, LABELS_C, group, starred=starred)
    group = tree.add("Doelgroepen", LABELS_C, root)
    for name, _ in AUDIENCES:
        tree.labels[name] = tree.add(name, LABELS_C, group)
    group = tree.add("Gedrag", LABELS_C, root)
    for name, _ in BEHAVIOUR:
        tree.labels[name] = tree.add(
            name,
            LABELS_C,
            group,
            active=name != "Fax-nummer",
            note="Vervallen: we faxen niet meer." if name == "Fax-nummer" else "",
        )
    group = tree.add("Campagnes", LABELS_C, root)
    for year in seasons:
        for campaign in CAMPAIGNS:
            tree.campaigns.append(
                tree.add(f"{campaign} {year}-{year + 1}", LABELS_C, group, active=year >= current - 5)
            )
    group = tree.add("Abonnementen", LABELS_C, root, note="Gezet door de kaartverkoopkoppeling.")
    for year in seasons:
        for name in pools.SUBSCRIPTION_NAMES:
            full = f"{name} {year}-{year + 1}"
            tree.subscriptions[full] = tree.add(full, LABELS_C, group)
    tree.subscriptions[pools.OPEN_SUBSCRIPTION_NAME] = tree.add(pools.OPEN_SUBSCRIPTION_NAME, LABELS_C, group)
    group = tree.add("Gastenlijsten", LABELS_C, root)
    for year in seasons:
        for name in EVENT_LISTS:
            tree.event_lists.append(tree.add(f"{name} {year}", LABELS_C, group, active=year >= current - 5))
    group = tree.add("Mailings", LABELS_C, root, note="Selecties voor verzonden mailings.")
    month = today.year * 12 + today.month - 1
    for m in range(month - MAILINGS, month):
        tree.mailings.append(tree.add(f"Mailing {MONTHS[m % 12]} {m // 12}", LABELS_C, group))

    # The preference centre: every genre, and the best-known subgenres right under theirs.
    for (genre, *_), g, subs in zip(pools.GENRES, tree.genre, tree.subgenres):
        tree.form.append(g)
        if popularity[genre] >= 1.0:
            tree.form.append(subs[0])
    keys = [name_key(t.name) for t in tree.tags]
    assert len(set(keys)) == len(keys), "demo tag names must be unique"
    return tree


# --------------------------------------------------------------------------- links


@dataclass(frozen=True)
class ProductionTags:
    """Per production: its genre's tag, a subgenre tag (-1: none), a smart colour tag (-1: none)."""

    genre: np.ndarray
    subgenre: np.ndarray
    colour: np.ndarray

    def links(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(tag index, production index, source) of every production link."""
        n = len(self.genre)
        tag = np.concatenate((self.genre, self.subgenre, self.colour))
        production = np.tile(np.arange(n), 3)
        source = np.repeat([INTEGRATION, INTEGRATION, STAFF], n)
        kept = tag >= 0
        return tag[kept], production[kept], source[kept]


def production_tags(rng: np.random.Generator, tree: TagTree, genres: np.ndarray) -> ProductionTags:
    """Each production's genre (always) and subgenre (mostly) from the feed, a colour often."""
    n = len(genres)
    pick = rng.random(n)
    subgenre = np.array(
        [tree.subgenres[g][int(u * len(tree.subgenres[g]))] for g, u in zip(genres.tolist(), pick.tolist())],
        dtype=np.int64,
    ).reshape(n)
    subgenre[rng.random(n) >= _PRODUCTION_SUBGENRE_SHARE] = -1
    colour = np.asarray(tree.colours)[rng.integers(len(tree.colours), size=n)]
    colour[rng.random(n) >= 0.6] = -1
    return ProductionTags(np.asarray(tree.genre, dtype=np.int64)[genres], subgenre, colour)


@dataclass
class PersonLinks:
    """Tag links of one chunk of persons, sorted by (person, tag, source)."""

    tag: np.ndarray  # tag index
    person: np.ndarray  # chunk-local person index
    source: np.ndarray  # index into SOURCES
    created: np.ndarray  # epoch seconds

    def __len__(self) -> int:
        return len(self.tag)


_PRODUCTION_SUBGENRE_SHARE = 0.5  # productions the feed gives a subgenre
_PERSON_GENRES_P = (0.55, 0.20, 0.13, 0.08, 0.04)  # stated genres per person: 0..4
_MIN_STATED_AFFINITY = 0.05  # a person states only genres they care about at least this much
_STATED_SUBGENRE_SHARE = 0.3
_INTEREST_SHARE = 0.10
_SURVEYED_SHARE = 0.15  # persons with a smart colour (from a survey)
_DERIVED_LABEL_SHARE = 0.5  # how often staff applied a label that the data would justify


def _bernoulli_links(rng: np.random.Generator, size: int, tags: list[int], shares) -> tuple[np.ndarray, np.ndarray]:
    """Each (person, tag) independently with the tag's share: (person, tag index)."""
    hit = rng.random((size, len(tags))) < np.asarray(shares)
    person, column = np.nonzero(hit)
    return person, np.asarray(tags, dtype=np.int64)[column]


def person_links(
    rng: np.random.Generator,
    tree: TagTree,
    *,
    affinity: np.ndarray,
    now: int,
    person_created: np.ndarray,
    city: np.ndarray,
    has_address: np.ndarray,
    age: np.ndarray,
    has_birth: np.ndarray,
    orders_per_person: np.ndarray,
    ticket_person: np.ndarray,
    ticket_production: np.ndarray,
    ticket_time: np.ndarray,
    productions: ProductionTags,
    subscription_person: np.ndarray,
    subscription_name: list[str],
    subscription_created: np.ndarray,
) -> PersonLinks:
    """All tag links of one chunk of persons (chunk-local indexes)."""
    size = len(affinity)
    tags, persons, sources, created = [], [], [], []

    def add(person: np.ndarray, tag: np.ndarray, source: int, at: np.ndarray | None = None) -> None:
        if at is None:  # some moment between the person's creation and now
            start = person_created[person]
            at = start + ((now - start) * rng.random(len(person))).astype(np.int64)
        tags.append(tag.astype(np.int64))
        persons.append(person.astype(np.int64))
        sources.append(np.full(len(person), source, dtype=np.int8))
        created.append(at.astype(np.int64))

    # integration: the feed tags buyers with the genre of each production bought, at the first purchase.
    n_tags = len(tree.tags)
    key = ticket_person * n_tags + productions.genre[ticket_production]
    order = np.argsort(key, kind="stable")
    key, at = key[order], ticket_time[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    earliest = np.minimum.reduceat(at, starts) if len(starts) else at[:0]  # per run of equal keys
    add(key[starts] // n_tags, key[starts] % n_tags, INTEGRATION, earliest)
    # integration: subscriptions held
    sub_tag = np.array([tree.subscriptions.get(name, -1) for name in subscription_name], dtype=np.int64)
    kept = sub_tag >= 0
    add(subscription_person[kept], sub_tag[kept], INTEGRATION, subscription_created[kept])

    # person: stated genres, drawn from the hidden affinities (0-4 genres they care about).
    wanted = rng.choice(len(_PERSON_GENRES_P), size=size, p=_PERSON_GENRES_P)
    keys = np.where(affinity >= _MIN_STATED_AFFINITY, np.log(np.maximum(affinity, 1e-300)), -np.inf)
    keys = keys + rng.gumbel(size=affinity.shape)  # Gumbel top-k: sampling without replacement
    ranked = np.argsort(-keys, axis=1)
    eligible = (affinity >= _MIN_STATED_AFFINITY).sum(axis=1)
    count = np.minimum(wanted, eligible)
    rank = np.arange(affinity.shape[1])
    person, slot = np.nonzero(rank[None, :] < count[:, None])
    genre = ranked[person, slot]
    add(person, np.asarray(tree.genre, dtype=np.int64)[genre], PERSON)
    with_sub = rng.random(len(person)) < _STATED_SUBGENRE_SHARE
    sub_person, sub_genre = person[with_sub], genre[with_sub]
    u = rng.random(len(sub_person))
    sub = np.array(
        [tree.subgenres[g][int(x * len(tree.subgenres[g]))] for g, x in zip(sub_genre.tolist(), u.tolist())],
        dtype=np.int64,
    )
    add(sub_person, sub, PERSON)
    # person: interests (1-3 distinct topics, some far more popular than others)
    chooser = np.flatnonzero(rng.random(size) < _INTEREST_SHARE)
    weight = 1 / (np.arange(len(tree.interests)) % 7 + 1.0)
    keys = np.log(weight) + rng.gumbel(size=(len(chooser), len(weight)))
    ranked = np.argsort(-keys, axis=1)[:, :3]
    count = rng.choice(3, size=len(chooser), p=(0.5, 0.3, 0.2)) + 1
    who, slot = np.nonzero(np.arange(3)[None, :] < count[:, None])
    add(chooser[who], np.asarray(tree.interests, dtype=np.int64)[ranked[who, slot]], PERSON)

    # staff: region by city, for persons with an address
    located = np.flatnonzero(has_address)
    add(located, np.asarray(tree.city, dtype=np.int64)[city[located]], STAFF)
    # staff: smart colour for persons who took the survey
    shares = np.array([s for _, _, s in SMART_COLOURS])
    surveyed = np.flatnonzero(rng.random(size) < _SURVEYED_SHARE)
    add(
        surveyed,
        np.asarray(tree.colours, dtype=np.int64)[rng.choice(len(shares), size=len(surveyed), p=shares / shares.sum())],
        STAFF,
    )
    # staff: relation, audience, behaviour, campaign and guest-list labels
    labels = tree.labels
    p, t = _bernoulli_links(rng, size, [labels[n] for n, _, _ in RELATIONS], [s for _, s, _ in RELATIONS])
    add(p, t, STAFF)
    p, t = _bernoulli_links(rng, size, [labels[n] for n, s in AUDIENCES if s > 0], [s for _, s in AUDIENCES if s > 0])
    add(p, t, STAFF)
    known_age = has_birth & (rng.random(size) < 0.6)
    for name, chosen in (
        ("65+", known_age & (age >= 65)),
        ("Student", known_age & (age >= 17) & (age < 27) & (rng.random(size) < 0.5)),
    ):
        who = np.flatnonzero(chosen)
        add(who, np.full(len(who), labels[name]), STAFF)
    p, t = _bernoulli_links(rng, size, [labels[n] for n, s in BEHAVIOUR if s > 0], [s for _, s in BEHAVIOUR if s > 0])
    add(p, t, STAFF)
    for name, chosen in (
        ("Terugkerende bezoeker", orders_per_person >= 3),
        ("Eerste bezoek", orders_per_person == 1),
        ("Heavy user", orders_per_person >= 12),
        ("Adres onbekend", ~has_address),
    ):
        who = np.flatnonzero(chosen & (rng.random(size) < _DERIVED_LABEL_SHARE))
        add(who, np.full(len(who), labels[name]), STAFF)
    p, t = _bernoulli_links(rng, size, tree.campaigns, CAMPAIGN_SHARE)
    add(p, t, STAFF)
    p, t = _bernoulli_links(rng, size, tree.event_lists, EVENT_LIST_SHARE)
    add(p, t, STAFF)
    p, t = _bernoulli_links(rng, size, tree.mailings, MAILING_SHARE)
    add(p, t, STAFF)

    tag, person, source, at = (np.concatenate(x) for x in (tags, persons, sources, created))
    order = np.lexsort((source, tag, person))
    at = np.maximum(at[order], person_created[person[order]])  # never before the person existed
    return PersonLinks(tag[order], person[order], source[order], np.minimum(at, now - 60))


__all__ = [
    "CATEGORIES",
    "SOURCES",
    "PersonLinks",
    "ProductionTags",
    "TagDef",
    "TagTree",
    "build_tree",
    "person_links",
    "production_tags",
]
