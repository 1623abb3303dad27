"""The trading domain, independent of the app: candles, indicators, the Fib-RSI detector,
orders and sizing, market hours, metrics, charts and the backtester; broker adapters (paper,
MT5) and market-data feeds at its edge.

Imports nothing of the rest: no app package, no aiogram, aiohttp, Tortoise or APScheduler.
"""
