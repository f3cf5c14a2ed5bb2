#!/usr/bin/python3
"""Writes src/RerankSharp/Tokenization/Data/unicode.txt, the Unicode data RerankSharp's NFD and NFC need, from
Python's unicodedata. RerankSharp builds with InvariantGlobalization, where string.Normalize has no Unicode data;
BERT's accent stripping needs NFD and byte-level BPE tokenizers (Qwen) normalize with NFC. Lines, hex:
  D cp d1 d2 …   full canonical decomposition of cp (Hangul syllables excepted: they decompose by formula)
  C cp ccc       canonical combining class, where not 0
  P a b cp       primary composite: the pair a b composes to cp (composition exclusions and singletons left out)

    /usr/bin/python3 tools/wordpiece/make_unicode_tables.py
"""
import os
import unicodedata as u

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
out = os.path.join(root, "src", "RerankSharp", "Tokenization", "Data", "unicode.txt")
os.makedirs(os.path.dirname(out), exist_ok=True)
lines = [f"# Unicode {u.unidata_version} (Python unicodedata), tools/wordpiece/make_unicode_tables.py"]
hexes = lambda cps: " ".join(f"{c:04X}" for c in cps)  # noqa: E731
for cp in range(0x110000):
    if 0xAC00 <= cp <= 0xD7A3 or 0xD800 <= cp <= 0xDFFF:
        continue
    c = chr(cp)
    d = u.normalize("NFD", c)
    if d != c:
        lines.append("D " + hexes([cp] + [ord(x) for x in d]))
    if u.combining(c):
        lines.append(f"C {cp:04X} {u.combining(c)}")
    raw = u.decomposition(c)
    if raw and not raw.startswith("<"):
        parts = [int(x, 16) for x in raw.split()]
        # A primary composite: a two-part canonical decomposition that NFC recomposes (not excluded).
        if len(parts) == 2 and u.normalize("NFC", chr(parts[0]) + chr(parts[1])) == c:
            lines.append("P " + hexes(parts + [cp]))
with open(out, "w", encoding="ascii") as f:
    f.write("\n".join(lines) + "\n")
print(out, len(lines) - 1)
