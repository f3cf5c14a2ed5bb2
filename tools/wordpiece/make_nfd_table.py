#!/usr/bin/python3
"""Writes src/RerankSharp/Tokenization/Data/nfd.txt: the full canonical decomposition (NFD) of every code point
that has one, Hangul syllables excepted (those decompose by formula). One line per code point, hex:
"00E9 0065 0301". RerankSharp builds with InvariantGlobalization, where string.Normalize has no Unicode data,
and BERT's accent stripping (NFD, then drop nonspacing marks) needs exactly this table.

    /usr/bin/python3 tools/wordpiece/make_nfd_table.py
"""
import os
import unicodedata

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
out = os.path.join(root, "src", "RerankSharp", "Tokenization", "Data", "nfd.txt")
os.makedirs(os.path.dirname(out), exist_ok=True)
lines = [f"# NFD decompositions, Unicode {unicodedata.unidata_version} (Python unicodedata); tools/wordpiece/make_nfd_table.py"]
for cp in range(0x110000):
    if 0xAC00 <= cp <= 0xD7A3 or 0xD800 <= cp <= 0xDFFF:
        continue
    c = chr(cp)
    d = unicodedata.normalize("NFD", c)
    if d != c:
        lines.append(" ".join(f"{ord(x):04X}" for x in c + d))
with open(out, "w", encoding="ascii") as f:
    f.write("\n".join(lines) + "\n")
print(out, len(lines) - 1)
