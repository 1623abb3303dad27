"""Tests of `services.billing`."""
