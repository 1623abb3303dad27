"""Tests of `middlewares`."""
