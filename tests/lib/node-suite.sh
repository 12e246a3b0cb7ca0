#!/usr/bin/env bash
# tests/lib/node-suite.sh LABEL PATH... - run node's test runner on the given
# test files/folders (extra environment passes through), write TAP to
# $ART/LABEL.tap and end with "N passed, N failed". Exit 0 only when every
# test passed. Shared by the suites in tests/suites/.
set -uo pipefail
label=$1; shift
ART=${ART:-test-artifacts}
mkdir -p "$ART"
tap="$ART/$label.tap"
node --test --test-concurrency="${NODE_TEST_CONCURRENCY:-2}" --test-timeout="${NODE_TEST_TIMEOUT:-300000}" \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" \
    "$@"
rc=$?
p=$(grep -E '^# pass [0-9]+' "$tap" | tail -n1 | awk '{print $3}')
f=$(grep -E '^# fail [0-9]+' "$tap" | tail -n1 | awk '{print $3}')
c=$(grep -E '^# cancelled [0-9]+' "$tap" | tail -n1 | awk '{print $3}')
p=${p:-0}; f=${f:-0}; c=${c:-0}
f=$((f + c))
if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
echo "$p passed, $f failed"
[[ $rc -eq 0 && $f -eq 0 ]]
