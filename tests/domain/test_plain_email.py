"""The plain-address short cut of ``normalise_email`` gives exactly what email-validator gives."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InputError
from domain.people.validation import _plain_email, normalise_email

# Characters that matter to the grammar, with plain letters and digits weighted in.
_PIECES = st.sampled_from(
    list("abcXYZ019")
    + list(".-_+'!#$%&*/=?^`{|}~\"() <>,;:[]\\")
    + ["é", "е", "xn--", "--", "..", "@"]
    + ["Info", "info", "POSTMASTER", "Sales", "www"]
)
_DOMAINS = st.sampled_from(
    ["example.nl", "Example.COM", "mail.example.org", "b.co", "localhost", "host.local", "a.test", "x.invalid",
     "1.2.3.4", "a.b1", "xn--bcher-kva.example", "bücher.example", "-a.nl", "a-.nl", "a..nl", "a.n", "a" * 64 + ".nl",
     "onion", "q.onion", "x.arpa", "ex ample.nl", "a.nl."]
)  # fmt: skip


def _validator(address: str) -> str | None:
    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False, test_environment=True)
    except EmailNotValidError:
        return None
    return checked.normalized


@settings(max_examples=3000, deadline=None)
@given(local=st.lists(_PIECES, min_size=0, max_size=12).map("".join), domain=_DOMAINS | st.text(max_size=20))
def test_the_short_cut_agrees_with_email_validator_whenever_it_answers(local, domain):
    address = f"{local}@{domain}"
    plain = _plain_email(address)
    if plain is not None:
        assert plain == _validator(address)


@pytest.mark.parametrize(
    ("address", "stored"),
    [
        ("Jan.Jansen@Example.NL", "Jan.Jansen@example.nl"),
        ("o'brien+tickets@mail.example.org", "o'brien+tickets@mail.example.org"),
        ("a" * 64 + "@example.nl", "a" * 64 + "@example.nl"),
    ],
)
def test_plain_addresses_take_the_short_cut(address, stored):
    assert _plain_email(address) == stored == _validator(address) == normalise_email(address)


@pytest.mark.parametrize(
    "address",
    ["a" * 65 + "@example.nl", "a..b@example.nl", ".a@example.nl", "a@localhost", "a@x.invalid", "a@1.2.3.4",
     "a@xn--bcher-kva.example", "\"a b\"@example.nl", "a@a.b1", "jan@еxample.nl", "a@" + "b" * 64 + ".nl",
     "Info@Noord.NL", "POSTMASTER@example.nl"],
)  # fmt: skip
def test_everything_else_is_left_to_email_validator(address):
    assert _plain_email(address) is None
    if _validator(address) is None:
        with pytest.raises(InputError):
            normalise_email(address)


def test_role_mailboxes_are_lower_cased_as_email_validator_does():
    assert normalise_email("Info@Noord.NL") == "info@noord.nl"
    assert normalise_email("Jan@Noord.NL") == "Jan@noord.nl"


def test_the_special_use_test_domain_is_still_accepted_through_email_validator():
    assert _plain_email("a@b.test") is None
    assert normalise_email("a@B.test") == "a@b.test"
