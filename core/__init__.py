"""Shared infrastructure imported by everyone: settings, logging, metrics, database set-up and
the SQLite change probe, the AEAD/HKDF primitives, HTTP helpers (`core.http`), the in-process
event bus (`core.bus`) and its bridge between replicas over PostgreSQL (`core.bus_pg`), and the
process clock (`core.clock`: every "now" of the app).

Imports no app package except the two libraries below it: `httpguard` (aiohttp read bounds)
and `trading`'s pure text parsers.
"""
