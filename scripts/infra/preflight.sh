#!/usr/bin/env bash
# Checks, before anything is deployed, what makes a first deployment fail half-way:
#   1. every pinned model version is offered in both regions for its SKU, generally available and
#      not retiring within the window (az cognitiveservices model list),
#   2. each region has the quota the deployments ask for (az cognitiveservices usage list), counting
#      what this environment's own deployments already hold,
#   3. no soft-deleted Azure OpenAI account or Key Vault of this environment blocks its name
#      (az cognitiveservices account list-deleted, az keyvault list-deleted): it stops and names the
#      commands, or with --restore lists them for the deployment to recover.
# The decisions are made by scripts/infra/preflight.mjs from the JSON az returns.
#
# Usage: scripts/infra/preflight.sh [options]     (deploy.sh runs it; azd runs it as preprovision)
#   --env NAME                 environment name (default: $AZURE_ENV_NAME or chat-dev)
#   --location REGION          primary region (default: $AZURE_LOCATION or eastus2)
#   --secondary-location REG   secondary region (default: $AZURE_SECONDARY_LOCATION or swedencentral)
#   --parameters FILE          .bicepparam whose models are checked (default: infra/main.bicepparam)
#   --retirement-window-days N a model version that stops serving within N days fails the check
#                              (default: $CHAT_MODEL_RETIREMENT_WINDOW_DAYS or 60)
#   --restore                  soft-deleted resources of this environment are to be recovered, not an error
#                              (asked at a terminal when they are the only problem)
#   --restore-out FILE         with --restore: write their names there, one per line
#   --dry-run                  print every az command, prefixed '+ ', and run none (the parameter file
#                              is still compiled locally, to show which models would be checked)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

# shellcheck source=scripts/infra/lib.sh
source "$repo_root/scripts/infra/lib.sh"
parameters="infra/main.bicepparam"
restore=0
restore_out=""
dry_run=0
retirement_window_days="${CHAT_MODEL_RETIREMENT_WINDOW_DAYS:-60}"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while (( $# > 0 )); do
  case "$1" in
    --env) env_name="${2:?--env needs a value}"; shift 2 ;;
    --location) location="${2:?--location needs a value}"; shift 2 ;;
    --secondary-location) secondary_location="${2:?--secondary-location needs a value}"; shift 2 ;;
    --parameters) parameters="${2:?--parameters needs a file}"; shift 2 ;;
    --retirement-window-days) retirement_window_days="${2:?--retirement-window-days needs a number}"; shift 2 ;;
    --restore) restore=1; shift ;;
    --restore-out) restore_out="${2:?--restore-out needs a file}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "preflight: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done


fail() { echo "preflight: $*" >&2; exit 1; }

check_regions() {
  if [[ "${location,,}" == "${secondary_location,,}" ]]; then
    echo "preflight: the two regions must differ (both are $location); failover needs a second region" >&2
    exit 2
  fi
}

# The models as the deployment will see them: the parameter file, compiled locally.
read_models() {
  capture_local_to "$work/parameters.json" bash scripts/infra/bicep.sh build-params "$parameters" --stdout \
    || fail "could not compile $parameters (bash scripts/infra/bicep.sh build-params $parameters --stdout)"
}

# What Azure offers and what is left, per region, into $work/<region>.models.json / .usage.json.
read_regions() {
  local region
  for region in "$location" "$secondary_location"; do
    if (( dry_run == 1 )); then
      show az cognitiveservices model list --location "$region" --output json
      show az cognitiveservices usage list --location "$region" --output json
    else
      az cognitiveservices model list --location "$region" --output json > "$work/$region.models.json" \
        || fail "az cognitiveservices model list --location $region failed (signed in? az login)"
      show az cognitiveservices model list --location "$region" --output json
      az cognitiveservices usage list --location "$region" --output json > "$work/$region.usage.json" \
        || fail "az cognitiveservices usage list --location $region failed"
      show az cognitiveservices usage list --location "$region" --output json
    fi
  done
}

