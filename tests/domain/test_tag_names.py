"""SPEC 3.3: tag names under the two policies."""

import pytest

from domain.errors import ErrorCode, InputError
from domain.tags.names import canonical, name_key, normalise, single_name, split_names


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("jazz", "JAZZ"),
        ("  Muzyka   klasyczna  ", "MUZYKA KLASYCZNA"),
        ("ąćęłńóśźż", "ACELNOSZZ"),
        ("ĄĆĘŁŃÓŚŹŻ", "ACELNOSZZ"),
        ("Zażółć gęślą jaźń", "ZAZOLC GESLA JAZN"),
        ("a!b#c$d&e*f", "A_B_C_D_E_F"),
        ("quote”and‚comma", "QUOTE_AND_COMMA"),
        ("keep – ( [ { ) ] } _", "KEEP – ( [ { ) ] } _"),
        ("dot.slash/dash-at@", "DOT_SLASH_DASH_AT_"),
        ("café crème", "CAFÉ CRÈME"),
        ("tab\tand\nnewline", "TAB AND NEWLINE"),
        ("2024 season", "2024 SEASON"),
    ],
)
def test_canonical_folding(typed, expected):
    assert canonical(typed) == expected


def test_preserve_keeps_as_typed_but_trimmed():
    assert normalise("  Jazz & Blues!  ", "preserve") == "Jazz & Blues!"
    assert normalise("Zażółć", "preserve") == "Zażółć"


@pytest.mark.parametrize("policy", ["preserve", "canonical"])
def test_comma_splits_and_case_duplicates_collapse(policy):
    names = split_names(" jazz, Rock ,,JAZZ , pop ", policy, "input", "name")
    assert [name_key(n) for n in names] == ["jazz", "rock", "pop"]


@pytest.mark.parametrize("typed", ["", "   ", ",", " , ,"])
def test_empty_input_is_refused(typed):
    with pytest.raises(InputError) as caught:
        split_names(typed, "preserve", "input", "name")
    assert caught.value.problems[0].code is ErrorCode.REQUIRED
    assert caught.value.problems[0].path == ("input", "name")


def test_oversized_name_is_refused():
    with pytest.raises(InputError) as caught:
        split_names("x" * 101, "preserve", "input", "name")
    assert caught.value.problems[0].code is ErrorCode.TOO_LONG


def test_single_name_refuses_comma():
    with pytest.raises(InputError) as caught:
        single_name("a, b", "preserve", "input", "name")
    assert caught.value.problems[0].code is ErrorCode.INVALID


def test_case_insensitive_key_handles_polish_letters():
    assert name_key("ŻÓŁW") == name_key("żółw")
