"""The EA HTTP API (/ea/v1: auth, long poll, acks, reports) and the reference EAs that call it.

`ea.api`, `ea.auth`, `ea.longpoll`, `ea.schemas` are the server side (an adapter: services, models,
core, trading; never another adapter or `bot`). `ea.crypto` is the protocol's signing, shared
with the clients. `ea.client` is the Python reference EA and `ea/mql5/` the MQL5 one: clients,
which import only the protocol and `trading`.
"""
