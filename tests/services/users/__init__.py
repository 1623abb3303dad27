"""Tests of `services.users`."""
