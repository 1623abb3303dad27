"""An offline Telegram Bot API: the sandbox's chat partner and the end-to-end test vehicle.

`create_emulator_app(Emulator(token))` serves the Bot API subset SignalDesk uses (aiogram's real
`Bot` works against it unchanged, polling or webhook) and a control API to act as users.
`EmulatorClient` drives the control API; `setup_sandbox` adds the browser chat page.
"""

from bot.emulator.client import EmulatorClient, EmulatorControlError
from bot.emulator.sandbox import DEFAULT_PERSONAS, make_sandbox_handler, setup_sandbox
from bot.emulator.server import (
    DEFAULT_TOKEN,
    EmulatorServer,
    create_emulator_app,
    start_emulator,
)
from bot.emulator.state import Emulator

__all__ = [
    "DEFAULT_PERSONAS",
    "DEFAULT_TOKEN",
    "Emulator",
    "EmulatorClient",
    "EmulatorControlError",
    "EmulatorServer",
    "create_emulator_app",
    "make_sandbox_handler",
    "setup_sandbox",
    "start_emulator",
]
