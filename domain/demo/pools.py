"""Fixed reference tables the demo generator draws from (cities, venues, genres, words).

Everything here is static: the generator's randomness comes from numpy, seeded by the caller.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

from faker.providers.person.nl_NL import Provider as _FakerPerson


class City(NamedTuple):
    name: str
    country: str
    latitude: float
    longitude: float
    postal_from: int  # numeric part of the postal codes used in the city (inclusive range)
    postal_to: int
    population: int  # thousands, used as a sampling weight


# Dutch cities with approximately right centres and postal-code ranges, plus a few across
# the border (Belgian and German postal codes are plain numbers).
CITIES: tuple[City, ...] = (
    City("Amsterdam", "NL", 52.3676, 4.9041, 1011, 1109, 920),
    City("Rotterdam", "NL", 51.9244, 4.4777, 3011, 3089, 655),
    City("Den Haag", "NL", 52.0705, 4.3007, 2491, 2597, 555),
    City("Utrecht", "NL", 52.0907, 5.1214, 3511, 3585, 365),
    City("Eindhoven", "NL", 51.4416, 5.4697, 5611, 5658, 240),
    City("Groningen", "NL", 53.2194, 6.5665, 9711, 9747, 235),
    City("Tilburg", "NL", 51.5555, 5.0913, 5011, 5049, 225),
    City("Almere", "NL", 52.3508, 5.2647, 1311, 1363, 220),
    City("Breda", "NL", 51.5719, 4.7683, 4811, 4839, 185),
    City("Nijmegen", "NL", 51.8126, 5.8372, 6511, 6546, 180),
    City("Apeldoorn", "NL", 52.2112, 5.9699, 7311, 7339, 165),
    City("Haarlem", "NL", 52.3874, 4.6462, 2011, 2037, 165),
    City("Arnhem", "NL", 51.9851, 5.8987, 6811, 6846, 165),
    City("Enschede", "NL", 52.2215, 6.8937, 7511, 7548, 160),
    City("Amersfoort", "NL", 52.1561, 5.3878, 3811, 3829, 160),
    City("Zaandam", "NL", 52.4389, 4.8261, 1501, 1509, 80),
    City("'s-Hertogenbosch", "NL", 51.6978, 5.3037, 5211, 5236, 160),
    City("Hoofddorp", "NL", 52.3061, 4.6907, 2131, 2136, 80),
    City("Zwolle", "NL", 52.5168, 6.0830, 8011, 8043, 130),
    City("Zoetermeer", "NL", 52.0575, 4.4931, 2711, 2729, 125),
    City("Leiden", "NL", 52.1601, 4.4970, 2311, 2334, 125),
    City("Maastricht", "NL", 50.8514, 5.6910, 6211, 6229, 120),
    City("Dordrecht", "NL", 51.8133, 4.6901, 3311, 3329, 120),
    City("Ede", "NL", 52.0402, 5.6649, 6711, 6718, 75),
    City("Alphen aan den Rijn", "NL", 52.1292, 4.6550, 2401, 2409, 75),
    City("Leeuwarden", "NL", 53.2012, 5.7999, 8911, 8939, 125),
    City("Alkmaar", "NL", 52.6324, 4.7534, 1811, 1827, 110),
    City("Emmen", "NL", 52.7858, 6.8976, 7811, 7833, 60),
    City("Delft", "NL", 52.0116, 4.3571, 2611, 2629, 105),
    City("Deventer", "NL", 52.2551, 6.1639, 7411, 7429, 100),
    City("Venlo", "NL", 51.3704, 6.1724, 5911, 5928, 100),
    City("Hilversum", "NL", 52.2292, 5.1669, 1211, 1223, 90),
    City("Zeist", "NL", 52.0907, 5.2333, 3701, 3709, 65),
    City("Nieuwegein", "NL", 52.0297, 5.0813, 3431, 3439, 65),
    City("Houten", "NL", 52.0283, 5.1681, 3991, 3995, 50),
    City("Veenendaal", "NL", 52.0279, 5.5586, 3901, 3907, 65),
    City("Woerden", "NL", 52.0852, 4.8836, 3441, 3449, 52),
    City("IJsselstein", "NL", 52.0196, 5.0446, 3401, 3402, 34),
    City("Maarssen", "NL", 52.1351, 5.0411, 3601, 3608, 40),
    City("Soest", "NL", 52.1733, 5.2914, 3761, 3769, 47),
    City("Bilthoven", "NL", 52.1286, 5.2036, 3721, 3723, 22),
    City("Gouda", "NL", 52.0115, 4.7104, 2801, 2809, 74),
    City("Middelburg", "NL", 51.4988, 3.6136, 4331, 4339, 49),
    City("Heerlen", "NL", 50.8882, 5.9795, 6411, 6422, 87),
)
FOREIGN_CITIES: tuple[City, ...] = (
    City("Antwerpen", "BE", 51.2194, 4.4025, 2000, 2660, 530),
    City("Gent", "BE", 51.0543, 3.7174, 9000, 9052, 265),
    City("Düsseldorf", "DE", 51.2277, 6.7735, 40210, 40629, 620),
    City("Aachen", "DE", 50.7753, 6.0839, 52062, 52080, 250),
)
HOME_CITY = "Utrecht"  # where the demo venues are; customers cluster around it

# Letters used in Dutch postal codes (F, I, O, Q, U and Y are not used).
POSTAL_LETTERS = "ABCDEGHJKLMNPRSTVWXZ"


class Venue(NamedTuple):
    name: str
    address: str
    city: str
    latitude: float
    longitude: float
    capacity: int


VENUES: tuple[Venue, ...] = (
    Venue("Schouwburg Lucasbolwerk – Grote Zaal", "Lucasbolwerk 24", "Utrecht", 52.0926, 5.1243, 940),
    Venue("Schouwburg Lucasbolwerk – Blauwe Zaal", "Lucasbolwerk 24", "Utrecht", 52.0927, 5.1246, 300),
    Venue("Muziekhuis Vredenburg – Grote Zaal", "Vredenburgkade 11", "Utrecht", 52.0930, 5.1122, 1700),
    Venue("Muziekhuis Vredenburg – Hertzzaal", "Vredenburgkade 11", "Utrecht", 52.0931, 5.1125, 450),
    Venue("Theater Zuidsingel", "Zuidsingel 10", "Amersfoort", 52.1549, 5.3897, 700),
)

# Genres with a popularity weight (how many productions and how much interest they draw),
# the venues (indexes into VENUES) that host them and a base price range in euros.
GENRES: tuple[tuple[str, float, tuple[int, ...], tuple[float, float]], ...] = (
    ("cabaret", 1.6, (0, 1, 4), (22, 34)),
    ("dance", 0.8, (0, 4), (25, 52)),
    ("classical", 1.0, (2, 3), (25, 62)),
    ("jazz", 0.6, (3, 1), (20, 38)),
    ("musical", 1.2, (0, 4), (38, 75)),
    ("opera", 0.5, (0, 2), (40, 75)),
    ("theatre", 1.3, (0, 1, 4), (20, 42)),
    ("comedy", 1.1, (1, 4), (18, 32)),
    ("youth", 0.5, (1, 4), (15, 20)),
    ("pop", 1.0, (2, 3), (25, 48)),
    ("world", 0.5, (3, 1), (18, 35)),
    ("family", 0.8, (0, 4), (15, 24)),
    ("drama", 0.8, (0, 1), (22, 40)),
    ("circus", 0.4, (0, 4), (18, 36)),
    ("spoken word", 0.3, (1, 3), (15, 22)),
)

SEAT_LEVELS = (1.0, 0.85, 0.7)  # price factor per seat category (rang 1, 2, 3)
SEAT_LEVEL_SHARES = (0.55, 0.3, 0.15)

# Common Dutch surnames in rough frequency order (drawn with a Zipf-like weight), plus the
# plausible part of Faker's list (surnames with a lowercase particle or a single word).
COMMON_LAST_NAMES = (
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
    "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks",
    "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer",
    "van der Linden", "Kok", "Jacobs", "de Haan", "Vermeulen", "van den Heuvel", "van der Veen",
    "van den Broek", "de Bruijn", "de Bruin", "van der Heijden", "Schouten", "van Beek", "Willems",
    "van Vliet", "van de Ven", "Hoekstra", "Maas", "Verhoeven", "Koster", "van Dam", "van der Wal",
    "Prins", "Blom", "Huisman", "Peeters", "de Jonge", "Kuipers", "van Veen", "Post", "Kuiper",
    "Veenstra", "Kramer", "van den Brink", "Scholten", "van Wijk", "Postma", "Martens", "Vink",
    "de Ruiter", "Timmermans", "Groen", "Gerritsen", "Jonker", "van Loon", "Boer", "van der Velde",
    "Willemsen", "Smeets", "de Lange", "de Vos", "Bosch", "van Dongen", "Schipper", "de Koning",
    "van der Laan", "Koning", "van der Velden", "Driessen", "van Doorn", "Hermans", "Evers",
    "van den Bosch", "van der Meulen", "Hofman", "Bosman", "Wolters", "Sanders", "van der Horst",
    "Mol", "Kuijpers", "Molenaar", "van de Pol", "de Leeuw", "Verbeek",
)
_PARTICLES = ("van ", "de ", "den ", "der ", "ter ", "ten ", "'t ", "in ", "op ")
FAKER_LAST_NAMES = tuple(
    n for n in dict.fromkeys(_FakerPerson.last_names)
    if "," not in n and len(n) <= 18 and (" " not in n or n.startswith(_PARTICLES))
    and not n.endswith(("dr", "sz")) and n not in COMMON_LAST_NAMES
)

# Faker's Dutch first names are today's baby names; a theatre audience is older, so the
# pools add the names of their parents' generation.
_CLASSIC_FEMALE = (
    "Anneke", "Marieke", "Ingrid", "Monique", "Petra", "Wilma", "Yvonne", "Linda", "Sandra", "Marja",
    "Annemarie", "Els", "Ellen", "Karin", "Jolanda", "Mirjam", "Esther", "Ria", "Corrie", "Gerda",
    "Hanneke", "Joke", "Anja", "Marianne", "Saskia", "Judith", "Jacqueline", "Astrid", "Nicole",
    "Miranda", "Martine", "Renate", "Irene", "Margriet", "Wendy", "Manon", "Ilona", "Tineke", "Truus",
    "Henny", "Mieke", "Loes", "Greet", "Annelies", "Bianca", "Carla", "Dorien", "Femke", "Hilde",
)
_CLASSIC_MALE = (
    "Jan", "Peter", "Hans", "Kees", "Henk", "Gerard", "Johan", "Wim", "Frank", "Marco", "Rob",
    "Erik", "Paul", "Richard", "Martin", "Jeroen", "Ronald", "Edwin", "Michel", "Arjan", "Bert",
    "Dick", "Frans", "Gert", "Harm", "Jaap", "Joop", "Klaas", "Leo", "Piet", "Rene", "Ruud", "Ton",
    "Wouter", "Marcel", "Patrick", "Remco", "Sjaak", "Theo", "Wil", "Hennie", "Arie", "Bas", "Dennis",
    "Erwin", "Gijs", "Hugo", "Koen", "Maarten", "Niels",
)
FEMALE_FIRST_NAMES = tuple(dict.fromkeys(_CLASSIC_FEMALE * 3 + tuple(_FakerPerson.first_names_female)))
MALE_FIRST_NAMES = tuple(dict.fromkeys(_CLASSIC_MALE * 3 + tuple(_FakerPerson.first_names_male)))

STREET_BASES = (
    "Kerk", "Dorps", "School", "Molen", "Stations", "Juliana", "Beatrix", "Wilhelmina", "Nieuw",
    "Markt", "Oranje", "Emma", "Hoofd", "Kastanje", "Eiken", "Linden", "Beuken", "Berken", "Iepen",
    "Esdoorn", "Wilgen", "Populieren", "Tulp", "Rozen", "Lelie", "Anjer", "Narcis", "Seringen",
    "Merel", "Lijster", "Mussen", "Spreeuwen", "Zwaluw", "Reiger", "Meeuwen", "Rembrandt", "Vermeer",
    "Mozart", "Beethoven", "Bach", "Chopin", "Vondel", "Bilderdijk", "Da Costa", "Van Gogh",
    "Erasmus", "Spinoza", "Huygens", "Thorbecke", "Koning", "Prinses Irene", "Prins Hendrik",
    "Zuider", "Noorder", "Ooster", "Wester", "Park", "Haven", "Brug",
    "Sluis", "Dijk", "Polder", "Veld", "Akker", "Weide", "Heide", "Duin", "Bos", "Water", "Zon",
    "Sterren", "Maan", "Jasmijn", "Vlier", "Hazelaar", "Lavendel", "Boekweit", "Klaver", "Hooi",
)
STREET_SUFFIXES = ("straat", "laan", "weg", "plein", "hof", "singel", "gracht", "kade", "dreef", "pad")
HOUSE_NUMBER_ADDITIONS = ("A", "B", "bis", "-1", "-2", "-3", " hs", " II")

EMAIL_DOMAINS = (
    ("gmail.com", 28), ("hotmail.com", 14), ("ziggo.nl", 10), ("outlook.com", 7), ("kpnmail.nl", 7),
    ("planet.nl", 4), ("xs4all.nl", 4), ("live.nl", 4), ("icloud.com", 4), ("home.nl", 3),
    ("hetnet.nl", 2), ("casema.nl", 2), ("upcmail.nl", 2), ("yahoo.com", 2), ("telfort.nl", 1),
    ("quicknet.nl", 1), ("online.nl", 1), ("hotmail.nl", 2), ("protonmail.com", 1), ("solcon.nl", 1),
)

TITLE_ADJECTIVES = (
    "Blauwe", "Stille", "Verloren", "Wilde", "Laatste", "Gouden", "Eerste", "Lange", "Nieuwe", "Oude",
    "Vrolijke", "Donkere", "Lichte", "Late", "Vreemde", "Kleine", "Grote", "Zachte", "Rode", "Witte",
)
TITLE_NOUNS = (
    "Zomer", "Nacht", "Reis", "Tuin", "Stad", "Zee", "Wind", "Storm", "Brief", "Droom", "Horizon",
    "Dag", "Winter", "Liefde", "Stilte", "Vogel", "Kamer", "Rivier", "Spiegel", "Haven", "Trein",
    "Jaren", "Tijd", "Belofte", "Bruiloft", "Erfenis", "Minnaar", "Koningin", "Zomeravond", "Vlucht",
)
STANDALONE_TITLES = (
    "Alles komt goed", "Thuis", "Het grote verlangen", "Onder de brug", "Wat we achterlaten",
    "Niemand weet het", "Zo is het wel genoeg", "Later als ik groot ben", "Tussen hemel en aarde",
    "Het jaar van de kat", "Dat was toen", "Morgen is er weer een dag", "Kom maar op",
    "Alles moet weg", "Hier ben ik", "Niets is wat het lijkt", "De kunst van het vallen",
)
PLAYS = (
    "Hamlet", "Macbeth", "Koning Lear", "Oom Wanja", "De Meeuw", "Drie Zusters", "Medea",
    "Antigone", "Een Poppenhuis", "Wachten op Godot", "De Kersentuin", "Hedda Gabler",
    "Op hoop van zegen", "Richard III", "Een Midzomernachtsdroom", "De Vrek", "Faust",
)
OPERAS = (
    "La Traviata", "Carmen", "Die Zauberflöte", "Tosca", "La Bohème", "Don Giovanni",
    "Madama Butterfly", "Aida", "Rigoletto", "Le nozze di Figaro", "Fidelio", "Eugene Onegin",
    "Il barbiere di Siviglia", "Turandot", "Nabucco",
)
COMPOSER_WORKS = (
    "Beethoven 7", "Beethoven 9", "Mahler 5", "Mahler 2", "Brahms 4", "Bruckner 8", "Dvořák 9",
    "Sjostakovitsj 5", "Tsjaikovski 6", "Mozart Requiem", "Bach Matthäus-Passion", "Sibelius 2",
    "Rachmaninov 2", "Schubert Onvoltooide", "Ravel Boléro", "Strawinsky Le Sacre du printemps",
)
ENSEMBLES = (
    "Nederlands Kamerorkest", "Utrechts Symfonieorkest", "Radio Filharmonie", "Het Collectief",
    "Amstel Strijkkwartet", "Noordelijk Barok Ensemble", "Residentie Kamerkoor",
)
DANCE_COMPANIES = ("Dansgroep Noord", "Scapino Jong", "Compagnie Zuid", "Ballet Oost", "Kameleon Dans")
CIRCUS_NAMES = ("Circus Ronaldo Jr.", "Cirque du Polder", "Circus Zeppelin", "Het Vliegende Doek")
PROMOTER_FORMS = ("{} Producties", "Theaterbureau {}", "{} Impresariaat", "{} & Partners",
                  "Stichting {}", "{} Live")

SUBSCRIPTION_NAMES = ("Abonnement Theater", "Abonnement Klassiek", "Abonnement Cabaret",
                      "Abonnement Dans", "Jongerenabonnement")
OPEN_SUBSCRIPTION_NAME = "Vriendenpas"


def ascii_slug(text: str) -> str:
    """Lowercase ASCII letters and digits only: 'van der Velde' -> 'vandervelde', 'Aimée' -> 'aimee'."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())

GENRE_LABELS = {
    "cabaret": "Cabaret", "dance": "Dans", "classical": "Klassieke muziek", "jazz": "Jazz",
    "musical": "Musical", "opera": "Opera", "theatre": "Toneel", "comedy": "Comedy",
    "youth": "Jeugdtheater", "pop": "Pop", "world": "Wereldmuziek", "family": "Familievoorstelling",
    "drama": "Drama", "circus": "Circus", "spoken word": "Spoken word",
}
