"""oratio.languages: the SOP's language from its function words, and the agent's fixed lines in it."""

from __future__ import annotations

import pytest

from oratio import languages

SAMPLES = {
    "en": "Always confirm the booking reference before you discuss the trip with the passenger.",
    "fr": "Vérifiez toujours le numéro de réservation avant de parler du séjour avec le client.",
    "es": "Pida siempre el número de la reserva antes de hablar del viaje con el cliente.",
    "de": "Fragen Sie immer nach der Buchungsnummer, bevor Sie mit dem Kunden über die Reise sprechen.",
}


@pytest.mark.parametrize(("expected", "text"), sorted(SAMPLES.items()))
def test_each_language_is_detected_from_one_sentence(expected: str, text: str) -> None:
    assert languages.detect(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "OK", "12345 678", "Refund?"])
def test_text_with_too_little_evidence_is_english(text: str) -> None:
    assert languages.detect(text) == "en"


def test_a_french_sop_with_english_product_names_stays_french() -> None:
    text = "Le forfait Premium Unlimited Plus inclut le roaming. Ne promettez jamais un remboursement au client."
    assert languages.detect(text) == "fr"


def test_detection_reads_a_bounded_prefix() -> None:
    # A French SOP followed by a huge English appendix: only the first DETECT_MAX_CHARS count.
    french = (SAMPLES["fr"] + " ") * (languages.DETECT_MAX_CHARS // len(SAMPLES["fr"]) + 1)
    assert languages.detect(french + SAMPLES["en"] * 10_000) == "fr"


def test_stopwords_are_per_language_and_unknown_codes_get_english() -> None:
    assert {"le", "la", "les"} <= languages.stopwords("fr")
    assert {"el", "los", "debe"} <= languages.stopwords("es")
    assert {"der", "die", "nicht"} <= languages.stopwords("de")
    assert "le" not in languages.stopwords("en")
    assert languages.stopwords("xx") == languages.stopwords("en")


def test_fixed_messages_exist_in_every_language_and_differ() -> None:
    seen = set()
    for code in languages.LANGUAGES:
        said = languages.messages(code)
        assert all([said.handoff, said.closing, said.no_answer, said.apology])
        seen.add(said.no_answer)
    assert len(seen) == len(languages.LANGUAGES)
    assert languages.messages("fr").no_answer.startswith("Désolé")
    assert languages.messages("pt") == languages.messages("en")


def test_words_keeps_inner_apostrophes_and_letters_only() -> None:
    assert languages.words("Don't share l'adresse, 42 times!") == ["don't", "share", "l'adresse", "times"]
