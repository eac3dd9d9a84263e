#!/usr/bin/env bash
# The one test command: builds, then runs unit, integration and end-to-end tests with node's runner.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
files=$(find dist/test -name '*.test.js' | sort)
exec node --test --test-concurrency=1 --test-timeout=180000 $files