# This environment's own deployments (a redeploy does not need their quota twice), into
# $work/existing.json as [{ region, deployment }].
read_existing() {
  local resource_group="rg-$env_name" exists name region
  local files=()
  printf '[]' > "$work/existing.json"
  exists="$(capture false az group exists --name "$resource_group")"
  [[ "$exists" == "true" ]] || return 0
  show az cognitiveservices account list --resource-group "$resource_group" \
    --query "[?kind=='OpenAI'].[name, location]" --output tsv
  az cognitiveservices account list --resource-group "$resource_group" \
    --query "[?kind=='OpenAI'].[name, location]" --output tsv > "$work/accounts.tsv"
  while IFS=$'\t' read -r name region; do
    [[ -n "$name" ]] || continue
    show az cognitiveservices account deployment list --resource-group "$resource_group" --name "$name" --output json
    az cognitiveservices account deployment list --resource-group "$resource_group" --name "$name" --output json \
      > "$work/$name.deployments.json"
    files+=("${region//$'\r'/}=$work/$name.deployments.json")
  done < "$work/accounts.tsv"
  OUT="$work/existing.json" node -e '
    const fs = require("fs");
    const out = process.argv.slice(1).flatMap((arg) => {
      const [region, file] = arg.split("=");
      return JSON.parse(fs.readFileSync(file, "utf8")).map((deployment) => ({ region, deployment }));
    });
    fs.writeFileSync(process.env.OUT, JSON.stringify(out));' "${files[@]}"
}

read_soft_deleted() {
  if (( dry_run == 1 )); then
    show az cognitiveservices account list-deleted --output json
    show az keyvault list-deleted --resource-type vault --output json
    return 0
  fi
  show az cognitiveservices account list-deleted --output json
  az cognitiveservices account list-deleted --output json > "$work/deleted-accounts.json" \
    || fail "az cognitiveservices account list-deleted failed"
  show az keyvault list-deleted --resource-type vault --output json
  az keyvault list-deleted --resource-type vault --output json > "$work/deleted-vaults.json" \
    || fail "az keyvault list-deleted failed"
}

decide() {
  # A dry run shows where the files would be, not this run's temporary folder.
  local dir="$work"
  if (( dry_run == 1 )); then dir="<preflight-dir>"; fi
  local args=(
    --parameters "$dir/parameters.json"
    --region "$location=$dir/$location.models.json,$dir/$location.usage.json"
    --region "$secondary_location=$dir/$secondary_location.models.json,$dir/$secondary_location.usage.json"
    --existing "$dir/existing.json"
    --deleted-accounts "$dir/deleted-accounts.json"
    --deleted-vaults "$dir/deleted-vaults.json"
    --resource-group "rg-$env_name"
    --retirement-window-days "$retirement_window_days"
  )
  if [[ -n "$restore_out" ]]; then args+=(--restore-out "$restore_out"); fi
  if (( restore == 1 )); then args+=(--restore); fi
  local rc=0
  run node scripts/infra/preflight.mjs "${args[@]}" || rc=$?
  # 3: soft-deleted resources of this environment were the only problem. At a terminal, ask.
  if (( rc == 3 )) && [[ -t 0 ]]; then
    local answer
    read -r -p "preflight: recover them in place with this deployment (--restore)? [y/N] " answer
    if [[ "$answer" =~ ^[Yy] ]]; then
      args+=(--restore)
      rc=0
      run node scripts/infra/preflight.mjs "${args[@]}" || rc=$?
    fi
  fi
  return "$rc"
}

main() {
  check_regions
  if (( dry_run == 0 )) && ! command -v az > /dev/null 2>&1; then
    fail "the az CLI is not on PATH (https://aka.ms/azure-cli); try --dry-run to see the commands"
  fi
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  read_models
  read_regions
  read_existing
  read_soft_deleted
  decide
}

main
