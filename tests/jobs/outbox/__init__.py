"""Tests of `jobs.outbox`."""
