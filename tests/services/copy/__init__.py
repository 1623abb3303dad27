"""Tests of `services.copy`."""
