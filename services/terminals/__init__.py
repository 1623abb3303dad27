"""Terminals (MetaTrader terminals running our EA): the device registry and credentials,
per-request auth, the EA command queue and its state machine, what terminals report (fills,
positions, symbols, bars), reconciliation, the drawdown guard, symbol maps and risk settings.
"""
