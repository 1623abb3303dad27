"""Verify SignalDesk's public signal ledger without trusting SignalDesk (Python 3, stdlib only).

    python3 verify_ledger.py https://signals.example.com [SEQ HASH]

Recomputes every entry's SHA-256 and its link to the previous one, checks each commitment
against its reveal, and that the published head (the one the server names, and SEQ HASH as
you copied them from the channel) is in the chain. Prints OK or the first broken link.
"""

import hashlib
import json
import sys
import urllib.request


def sha(value):  # SHA-256 of the canonical JSON: sorted keys, no whitespace, UTF-8
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def get(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def reveal_error(ev, committed):  # the ending entry opens every commitment of its signal
    items, salt, final = ev["reveal"]["levels"], ev["reveal"]["salt"], ev["levels"]
    if [i["seq"] for i in items] != [s for s, _ in committed]:
        return "the reveal does not list every commitment"
    for item, (s, digest) in zip(items, committed, strict=True):
        if sha({"levels": item["levels"], "salt": salt, "seq": s}) != digest:
            return f"revealed levels do not match the commitment of seq {s}"
        if item["levels"].get("fill_price", final["fill_price"]) != final["fill_price"]:
            return f"the fill price is not the one committed at seq {s}"
    last = items[-1]["levels"] if items else final
    if any(last[k] != final[k] for k in ("entry", "stop", "take_profit")):
        return "the final levels are not the last committed ones"
    return None


def entry_error(e, seq, prev, heads, signals):
    ev = e["event"]
    if e["seq"] != seq:
        return f"seq {e['seq']} where {seq} was expected (an entry missing or moved)"
    if e["prev"] != prev or sha({"event": ev, "prev": prev, "seq": seq}) != e["hash"]:
        return "the hash or the link to the previous entry is wrong"
    if (ev["signal"], ev["kind"]) != (e["signal"], e["kind"]):
        return "signal or kind differs from the event's"
    if heads.get(seq, e["hash"]) != e["hash"]:
        return "a published head names another hash"
    committed = signals.setdefault(e["signal"], [])
    if committed is None:
        return f"signal {e['signal']} already ended"
    if "commitment" in ev:
        committed.append((seq, ev["commitment"]))
        return None
    signals[e["signal"]] = None  # ended: nothing may follow
    return reveal_error(ev, committed)


def check(base, heads):
    prev, seq, signals, url = "0" * 64, 0, {}, base + "/ledger?limit=1000"
    while url:
        page = get(url)
        for e in page["entries"]:
            seq += 1
            try:
                error = entry_error(e, seq, prev, heads, signals)
            except (KeyError, TypeError, AttributeError, IndexError) as exc:
                error = f"malformed entry ({type(exc).__name__}: {exc})"
            if error:
                return f"BROKEN at seq {e.get('seq', seq)}: {error}"
            prev = e["hash"]
        url = base + page["next"] if page["next"] else None
    missing = sorted(s for s in heads if s > seq)
    if missing:
        return f"BROKEN: published head {missing[0]} is not in the chain (it ends at {seq})"
    return f"OK: {seq} entries, head {seq} {prev}, {len(heads)} published head(s) match"


if __name__ == "__main__":
    base = sys.argv[1].rstrip("/")
    published = get(base + "/ledger/head")["published"]
    heads = {published["seq"]: published["hash"]} if published else {}
    if len(sys.argv) == 4:
        heads[int(sys.argv[2])] = sys.argv[3]
    result = check(base, heads)
    print(result)  # noqa: T201 - the script's answer
    sys.exit(0 if result.startswith("OK") else 1)
