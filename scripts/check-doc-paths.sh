#!/usr/bin/env bash
# Checks that every file the docs name exists: each `path` in backquotes in ARCHITECTURE.md,
# README.md and BENCHMARKS.md that ends in a source or config extension (or names a folder of
# the repository with a trailing slash) must be found at the repository's root, or under a
# crate (`CRATE/` or `CRATE/src/`, for paths the docs write relative to the crate they are
# describing). Runtime paths (a node's data folder) are written without such an extension.
# Exits 1 naming every path that is not there. CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

crates=$(git ls-files '*/Cargo.toml' | xargs -n1 dirname | grep -v '^fuzz$' | sort -u)
missing=0
for doc in ARCHITECTURE.md README.md BENCHMARKS.md; do
  [ -f "$doc" ] || continue
  # Backquoted tokens with a slash that look like repository paths.
  grep -oE '`[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/([A-Za-z0-9_.-]+\.(rs|proto|toml|sh|md|yaml|yml|json|py|html|css|js))?`' "$doc" |
    tr -d '`' | sort -u | while read -r path; do
      # A placeholder segment (`fuzz/corpus/TARGET/`) names no one file.
      if echo "/$path/" | grep -qE '/[A-Z_]+/'; then continue; fi
      case "$path" in
        *.rs | *.proto | *.toml | *.sh | *.md | *.yaml | *.yml | *.json | *.py | *.html | *.css | *.js) ;;
        */) # A folder: only those of the repository's own top level or a crate are checked.
          top=${path%%/*}
          [ -d "$top" ] && git ls-files --error-unmatch "$top" >/dev/null 2>&1 || continue
          ;;
        *) continue ;;
      esac
      found=""
      for base in . $crates $(for c in $crates; do echo "$c/src"; done); do
        if [ -e "$base/$path" ]; then found=1; break; fi
      done
      if [ -z "$found" ]; then
        echo "$doc names $path, which is not in the repository" >&2
        echo x
      fi
    done
done | grep -q x && missing=1
if [ "$missing" -ne 0 ]; then
  echo "docs name files that moved or never existed; fix the docs (scripts/check-doc-paths.sh)" >&2
  exit 1
fi
echo "every file the docs name exists" >&2
