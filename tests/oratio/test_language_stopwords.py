"""`oratio.languages`: the SOP's language among en/fr/es/de, and each language's stopwords."""

from __future__ import annotations

import pytest

from oratio.languages import detect, stopwords


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("When the customer asks for a refund, check the order and answer from the policy.", "en"),
        ("Quand le client demande un remboursement, vérifiez la commande et répondez avec la politique.", "fr"),
        ("Cuando el cliente pide un reembolso, revise el pedido y conteste con la política.", "es"),
        ("Wenn der Kunde eine Erstattung verlangt, prüfen Sie die Bestellung und antworten Sie.", "de"),
        ("", "en"),
        ("12345 !!!", "en"),
    ],
)
def test_the_language_of_a_text_is_detected(text: str, language: str) -> None:
    assert detect(text) == language


def test_each_language_has_its_own_stopwords_and_an_unknown_one_reads_as_english() -> None:
    assert {"le", "de"} <= stopwords("fr")
    assert {"el", "del"} <= stopwords("es")
    assert {"der", "die"} <= stopwords("de")
    assert "cannot" in stopwords("en") and "le" not in stopwords("en")
    assert stopwords("it") == stopwords("en")
