#!/usr/bin/env bash
# Writes local.settings.json from the outputs of the infra deployment, so a developer can run the
# backend locally (`func start` or `npm start`) against the real regions, reading the API keys from
# Key Vault with their own az login identity (CHAT_AUTH_MODE=key-vault).
#
# Usage: scripts/infra/write-local-settings.sh [options]
#   --env NAME            environment (deployment) name (default: $AZURE_ENV_NAME or chat-dev)
#   --auth-mode MODE      key-vault (default) or managed-identity (Entra token from az login)
#   --outputs-file FILE   read the outputs from FILE (JSON of properties.outputs) instead of az
#   --out FILE            where to write (default: local.settings.json; '-' prints it)
#   --dry-run             print every command, prefixed '+ ', and run none
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

env_name="${AZURE_ENV_NAME:-chat-dev}"
auth_mode="key-vault"
outputs_file=""
out="local.settings.json"
dry_run=0

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while (( $# > 0 )); do
  case "$1" in
    --env) env_name="${2:?--env needs a value}"; shift 2 ;;
    --auth-mode) auth_mode="${2:?--auth-mode needs a value}"; shift 2 ;;
    --outputs-file) outputs_file="${2:?--outputs-file needs a file}"; shift 2 ;;
    --out) out="${2:?--out needs a file}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "write-local-settings: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

# Commands go to stdout, or to stderr when the settings themselves are printed there (--out -).
show() {
  if [[ "$out" == "-" ]]; then printf '+%s\n' "$(printf ' %s' "$@")" >&2; else printf '+%s\n' "$(printf ' %s' "$@")"; fi
}

tmp=""
trap '[[ -n "$tmp" ]] && rm -f "$tmp"' EXIT
if [[ -z "$outputs_file" ]]; then
  cmd=(az deployment sub show --name "$env_name" --query properties.outputs --output json)
  show "${cmd[@]}"
  if (( dry_run == 0 )); then
    command -v az > /dev/null 2>&1 || { echo "write-local-settings: the az CLI is not on PATH" >&2; exit 1; }
    tmp="$(mktemp)"
    "${cmd[@]}" > "$tmp"
    outputs_file="$tmp"
  else
    outputs_file="<outputs.json>"
  fi
fi

cmd=(node scripts/infra/local-settings.mjs --outputs "$outputs_file" --out "$out" --auth-mode "$auth_mode")
show "${cmd[@]}"
if (( dry_run == 0 )); then
  "${cmd[@]}"
  if [[ "$auth_mode" == "key-vault" && "$out" != "-" ]]; then
    echo "Next: az login (as the developerPrincipalId of the deployment), then npm run start:func or func start." >&2
    echo "A 403 from Key Vault right after the deployment means the role assignment is still propagating (5-15 minutes)." >&2
  fi
fi
