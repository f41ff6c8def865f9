/* global console, process -- Node globals; the repo ESLint config declares none for .mjs files. */
// The decisions of scripts/infra/preflight.sh, from the JSON the az CLI returned: is every pinned
// model version deployable in each region for its SKU, is there quota for it, and does a soft-deleted
// account or vault of this environment block a name. Prints one clear line per problem and exits 1
// when there is one; exit 0 means the deployment can start.
//
// Usage: node scripts/infra/preflight.mjs --parameters FILE (bicep build-params output, either shape)
//          --region NAME=MODELS.json,USAGE.json (once per region)
//          [--existing FILE] [--deleted-accounts FILE] [--deleted-vaults FILE] --resource-group RG
//          [--restore] [--restore-out FILE] [--now ISO-DATE] [--retirement-window-days N]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    parameters: { type: 'string' },
    region: { type: 'string', multiple: true, default: [] },
    existing: { type: 'string' },
    'deleted-accounts': { type: 'string' },
    'deleted-vaults': { type: 'string' },
    'resource-group': { type: 'string' },
    restore: { type: 'boolean', default: false },
    'restore-out': { type: 'string' },
    now: { type: 'string' },
    'retirement-window-days': { type: 'string', default: '60' },
  },
});

const readJson = (file, fallback) => (file && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : fallback);
const now = args.now ? new Date(args.now) : new Date();
const day = (iso) => String(iso).slice(0, 10);
const problems = [];
const notes = [];

const windowDays = Number(args['retirement-window-days']);
if (!Number.isInteger(windowDays) || windowDays < 0) {
  console.error(
    `preflight: --retirement-window-days must be a whole number of days, got '${args['retirement-window-days']}'`,
  );
  process.exit(2);
}
const windowEnd = new Date(now.getTime() + windowDays * 86_400_000);

const parameters = compiledParameters(readJson(args.parameters, {}));
const models = parameters.models?.value ?? [];
if (models.length === 0) problems.push(`no models in ${args.parameters}: is it the compiled parameter file?`);

// What this environment already holds, per region and usage name (a redeploy needs no new quota).
const held = new Map();
for (const { region, deployment } of readJson(args.existing, [])) {
  const name = deployment?.properties?.model?.name;
  const sku = deployment?.sku?.name;
  const key = `${region.toLowerCase()}|OpenAI.${sku}.${name}`;
  held.set(key, (held.get(key) ?? 0) + (deployment?.sku?.capacity ?? 0));
}

for (const spec of args.region) {
  const [region, files] = spec.split('=');
  const [modelsFile, usageFile] = files.split(',');
  const offered = readJson(modelsFile, []);
  const usages = readJson(usageFile, []);
  for (const m of models) {
    const what = `${m.modelName} ${m.modelVersion} (${m.skuName}) in ${region}`;
    const sameName = offered.filter((o) => o.model?.name === m.modelName && o.model?.format === 'OpenAI');
    const entry = sameName.find((o) => o.model?.version === m.modelVersion);
    const sku = entry?.model?.skus?.find((s) => s.name === m.skuName);
    if (!entry || !sku) {
      const versions = [
        ...new Set(
          sameName
            .filter((o) => o.model?.skus?.some((s) => s.name === m.skuName) && !retired(o.model, now))
            .map((o) => o.model.version),
        ),
      ].sort();
      problems.push(
        `${what} cannot be deployed: ${entry ? `not as ${m.skuName}` : 'that version is not offered there'}. ` +
          (versions.length > 0
            ? `Versions offered as ${m.skuName}: ${versions.join(', ')}; set modelVersion in the parameter file.`
            : `No version of ${m.modelName} is offered there as ${m.skuName}: choose another model, SKU or region.`),
      );
      continue;
    }
    const lifecycle = lifecycleProblem(entry.model, sku, now, windowEnd);
    if (lifecycle) {
      problems.push(`${what} ${lifecycle}; pin a current GA version in the parameter file.`);
      continue;
    }
    const usageName = sku.usageName ?? `OpenAI.${m.skuName}.${m.modelName}`;
    const usage = usages.find((u) => u.name?.value === usageName);
    if (!usage) {
      problems.push(
        `${what}: the subscription has no quota named ${usageName} there; request it (https://aka.ms/oai/quotaincrease).`,
      );
      continue;
    }
    const mine = held.get(`${region.toLowerCase()}|${usageName}`) ?? 0;
    const free = usage.limit - usage.currentValue + mine;
    if (free < m.capacity) {
      problems.push(
        `${what} needs ${m.capacity} (thousand tokens per minute) of ${usageName}; ${free} free of ${usage.limit} ` +
          `(${usage.currentValue} in use${mine ? `, ${mine} of it by this environment` : ''}). Lower capacity in the ` +
          `parameter file, free some, or request more (https://aka.ms/oai/quotaincrease).`,
      );
    }
  }
}

