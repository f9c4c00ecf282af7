"""Tests of the simulator (pbx_async.testing)."""
