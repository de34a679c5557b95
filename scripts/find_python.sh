#!/usr/bin/env bash
# Print the newest Python >= 3.12 on this machine: $PYTHON first, then PATH, then pyenv's versions.
# Exit 1 with a message on stderr when there is none.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
ver() { "$1" -c 'import sys; print("%d %d %d" % sys.version_info[:3])' 2>/dev/null; }

if [ -n "${PYTHON:-}" ]; then
  if ok "$PYTHON"; then command -v "$PYTHON" || echo "$PYTHON"; exit 0; fi
  echo "PYTHON=$PYTHON is not a Python 3.12 or newer" >&2; exit 1
fi
candidates=()
for name in python3.14 python3.13 python3.12 python3 python; do
  p=$(command -v "$name" 2>/dev/null) && candidates+=("$p")
done
for p in /usr/bin/python3.1[2-9] /usr/local/bin/python3.1[2-9]; do [ -x "$p" ] && candidates+=("$p"); done
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for p in "$root"/versions/3.1[2-9]*/bin/python3; do [ -x "$p" ] && candidates+=("$p"); done
fi
best=""; best_v=""
for p in "${candidates[@]}"; do
  ok "$p" || continue   # pyenv shims refuse unless a version is selected: skipped here
  v=$(ver "$p" | awk '{printf "%03d%03d%03d", $1, $2, $3}')
  if [ -z "$best_v" ] || [ "$v" \> "$best_v" ]; then best="$p"; best_v="$v"; fi
done
if [ -z "$best" ]; then
  echo "No Python 3.12 or newer found (PyMC 6 and ArviZ 1 need it)." >&2
  echo "Install one (e.g. 'pyenv install 3.12') or point to it: make report PYTHON=/path/to/python3.12" >&2
  exit 1
fi
echo "$best"
