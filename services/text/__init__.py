"""User-visible text outside a Telegram update: translations (gettext), values in the
reader's locale (Babel), the words for internal states, and the strict parsers of typed numbers.
"""
