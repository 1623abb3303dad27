"""The outbox sender: claims due notifications, delivers them through aiogram within
Telegram's limits (about 30 messages/s, 1/s per chat, 20/min per group), settles each result.

`sender.Sender` runs the claim loop over collaborators that own their state: `pacing.Pacer`
(on `buckets`), `delivery.Delivery`, `verdicts.ResultClassifier`, `results.ResultWriter` and
`shield.Shield`; `Sender.build` wires them for a bot.
"""
