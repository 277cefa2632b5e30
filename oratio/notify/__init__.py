"""Outbound notifications to people and systems outside Oratio: email and signed webhooks.

These adapters only deliver; deciding who is told about what (a handoff, say) is the services' job.
They raise Oratio errors with messages safe to log and show: no credentials, no webhook URL paths.
"""

from oratio.notify.address_policy import WebhookPolicy, WebhookRefused
from oratio.notify.email import EmailSender, SesEmailSender, SmtpEmailSender
from oratio.notify.signing import WebhookSecrets, verify_signature
from oratio.notify.webhooks import Delivery, WebhookFailed, WebhookSender

__all__ = [
    "Delivery",
    "EmailSender",
    "SesEmailSender",
    "SmtpEmailSender",
    "WebhookFailed",
    "WebhookPolicy",
    "WebhookRefused",
    "WebhookSecrets",
    "WebhookSender",
    "verify_signature",
]
