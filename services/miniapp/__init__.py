"""The Mini App's use cases: Telegram initData and session tokens (`auth`), and the views its
JSON API serves (`views`), built from the same services the chat uses."""
