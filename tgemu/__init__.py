"""An offline Telegram Bot API: the sandbox's chat partner and the end-to-end test vehicle.

`create_emulator_app(Emulator(token))` serves the Bot API subset SignalDesk uses (aiogram's real
`Bot` works against it unchanged, polling or webhook) and a control API to act as users.
`EmulatorClient` drives the control API; `setup_sandbox` adds the browser chat page.

Its own program: imports no app package (only `httpguard`, a standalone library).
"""

from tgemu.client import EmulatorClient, EmulatorControlError
from tgemu.sandbox import DEFAULT_PERSONAS, make_sandbox_handler, setup_sandbox
from tgemu.server import (
    DEFAULT_TOKEN,
    EmulatorServer,
    create_emulator_app,
    start_emulator,
)
from tgemu.state import Emulator

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
