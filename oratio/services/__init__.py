"""The service layer: the only place business rules live. Every door calls these."""

from oratio.services._common import Backends
from oratio.services.access import AccessService
from oratio.services.agents import AgentService
from oratio.services.documents import DocumentService
from oratio.services.keys import KeyGrant, KeyService
from oratio.services.notifications import NotificationService
from oratio.services.sessions import SessionService
from oratio.services.tenants import TenantService

__all__ = [
    "AccessService",
    "AgentService",
    "Backends",
    "DocumentService",
    "KeyGrant",
    "KeyService",
    "NotificationService",
    "SessionService",
    "TenantService",
]
