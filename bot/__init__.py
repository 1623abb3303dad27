"""The assembly: the app factory and runner (`bot.app`), the CLI (`python -m bot`), sandbox mode.

The one place that knows who is wired to whom. May import every package; imported by nobody
(the import contract in pyproject.toml holds it).
"""
