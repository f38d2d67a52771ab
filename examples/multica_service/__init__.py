"""Service functions in the shape a multica backend would write them.

Each function owns one transaction: it runs the generated queries, collects the
analytics events the outcome calls for, and hands them to the analytics client
only once the transaction has committed (:func:`unit_of_work`). A rolled-back
transaction therefore never produces an event, and the first-time detections
the queries make (``xmax = 0``, the atomic ``first_executed_at`` flip, the
``status = 'pending'`` guard) decide *whether* there is an event at all.
"""

from examples.multica_service import aio
from examples.multica_service.invitations import accept_invitation, send_invitation
from examples.multica_service.issues import create_issue
from examples.multica_service.runtimes import (
    RuntimeRegistration,
    heartbeat,
    register_runtime,
    sweep_stale_runtimes,
)
from examples.multica_service.signup import sign_up
from examples.multica_service.tasks import (
    claim_task,
    complete_task,
    enqueue_task,
    fail_task,
    reassign_issue,
    retry_task,
)
from examples.multica_service.uow import Outbox, unit_of_work
from examples.multica_service.workspaces import create_workspace

__all__ = [
    "Outbox",
    "RuntimeRegistration",
    "accept_invitation",
    "aio",
    "claim_task",
    "complete_task",
    "create_issue",
    "create_workspace",
    "enqueue_task",
    "fail_task",
    "heartbeat",
    "reassign_issue",
    "register_runtime",
    "retry_task",
    "send_invitation",
    "sign_up",
    "sweep_stale_runtimes",
    "unit_of_work",
]
