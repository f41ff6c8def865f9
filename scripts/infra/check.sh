#!/usr/bin/env bash
# Compiles and lints the Bicep templates; fails on any linter warning or error.
# Writes the ARM JSON the infra tests read:
#   .bicep/out/main.json                        (infra/main.bicep)
#   .bicep/out/main.parameters.json             (infra/main.bicepparam: one stamp)
#   .bicep/out/main.two-stamps.parameters.json  (the same file with CHAT_TWO_STAMPS=true: two stamps
#                                                and Front Door)
# API version freshness is not checked here (it depends on the date): npm run infra:freshness.
# Uses the pinned Bicep CLI (BICEP_USE_PINNED=1 unless set) so everyone lints with the same rules.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
export BICEP_USE_PINNED="${BICEP_USE_PINNED:-1}"
bicep() { bash scripts/infra/bicep.sh "$@"; }

out_dir=".bicep/out"
mkdir -p "$out_dir"
# The parameter file reads these (for azd); unset them so the compiled values are the file's own.
unset AZURE_ENV_NAME AZURE_LOCATION AZURE_SECONDARY_LOCATION AZURE_PRINCIPAL_ID CHAT_AUTH_CLIENT_ID \
  CHAT_TWO_STAMPS CHAT_OPENAI_KEYS CHAT_WEB_CLIENT_ID CHAT_GRANT_DEVELOPER_ACCESS CHAT_ALERT_ACTION_GROUP_ID

echo "bicep: $(bicep --version)"

failed=0
# `bicep lint` exits non-zero on errors only; warnings are failures here too, so read the output.
# Diagnostics look like: path(line,col) : Warning rule-name: message
for file in infra/main.bicep infra/main.bicepparam; do
  lint_output="$(bicep lint "$file" 2>&1)" && lint_rc=0 || lint_rc=$?
  if [[ -n "$lint_output" ]]; then
    printf '%s\n' "$lint_output"
  fi
  if (( lint_rc != 0 )) || grep -Eq ': (Warning|Error) ' <<< "$lint_output"; then
    echo "FAIL lint $file" >&2
    failed=1
  else
    echo "ok   lint $file (0 warnings)"
  fi
done

# Runs one build and says ok only when it succeeded and printed no warning (a clean lint means a build
# should print none): clean_build "WHAT IT BUILT" COMMAND...
clean_build() {
  local what="$1"; shift
  local output
  if output="$("$@" 2>&1)" && ! grep -Eq ': (Warning|Error) ' <<< "$output"; then
    echo "ok   $what"
  else
    printf '%s\n' "$output" >&2
    echo "FAIL $what" >&2
    failed=1
  fi
}

clean_build "build infra/main.bicep -> $out_dir/main.json" bicep build infra/main.bicep --outfile "$out_dir/main.json"

# The parameter file in one mode: build_params OUTFILE [NAME=VALUE...] (environment for the file's
# readEnvironmentVariable calls).
build_params() {
  local outfile="$1"; shift
  clean_build "build-params infra/main.bicepparam $* -> $outfile" \
    env "$@" bash scripts/infra/bicep.sh build-params infra/main.bicepparam --outfile "$outfile"
}
build_params "$out_dir/main.parameters.json" CHAT_TWO_STAMPS=false
build_params "$out_dir/main.two-stamps.parameters.json" CHAT_TWO_STAMPS=true

exit "$failed"
