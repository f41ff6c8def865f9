#!/usr/bin/env bash
# Deploys the chat backend to Azure with the az CLI:
#   1. infra: infra/main.bicep + infra/main.bicepparam at subscription scope (creates rg-<env>),
#   2. app:   npm run build, a zip of dist/ + host.json + package.json + production node_modules,
#             published with one deploy (`az functionapp deploy --type zip`), the method Flex
#             Consumption supports,
#   3. smoke: GET <app>/api/health.
#
# Usage: scripts/infra/deploy.sh [options]
#   --env NAME                 environment name (default: $AZURE_ENV_NAME or chat-dev)
#   --location REGION          primary region (default: $AZURE_LOCATION or eastus2)
#   --secondary-location REG   secondary region (default: $AZURE_SECONDARY_LOCATION or swedencentral)
#   --parameters FILE          .bicepparam file (default: infra/main.bicepparam)
#   --developer-principal-id ID
#                              object id granted Key Vault and Azure OpenAI access for local runs
#                              (default: the signed-in user; pass '' for none)
#   --skip-infra               publish the app to the environment deployed before
#   --skip-app                 deploy the infrastructure only
#   --dry-run                  print every command, one per line prefixed '+ ', and run none
#                              (needs neither az nor a login)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

env_name="${AZURE_ENV_NAME:-chat-dev}"
location="${AZURE_LOCATION:-eastus2}"
secondary_location="${AZURE_SECONDARY_LOCATION:-swedencentral}"
template="infra/main.bicep"
parameters="infra/main.bicepparam"
developer_principal_id="${AZURE_PRINCIPAL_ID-__signed_in_user__}"
skip_infra=0
skip_app=0
dry_run=0

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while (( $# > 0 )); do
  case "$1" in
    --env) env_name="${2:?--env needs a value}"; shift 2 ;;
    --location) location="${2:?--location needs a value}"; shift 2 ;;
    --secondary-location) secondary_location="${2:?--secondary-location needs a value}"; shift 2 ;;
    --parameters) parameters="${2:?--parameters needs a file}"; shift 2 ;;
    --developer-principal-id) developer_principal_id="${2-}"; shift 2 ;;
    --skip-infra) skip_infra=1; shift ;;
    --skip-app) skip_app=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "deploy: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

if [[ ! "$env_name" =~ ^[A-Za-z0-9-]{1,32}$ ]]; then
  echo "deploy: --env must be 1-32 letters, digits or dashes, got '$env_name'" >&2
  exit 2
fi
if [[ "$location" == "$secondary_location" ]]; then
  echo "deploy: the two regions must differ (both are $location); failover needs a second region" >&2
  exit 2
fi

# One subscription-scope deployment per environment; write-local-settings.sh reads it back by this name.
deployment_name="${env_name}"
staging=".deploy/app"
package=".deploy/app.zip"

# Commands are shown on fd 3 (stdout), so the ones whose output is captured show in order too.
exec 3>&1
# Shows a command the way it runs: '+ ' then the words, shell-quoted where needed. Dry-run
# placeholders such as <FUNCTION_APP_NAME> are shown as they are.
show() {
  local out="+" word
  for word in "$@"; do
    if [[ "$word" =~ ^[A-Za-z0-9_./:=@,+%\<\>-]+$ ]]; then out+=" $word"; else out+=" $(printf '%q' "$word")"; fi
  done
  printf '%s\n' "$out" >&3
}
# Runs a command, or only shows it in a dry run.
run() {
  show "$@"
  if (( dry_run == 0 )); then "$@"; fi
}
# Runs a command in a folder: shown as '+ (cd DIR && COMMAND)'.
run_in() {
  local dir="$1"; shift
  local shown
  shown="$(show "$@" 3>&1)"
  printf '+ (cd %s && %s)\n' "$dir" "${shown#+ }" >&3
  if (( dry_run == 0 )); then (cd "$dir" && "$@"); fi
}
# Runs a command that produces a value; a dry run shows it and yields the placeholder instead.
capture() {
  local placeholder="$1"; shift
  show "$@"
  if (( dry_run == 1 )); then printf '%s' "$placeholder"; else "$@"; fi
}
# Reads one output value from the deployment outputs JSON (node is here: the project needs it).
output_value() {
  node -e 'const o = JSON.parse(process.argv[1]); const v = o[process.argv[2]]; if (!v) { console.error(`deploy: output ${process.argv[2]} missing`); process.exit(1); } process.stdout.write(String(v.value));' "$1" "$2"
}

if (( dry_run == 0 )) && ! command -v az > /dev/null 2>&1; then
  echo "deploy: the az CLI is not on PATH (https://aka.ms/azure-cli); try --dry-run to see the commands" >&2
  exit 1
fi

if (( skip_infra == 0 )); then
  if [[ "$developer_principal_id" == "__signed_in_user__" ]]; then
    # Grants the person deploying read access to the keys and the models, for local runs.
    developer_principal_id="$(capture '<signed-in-user-object-id>' az ad signed-in-user show --query id --output tsv)"
  fi
  outputs="$(capture '{}' az deployment sub create \
    --name "$deployment_name" \
    --location "$location" \
    --template-file "$template" \
    --parameters "$parameters" \
    --parameters environmentName="$env_name" primaryLocation="$location" \
      secondaryLocation="$secondary_location" developerPrincipalId="$developer_principal_id" \
    --query properties.outputs \
    --output json)"
else
  outputs="$(capture '{}' az deployment sub show --name "$deployment_name" --query properties.outputs --output json)"
fi

if (( dry_run == 1 )); then
  resource_group="<RESOURCE_GROUP>"
  app_name="<FUNCTION_APP_NAME>"
  app_url="<FUNCTION_APP_URL>"
else
  resource_group="$(output_value "$outputs" RESOURCE_GROUP)"
  app_name="$(output_value "$outputs" FUNCTION_APP_NAME)"
  app_url="$(output_value "$outputs" FUNCTION_APP_URL)"
  echo "deploy: infrastructure ready in $resource_group; new role assignments take 5-15 minutes to apply" >&2
fi

if (( skip_app == 0 )); then
  # The deployable files only: compiled functions and shared code, host.json, package.json and the
  # production dependencies, installed from the lock file in a clean staging folder.
  run npm run build
  run rm -rf "$staging" "$package"
  run mkdir -p "$staging/dist"
  run cp -R dist/functions dist/shared "$staging/dist/"
  run cp -R host.json package.json package-lock.json web "$staging/"
  run npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefix "$staging"
  run_in "$staging" zip -qr ../app.zip .
  run az functionapp deploy \
    --resource-group "$resource_group" \
    --name "$app_name" \
    --src-path "$package" \
    --type zip
fi

echo "Endpoint: $app_url/api"
echo "Smoke test: curl -fsS $app_url/api/health"
if (( skip_app == 0 )); then
  # A fresh Flex app can take a minute to start; a failure here is reported, not fatal.
  if (( dry_run == 1 )); then
    show curl -fsS --retry 10 --retry-delay 6 --retry-all-errors "$app_url/api/health"
  elif ! run curl -fsS --retry 10 --retry-delay 6 --retry-all-errors "$app_url/api/health"; then
    echo "deploy: the health check did not answer yet. If it reports PermissionDenied, the role assignments" >&2
    echo "        are still propagating (5-15 minutes); retry: curl -fsS $app_url/api/health" >&2
  else
    echo
  fi
fi
