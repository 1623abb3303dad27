"""Use cases, one subpackage per domain (signals, outbox, terminals, copy, users, text), with room
for billing, alerts, ledger and analytics. They own transactions and the audit log and return
frozen dataclasses to adapters. Cross-domain helpers sit at the top: errors, audit, isolation,
app settings, ops alerts, business metrics, batching.

May import models, core and trading; never an adapter, `bot`, aiogram, aiohttp or APScheduler
(one documented exception: aiogram's CallbackData in `services.signals.callbacks`).
"""
