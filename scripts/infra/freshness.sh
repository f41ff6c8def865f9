#!/usr/bin/env bash
# Lints infra/ with the one rule that depends on today's date, use-recent-api-versions: fails when an
# apiVersion is more than 730 days older than the newest version the pinned Bicep CLI knows. Kept out
# of check.sh and `npm test` so that the test run gives the same answer every day; run it when you
# touch infra/ or on a schedule, and move the flagged resources to the newer API version.
#
# Usage: npm run infra:freshness   (or bash scripts/infra/freshness.sh)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
export BICEP_USE_PINNED="${BICEP_USE_PINNED:-1}"

# A copy of infra/ under a bicepconfig.json that differs from the repository's in this rule only.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -R infra "$work/infra"
sed -E 's/"use-recent-api-versions": \{ "level": "off" \}/"use-recent-api-versions": { "level": "error", "maxAgeInDays": 730 }/' \
  bicepconfig.json > "$work/bicepconfig.json"
if ! grep -q '"use-recent-api-versions": { "level": "error"' "$work/bicepconfig.json"; then
  echo "freshness: could not enable use-recent-api-versions (bicepconfig.json changed shape?)" >&2
  exit 1
fi

lint_output="$(bash scripts/infra/bicep.sh lint "$work/infra/main.bicep" 2>&1)" && lint_rc=0 || lint_rc=$?
if (( lint_rc != 0 )) || grep -q 'use-recent-api-versions' <<< "$lint_output"; then
  printf '%s\n' "${lint_output//$work\//}" >&2
  echo "freshness: some API versions are over 730 days older than the newest; move them on" >&2
  exit 1
fi
echo "ok   freshness: every apiVersion in infra/ is within 730 days of the newest the pinned Bicep CLI knows"
