"""Tests of `services.text`."""
