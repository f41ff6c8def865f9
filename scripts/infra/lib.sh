# Shared by deploy.sh and preflight.sh (sourced, not run): the environment's defaults, and how
# commands are shown and run. The commands need: dry_run (0 or 1). Commands are shown on fd 3, opened here on stdout, so the ones whose
# output is captured show in order too.

exec 3>&1

# The azd environment and the two regions, unless the environment names others (the same in both).
env_name="${AZURE_ENV_NAME:-chat-dev}"
location="${AZURE_LOCATION:-eastus2}"
secondary_location="${AZURE_SECONDARY_LOCATION:-swedencentral}"

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

# Runs a command that produces a value into FILE (also in a dry run: for local, read-only commands
# whose result the rest of the dry run needs).
capture_local_to() {
  local file="$1"; shift
  show "$@"
  "$@" > "$file"
}
