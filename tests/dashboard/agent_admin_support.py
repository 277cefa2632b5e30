"""What the agent-creation tests share: an SOP the AgentCreator builds, a person signed in through the real
sign-in routes (no email needed: the invitation's link is read from the service), .docx files built with
zipfile, and waiting (bounded) for a background build."""

from __future__ import annotations

import io
import threading
import zipfile

import httpx

from oratio.platform import Platform
from oratio.services.creation import build_thread_name
from schemas.signin import LinkPurpose
from tests.support.signin import LINK, PASSWORD, signed_in
from tests.support.tenants import Tenancy

SOP = """# Desk SOP

## Steps
1. Greet the customer.
2. Answer questions about opening hours from the knowledge base.

## Rules
- Always be polite.
- Never share a customer's data.

## Escalation
- Hand off to a human when the customer asks for a manager.
"""

BUILD_WAIT_S = 120.0
WORD_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def person(platform: Platform, tenancy: Tenancy, base_url: str, email: str) -> tuple[httpx.Client, str]:
    """A person of `tenancy` with a password, signed in by the page's own route: (client, CSRF token)."""
    invitation = platform.signin.invite(tenancy.principal, email, "Robin", base_url)
    found = LINK.search(invitation.link)
    assert found is not None, invitation.link
    platform.signin.accept(found.group(2), PASSWORD, LinkPurpose.INVITE)
    return signed_in(base_url, email)


def join_build(agent_id: str) -> None:
    """Wait (bounded) for the background build thread of this agent, if one is running."""
    for thread in threading.enumerate():
        if thread.name == build_thread_name(agent_id):
            thread.join(timeout=BUILD_WAIT_S)
            assert not thread.is_alive(), "the background build did not finish"


def docx(body_xml: str, *, extra_entries: int = 0, doctype: str = "") -> bytes:
    """A minimal Word document whose body is `body_xml` (paragraph elements)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        document = (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{doctype}'
            f'<w:document xmlns:w="{WORD_NS}"><w:body>{body_xml}</w:body></w:document>'
        )
        archive.writestr("word/document.xml", document)
        for index in range(extra_entries):
            archive.writestr(f"word/media/{index}.bin", b"")
    return out.getvalue()


def paragraph(text: str, style: str | None = None, *, listed: bool = False) -> str:
    props = ""
    if style or listed:
        inner = (f'<w:pStyle w:val="{style}"/>' if style else "") + ("<w:numPr/>" if listed else "")
        props = f"<w:pPr>{inner}</w:pPr>"
    return f"<w:p>{props}<w:r><w:t>{text}</w:t></w:r></w:p>"
