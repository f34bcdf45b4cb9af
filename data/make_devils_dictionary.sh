#!/usr/bin/env bash
# Rebuilds devils_dictionary.txt from Debian 12's dict-devil package (The
# Devil's Dictionary by Ambrose Bierce, public domain): downloads the .deb
# with apt-get (no installation), decompresses the dictd database and drops
# dictfmt's bookkeeping lines (the "00-database-*" entries at the top and the
# alphabet line at the end). Prints the SHA-256 of the result, which should
# match the one in data/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

work=$(mktemp -d)
# apt-get downloads as the _apt user when it can reach the folder.
if id _apt >/dev/null 2>&1; then chown _apt "$work"; fi
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download dict-devil >/dev/null)
dpkg-deb --fsys-tarfile "$work"/dict-devil_*.deb |
  tar -xO ./usr/share/dictd/devil.dict.dz | gzip -dc |
  sed -e '1,4d' -e '$d' >devils_dictionary.txt
sha256sum devils_dictionary.txt
