"""HTTP helpers every aiohttp route shares: RFC 7807 problem bodies and the error middleware.

Part of `core`: imported by the adapters that serve HTTP (`webapp`, `ea`) and by `bot`.
"""
