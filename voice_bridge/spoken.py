"""An agent's reply as a person would say it on the phone: what the cascade hands to text-to-speech.

Replies are written for a screen. Read out as written, a synthesiser says "open parenthesis source colon
Refund policy dot m d", spells URLs letter by letter and reads "$12.50" as "dollar twelve point five
zero". `spoken` rewrites one sentence of a reply for the ear:

- citations go: "(source: Refund policy.md, Refunds > Window)", "[1]", "[^2]", "【3†source】", and a
  line that is only "Sources: ..." (the sources stay in the transcript and the dashboard: only the audio
  loses them);
- Markdown goes, its words stay: links keep their text, images and code fences vanish, emphasis,
  headings, list and quote markers, table pipes and HTML tags are dropped;
- a URL becomes its host, said with "dot" ("acme dot com"); an e-mail address "help at acme dot com";
  a file name its stem ("refund_policy.md" -> "refund policy");
- numbers are said in words: amounts with their currency ("$12.50" -> "twelve dollars and fifty
  cents"), percentages, ordinals, years ("2026" -> "twenty twenty-six"), times ("9:30am" -> "nine
  thirty A M", "14:00" -> "two P M"), dates ("2026-12-03", "12/03/2026", "Dec 3, 2026" -> "December
  third, twenty twenty-six"), ranges ("9-5" -> "nine to five"), decimals ("3.5" -> "three point five");
  phone numbers and long identifiers (five digits or more without thousands separators) digit by digit.

English only, as the cascade's voice is this round; dates with slashes are read month first (en-US).

Cost: every pattern is a single pass with bounded repetitions (no nested quantifiers), and each step
runs once over the text, so time grows linearly with its length (bench/adversarial_text.py checks it on
hostile text). The result is at most a small constant factor longer than the input (numbers grow when
spelled out), and the synthesiser's own cap (`voice_bridge.speech.text`) still applies after this.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from voice_bridge.speech.ports import TextToSpeech

# ---- numbers in words --------------------------------------------------------------------------------------

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
    " seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
MAX_CARDINAL = 10**15 - 1  # beyond this, numbers are read digit by digit


def _under_thousand(n: int) -> str:
    words: list[str] = []
    if n >= 100:
        words += [_ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else ""))
    elif n or not words:
        words.append(_ONES[n])
    return " ".join(words)


def cardinal(n: int) -> str:
    """`n` in words, en-US style ("one hundred twenty-three"); digit by digit past `MAX_CARDINAL`."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n > MAX_CARDINAL:
        return digits(str(n))
    words: list[str] = []
    for scale, name in _SCALES:
        if n >= scale:
            words += [_under_thousand(n // scale), name]
            n %= scale
    if n or not words:
        words.append(_under_thousand(n))
    return " ".join(words)


def ordinal(n: int) -> str:
    """`n` as an ordinal in words ("twenty-first", "one hundredth")."""
    words = cardinal(n)
    head, sep, last = words.rpartition("-") if "-" in words.rsplit(" ", 1)[-1] else words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def year(n: int) -> str:
    """A year as said: 1999 "nineteen ninety-nine", 2000 "two thousand", 2005 "two thousand five", 2026
    "twenty twenty-six"."""
    high, low = divmod(n, 100)
    if n % 1000 < 10 and n >= 2000:
        return cardinal(n)
    if low == 0:
        return f"{cardinal(high)} hundred"
    return f"{cardinal(high)} {'oh ' + _ONES[low] if low < 10 else cardinal(low)}"


def digits(text: str) -> str:
    """Each digit of `text` in words, other characters dropped ("12-3" -> "one two three")."""
    return " ".join(_ONES[int(ch)] for ch in text if ch.isdigit())


def _number(text: str) -> str:
    """A number as written ("1,250", "3.5", "007", "123456") in words."""
    whole, _, fraction = text.partition(".")
    plain = whole.replace(",", "")
    if not plain:
        said = "zero"
    elif "," not in whole and (len(plain) >= 5 or (len(plain) > 1 and plain.startswith("0"))):
        said = digits(plain)  # an order number, a postcode, an account: digit by digit
    elif "," not in whole and len(plain) == 4 and 1900 <= int(plain) <= 2099 and not fraction:
        said = year(int(plain))
    else:
        said = cardinal(int(plain))
    return f"{said} point {digits(fraction)}" if fraction else said


# ---- dates, times, money -----------------------------------------------------------------------------------

_MONTHS = "January February March April May June July August September October November December".split()
_MONTH_BY_PREFIX = {name[:3].lower(): name for name in _MONTHS}
_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "usd": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "eur": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "gbp": ("pound", "pounds", "penny", "pence"),
}
_MAGNITUDES = {"k": "thousand", "thousand": "thousand", "m": "million", "million": "million"}
_MAGNITUDES |= {"bn": "billion", "billion": "billion"}


def _date(month: int, day: int, year_text: str | None) -> str:
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        raise ValueError("not a date")
    said = f"{_MONTHS[month - 1]} {ordinal(day)}"
    return f"{said}, {year(int(year_text))}" if year_text else said


def _iso_date(m: re.Match[str]) -> str:
    try:
        return _date(int(m["month"]), int(m["day"]), m["year"])
    except ValueError:
        return m[0].replace("-", " ")


def _slash_date(m: re.Match[str]) -> str:
    year_text = m["year"]
    if year_text is not None and len(year_text) == 2:
        year_text = "20" + year_text
    try:
        return _date(int(m["month"]), int(m["day"]), year_text)
    except ValueError:
        return m[0].replace("/", " ")


def _time(m: re.Match[str]) -> str:
    hour, minute = int(m["hour"]), int(m["minute"] or 0)
    half = (m.groupdict().get("half") or "").lower()
    if hour > 24 or minute > 59 or (half and not 1 <= hour <= 12):
        return m[0]
    if not half and m["minute"] is not None and (hour == 0 or hour > 12):
        hour, half = (hour - 12, "p") if 12 < hour < 24 else (12, "a")
    clock = cardinal(hour)
    if minute:
        clock += f" {'oh ' + _ONES[minute] if minute < 10 else cardinal(minute)}"
    elif not half:
        clock += " o'clock"
    # "2 p.m." may end the sentence: its last dot is kept for the synthesiser's pause.
    return f"{clock} {half.upper()} M{'.' if m[0].endswith('.') else ''}" if half else clock


def _money(m: re.Match[str]) -> str:
    unit = (m["symbol"] or m["code"] or m["code_after"] or "").lower()
    one, many, cent, cents = _CURRENCIES[unit]
    whole = int(m["whole"].replace(",", ""))
    magnitude = _MAGNITUDES.get((m["magnitude"] or "").lower())
    if magnitude:
        amount = _number(m["whole"] + (f".{m['cents']}" if m["cents"] else ""))
        return f"{amount} {magnitude} {many}"
    fraction = int((m["cents"] or "0").ljust(2, "0")) if m["cents"] else 0
    said = f"{cardinal(whole)} {one if whole == 1 else many}"
    if fraction:
        small = f"{cardinal(fraction)} {cent if fraction == 1 else cents}"
        said = small if whole == 0 else f"{said} and {small}"
    return said


def _phone(m: re.Match[str]) -> str:
    """Seven digits or more in groups ("555-123-4567", "+1 555 123 4567") digit by digit, group by group."""
    groups = re.findall(r"\d+", m[0])
    if sum(len(g) for g in groups) < 7:
        return m[0]
    return ", ".join(digits(g) for g in groups)


# ---- addresses and Markdown --------------------------------------------------------------------------------

_FILE_EXTENSIONS = "md|markdown|pdf|docx?|txt|csv|xlsx?|pptx?|html?|json|ya?ml|rtf|odt|png|jpe?g"


def _dotted(host: str) -> str:
    return " dot ".join(part for part in host.split(".") if part)


def _url(m: re.Match[str]) -> str:
    text = m[0]
    trail = len(text) - len(text.rstrip(".,;:!?'\""))
    host = re.sub(r"^(?:https?://)?(?:www\.)?", "", text[: len(text) - trail], flags=re.IGNORECASE)
    host = host.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].split(":", 1)[0]
    return _dotted(host) + text[len(text) - trail :]


