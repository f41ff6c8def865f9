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
  CHAT_TWO_STAMPS CHAT_OPENAI_KEYS

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

# build prints warnings too; a clean lint means it should print none.
if build_output="$(bicep build infra/main.bicep --outfile "$out_dir/main.json" 2>&1)" \
  && ! grep -Eq ': (Warning|Error) ' <<< "$build_output"; then
  echo "ok   build infra/main.bicep -> $out_dir/main.json"
else
  printf '%s\n' "$build_output" >&2
  echo "FAIL build infra/main.bicep" >&2
  failed=1
fi

# Builds the parameter file in one mode: build_params OUTFILE [NAME=VALUE...] (environment for the
# file's readEnvironmentVariable calls).
build_params() {
  local outfile="$1"; shift
  local params_output
  if params_output="$(env "$@" bash scripts/infra/bicep.sh build-params infra/main.bicepparam --outfile "$outfile" 2>&1)" \
    && ! grep -Eq ': (Warning|Error) ' <<< "$params_output"; then
    echo "ok   build-params infra/main.bicepparam $* -> $outfile"
  else
    printf '%s\n' "$params_output" >&2
    echo "FAIL build-params infra/main.bicepparam $*" >&2
    failed=1
  fi
}
build_params "$out_dir/main.parameters.json" CHAT_TWO_STAMPS=false
build_params "$out_dir/main.two-stamps.parameters.json" CHAT_TWO_STAMPS=true

exit "$failed"