/** Retired for new deployments: the model's inference deprecation date has passed. */
function retired(model, at) {
  const inference = model?.deprecation?.inference;
  return inference !== undefined && new Date(inference) <= at;
}

/**
 * `bicep build-params --stdout` prints `{"parametersJson": "<the parameter file as a string>", ...}`;
 * `--outfile` (and an ARM parameter file written by hand) is the parameter file itself.
 */
function compiledParameters(json) {
  if (typeof json?.parametersJson === 'string') return JSON.parse(json.parametersJson).parameters ?? {};
  return json?.parameters ?? {};
}

/**
 * Why a model version must not be deployed now, or undefined: its lifecycle says it is going
 * (Deprecating, Deprecated, Retired), or the first date it stops serving (the SKU's deprecation date
 * or the model's inference deprecation) has passed or falls before windowEnd. Azure moves a retiring
 * deployment to a successor only when the schedule names one, and many GA versions have none, so a
 * model that goes soon is refused rather than noted.
 */
function lifecycleProblem(model, sku, at, windowEnd) {
  const dates = [sku?.deprecationDate, model?.deprecation?.inference]
    .filter((d) => d !== undefined && d !== null && !Number.isNaN(new Date(d).getTime()))
    .sort((a, b) => new Date(a).getTime() - new Date(b).getTime());
  const first = dates[0];
  if (first && new Date(first) <= at) return `is retired (${day(first)}): Azure refuses new deployments of it`;
  const status = String(model?.lifecycleStatus ?? '');
  if (/^(deprecating|deprecated|retired)$/i.test(status)) {
    return `is ${status}${first ? ` and retires on ${day(first)}` : ''}: new deployments of it are refused or short-lived`;
  }
  if (first && new Date(first) < windowEnd) {
    return `retires on ${day(first)}, within the ${windowDays}-day window (--retirement-window-days)`;
  }
  return undefined;
}

// Soft-deleted resources of this environment's resource group keep their names (accounts 48 hours,
// the purge-protected vault 7 days) and make a plain create fail (FlagMustBeSetForRestore).
const group = `/resourcegroups/${String(args['resource-group']).toLowerCase()}/`;
const accounts = readJson(args['deleted-accounts'], []).filter((a) => String(a.id).toLowerCase().includes(group));
const vaults = readJson(args['deleted-vaults'], []).filter((v) =>
  String(v.properties?.vaultId ?? '')
    .toLowerCase()
    .includes(group),
);
let softDeletedProblem = false;
const deletedNames = [...accounts.map((a) => a.name), ...vaults.map((v) => v.name)];
if (deletedNames.length > 0 && args.restore) {
  notes.push(`recovering soft-deleted ${deletedNames.join(', ')} (restoreSoftDeleted)`);
  if (args['restore-out']) writeFileSync(args['restore-out'], deletedNames.map((n) => `${n}\n`).join(''));
} else if (deletedNames.length > 0) {
  const lines = [
    ...accounts.map(
      (a) =>
        `  Azure OpenAI account ${a.name} (${a.location}), deleted ${day(a.properties?.deletionDate)}: ` +
        `purge it with  az cognitiveservices account purge --location ${a.location} --resource-group ${args['resource-group']} --name ${a.name}`,
    ),
    ...vaults.map(
      (v) =>
        `  Key Vault ${v.name} (${v.properties?.location}), purge-protected until ${day(v.properties?.scheduledPurgeDate)}: ` +
        `it cannot be purged; recover it (--restore, or az keyvault recover --name ${v.name})`,
    ),
  ];
  softDeletedProblem = true;
  problems.push(
    `soft-deleted resources of ${args['resource-group']} hold the names this deployment needs:\n${lines.join('\n')}\n` +
      '  Rerun with --restore to recover them all in place (their keys, deployments and secrets come back), ' +
      'or purge the accounts as shown, or deploy under another --env.',
  );
} else if (args['restore-out']) {
  writeFileSync(args['restore-out'], '');
}

for (const note of notes) console.error(`preflight: note: ${note}`);
if (problems.length > 0) {
  for (const problem of problems) console.error(`preflight: ${problem}`);
  console.error(`preflight: ${problems.length} problem(s); nothing was deployed.`);
  // 3: only soft-deleted resources stand in the way, which --restore fixes (preflight.sh asks).
  process.exit(problems.length === 1 && softDeletedProblem ? 3 : 1);
}
console.error(`preflight: ok: ${models.length} model(s) deployable with quota in ${args.region.length} region(s)`);
