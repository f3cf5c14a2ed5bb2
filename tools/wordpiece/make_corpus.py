#!/usr/bin/python3
"""A small training corpus from Debian text already on this machine: package copyright files and
READMEs under /usr/share/doc (plain and .gz), plus man pages in several languages rendered to plain
lines by stripping roff requests. Deterministic: files in sorted order, lines deduplicated, capped.

    /usr/bin/python3 tools/wordpiece/make_corpus.py tools/out/debian_docs.txt [MAX_BYTES]
"""
import gzip
import os
import re
import sys

out = sys.argv[1]
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 6_000_000
roff = re.compile(r"\\f[BIRP]|\\\(..|\\[-&e]|\\s[+-]?\d")


def read(path):
    try:
        data = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError):
        return ""


def lines_of(path, is_man):
    for line in read(path).splitlines():
        if is_man:
            if line.startswith((".", "'")):
                continue
            line = roff.sub("", line)
        line = " ".join(line.split())
        if len(line) >= 20 and not line.startswith(("#", "*/", "/*", "--")):
            yield line


seen, size, picked = set(), 0, []
sources = []
for root in ("/usr/share/doc", "/usr/share/man"):
    for base, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            if root.endswith("doc") and not (f.startswith(("copyright", "README")) or f.endswith(".txt")):
                continue
            sources.append((os.path.join(base, f), root.endswith("man")))
for path, is_man in sources:
    for line in lines_of(path, is_man):
        if line in seen:
            continue
        seen.add(line)
        picked.append(line)
        size += len(line.encode()) + 1
        if size >= limit:
            break
    if size >= limit:
        break
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
with open(out, "w", encoding="utf-8") as f:
    f.write("\n".join(picked) + "\n")
print(f"{out}: {len(picked)} lines, {size} bytes from {len(sources)} files", file=sys.stderr)