def _email(m: re.Match[str]) -> str:
    return f"{m['user'].replace('.', ' dot ')} at {_dotted(m['domain'])}"


def _file(m: re.Match[str]) -> str:
    return " ".join(re.split(r"[._-]+", m["stem"])).strip()


def _named_date_pattern() -> re.Pattern[str]:
    """Month-name dates: "Dec 3, 2026", "December 3rd", "3 December 2026", "3rd of Dec"."""
    month = r"(?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]{0,6}\.?"
    day_first = rf"(?P<day_first>\d{{1,2}})(?:st|nd|rd|th)?\s{{1,4}}(?:of\s{{1,4}})?{month}"
    month_first = month.replace("(?P<month>", "(?P<month2>") + r"\s{1,4}(?P<day2>\d{1,2})(?:st|nd|rd|th)?"
    return re.compile(rf"\b(?:{day_first}|{month_first})(?:,?\s{{1,4}}(?P<year>\d{{4}}))?\b", _I)


def _named_date(m: re.Match[str]) -> str:
    month_text = m["month"] or m["month2"]
    month = _MONTH_BY_PREFIX[month_text[:3].lower()]
    day_text = m["day_first"] or m["day2"]
    day = int(day_text)
    if not 1 <= day <= 31:
        return m[0]
    article = "" if m.string[max(0, m.start() - 4) : m.start()].lower() == "the " else "the "
    said = f"{article}{ordinal(day)} of {month}" if m["day_first"] else f"{month} {ordinal(day)}"
    return f"{said}, {year(int(m['year']))}" if m["year"] else said


