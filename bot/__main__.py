"""`python -m bot`: the SignalDesk command line."""

from bot.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
