"""Matching that tenants write and customers feed: linear time whatever either side sends.

A handoff rule's regex is written by a tenant (or by a model from the tenant's SOP) and runs on every
customer message. Python's `re` backtracks, so one pattern like `(a+)+$` and one long message would
hold the GIL for minutes and stall every other tenant. Tenant regexes therefore run on RE2
(`google-re2`), whose automaton matches in time linear in the text; RE2 refuses what needs
backtracking (look-around, backreferences), and such a pattern is refused at deploy with RE2's reason.

RE2 differences a tenant may notice: `\\w`, `\\d`, `\\b` are ASCII-only (case-insensitive matching is
Unicode); there is no look-around. Keyword phrases need neither: `contains_phrase` is a plain scan.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Final, Protocol

import re2

logger = logging.getLogger("oratio.runtime")

PATTERN_MEMORY_MAX: Final = 8 * 1024 * 1024  # RE2's per-pattern DFA budget; larger patterns are refused


class PatternError(ValueError):
    """A tenant regex RE2 cannot compile; the message says why (one line, no traceback), `reason` is RE2's words."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class TenantRegex(Protocol):
    """What a compiled tenant regex offers: a search that is linear in the text."""

    def search(self, text: str) -> object | None: ...


def compile_tenant_regex(pattern: str) -> TenantRegex:
    """`pattern` compiled case-insensitively on RE2; raises PatternError with RE2's reason."""
    return _compile(pattern)


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> TenantRegex:
    return compile_on_re2(pattern, case_sensitive=False)


def compile_on_re2(pattern: str, *, case_sensitive: bool) -> TenantRegex:
    """Any tenant-written pattern (handoff rules, tool schemas' `pattern`s) on RE2 within PATTERN_MEMORY_MAX;
    raises PatternError with RE2's reason."""
    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.log_errors = False  # RE2 would print each refused pattern to stderr
    options.max_mem = PATTERN_MEMORY_MAX
    try:
        compiled: TenantRegex = re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(
            f"not a supported regex ({reason}); look-around and backreferences are not", reason
        ) from None
    return compiled


def regex_search(pattern: str, text: str) -> bool:
    """Whether a tenant regex matches `text`; a pattern RE2 refuses (a plan stored before patterns were
    checked with RE2) never matches and is logged once, rather than running on a backtracking engine."""
    try:
        compiled = _compile(pattern)
    except PatternError as exc:
        _log_refused(pattern, str(exc))
        return False
    return compiled.search(text) is not None


@lru_cache(maxsize=256)
def _log_refused(pattern: str, reason: str) -> None:
    logger.warning("handoff pattern %r is skipped: %s", pattern[:80], reason)


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def contains_phrase(text: str, phrase: str, *, whole_word: bool = True, folded: bool = False) -> bool:
    """Whether `phrase` occurs in `text` as whole words, ignoring case ("refund" not in "refunded").

    With `whole_word=False` the phrase need only start a word ("refund" in "refunded"), for topic stems.
    A `str.find` loop: linear in the text for a phrase of bounded length (rule patterns are at most
    200 characters), with no regex to backtrack. `folded=True` says `text` is already `casefold()`ed (a
    caller checking many phrases folds the message once).
    """
    haystack, needle = (text if folded else text.casefold()), phrase.casefold()
    if not needle:
        return False
    index = haystack.find(needle)
    while index >= 0:
        end = index + len(needle)
        if (index == 0 or not _is_word(haystack[index - 1])) and (
            not whole_word or end == len(haystack) or not _is_word(haystack[end])
        ):
            return True
        index = haystack.find(needle, index + 1)
    return False


__all__ = [
    "PATTERN_MEMORY_MAX",
    "compile_on_re2",
    "PatternError",
    "TenantRegex",
    "compile_tenant_regex",
    "contains_phrase",
    "regex_search",
]
