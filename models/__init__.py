"""Tortoise models, one module per aggregate; `core.db.MODEL_MODULES` lists what Tortoise loads.

Models import tortoise only (no app package); migrations/ beside them upgrade SQLite and PostgreSQL.
"""
