"""Query-string and form parameters, with the exact (case-sensitive) names of the seed."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum

from .._query import CallQuery, FilterValue

# Python keyword -> wire parameter of the Call Summary list.
FILTER_PARAMS: dict[str, str] = {
    "show_inbound": "showInbound",
    "show_outbound": "showOutbound",
    "show_internal": "showInternal",
    "inbound_caller_number": "filterInboundCallerNumber",
    "inbound_did": "filterInboundDid",
    "inbound_exten_received": "filterInboundExtenReceived",
    "outbound_number_dialed": "filterOutboundNumberDialed",
    "outbound_exten_dialed": "filterOutboundExtenDialed",
    "internal_exten": "filterInternalExten",
    "internal_app": "filterInternalApp",
    "went_to_voicemail": "filterWentToVoicemail",
    "spoke_to_person": "filterSpokeToPerson",
    "flagged_followup": "filterFlaggedFollowup",
    "severity": "filterCallSeverity",
    "has_notes": "filterCallHasNotes",
    "ivr_id": "filterIvrId",
    "ivr_event_type": "filterIvrEventType",
    "ivr_pushed": "filterIvrPushed",
}

AUTH_PARAM = "auth"


def _encode(value: FilterValue) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, IntEnum):
        return str(int(value))
    return str(value)


def _wire_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def account(auth: str, container_id: str, tenant_id: int) -> dict[str, str]:
    """The parameters every request carries."""
    return {AUTH_PARAM: auth, "containerID": container_id, "tenantID": str(tenant_id)}


def call_list(query: CallQuery, page: int) -> dict[str, str]:
    params = {"utcOffset": str(query.utc_offset), "page": str(page)}
    if query.from_date is not None:
        params["fromDate"] = _wire_time(query.from_date)
    if query.to_date is not None:
        params["toDate"] = _wire_time(query.to_date)
    for name, value in query.filters:
        params[FILTER_PARAMS[name]] = _encode(value)
    return params


def call_details(call_uuid: str, utc_offset: int, page: int) -> dict[str, str]:
    # Details spell it callUUID; Notes and every reply spell it callUuid.
    return {"callUUID": call_uuid, "utcOffset": str(utc_offset), "page": str(page)}


def recording(file_name: str) -> dict[str, str]:
    return {"fileName": file_name}


def call_notes(call_uuid: str, *, notes: str | None, flagged: bool | None, severity: int | None) -> dict[str, str]:
    form = {"callUuid": call_uuid}
    if flagged is not None:
        form["callFlagged"] = _encode(flagged)
    if severity is not None:
        form["callSeverity"] = str(severity)
    if notes is not None:
        form["callNotes"] = notes
    return form
