"""Money amounts in a customer's message, read the way people write them, in linear time.

Handoff rules such as "a refund over $100" compare the amounts a customer mentions with a threshold,
so they must read "$100.50", "500 dollars", "USD 500", "500$", "100 $" (French), "＄100" (fullwidth),
"$1,000", "1.000,50 €", "$5k" and an amount in any sentence of the message. A small scanner is used
rather than a library: `price-parser` (the best kept one) extracts one price from a price label, not
every amount in free text with the currency on either side, and it leaves thousands/decimal guesses
to the caller anyway.

Decisions, all in favour of handing off when in doubt (an unneeded handoff costs less than a missed one):
- Only amounts with a currency count: a bare "500" may be an order number. The currency is a symbol
  or code before or after the number ("$", "US$", "USD", "€", "EUR"...) or a word after it
  ("dollars", "bucks", "euros", "pesos"...). "$" and "dollar" are read as USD, meaning the organisation's
  dollar, and "peso(s)" as MXN, meaning the organisation's peso (a threshold and a message written in
  pesos compare; "MXN" and "pesos" are the same currency here); "CAD", "C$", "AUD", "A$" written out are
  distinct currencies.
- A rule in dollars does not fire on "500 euros": currencies are never converted.
- Separators: with both "," and "." the last one is the decimal mark ("1.000,50", "1,000.50"). With
  one kind only, a separator followed by exactly three digits groups thousands ("$1,000", "1.000 €",
  "1 000 $"); followed by one or two digits it is the decimal mark ("$100.50", "100,50 €").
- Signs are ignored: "-$500" and "refund - $500" are both 500 (a hyphen is more often punctuation).
- "k", "thousand", "million", "billion" after the number multiply it ("$5k", "2 million dollars").
- A number longer than `DIGITS_MAX` digits saturates at `AMOUNT_MAX`, so a huge digit string costs
  linear time and still exceeds every threshold.

Every step is a single pass or a pattern with no ambiguous repetition (no backtracking beyond one
token), so hostile text of any length is read in linear time (tests/reliability/test_adversarial_text.py).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

DIGITS_MAX: Final = 15
AMOUNT_MAX: Final = Decimal(10) ** DIGITS_MAX

# Symbols (after NFKC, which turns "＄" into "$" and fullwidth digits into ASCII ones).
_SYMBOLS: Final = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW", "₽": "RUB", "₺": "TRY"}
# Codes or prefixed symbols written as one word ("US$", "C$" end with "$" and are read as a whole).
_CODES: Final = {
    "usd": "USD", "us$": "USD", "eur": "EUR", "gbp": "GBP", "jpy": "JPY", "cad": "CAD", "c$": "CAD",
    "ca$": "CAD", "aud": "AUD", "a$": "AUD", "au$": "AUD", "nzd": "NZD", "nz$": "NZD", "chf": "CHF",
    "inr": "INR", "mxn": "MXN", "mx$": "MXN", "sek": "SEK", "nok": "NOK", "dkk": "DKK",
}  # fmt: skip
# Words that name a currency after the number.
_WORDS: Final = {
    "dollar": "USD", "dollars": "USD", "buck": "USD", "bucks": "USD", "euro": "EUR", "euros": "EUR",
    "pound": "GBP", "pounds": "GBP", "quid": "GBP", "yen": "JPY", "rupee": "INR", "rupees": "INR",
    "dólar": "USD", "dólares": "USD", "peso": "MXN", "pesos": "MXN",
}  # fmt: skip
_MULTIPLIERS: Final = {
    "k": Decimal(1000), "thousand": Decimal(1000), "m": Decimal(10**6), "mn": Decimal(10**6),
    "million": Decimal(10**6), "millions": Decimal(10**6), "bn": Decimal(10**9), "billion": Decimal(10**9),
}  # fmt: skip

# A number: digit runs joined by single separators. Every repetition starts with a separator, which a
# digit run cannot contain, so there is one way to match any text (no backtracking); `(?<!\d)` makes
# finditer start only at the first digit of a run. Spaces group only exactly three digits.
_NUMBER: Final = re.compile(r"(?<![\d.,])\d+(?:[.,]\d+|[ \u00a0]\d{3}(?!\d))*")
_SPACES: Final = " \t\u00a0"
_CONTEXT: Final = 12  # characters looked at on each side of a number for its currency


@dataclass(frozen=True)
class Amount:
    """An amount of money the text mentions; `value` is never negative."""

    value: Decimal
    currency: str


def find_amounts(text: str) -> list[Amount]:
    """Every amount with a currency in `text`, in order."""
    text = unicodedata.normalize("NFKC", text)
    found: list[Amount] = []
    for number in _NUMBER.finditer(text):
        value = _value(number.group())
        after, multiplier = _after(text, number.end())
        currency = _currency_before(text, number.start()) or after
        if currency is None or value is None:
            continue
        found.append(Amount(min(value * multiplier, AMOUNT_MAX), currency))
    return found


def exceeds(text: str, threshold: Decimal, currency: str) -> bool:
    """Whether any amount in `currency` that `text` mentions is more than `threshold`."""
    return any(amount.currency == currency and amount.value > threshold for amount in find_amounts(text))


def parse_amount(text: str) -> Amount | None:
    """The first amount in `text` (for a rule's own condition, "over $100"), or None."""
    amounts = find_amounts(text)
    return amounts[0] if amounts else None


def _value(token: str) -> Decimal | None:
    token = token.replace("\u00a0", "").replace(" ", "")  # "1 000": spaces only ever group thousands
    last_dot, last_comma = token.rfind("."), token.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        decimal_mark = "." if last_dot > last_comma else ","
    elif last_dot >= 0 or last_comma >= 0:
        mark = "." if last_dot >= 0 else ","
        groups = token.split(mark)
        # "1,000" / "1.000.000": thousands; "100.50" / "100,5": decimal.
        decimal_mark = "" if len(groups[-1]) == 3 and groups[0] != "0" else mark
        if decimal_mark and len(groups) > 2:
            return None  # "1.2.3": a version or a date, not an amount
    else:
        decimal_mark = ""
    integer, _, fraction = token.rpartition(decimal_mark) if decimal_mark else (token, "", "")
    digits = integer.replace(".", "").replace(",", "")
    if len(digits) > DIGITS_MAX:
        return AMOUNT_MAX
    return Decimal(f"{digits}.{fraction[:DIGITS_MAX]}") if fraction else Decimal(digits)


def _currency_before(text: str, start: int) -> str | None:
    """The symbol or code just before a number ("$100", "$ 100", "USD 500", "US$500", "$-5")."""
    index = start
    while index > 0 and start - index < 2 and (text[index - 1] in _SPACES or text[index - 1] in "-+\u2212"):
        index -= 1
    if index == 0:
        return None
    symbol = text[index - 1]
    if symbol == "$":
        prefix = text[_word_start(text, index - 1) : index]
        return _CODES.get(prefix.casefold(), "USD")
    if symbol in _SYMBOLS:
        return _SYMBOLS[symbol]
    word_start = _word_start(text, index)
    return _CODES.get(text[word_start:index].casefold()) if word_start < index else None


def _word_start(text: str, index: int) -> int:
    """Start of the letters (at most 3) just before `index`, for "US$", "CA$" (else `index` itself)."""
    start = index
    while start > 0 and index - start < 3 and text[start - 1].isalpha():
        start -= 1
    if start > 0 and text[start - 1].isalnum():
        return index  # "abcUS$": not a code
    return start


def _after(text: str, end: int) -> tuple[str | None, Decimal]:
    """The currency written after a number and its multiplier: "500$", "100 $", "5k dollars", "2 million EUR"."""
    multiplier = Decimal(1)
    index = _skip_spaces(text, end)
    word_end = _letters_end(text, index)
    word = text[index:word_end].casefold()
    if word in _MULTIPLIERS and (index == end or len(word) > 2):  # "5k", "5 thousand"; not "5 m" (metres)
        multiplier = _MULTIPLIERS[word]
        index = _skip_spaces(text, word_end)
        word_end = _letters_end(text, index)
        word = text[index:word_end].casefold()
    if index < len(text) and text[index] in _SYMBOLS:
        return _SYMBOLS[text[index]], multiplier
    if word_end < len(text) and text[word_end] == "$" and word + "$" in _CODES:
        return _CODES[word + "$"], multiplier
    currency = _CODES.get(word) or _WORDS.get(word)
    if currency is not None and (word_end == len(text) or not text[word_end].isalnum()):
        return currency, multiplier
    return None, multiplier


def _skip_spaces(text: str, index: int) -> int:
    limit = index + 2
    while index < len(text) and index < limit and text[index] in _SPACES:
        index += 1
    return index


def _letters_end(text: str, index: int) -> int:
    limit = index + _CONTEXT
    end = index
    while end < len(text) and end < limit and text[end].isalpha():
        end += 1
    return end


__all__ = ["AMOUNT_MAX", "DIGITS_MAX", "Amount", "exceeds", "find_amounts", "parse_amount"]
