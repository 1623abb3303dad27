"""Tests of `services.terminals`."""
