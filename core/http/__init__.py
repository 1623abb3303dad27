"""HTTP helpers every aiohttp route shares: RFC 7807 problems and request bodies.

`problems`: the error middleware; any exception carrying its problem (the services' `AppError`
family, read by duck typing) answers its status, anything else a 500 that leaks nothing.
`bodies`: the raw body under a hard limit (413) and strict JSON (400), for the EA API, the web
app, the Mini App API and payment webhooks.

Part of `core`: imported by the adapters that serve HTTP (`webapp`, `ea`) and by `bot`.
"""
