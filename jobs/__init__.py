"""APScheduler jobs and the scheduler leader: thin, each calls a service. `jobs.outbox` is the
sender, the only code that sends anything to Telegram.

Adapters: may import services, models, core and trading; never another adapter or `bot`.
"""
