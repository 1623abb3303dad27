"""aiogram middlewares: correlation ids, user loading, RBAC, throttling, locale. Context only.

The data they read and write is typed once at the boundary (`middlewares.data`): aiogram's keys
and `services.context`'s, the keys handlers are injected with.

Adapters: may import services, models, core and trading; never another adapter or `bot`.
"""
