"""Immutable records returned by the session: calls, pages, details and events."""
