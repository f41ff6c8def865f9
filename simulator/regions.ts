// Display names as Azure sends them in `x-ms-region` (e.g. "East US 2", "North Central US" in the captures).
const DISPLAY_NAMES: Readonly<Record<string, string>> = {
  australiaeast: 'Australia East',
  brazilsouth: 'Brazil South',
  canadaeast: 'Canada East',
  eastus: 'East US',
  eastus2: 'East US 2',
  francecentral: 'France Central',
  germanywestcentral: 'Germany West Central',
  japaneast: 'Japan East',
  koreacentral: 'Korea Central',
  northcentralus: 'North Central US',
  norwayeast: 'Norway East',
  southafricanorth: 'South Africa North',
  southcentralus: 'South Central US',
  southindia: 'South India',
  swedencentral: 'Sweden Central',
  switzerlandnorth: 'Switzerland North',
  uksouth: 'UK South',
  westeurope: 'West Europe',
  westus: 'West US',
  westus3: 'West US 3',
};

/** Display name of an Azure region (`eastus2` -> `East US 2`); unknown names are returned unchanged. */
export function regionDisplayName(region: string): string {
  return DISPLAY_NAMES[region.toLowerCase()] ?? region;
}