Step = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]

_I = re.IGNORECASE
_M = re.MULTILINE
_STEPS: tuple[Step, ...] = (
    # Markdown that carries no words, and links that keep theirs.
    (re.compile(r"`{3,}[^\s`]{0,40}"), " "),
    (re.compile(r"!\[[^\[\]\n]{0,500}\]\([^()\s]{0,2000}\)"), " "),
    (re.compile(r"\[([^\[\]\n]{1,500})\]\([^()\s]{0,2000}\)"), r"\1"),
    (re.compile(r"<(https?://[^<>\s]{1,2000})>"), r"\1"),
    (re.compile(r"</?[A-Za-z][^<>\n]{0,500}>"), " "),
    # Citations.
    (re.compile(r"\(\s{0,4}(?:sources?|see|ref|refs|citations?|from)\s{0,4}:[^()\n]{0,500}\)", _I), " "),
    (
        re.compile(
            r"\[\s{0,4}(?:\d{1,3}(?:\s{0,2}[,\u2013-]\s{0,2}\d{1,3}){0,20}|\^[\w-]{1,20}|sources?:[^\[\]\n]{0,500})\s{0,4}\]",
            _I,
        ),
        " ",
    ),  # noqa: E501
    (re.compile(r"\u3010[^\u3010\u3011\n]{0,500}\u3011"), " "),
    (re.compile(r"^\s{0,8}[*_]{0,3}(?:sources?|references?|citations?)[*_]{0,3}\s{0,4}:.*$", _I | _M), " "),
    # Addresses and file names.
    (re.compile(r"\b(?:https?://|www\.)[^\s<>()\[\]{}\"]{1,2000}", _I), _url),
    (
        re.compile(r"\b(?P<user>[\w+-]{1,64}(?:\.[\w+-]{1,64}){0,8})@(?P<domain>[\w-]{1,63}(?:\.[\w-]{1,63}){1,8})\b"),
        _email,
    ),  # noqa: E501
    (re.compile(rf"\b(?P<stem>[\w-]{{1,100}}(?:\.[\w-]{{1,100}}){{0,4}})\.(?:{_FILE_EXTENSIONS})\b", _I), _file),
    # Markdown markers.
    (re.compile(r"^\s{0,8}(?:#{1,6}|>{1,8}|[-*+\u2022\u25aa\u2013]|\d{1,3}[.)])[ \t]+", _M), ""),
    (re.compile(r"^\s{0,8}\|?(?>\s{0,4}:?-{3,}+:?\s{0,4}\|?){1,50}\s{0,8}$", _M), " "),
    (re.compile(r"\s{0,8}\|\s{0,8}"), ", "),
    (re.compile(r"\*{1,3}|\b_{1,3}|_{1,3}\b|~~|`"), ""),
    # Abbreviations and symbols a synthesiser says badly.
    (re.compile(r"\be\.g\.(?=\s|$)", _I), "for example"),
    (re.compile(r"\bi\.e\.(?=\s|$)", _I), "that is"),
    (re.compile(r"\betc\.(?=\s|$)", _I), "et cetera"),
    (re.compile(r"\bvs\.?(?=\s)", _I), "versus"),
    (re.compile(r"\s{1,8}&\s{1,8}"), " and "),
    # Dates, then times, then money and the rest of the numbers.
    (re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b"), _iso_date),
    (re.compile(r"\b(?P<month>\d{1,2})/(?P<day>\d{1,2})(?:/(?P<year>\d{4}|\d{2}))?\b"), _slash_date),
    (_named_date_pattern(), _named_date),
    (re.compile(r"\b(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s{0,2}(?P<half>[ap])\.?m\.?(?=\W|$)", _I), _time),
    (re.compile(r"\b(?P<hour>\d{1,2}):(?P<minute>\d{2})\b(?!:)"), _time),
)


def _money_after(m: re.Match[str]) -> str:
    word = m["code_after"].lower()
    code = {"dollar": "usd", "dollars": "usd", "euro": "eur", "euros": "eur", "pound": "gbp", "pounds": "gbp"}
    one, many, cent, cents = _CURRENCIES[code.get(word, word)]
    whole = int(m["whole"].replace(",", ""))
    fraction = int((m["cents"] or "0").ljust(2, "0")) if m["cents"] else 0
    said = f"{cardinal(whole)} {one if whole == 1 else many}"
    if fraction:
        said += f" and {cardinal(fraction)} {cent if fraction == 1 else cents}"
    return said


_NUMBER_STEPS: tuple[Step, ...] = (
    (
        re.compile(
            r"(?:(?P<symbol>[$€£])|\b(?P<code>USD|EUR|GBP)\s{0,2})(?P<whole>\d{1,3}(?:,\d{3}){1,4}|\d{1,15})"
            r"(?:\.(?P<cents>\d{1,2}))?(?:\s{0,2}(?P<magnitude>k|m|bn|thousand|million|billion)\b)?"
            r"(?P<code_after>)",
            _I,
        ),
        _money,
    ),
    (
        re.compile(
            r"\b(?P<whole>\d{1,3}(?:,\d{3}){1,4}|\d{1,15})(?:\.(?P<cents>\d{1,2}))?\s{0,2}"
            r"(?P<code_after>USD|EUR|GBP|dollars?|euros?|pounds?)\b(?P<symbol>)(?P<code>)(?P<magnitude>)",
            _I,
        ),
        _money_after,
    ),
    (re.compile(r"(\d{1,15}(?:\.\d{1,6})?)\s{0,2}%"), lambda m: f"{_number(m[1])} percent"),
    (
        re.compile(
            r"(?<![\w.])(?:\+\d{1,3}[ .-]{0,2})?(?:\(\d{1,4}\)[ .-]{0,2})?\d{1,4}(?:[ .-]\d{2,4}){1,5}(?!\w|[.,]\d)"
        ),
        _phone,
    ),
    (re.compile(r"\b\d{1,4}(?:\.\d{1,4}){2,6}\b"), lambda m: " point ".join(_number(g) for g in m[0].split("."))),
    (re.compile(r"(?<![\w.,-])(\d{1,4})\s{0,2}[\u2013-]\s{0,2}(\d{1,4})(?![\w-]|[.,]\d)"), r"\1 to \2"),
    (re.compile(r"\b(\d{1,15})(?:st|nd|rd|th)\b", _I), lambda m: ordinal(int(m[1]))),
    (re.compile(r"#\s{0,2}(?=\d)"), "number "),
    (re.compile(r"~\s{0,2}(?=\d)"), "about "),
    (
        re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3}){1,4}(?:\.\d{1,6})?(?![\d,])|\d{1,30}(?:\.\d{1,6})?"),
        lambda m: _number(m[0]),
    ),
)


# Applied to whitespace already folded to single spaces: each alternative is a fixed-length look, so it is
# linear (on raw text, a run of spaces before "." made `\s+(?=[.])` rescan the run from each space).
_LEFTOVERS = re.compile(r"\( ?\)|\[ ?\]| (?=[.,;:!?])|(?<=[.,;:!?])[.,;:](?= |$)")
_SPOKEN = re.compile(r"[^\W_]")


def spoken(text: str) -> str:
    """`text` (a sentence of a reply) rewritten for the ear; "" if nothing in it is worth saying."""
    for pattern, replacement in (*_STEPS, *_NUMBER_STEPS):
        text = pattern.sub(replacement, text)
    text = " ".join(_LEFTOVERS.sub("", " ".join(text.split())).split()).strip(" ,;:")
    return text if _SPOKEN.search(text) else ""


def speak(tts: TextToSpeech, sentence: str) -> bytes:
    """`sentence` of a reply synthesised as it should be heard; b"" when nothing in it is to be said (a
    sentence that was only a citation), so the cascade skips it instead of asking for empty audio."""
    words = spoken(sentence)
    return tts.synthesize(words) if words else b""


__all__ = ["MAX_CARDINAL", "cardinal", "digits", "ordinal", "speak", "spoken", "year"]
