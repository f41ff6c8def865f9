#!/usr/bin/env bash
# Deploys the chat backend to Azure with the az CLI:
#   1. preflight: model versions GA, not retiring soon, deployable with quota in both regions, no
#                 soft-deleted account or vault in the way (scripts/infra/preflight.sh),
#   2. sign-in:   the API and SPA app registrations chat-api-<env> and chat-web-<env>, created or
#                 reused (az ad app, az ad sp), their client ids passed to the template,
#   3. secrets:   the Key Vault secrets the apps read by reference (chat-response-id-secret,
#                 chat-service-keys), generated only when the vault lacks them, so they are kept,
#   4. what-if:   az deployment sub what-if, the changes the deployment would make,
#   5. infra:     infra/main.bicep + the parameter file at subscription scope (creates the groups),
#   6. redirects: the SPA registration's redirect URIs from the outputs (Front Door or the stamp,
#                 plus /api/web/redirect.html),
#   7. app:       npm run build, a zip of dist/ + host.json + package.json + production node_modules,
#                 published to every stamp's Function App (`az functionapp deploy --type zip`) with
#                 its publishing (scm) site opened to this machine's address for the upload only,
#                 retried with backoff while the app's new role assignments propagate,
#   8. smoke:     GET <API_BASE_URL>/health/deep with the primary stamp's function key: a real model
#                 call per region (Front Door with two stamps).
# Works signed in as a user or as a service principal (az login --service-principal); creating app
# registrations needs the Application Developer role in the directory (or --no-sign-in).
#
# Usage: scripts/infra/deploy.sh [options]
#   --env NAME                 environment name (default: $AZURE_ENV_NAME or chat-dev)
#   --location REGION          primary region (default: $AZURE_LOCATION or eastus2)
#   --secondary-location REG   secondary region (default: $AZURE_SECONDARY_LOCATION or swedencentral)
#   --two-stamps               a second stamp in the secondary region behind Front Door
#                              (default: $CHAT_TWO_STAMPS or false)
#   --parameters FILE          .bicepparam file (default: infra/main.bicepparam)
#   --developer-principal-id ID
#                              object id granted Azure OpenAI (and, with keys on, Key Vault) access for
#                              local runs; pass '' for nobody (default: nobody, unless
#                              --grant-developer-access)
#   --developer-principal-type TYPE
#                              User (default), Group or ServicePrincipal: what that id is
#   --grant-developer-access   grant that access to whoever deploys (deployer())
#   --no-sign-in               no app registrations: callers use function keys only
#                              (default: $CHAT_SIGN_IN or true)
#   --restore                  recover this environment's soft-deleted accounts and vault (asked at a
#                              terminal when the preflight finds them)
#   --what-if                  run the preflight and what-if, then stop
#   --skip-preflight           skip step 1
#   --skip-infra               publish the app to the environment deployed before
#   --skip-app                 deploy the infrastructure only
#   --package ZIP              publish this zip instead of building one
#   --dry-run                  print every command, one per line prefixed '+ ', and run none
#                              (needs neither az nor a login)
# Publishing retries: DEPLOY_PUBLISH_ATTEMPTS (default 10), DEPLOY_PUBLISH_DELAY (first wait in
# seconds, default 15, doubling up to 120). DEPLOY_CLIENT_IP: the address the scm site is opened to
# (default: asked of https://api.ipify.org). Smoke test: DEPLOY_SMOKE_RETRIES (default 10).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

# shellcheck source=scripts/infra/lib.sh
source "$repo_root/scripts/infra/lib.sh"
two_stamps="${CHAT_TWO_STAMPS:-false}"
template="infra/main.bicep"
parameters="infra/main.bicepparam"
developer_args=()
developer_type=""
sign_in="${CHAT_SIGN_IN:-true}"
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
      if [[ -z "${2-}" ]]; then developer_args=(grantDeveloperAccess=false); else developer_args=(grantDeveloperAccess=true developerPrincipalId="$2"); fi
      shift 2 ;;
    --developer-principal-type) developer_type="${2:?--developer-principal-type needs User, Group or ServicePrincipal}"; shift 2 ;;
    --grant-developer-access) developer_args=(grantDeveloperAccess=true); shift ;;
    --no-sign-in) sign_in=false; shift ;;
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
  if [[ "$sign_in" != "true" && "$sign_in" != "false" ]]; then
    echo "deploy: CHAT_SIGN_IN must be true or false, got '$sign_in'" >&2
    exit 2
  fi
  if [[ -n "$developer_type" && ! "$developer_type" =~ ^(User|Group|ServicePrincipal)$ ]]; then
    echo "deploy: --developer-principal-type must be User, Group or ServicePrincipal, got '$developer_type'" >&2
    exit 2
  fi
  if [[ -n "$developer_type" ]]; then developer_args+=(developerPrincipalType="$developer_type"); fi
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

