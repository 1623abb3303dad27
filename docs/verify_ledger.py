# Check SignalDesk's public ledger without trusting us: python3 verify_ledger.py URL [SEQ HASH]
import hashlib
import json
import sys
import urllib.request


def sha(value):  # SHA-256 of the canonical JSON: sorted keys, no whitespace, UTF-8
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def get(url):  # the JSON at url (read to the end, which closes the connection)
    return json.load(urllib.request.urlopen(url, timeout=30))


def checks(e, last, prev, heads, signals):  # (failed, why) for each check of entry e, in order
    ev, seq, committed = e["event"], e["seq"], signals.setdefault(e["signal"], [])
    yield seq != last + 1, f"seq {seq} where {last + 1} was expected (an entry missing or moved)"
    yield e["prev"] != prev, "prev is not the previous entry's hash"
    yield sha({"event": ev, "prev": prev, "seq": seq}) != e["hash"], "the hash does not match"
    yield (ev["signal"], ev["kind"]) != (e["signal"], e["kind"]), "signal or kind differs"
    yield heads.get(seq, e["hash"]) != e["hash"], "a published head names another hash"
    yield committed is None, f"signal {e['signal']} already ended"
    if "commitment" in ev:  # a live entry: its levels stay hidden until the signal ends
        committed.append((seq, ev["commitment"]))
        return
    signals[e["signal"]] = None  # ended: nothing may follow; this entry opens every commitment
    items, salt, final = ev["reveal"]["levels"], ev["reveal"]["salt"], ev["levels"]
    yield [(i["seq"], sha({**i, "salt": salt})) for i in items] != committed, "not as committed"
    latest, fill = items[-1]["levels"] if items else final, final["fill_price"]
    yield any(i["levels"].get("fill_price", fill) != fill for i in items), "the fill price changed"
    yield any(latest[k] != final[k] for k in ("entry", "stop", "take_profit")), "levels changed"


def check(base, heads):
    prev, seq, signals, url = "0" * 64, 0, {}, base + "/ledger?limit=1000"
    while url:
        page = get(url)
        for e in page["entries"]:
            try:
                why = next((why for bad, why in checks(e, seq, prev, heads, signals) if bad), "")
            except (KeyError, TypeError, AttributeError, IndexError) as exc:
                why = f"malformed entry ({type(exc).__name__}: {exc})"
            if why:
                return f"BROKEN at seq {e.get('seq', seq + 1)}: {why}"
            prev, seq = e["hash"], e["seq"]
        url = base + page["next"] if page["next"] else None
    if max(heads, default=0) > seq:
        return f"BROKEN: published head {min(s for s in heads if s > seq)} is past the end, {seq}"
    return f"OK: {seq} entries, head {seq} {prev}, {len(heads)} published head(s) match"


if __name__ == "__main__":
    base = sys.argv[1].rstrip("/")
    heads = {h["seq"]: h["hash"] for h in [get(base + "/ledger/head")["published"]] if h}
    heads.update({int(sys.argv[2]): sys.argv[3]} if len(sys.argv) == 4 else {})  # yours
    result = check(base, heads)
    print(result)  # noqa: T201 - the script's answer
    sys.exit(0 if result.startswith("OK") else 1)
