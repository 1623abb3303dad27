"""The notification outbox: every message is a row first (enqueue), the typed kinds of
notification and their renderers (kinds), the sender's queue operations, payload and keyboard
builders, the fan-out of signal events and the last audience check.
"""