# Reads a value from JSON the az CLI printed: json_value JSON EXPRESSION (a JavaScript expression over
# `j`); prints nothing for undefined.
json_value() {
  node -e 'const j = JSON.parse(process.argv[1] || "null"); const v = new Function("j", `return (${process.argv[2]});`)(j); if (v !== undefined && v !== null) process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));' "$1" "$2"
}

preflight() {
  local args=(--env "$env_name" --location "$location" --secondary-location "$secondary_location" --parameters "$parameters")
  if (( restore == 1 )); then args+=(--restore); fi
  args+=(--restore-out "$restore_file")
  if (( dry_run == 1 )); then args+=(--dry-run); fi
  mkdir -p .deploy
  : > "$restore_file"
  # Shown, then run even in a dry run: it prints its own commands and, dry, runs none of them.
  show bash scripts/infra/preflight.sh "${args[@]}"
  bash scripts/infra/preflight.sh "${args[@]}"
}

# An app registration by display name, created when missing, with its service principal (users are
# issued tokens for an app only once it has one). Sets app_id and app_object_id, and app_json to the
# registration as Microsoft Graph holds it.
ensure_app() {
  local name="$1" found
  found="$(capture '[]' az ad app list --display-name "$name" --output json)"
  app_json="$(json_value "$found" 'j[0]')"
  if [[ -z "$app_json" ]]; then
    app_json="$(capture "{\"appId\":\"<${name}-client-id>\",\"id\":\"<${name}-object-id>\"}" \
      az ad app create --display-name "$name" --sign-in-audience AzureADMyOrg --output json)"
    echo "deploy: created the app registration $name" >&2
  fi
  app_id="$(json_value "$app_json" 'j.appId')"
  app_object_id="$(json_value "$app_json" 'j.id')"
  show az ad sp show --id "$app_id" --output json
  if (( dry_run == 1 )) || ! az ad sp show --id "$app_id" --output json > /dev/null 2>&1; then
    capture '{}' az ad sp create --id "$app_id" --output json > /dev/null
  fi
}

# The API registration (tokens for it carry its client id as aud: v2 tokens, scope `chat`) and the
# SPA registration the demo page signs in with. Reused when they exist: the same ids on every run.
sign_in_registrations() {
  ensure_app "chat-api-$env_name"
  auth_client_id="$app_id"
  if [[ "$(json_value "$app_json" '(j.api?.oauth2PermissionScopes ?? []).length')" == "0" ]] || (( dry_run == 1 )); then
    run az ad app update --id "$app_id" --identifier-uris "api://$app_id"
    local scope_id body
    scope_id="$(node -e 'process.stdout.write(require("crypto").randomUUID())')"
    (( dry_run == 1 )) && scope_id="<new-scope-id>"
    body="$(node -e 'process.stdout.write(JSON.stringify({ api: { requestedAccessTokenVersion: 2, oauth2PermissionScopes: [{ id: process.argv[1], value: "chat", type: "User", isEnabled: true, adminConsentDisplayName: "Chat", adminConsentDescription: "Use the chat backend as the signed-in user.", userConsentDisplayName: "Chat", userConsentDescription: "Use the chat backend as you." }] } }))' "$scope_id")"
    run az rest --method PATCH --uri "https://graph.microsoft.com/v1.0/applications/$app_object_id" \
      --headers Content-Type=application/json --body "$body"
  fi
  ensure_app "chat-web-$env_name"
  web_client_id="$app_id"
  web_object_id="$app_object_id"
  web_redirect_uris="$(json_value "$app_json" 'j.spa?.redirectUris ?? []')"
  echo "deploy: sign-in with the API registration $auth_client_id and the SPA registration $web_client_id" >&2
}

# The SPA registration's redirect URIs: where the demo page is served (Front Door with two stamps,
# the stamp with one) plus the MSAL redirect bridge, keeping any already there (e.g. localhost).
set_redirect_uris() {
  local base="$1" body
  body="$(node -e 'const [existing, base] = process.argv.slice(1); const uris = new Set([...JSON.parse(existing || "[]"), `${base}/api/web/`, `${base}/api/web/redirect.html`]); process.stdout.write(JSON.stringify({ spa: { redirectUris: [...uris] } }));' "${web_redirect_uris:-[]}" "$base")"
  run az rest --method PATCH --uri "https://graph.microsoft.com/v1.0/applications/$web_object_id" \
    --headers Content-Type=application/json --body "$body"
}

