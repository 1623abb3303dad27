"""The README shows the stand-alone ledger verifier in full: its ```python block is
docs/verify_ledger.py byte for byte (so the two never drift), and the script stays within
the 60 lines issue 13 promises."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "verify_ledger.py"


def test_the_readme_block_is_the_script_byte_for_byte() -> None:
    readme = (ROOT / "README.md").read_bytes().decode("utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```$", readme, flags=re.DOTALL | re.MULTILINE)
    script = SCRIPT.read_bytes().decode("utf-8")
    shown = [b for b in blocks if "def check(base, heads)" in b]
    assert len(shown) == 1, "the README must show the verifier once in a ```python block"
    assert shown[0].encode("utf-8") == script.encode("utf-8")


def test_the_script_is_at_most_60_lines_of_standard_library_python() -> None:
    text = SCRIPT.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 60
    imported = set(re.findall(r"^import (\S+)|^from (\S+) import", text, flags=re.MULTILINE))
    assert {a or b for a, b in imported} <= {"hashlib", "json", "sys", "urllib.request"}
