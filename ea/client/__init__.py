"""The Python reference Expert Advisor: the /ea/v1 protocol on any `trading.brokers` Broker.

A client of the server, as the MQL5 EA is: imports `ea.crypto`, `core.crypto` and `trading`
only, never the server's packages (the import contract holds it).
"""
