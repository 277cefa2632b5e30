"""What Nova Sonic is told, beyond the deployed plan's own prompt: the words of instructions, in one place.

Nova Sonic writes its reply and speaks what it wrote, so the cascade's way of keeping markup out of the
audio (`voice_bridge.spoken` rewrites each sentence before text-to-speech) cannot run after the model:
the model is asked to write for the ear instead (`VOICE_STYLE`, added to the plan's system prompt), and
every fixed text the bridge has it say (the plan's greeting, handoff and closing messages, a person's
typed words) is rewritten by `spoken` before it is sent. What is stored and shown stays the written
text, as on the cascade: the instruction carries the spoken form, the transcript the plan's own words.
"""

from __future__ import annotations

from voice_bridge.spoken import spoken

VOICE_STYLE = (
    "\n\nYou are speaking with the caller on a voice call: everything you write is spoken aloud. Write plain "
    "spoken sentences: no Markdown, lists, tables, links, URLs, file names or citation marks; say a document's "
    "title in words if you must name it; say numbers, amounts, dates and times as a person would say them."
)
"""Added to the plan's system prompt on Nova Sonic calls (the cascade rewrites its text instead)."""

SAY_EXACTLY = "Say exactly the following to the caller, word for word, and nothing else:\n{message}"
ANNOUNCE = "A member of staff is taking over this conversation. " + SAY_EXACTLY
"""What the model is told when the session pauses: the plan's handoff message is on the last line."""
FAREWELL = "This conversation is ending now. " + SAY_EXACTLY
"""The last thing the model says before the call ends (a handoff without pause, or the end): the plan's message."""
GREET = "The call has just started. " + SAY_EXACTLY
"""A sentence of the plan's greeting, said at the start of the call."""
RELAY = "A member of staff is speaking to the caller through you. " + SAY_EXACTLY
"""A person's typed sentence while they have the call (voice_bridge.nova_voice)."""
PAUSED_TOOL = "A member of staff has this conversation now: tools are unavailable until they hand it back."


def say_exactly(template: str, written: str) -> str:
    """`template` with `written` in its spoken form, on one line (the model says the instruction's last line);
    the written text itself when nothing of it would be said (`spoken` keeps no words)."""
    return template.format(message=" ".join((spoken(written) or written).split()))


__all__ = ["ANNOUNCE", "FAREWELL", "GREET", "PAUSED_TOOL", "RELAY", "SAY_EXACTLY", "VOICE_STYLE", "say_exactly"]
