"""Whole-library properties: fuzzed replies, the fault campaign."""
