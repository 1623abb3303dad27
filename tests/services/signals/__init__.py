"""Tests of `services.signals`."""
