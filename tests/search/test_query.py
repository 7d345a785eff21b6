"""The query language and the text analysis, without a database."""

from __future__ import annotations

import csv

import pytest

from tests.fixtures import SHARED_DATA
from wiki.search.analysis import LANGUAGES, WORDS_RE, analyse, detect_language, fold
from wiki.search.query import FieldValue, Words, parse_query, replace_word
from wiki.search.snippets import _spans, _term

DATA = SHARED_DATA / "crisislex-t26"


def words(parsed) -> list[list[str]]:
    return [[item.text for item in group] for group in parsed.required]


def test_words_must_all_match_and_common_words_are_left_out():
    parsed = parse_query("the water in Léogâne")
    assert words(parsed) == [["water"], ["leogane"]]
    assert parsed.ignored == ["the", "in"]


def test_a_query_of_nothing_but_common_words_is_searched_as_it_is():
    assert words(parse_query("the who")) == [["the"], ["who"]]


def test_phrases_fields_exclusions_and_or():
    parsed = parse_query('"field hospital" title:cholera -rumour sector:health -status:refuted fire OR flood OR smoke')
    assert parsed.required[0] == [Words(("field", "hospital"), None, '"field hospital"')]
    assert parsed.required[1] == [Words(("cholera",), "title", "title:cholera")]
    assert words(parsed)[2] == ["fire", "flood", "smoke"]
    assert [item.text for item in parsed.excluded] == ["rumour"]
    assert parsed.facets == [FieldValue("sector", "health")]
    assert parsed.excluded_facets == [FieldValue("status", "refuted")]


@pytest.mark.parametrize(
    "text",
    [
        '"unclosed',
        "sector:",
        "((( )))",
        "AND OR NOT",
        "title:",
        'crisis:"',
        ":::",
        "-",
        "http://example.org/a?b=c&d",
        "status:nonsense",
        "x" * 1000,
        "\u0000\ufeff",
        "a:b:c:d",
    ],
)
def test_anything_typed_parses(text):
    parsed = parse_query(text)
    assert parsed.text == text[:500]


def test_what_does_not_parse_becomes_words():
    assert words(parse_query('"unclosed phrase')) == [["unclosed"], ["phrase"]]
    assert words(parse_query("status:nonsense")) == [["status"], ["nonsense"]]
    assert words(parse_query("nosuchfield:water")) == [["nosuchfield"], ["water"]]
    assert [item.text for item in parse_query("-nosuchfield:water").excluded] == ["nosuchfield", "water"]
    assert words(parse_query("sector:")) == [["sector"]] and parse_query("sector:").facets == []


def test_hyphenated_and_elided_words_are_phrases():
    assert words(parse_query("Lac-Mégantic")) == [["lac megantic"]]
    assert parse_query("Lac-Mégantic").required[0][0].is_phrase


def test_a_common_word_as_an_alternative_makes_the_whole_alternative_moot():
    assert words(parse_query("the OR water cholera")) == [["cholera"]]


def test_did_you_mean_rewrites_only_the_misspelt_token():
    assert replace_word("hospital Leogne", "Leogne", "leogane") == "hospital leogane"
    assert replace_word("sector:health watr", "watr", "water") == "sector:health water"
    assert replace_word("title:watr water", "title:watr", "title:water") == "title:water water"


def test_accents_fold_and_words_are_stemmed_in_their_language():
    assert fold("Léogâne") == "leogane" and fold("Straße") == "strasse" and fold("ŒUVRE") == "oeuvre"
    assert analyse("flooding floods", "en") == ["flood", "flood"]
    assert analyse("hôpitaux hôpital", "fr") == ["hopital", "hopital"]
    assert analyse("casas dañadas", "es") == analyse("casa dañada", "es")
    assert analyse("Terremoto", "xx") == ["terremoto"]


def test_the_language_detector():
    assert detect_language("The road to the airport is blocked by a fallen bridge") == "en"
    assert detect_language("Les blessés attendent devant l'hôpital de Léogâne, il n'y a plus de médecins") == "fr"
    assert detect_language("Un fuerte temblor sacudió la ciudad y las casas están dañadas") == "es"
    assert detect_language("Una forte scossa di terremoto è stata avvertita in tutta la regione") == "xx"
    assert detect_language("#terremoto") == "en"  # too little to tell: English stemming, exact words still match


@pytest.mark.skipif(not DATA.is_dir(), reason=f"the CrisisLexT26 data is not at {DATA}")
def test_snippets_mark_exactly_the_words_the_index_analysed():
    """The snippet's fast path does what the Whoosh analyzer does, on real messages."""
    with open(next(DATA.glob("2012_Guatemala_earthquake/tweets_labeled.csv")), newline="", encoding="utf-8") as handle:
        texts = [row[1] for row in list(csv.reader(handle))[1:400]]
    for text in texts:
        for lang in LANGUAGES:
            fast = [_term(match.group(), lang) for match in WORDS_RE.finditer(text)]
            assert [term for term in fast if term is not None] == analyse(text, lang)
            terms = frozenset(analyse(text, lang))
            assert len(_spans(text, lang, terms)) == len(analyse(text, lang))
