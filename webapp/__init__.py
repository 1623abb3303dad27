"""aiohttp routes: health and metrics, the landing page (and the coming public pages, Mini App
and payment webhooks). Errors leave as RFC 7807 bodies through `core.http.problems`.

Adapters: may import services, models, core and trading; never another adapter or `bot`.
"""
