"""Outside producers of signals: registration, the signed ingest API's use cases, TradingView
alerts and the owner's confirmation of held signals (issue 15)."""
