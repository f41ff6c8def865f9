#!/usr/bin/env bash
# Installs the pinned Bicep CLI from the NuGet package Azure.Bicep.CommandLine.linux-x64 into
# .bicep/ (gitignored) with `dotnet restore`, and prints the path of the executable.
#
# Why NuGet and not `az bicep install`: the az CLI downloads Bicep from GitHub releases, which CI and
# these machines cannot reach; NuGet is a package registry they can. The package ships the
# self-contained native executable at tools/bicep.
#
# Usage: bash .ci/install-bicep.sh            -> prints /abs/path/.bicep/.../tools/bicep
#        BICEP_VERSION=0.48.1 bash .ci/install-bicep.sh
set -euo pipefail

readonly BICEP_VERSION="${BICEP_VERSION:-0.49.2}"
readonly PACKAGE_ID="Azure.Bicep.CommandLine.linux-x64"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bicep_dir="${BICEP_HOME:-$repo_root/.bicep}"
packages_dir="$bicep_dir/packages"
# NuGet lower-cases the id and version in the global-packages folder layout.
package_id_lower="$(printf '%s' "$PACKAGE_ID" | tr '[:upper:]' '[:lower:]')"
exe="$packages_dir/$package_id_lower/$BICEP_VERSION/tools/bicep"

if [[ ! -x "$exe" ]]; then
  if ! command -v dotnet > /dev/null 2>&1; then
    echo "install-bicep: dotnet is not on PATH; it is needed to restore $PACKAGE_ID $BICEP_VERSION" >&2
    exit 1
  fi
  project_dir="$bicep_dir/restore"
  mkdir -p "$project_dir" "$packages_dir"
  # A throwaway project whose only job is PackageDownload: it fetches the package as-is, without
  # resolving it against a target framework or adding it to any real project.
  cat > "$project_dir/restore.csproj" <<CSPROJ
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net$(dotnet --version | cut -d. -f1,2)</TargetFramework>
    <DisableImplicitNuGetFallbackFolder>true</DisableImplicitNuGetFallbackFolder>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="$PACKAGE_ID" Version="[$BICEP_VERSION]" />
  </ItemGroup>
</Project>
CSPROJ
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 \
    dotnet restore "$project_dir/restore.csproj" --packages "$packages_dir" --verbosity quiet >&2
  if [[ ! -f "$exe" ]]; then
    echo "install-bicep: restore finished but $exe is missing" >&2
    exit 1
  fi
  chmod +x "$exe"
fi

printf '%s\n' "$exe"
