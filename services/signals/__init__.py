"""Signals: the live trading loop and the owner's strategy controls, manual signals and
their market checks, publication, revision and the state machine, approvals and consent, what a
signal looks like to each audience, and its chart.
"""
