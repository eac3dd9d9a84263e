#!/usr/bin/env bash
# The one test command: builds (unless given --built), then runs unit, integration, fuzz and
# end-to-end tests with node's runner. Test files share no global resource (every server they
# start listens on a free port or a port of its own), so they run two at a time; the few that
# measure CPU-time ratios or wall-clock deadlines run after them, one at a time, undisturbed.
# --expose-gc: the fuzz suite compares the heap before and after, each time after a full GC.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = "--built" ] || npm run build --silent
alone=()
shared=()
while IFS= read -r file; do
  case "$file" in
    *-cost.test.js | */sigterm.test.js | */drain.test.js | */connection-limits.test.js) alone+=("$file") ;;
    *) shared+=("$file") ;;
  esac
done < <(find dist/test -name '*.test.js' | sort)
started=$SECONDS
status=0
node --expose-gc --test --test-concurrency=2 --test-timeout=180000 "${shared[@]}" || status=$?
node --expose-gc --test --test-concurrency=1 --test-timeout=180000 "${alone[@]}" || status=$?
echo "test files: ${#shared[@]} two at a time, ${#alone[@]} alone; $((SECONDS - started)) s on $(node --version)"
exit $status
