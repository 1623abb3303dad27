"""The notification outbox: every message is a row first (enqueue), the sender's queue
operations, payload builders, the fan-out of signal events and the last audience check.
"""
