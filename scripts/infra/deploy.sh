#!/usr/bin/env bash
# Deploys the chat backend to Azure with the az CLI:
#   1. preflight: model versions deployable and quota left in both regions, no soft-deleted account
#      or vault in the way (scripts/infra/preflight.sh),
#   2. what-if:   az deployment sub what-if, the changes the deployment would make,
#   3. infra:     infra/main.bicep + the parameter file at subscription scope (creates rg-<env>),
#   4. app:       npm run build, a zip of dist/ + host.json + package.json + production node_modules,
#                 published to every stamp's Function App with one deploy (`az functionapp deploy
#                 --type zip`), retried with backoff while the app's new role assignments propagate,
#   5. smoke:     GET <API_BASE_URL>/health (Front Door with two stamps).
# Works signed in as a user or as a service principal (az login --service-principal): developer
# access goes to whoever deploys through deployer() in the template, nothing is looked up here.
#
# Usage: scripts/infra/deploy.sh [options]
#   --env NAME                 environment name (default: $AZURE_ENV_NAME or chat-dev)
#   --location REGION          primary region (default: $AZURE_LOCATION or eastus2)
#   --secondary-location REG   secondary region (default: $AZURE_SECONDARY_LOCATION or swedencentral)
#   --two-stamps               a second stamp in the secondary region behind Front Door
#                              (default: $CHAT_TWO_STAMPS or false)
#   --parameters FILE          .bicepparam file (default: infra/main.bicepparam)
#   --developer-principal-id ID
#                              object id granted Azure OpenAI (and Key Vault) access for local runs
#                              (default: whoever deploys; pass '' for nobody)
#   --restore                  recover this environment's soft-deleted accounts and vault
#   --what-if                  run the preflight and what-if, then stop
#   --skip-preflight           skip step 1
#   --skip-infra               publish the app to the environment deployed before
#   --skip-app                 deploy the infrastructure only
#   --package ZIP              publish this zip instead of building one
#   --dry-run                  print every command, one per line prefixed '+ ', and run none
#                              (needs neither az nor a login)
# Publishing retries: DEPLOY_PUBLISH_ATTEMPTS (default 10), DEPLOY_PUBLISH_DELAY (first wait in
# seconds, default 15, doubling up to 120).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

# shellcheck source=scripts/infra/lib.sh
source "$repo_root/scripts/infra/lib.sh"
two_stamps="${CHAT_TWO_STAMPS:-false}"
template="infra/main.bicep"
parameters="infra/main.bicepparam"
developer_args=()
restore=0
what_if_only=0
skip_preflight=0
skip_infra=0
skip_app=0
package=""
dry_run=0
publish_attempts="${DEPLOY_PUBLISH_ATTEMPTS:-10}"
publish_delay="${DEPLOY_PUBLISH_DELAY:-15}"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while (( $# > 0 )); do
  case "$1" in
    --env) env_name="${2:?--env needs a value}"; shift 2 ;;
    --location) location="${2:?--location needs a value}"; shift 2 ;;
    --secondary-location) secondary_location="${2:?--secondary-location needs a value}"; shift 2 ;;
    --two-stamps) two_stamps=true; shift ;;
    --parameters) parameters="${2:?--parameters needs a file}"; shift 2 ;;
    --developer-principal-id)
      if [[ -z "${2-}" ]]; then developer_args=(grantDeveloperAccess=false); else developer_args=(developerPrincipalId="$2"); fi
      shift 2 ;;
    --restore) restore=1; shift ;;
    --what-if) what_if_only=1; shift ;;
    --skip-preflight) skip_preflight=1; shift ;;
    --skip-infra) skip_infra=1; shift ;;
    --skip-app) skip_app=1; shift ;;
    --package) package="${2:?--package needs a zip}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "deploy: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done


# One subscription-scope deployment per environment; write-local-settings.sh reads it back by this name.
deployment_name="${env_name}"
staging=".deploy/app"
restore_file=".deploy/restore.txt"

validate() {
  if [[ ! "$env_name" =~ ^[A-Za-z0-9-]{1,32}$ ]]; then
    echo "deploy: --env must be 1-32 letters, digits or dashes, got '$env_name'" >&2
    exit 2
  fi
  if [[ "${location,,}" == "${secondary_location,,}" ]]; then
    echo "deploy: the two regions must differ (both are $location); failover needs a second region" >&2
    exit 2
  fi
  if [[ "$two_stamps" != "true" && "$two_stamps" != "false" ]]; then
    echo "deploy: CHAT_TWO_STAMPS must be true or false, got '$two_stamps'" >&2
    exit 2
  fi
  if (( dry_run == 0 )) && ! command -v az > /dev/null 2>&1; then
    echo "deploy: the az CLI is not on PATH (https://aka.ms/azure-cli); try --dry-run to see the commands" >&2
    exit 1
  fi
}

# Reads one output value from the deployment outputs JSON (node is here: the project needs it);
# an array is printed one item per line.
output_value() {
  node -e 'const o = JSON.parse(process.argv[1]); const v = o[process.argv[2]]; if (!v) { console.error(`deploy: output ${process.argv[2]} missing; was the infrastructure deployed?`); process.exit(1); } process.stdout.write(Array.isArray(v.value) ? v.value.join("\n") : String(v.value));' "$1" "$2"
}

preflight() {
  local args=(--env "$env_name" --location "$location" --secondary-location "$secondary_location" --parameters "$parameters")
  if (( restore == 1 )); then args+=(--restore --restore-out "$restore_file"); fi
  if (( dry_run == 1 )); then args+=(--dry-run); fi
  mkdir -p .deploy
  : > "$restore_file"
  # Shown, then run even in a dry run: it prints its own commands and, dry, runs none of them.
  show bash scripts/infra/preflight.sh "${args[@]}"
  bash scripts/infra/preflight.sh "${args[@]}"
}

