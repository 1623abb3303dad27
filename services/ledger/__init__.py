"""The verifiable signal ledger (issue 13): a hash chain of every signal event, written in the
event's transaction (`chain`), in a canonical JSON anyone can re-hash (`canonical`), checked by
`verify`, served by `public`, its head posted to a public channel by `heads`."""
