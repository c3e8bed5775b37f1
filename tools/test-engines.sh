#!/usr/bin/env bash
# The engine matrix of `npm test`: the tests that prove Holdfast on an engine (the RDB scanner on the
# engine's own RDBs, the backup and restore round trip of every type, the RDB defects and the rule for
# unknown formats, failover and hand-over of the Sentinel set, AOF repair with the engine's own
# check-aof, a point restore from a backup inside the stream's chain) run again on Redis 8.0 and
# Valkey 8.1. test/redis/startup.test.ts (the init container's
# repair in a whole set, 75 s an engine) is left to the sandbox's step 6 (--engine), and the stream's
# point-in-time test (about 2 minutes an engine) to `tools/test-engines.sh -- test/redis-stream/point-in-time.test.ts`
# run by hand, to keep CI under 30 minutes. Redis 7 (Debian's, on PATH)
# runs them with the rest of the suite. Builds the engines' root first when it is missing (root needed
# once; later runs take a second). Prints how long each engine took.
#
#   tools/test-engines.sh                  redis8 and valkey8
#   tools/test-engines.sh valkey8          one engine
#   tools/test-engines.sh redis8 -- -t 'round trip'   extra jest arguments after --
set -euo pipefail
cd "$(dirname "$0")/.."

engines=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do engines+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#engines[@]} -gt 0 ] || engines=(redis8 valkey8)

# The files of the matrix (docs/testing.md, "The engine matrix, locally").
files=(
  jobs/redis-backup/rdb/scanner.test.ts
  test/backup/round-trip.test.ts
  test/backup/rdb-defects.test.ts
  test/redis/failover.test.ts
  test/redis/handover.test.ts
  jobs/redis-pod/aof-repair.test.ts
  test/redis-stream/backup-inside-chain.test.ts
)

tools/engines.sh >/dev/null
summary=()
status=0
for e in "${engines[@]}"; do
  printf '\n== engine %s\n' "$e"
  started=$(date +%s)
  if HOLDFAST_TEST_ENGINE="$e" npx jest --maxWorkers=2 "${files[@]}" "$@"; then r=passed; else r=FAILED; status=1; fi
  summary+=("$e: $r in $(($(date +%s) - started)) s")
done
printf '\nengine matrix:\n'
printf '  %s\n' "${summary[@]}"
exit $status
