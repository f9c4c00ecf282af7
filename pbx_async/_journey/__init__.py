"""Call journeys: what happened on each call, read from its events.

    journey = call_journey(details)
    print(journey.outcome, journey.answered_by, journey.queue_visits)

``journey_row`` flattens a journey into one table row (``JOURNEY_COLUMNS``); ``journey_values``
gives the same row as a tuple.
"""

from ._build import call_journey, in_step_order
from ._records import (
    CallJourney,
    ConferenceRefusal,
    ConferenceVisit,
    DialOut,
    DialOutFailure,
    DialOutResult,
    EndReason,
    Fax,
    Forward,
    IvrStep,
    IvrStepKind,
    Outcome,
    Park,
    Party,
    QueueOutcome,
    QueueVisit,
    RingAttempt,
    RingKind,
    RingOutcome,
    RoutingKind,
    RoutingStep,
    Supervision,
    SupervisionKind,
    Voicemail,
)
from ._row import JOURNEY_COLUMNS, JOURNEY_JSON_COLUMNS, journey_row, journey_values

__all__ = [
    "JOURNEY_COLUMNS",
    "JOURNEY_JSON_COLUMNS",
    "CallJourney",
    "ConferenceRefusal",
    "ConferenceVisit",
    "DialOut",
    "DialOutFailure",
    "DialOutResult",
    "EndReason",
    "Fax",
    "Forward",
    "IvrStep",
    "IvrStepKind",
    "Outcome",
    "Park",
    "Party",
    "QueueOutcome",
    "QueueVisit",
    "RingAttempt",
    "RingKind",
    "RingOutcome",
    "RoutingKind",
    "RoutingStep",
    "Supervision",
    "SupervisionKind",
    "Voicemail",
    "call_journey",
    "in_step_order",
    "journey_row",
    "journey_values",
]