# The parameters both what-if and the deployment get.
deployment_parameters() {
  deploy_params=(
    environmentName="$env_name" primaryLocation="$location" secondaryLocation="$secondary_location"
    twoStamps="$two_stamps" "${developer_args[@]}"
  )
  if (( restore == 1 )); then
    local names
    names="$(node -e 'const fs = require("fs"); const f = process.argv[1]; const n = fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter(Boolean) : []; process.stdout.write(JSON.stringify(n));' "$restore_file")"
    if (( dry_run == 1 )); then names='<soft-deleted-names>'; fi
    deploy_params+=(restoreSoftDeleted="$names")
  fi
}

what_if() {
  run az deployment sub what-if \
    --name "$deployment_name" \
    --location "$location" \
    --template-file "$template" \
    --parameters "$parameters" \
    --parameters "${deploy_params[@]}"
}

provision() {
  capture '{}' az deployment sub create \
    --name "$deployment_name" \
    --location "$location" \
    --template-file "$template" \
    --parameters "$parameters" \
    --parameters "${deploy_params[@]}" \
    --query properties.outputs \
    --output json
}

# The deployable files only: compiled functions and shared code, host.json, package.json and the
# production dependencies, installed from the lock file in a clean staging folder.
build_package() {
  package=".deploy/app.zip"
  run npm run build
  run rm -rf "$staging" "$package"
  run mkdir -p "$staging/dist"
  run cp -R dist/functions dist/shared "$staging/dist/"
  run cp -R host.json package.json package-lock.json web "$staging/"
  run npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefix "$staging"
  run_in "$staging" zip -qr ../app.zip .
}

# Seconds to wait after failed attempt N (1-based): the first delay, doubling, at most 120.
publish_backoff() {
  local attempt="$1" delay="$publish_delay" i
  for (( i = 1; i < attempt; i++ )); do delay=$(( delay * 2 )); done
  (( delay > 120 )) && delay=120
  printf '%s' "$delay"
}

# Publishes the package to one app. The first publish to a new app often fails with 403 while its
# identity's Storage Blob Data Owner assignment propagates (5-15 minutes): retried, bounded.
publish() {
  local app="$1" attempt delay
  local cmd=(az functionapp deploy --resource-group "$resource_group" --name "$app" --src-path "$package" --type zip)
  show "${cmd[@]}"
  if (( dry_run == 1 )); then
    printf '  (retried up to %s times, %ss doubling to 120s apart, while new role assignments propagate)\n' \
      "$publish_attempts" "$publish_delay"
    return 0
  fi
  for (( attempt = 1; ; attempt++ )); do
    if "${cmd[@]}"; then
      echo "deploy: published to $app (attempt $attempt)" >&2
      return 0
    fi
    if (( attempt >= publish_attempts )); then
      echo "deploy: publishing to $app failed $attempt times. If the errors above say 403 or AuthorizationFailure," >&2
      echo "        the app's role assignments are still propagating: rerun with --skip-infra in a few minutes." >&2
      return 1
    fi
    delay="$(publish_backoff "$attempt")"
    echo "deploy: publish to $app failed (attempt $attempt of $publish_attempts); role assignments can take" \
      "5-15 minutes to apply; retrying in ${delay}s" >&2
    sleep "$delay"
  done
}

smoke_test() {
  echo "Endpoint: $api_url"
  echo "Smoke test: curl -fsS $api_url/health"
  # A fresh Flex app (and a new Front Door endpoint) can take minutes to answer; reported, not fatal.
  if (( dry_run == 1 )); then
    show curl -fsS --retry 10 --retry-delay 6 --retry-all-errors "$api_url/health"
  elif ! run curl -fsS --retry 10 --retry-delay 6 --retry-all-errors "$api_url/health"; then
    echo "deploy: the health check did not answer yet. If it reports PermissionDenied, the role assignments" >&2
    echo "        are still propagating (5-15 minutes); a new Front Door endpoint can take as long. Retry:" >&2
    echo "        curl -fsS $api_url/health" >&2
  else
    echo
  fi
}

main() {
  validate
  local outputs
  if (( skip_infra == 0 )); then
    if (( skip_preflight == 0 )); then preflight; fi
    deployment_parameters
    what_if
    if (( what_if_only == 1 )); then
      echo "deploy: what-if only (--what-if); nothing was deployed" >&2
      return 0
    fi
    outputs="$(provision)"
  else
    outputs="$(capture '{}' az deployment sub show --name "$deployment_name" --query properties.outputs --output json)"
  fi

  local apps=()
  if (( dry_run == 1 )); then
    resource_group="<RESOURCE_GROUP>"
    apps=("<FUNCTION_APP_NAME>")
    if [[ "$two_stamps" == "true" ]]; then apps+=("<FUNCTION_APP_NAME_2>"); fi
    api_url="<API_BASE_URL>"
  else
    resource_group="$(output_value "$outputs" RESOURCE_GROUP)"
    mapfile -t apps < <(output_value "$outputs" FUNCTION_APP_NAMES)
    api_url="$(output_value "$outputs" API_BASE_URL)"
    echo "deploy: infrastructure ready in $resource_group (${#apps[@]} stamp(s)); new role assignments take 5-15 minutes to apply" >&2
  fi

  if (( skip_app == 0 )); then
    if [[ -z "$package" ]]; then build_package; fi
    local app
    for app in "${apps[@]}"; do publish "$app"; done
  fi
  smoke_test
}

main
