"""Tests of the client core: session, listing, details, fan-out, downloads, notes, errors."""
