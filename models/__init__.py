"""Tortoise models, one module per aggregate. `MODEL_MODULES` is what Tortoise loads."""

MODEL_MODULES: list[str] = [
    "models.users",
    "models.audit",
    "models.signals",
    "models.notifications",
    "models.devices",
]
