"""The amount forms issue 17 names for handoff thresholds, each read with its currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oratio.runtime.amounts import Amount, find_amounts


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("dépasse 100 $", Amount(Decimal(100), "USD")),
        ("un total de 100,50 €", Amount(Decimal("100.50"), "EUR")),
        ("insgesamt 1.000,00 EUR", Amount(Decimal("1000.00"), "EUR")),
        ("1 000 € de remboursement", Amount(Decimal(1000), "EUR")),
        ("$100", Amount(Decimal(100), "USD")),
        ("USD 100", Amount(Decimal(100), "USD")),
        ("100 dollars", Amount(Decimal(100), "USD")),
        ("100 euros", Amount(Decimal(100), "EUR")),
        ("100 pesos", Amount(Decimal(100), "MXN")),
        ("un reembolso de 20 dólares", Amount(Decimal(20), "USD")),
    ],
)
def test_each_form_is_read(text: str, amount: Amount) -> None:
    assert find_amounts(text) == [amount]
