"""aiogram middlewares: correlation ids, user loading, RBAC, throttling, locale. Context only.

Adapters: may import services, models, core and trading; never another adapter or `bot`.
"""
