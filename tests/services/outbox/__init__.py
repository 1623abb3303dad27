"""Tests of `services.outbox`."""
