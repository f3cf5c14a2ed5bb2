#!/usr/bin/python3
"""Extract plain multilingual text lines from unpacked Debian packages.

Usage: extract_corpus.py ROOT OUT_FILE [--cap-bytes N] [--seed S]

ROOT holds one folder per package (as `dpkg-deb -x` left them). The script knows the
handful of formats those packages use (fortune files, roff man pages, HTML, Mallard XML,
gettext .mo catalogues, Firefox langpack .ftl/.properties inside an .xpi) and writes one
line of text per output line, deduplicated, at most --cap-bytes per language, shuffled with
a fixed seed so two runs give the same bytes. Stdlib only.
"""
import argparse
import gzip
import html
import os
import random
import re
import struct
import sys
import unicodedata
import zipfile
from collections import defaultdict

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
TAG = re.compile(r"<[^>]*>")
SPACES = re.compile(r"\s+")
ROFF_FONT = re.compile(r"\\f(\[[^\]]*\]|\(..|.)")
ROFF_SPECIAL = re.compile(r"\\\(..|\\\[[^\]]*\]|\\[*n]\(..|\\[*n].|\\s[-+]?\d|\\[&|^%:!,/0~cdeu]")


def clean(line):
    line = ANSI.sub("", line)
    line = CONTROL.sub("", line)
    line = SPACES.sub(" ", line).strip()
    if len(line) < 8:
        return None
    # ASCII art and separators carry no language.
    letters = sum(1 for ch in line if ch.isalpha())
    if letters < len(line) * 0.4:
        return None
    return line


def read_text(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def fortune_lines(path):
    text = read_text(path)
    if text is None:
        return
    for block in text.split("\n%\n"):
        # A fortune is a paragraph; rejoin hard-wrapped lines for running text.
        for para in re.split(r"\n\s*\n", block):
            yield para.replace("\n", " ")


def roff_lines(path):
    text = read_text(path)
    if text is None:
        return
    for raw in text.split("\n"):
        if raw.startswith((".\\\"", "'\\\"", '.\\"')):
            continue
        if raw.startswith((".", "'")):
            parts = raw.split(None, 1)
            if len(parts) < 2 or parts[0][1:] not in ("SH", "SS", "B", "I", "BR", "IR", "RB", "BI", "IB", "TP", "IP"):
                continue
            raw = parts[1].replace('"', "")
        raw = ROFF_FONT.sub("", raw)
        raw = ROFF_SPECIAL.sub("", raw)
        raw = raw.replace("\\-", "-").replace("\\e", "\\").replace("\\ ", " ")
        yield raw


def markup_lines(path):
    text = read_text(path)
    if text is None:
        return
    text = re.sub(r"(?is)<(script|style|code|screen|pre)[^>]*>.*?</\1>", "\n", text)
    text = re.sub(r"(?i)</?(p|div|li|h\d|title|td|th|tr|br|section|page|item|note|desc|dt|dd)[^>]*>", "\n", text)
    text = TAG.sub("", text)
    for raw in text.split("\n"):
        yield html.unescape(raw)


def mo_strings(data):
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">"
    _, count, _, trans_off = struct.unpack(order + "4I", data[4:20])
    for i in range(count):
        length, offset = struct.unpack(order + "2I", data[trans_off + 8 * i: trans_off + 8 * i + 8])
        raw = data[offset: offset + length]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        for part in text.split("\x00"):  # plural forms
            yield from part.split("\n")


def langpack_lines(path):
    with zipfile.ZipFile(path) as z:
        for name in sorted(z.namelist()):
            if not name.endswith((".ftl", ".properties")):
                continue
            text = z.read(name).decode("utf-8", "replace")
            for raw in text.split("\n"):
                if raw.lstrip().startswith("#") or "=" not in raw:
                    continue
                value = raw.split("=", 1)[1]
                value = re.sub(r"\{[^}]*\}", "", value)
                yield value


def lang_of_locale(name):
    name = name.split("@")[0].split(".")[0]
    return name.split("_")[0].lower()


def walk(root):
    """Yield (language, line) for every package folder under root."""
    for pkg in sorted(os.listdir(root)):
        base = os.path.join(root, pkg)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for fn in sorted(filenames):
                path = os.path.join(dirpath, fn)
                if os.path.islink(path):
                    continue
                rel = os.path.relpath(path, base)
                parts = rel.split(os.sep)
                if pkg.startswith("fortunes") and "games/fortunes" in rel and not fn.endswith((".dat", ".u8")):
                    lang = "en" if pkg == "fortunes" else pkg.split("-")[1]
                    for line in fortune_lines(path):
                        yield lang, line
                elif pkg.startswith("manpages") and parts[:3] == ["usr", "share", "man"] and fn.endswith(".gz"):
                    lang = "en" if parts[3].startswith("man") else lang_of_locale(parts[3])
                    for line in roff_lines(path):
                        yield lang, line
                elif pkg.startswith("debian-reference") and fn.endswith(".html"):
                    lang = lang_of_locale(fn.split(".")[1].replace("-", "_"))
                    for line in markup_lines(path):
                        yield lang, line
                elif pkg == "gnome-user-docs" and fn.endswith(".page") and parts[:3] == ["usr", "share", "help"]:
                    lang = "en" if parts[3] == "C" else lang_of_locale(parts[3])
                    for line in markup_lines(path):
                        yield lang, line
                elif fn.endswith(".mo") and "LC_MESSAGES" in parts:
                    lang = lang_of_locale(parts[parts.index("LC_MESSAGES") - 1])
                    with open(path, "rb") as f:
                        data = f.read()
                    for line in mo_strings(data):
                        yield lang, line
                elif fn.endswith(".xpi"):
                    lang = re.match(r"langpack-([a-z]+)", fn).group(1)
                    for line in langpack_lines(path):
                        yield lang, line


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("out")
    ap.add_argument("--cap-bytes", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args()

    seen = set()
    by_lang = defaultdict(list)
    for lang, raw in walk(args.root):
        line = clean(unicodedata.normalize("NFC", raw))
        if line is None or line in seen:
            continue
        seen.add(line)
        by_lang[lang].append(line)

    rng = random.Random(args.seed)
    out = []
    stats = []
    for lang in sorted(by_lang):
        lines = by_lang[lang]
        rng.shuffle(lines)
        used = 0
        for line in lines:
            size = len(line.encode("utf-8")) + 1
            if used + size > args.cap_bytes:
                break
            out.append(line)
            used += size
        stats.append((lang, used, sum(len(l.encode("utf-8")) + 1 for l in lines)))
    rng.shuffle(out)
    with open(args.out, "w", encoding="utf-8") as f:
        for line in out:
            f.write(line + "\n")
    for lang, used, avail in stats:
        print(f"{lang}\t{used}\t{avail}", file=sys.stderr)
    print(f"total\t{len(out)} lines\t{sum(s[1] for s in stats)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
