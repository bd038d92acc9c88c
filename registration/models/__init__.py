"""Registration state, one module per concern. Rows here change only through the service layer."""

from registration.models.access import (
    PIN_PATHS,
    AccessBasis,
    AccessLevel,
    LevelSetBy,
    Pin,
    PortalAccess,
    PortalAccount,
    PortalStatus,
    RegistrationPath,
)
from registration.models.audit import AppendOnlyError, AuditEvent, AuditEventQuerySet
from registration.models.feed import FeedMessage
from registration.models.outbox import ParentAccountEmail, WelcomeMessage
from registration.models.restrictions import AccessRestriction, AgeMilestone, ParentLevelChoice
from registration.models.runs import ImportRun, RegisterAllItem, RegisterAllRun, RegistrationSnapshot
from registration.models.self_registration import EnrollmentCode, SelfRegistrationRequest
from registration.models.tallies import StatusMark, StatusTally

__all__ = [
    "PIN_PATHS",
    "AccessBasis",
    "AccessLevel",
    "AccessRestriction",
    "AgeMilestone",
    "AppendOnlyError",
    "AuditEvent",
    "AuditEventQuerySet",
    "EnrollmentCode",
    "FeedMessage",
    "ImportRun",
    "LevelSetBy",
    "ParentAccountEmail",
    "ParentLevelChoice",
    "Pin",
    "PortalAccess",
    "PortalAccount",
    "PortalStatus",
    "RegisterAllItem",
    "RegisterAllRun",
    "RegistrationPath",
    "RegistrationSnapshot",
    "SelfRegistrationRequest",
    "StatusMark",
    "StatusTally",
    "WelcomeMessage",
]