# The secrets the apps read by Key Vault reference, made once: a secret the vault of the earlier
# deployment already holds is not passed again (the check reads its id, never its value), so ids
# signed before keep working and nothing restarts. New ones go to the template through a parameter
# file only this user can read, removed after the deployment.
new_secrets() {
  local previous vault_id name parameter value
  secrets_file=""
  previous="$(capture '' az deployment sub show --name "$deployment_name" --query properties.outputs --output json 2> /dev/null)" || previous=""
  vault_id="$(json_value "${previous:-null}" 'j?.KEY_VAULT_ID?.value')"
  local -A wanted=([chat-response-id-secret]=newResponseIdSecret [chat-service-keys]=newServiceKeys)
  local values=()
  for name in chat-response-id-secret chat-service-keys; do
    parameter="${wanted[$name]}"
    if [[ -n "$vault_id" ]] && capture '' az resource show --ids "$vault_id/secrets/$name" --query id --output tsv > /dev/null 2>&1; then
      continue
    fi
    value="$(node -e 'process.stdout.write(require("crypto").randomBytes(48).toString("base64url"))')"
    values+=("$parameter" "$value")
    echo "deploy: generating the Key Vault secret $name (first deployment of this vault)" >&2
  done
  if (( ${#values[@]} > 0 )); then
    secrets_file=".deploy/secrets.parameters.json"
    mkdir -p .deploy
    ( umask 077; node -e 'const a = process.argv.slice(1); const p = {}; for (let i = 0; i < a.length; i += 2) p[a[i]] = { value: a[i + 1] }; process.stdout.write(JSON.stringify({ $schema: "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#", contentVersion: "1.0.0.0", parameters: p }));' "${values[@]}" > "$secrets_file" )
  fi
}

# The parameters both what-if and the deployment get.
deployment_parameters() {
  deploy_params=(
    environmentName="$env_name" primaryLocation="$location" secondaryLocation="$secondary_location"
    twoStamps="$two_stamps" "${developer_args[@]}"
  )
  if [[ "$sign_in" == "true" ]]; then deploy_params+=(authClientId="$auth_client_id" webClientId="$web_client_id"); fi
  local names
  names="$(node -e 'const fs = require("fs"); const f = process.argv[1]; const n = fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter(Boolean) : []; process.stdout.write(JSON.stringify(n));' "$restore_file")"
  if (( dry_run == 1 && restore == 1 )); then names='<soft-deleted-names>'; fi
  if [[ "$names" != "[]" ]]; then deploy_params+=(restoreSoftDeleted="$names"); fi
  secret_params=()
  if [[ -n "$secrets_file" ]]; then secret_params=(--parameters "@$secrets_file"); fi
}

what_if() {
  run az deployment sub what-if \
    --name "$deployment_name" \
    --location "$location" \
    --template-file "$template" \
    --parameters "$parameters" \
    --parameters "${deploy_params[@]}" \
    "${secret_params[@]}"
}

provision() {
  capture '{}' az deployment sub create \
    --name "$deployment_name" \
    --location "$location" \
    --template-file "$template" \
    --parameters "$parameters" \
    --parameters "${deploy_params[@]}" \
    "${secret_params[@]}" \
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
  local app="$1" group="$2" attempt delay
  local cmd=(az functionapp deploy --resource-group "$group" --name "$app" --src-path "$package" --type zip)
  open_scm "$app" "$group"
  show "${cmd[@]}"
  if (( dry_run == 1 )); then
    printf '  (retried up to %s times, %ss doubling to 120s apart, while new role assignments propagate)\n' \
      "$publish_attempts" "$publish_delay"
    close_scm
    return 0
  fi
  for (( attempt = 1; ; attempt++ )); do
    if "${cmd[@]}"; then
      echo "deploy: published to $app (attempt $attempt)" >&2
      close_scm
      return 0
    fi
    if (( attempt >= publish_attempts )); then
      close_scm
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

# The publishing (scm) site denies everyone (infra/modules/functionapp.bicep); one rule lets this
# machine upload, removed after the upload (and on exit, if the script stops half-way).
scm_open_app=""
scm_open_group=""
open_scm() {
  local app="$1" group="$2"
  if [[ -z "${client_ip:-}" ]]; then
    client_ip="${DEPLOY_CLIENT_IP:-}"
    if [[ -z "$client_ip" ]]; then client_ip="$(capture '<this-machine-ip>' curl -fsS --max-time 10 https://api.ipify.org)"; fi
  fi
  run az functionapp config access-restriction add --resource-group "$group" --name "$app" --scm-site true \
    --rule-name deploy-client --action Allow --ip-address "$client_ip/32" --priority 100 --output none
  scm_open_app="$app"
  scm_open_group="$group"
}
close_scm() {
  [[ -n "$scm_open_app" ]] || return 0
  run az functionapp config access-restriction remove --resource-group "$scm_open_group" --name "$scm_open_app" \
    --scm-site true --rule-name deploy-client --output none || true
  scm_open_app=""
}

# GET /api/health/deep with the primary stamp's default function key: it asks each region for a
# token and a one-token answer, so it fails on what /api/health cannot see (roles not yet applied,
# a missing deployment, no quota). The key goes to curl on stdin, not on its command line.
smoke_test() {
  local key retries="${DEPLOY_SMOKE_RETRIES:-10}"
  echo "Endpoint: $api_url"
  key="$(capture '<function-key>' az functionapp keys list --resource-group "$primary_group" --name "${apps[0]}" \
    --query functionKeys.default --output tsv)"
  echo "Smoke test: curl -fsS -H 'x-functions-key: <function key>' $api_url/health/deep"
  show curl -fsS --max-time 120 --retry "$retries" --retry-delay 6 --retry-all-errors --config - "$api_url/health/deep"
  if (( dry_run == 1 )); then return 0; fi
  # A fresh Flex app (and a new Front Door endpoint) can take minutes to answer; reported, not fatal.
  if ! printf 'header = "x-functions-key: %s"\n' "$key" |
    curl -fsS --max-time 120 --retry "$retries" --retry-delay 6 --retry-all-errors --config - "$api_url/health/deep"; then
    echo >&2
    echo "deploy: the deep health check did not pass yet. If it reports PermissionDenied, the role assignments" >&2
    echo "        are still propagating (5-15 minutes); a new Front Door endpoint can take as long. Retry with" >&2
    echo "        the key from: az functionapp keys list --resource-group $primary_group --name ${apps[0]}" >&2
  else
    echo
    echo "deploy: smoke test passed: every region answered /api/health/deep" >&2
  fi
}

main() {
  validate
  local outputs
  trap 'close_scm; rm -f .deploy/secrets.parameters.json' EXIT
  auth_client_id=""
  web_client_id=""
  web_object_id=""
  if (( skip_infra == 0 )); then
    if (( skip_preflight == 0 )); then preflight; fi
    if [[ "$sign_in" == "true" ]]; then sign_in_registrations; fi
    new_secrets
    deployment_parameters
    what_if
    if (( what_if_only == 1 )); then
      echo "deploy: what-if only (--what-if); nothing was deployed" >&2
      return 0
    fi
    outputs="$(provision)"
    if [[ -n "$secrets_file" ]]; then rm -f "$secrets_file"; fi
  else
    outputs="$(capture '{}' az deployment sub show --name "$deployment_name" --query properties.outputs --output json)"
  fi

  apps=()
  local groups=() site_base
  if (( dry_run == 1 )); then
    apps=("<FUNCTION_APP_NAME>")
    groups=("<RESOURCE_GROUP>")
    if [[ "$two_stamps" == "true" ]]; then apps+=("<FUNCTION_APP_NAME_2>"); groups+=("<RESOURCE_GROUP_2>"); fi
    api_url="<API_BASE_URL>"
  else
    mapfile -t apps < <(output_value "$outputs" FUNCTION_APP_NAMES)
    mapfile -t groups < <(output_value "$outputs" FUNCTION_APP_RESOURCE_GROUPS)
    api_url="$(output_value "$outputs" API_BASE_URL)"
    echo "deploy: infrastructure ready in ${groups[*]} (${#apps[@]} stamp(s)); new role assignments take 5-15 minutes to apply" >&2
  fi
  primary_group="${groups[0]}"
  # Where the demo page is served: the API base without /api.
  site_base="${api_url%/api}"

  if [[ "$sign_in" == "true" && -n "$web_object_id" ]]; then set_redirect_uris "$site_base"; fi

  if (( skip_app == 0 )); then
    if [[ -z "$package" ]]; then build_package; fi
    local i
    for i in "${!apps[@]}"; do publish "${apps[$i]}" "${groups[$i]}"; done
  fi
  smoke_test
}

main
