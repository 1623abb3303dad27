"""The outbox sender: claims due notifications, delivers them through aiogram within
Telegram's limits (about 30 messages/s, 1/s per chat, 20/min per group), settles each result.
"""
