#!/bin/bash
# Builds the training corpus for the stand-in tokenizer from Debian packages.
# Nothing is installed: packages are downloaded and unpacked under tools/out/.
# Output: tools/out/corpus.txt (one line of text per line, shuffled, capped per language).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../out"
mkdir -p "$out/debs" "$out/root"

packages=(
  fortunes fortunes-zh fortunes-de fortunes-es fortunes-ru fortunes-it
  manpages manpages-ja manpages-zh manpages-ru manpages-de manpages-fr
  debian-reference-en debian-reference-ja debian-reference-zh-cn debian-reference-de
  debian-reference-fr debian-reference-es
  iso-codes libc-l10n firefox-esr-l10n-ar gnome-user-docs
)

cd "$out/debs"
apt-get download "${packages[@]}"

rm -rf "$out/root" && mkdir -p "$out/root"
: > "$out/packages.txt"
for deb in "$out"/debs/*.deb; do
  name="$(dpkg-deb -f "$deb" Package)"
  echo "$name $(dpkg-deb -f "$deb" Version)" >> "$out/packages.txt"
  mkdir -p "$out/root/$name"
  dpkg-deb -x "$deb" "$out/root/$name"
done

/usr/bin/python3 "$here/extract_corpus.py" "$out/root" "$out/corpus.txt" --cap-bytes 1000000 --seed 20240601
sha256sum "$out/corpus.txt"
