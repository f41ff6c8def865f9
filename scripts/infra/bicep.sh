#!/usr/bin/env bash
# Runs the Bicep CLI with the given arguments, whichever is available, in this order:
#   1. `bicep` on PATH (a developer's own install),
#   2. the copy the az CLI manages (`az bicep install` puts it in ~/.azure/bin/bicep); run directly,
#      because `az bicep build --file x` takes other arguments than `bicep build x`,
#   3. with the az CLI but no copy yet: `az bicep install`, then that copy,
#   4. the version pinned by .ci/install-bicep.sh in .bicep/ (restored from NuGet if missing).
# BICEP_USE_PINNED=1 skips 1 and 2, so CI and tests lint with exactly the pinned version.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if [[ "${BICEP_USE_PINNED:-0}" != "1" ]]; then
  if command -v bicep > /dev/null 2>&1; then
    exec bicep "$@"
  fi
  az_bicep="${AZURE_CONFIG_DIR:-$HOME/.azure}/bin/bicep"
  if [[ -x "$az_bicep" ]]; then
    exec "$az_bicep" "$@"
  fi
  if command -v az > /dev/null 2>&1 && az bicep install >&2 && [[ -x "$az_bicep" ]]; then
    exec "$az_bicep" "$@"
  fi
fi

exe="$(bash "$repo_root/.ci/install-bicep.sh")"
exec "$exe" "$@"
