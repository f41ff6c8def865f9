/* global console, process -- Node globals; the repo ESLint config declares none for .mjs files. */
// Turns the outputs of the infra deployment (az deployment sub show --query properties.outputs)
// into local.settings.json for `func start` / `npm start` against the real Azure OpenAI regions.
//
// Usage: node scripts/infra/local-settings.mjs --outputs FILE --out FILE [--auth-mode key-vault|managed-identity]
//   --out -   prints the file instead of writing it.
//
// key-vault (default): the backend reads each region's API key from Key Vault with the developer's
// own az login identity (needs Key Vault Secrets User, granted by the template to
// developerPrincipalId). managed-identity: Entra tokens from az login instead of keys (needs
// Cognitive Services OpenAI User on both accounts, granted the same way); the only choice when the
// accounts have local auth disabled, since no key is stored then.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    outputs: { type: 'string' },
    out: { type: 'string', default: 'local.settings.json' },
    'auth-mode': { type: 'string', default: 'key-vault' },
  },
});

function fail(message) {
  console.error(`write-local-settings: ${message}`);
  process.exit(1);
}

if (!args.outputs) fail('--outputs FILE is required');
const authMode = args['auth-mode'];
if (authMode !== 'key-vault' && authMode !== 'managed-identity') {
  fail(`--auth-mode must be key-vault or managed-identity, got "${authMode}"`);
}

const outputs = JSON.parse(readFileSync(args.outputs, 'utf8'));
function output(name) {
  const value = outputs?.[name]?.value;
  if (typeof value !== 'string' || value === '') fail(`deployment output ${name} is missing; was the infra deployed?`);
  return value;
}

const chatRegions = output('CHAT_REGIONS');
const regions = JSON.parse(chatRegions);
let mode = authMode;
if (mode === 'key-vault' && !regions.every((r) => typeof r.keySecretName === 'string')) {
  console.error(
    'write-local-settings: the accounts have local auth disabled (openAiLocalAuthEnabled=false), so no key is in ' +
      'Key Vault; using CHAT_AUTH_MODE=managed-identity (your az login identity) instead.',
  );
  mode = 'managed-identity';
}

const values = {
  FUNCTIONS_WORKER_RUNTIME: 'node',
  // HTTP-only functions need no host storage locally.
  AzureWebJobsStorage: '',
  CHAT_REGIONS: chatRegions,
  CHAT_AUTH_MODE: mode,
  CHAT_DEFAULT_MODEL: output('CHAT_DEFAULT_MODEL'),
  // AZURE_CLIENT_ID is left out on purpose: it names the Function App's managed identity, which does
  // not exist on a laptop; locally the credential is the developer's az login.
  ...(mode === 'key-vault' ? { KEY_VAULT_URL: output('KEY_VAULT_URL') } : {}),
};
const text = `${JSON.stringify({ IsEncrypted: false, Values: values }, null, 2)}\n`;

if (args.out === '-') {
  process.stdout.write(text);
} else {
  if (existsSync(args.out)) {
    copyFileSync(args.out, `${args.out}.bak`);
    console.error(`write-local-settings: kept the previous file as ${args.out}.bak`);
  }
  writeFileSync(args.out, text);
  console.error(`write-local-settings: wrote ${args.out} (CHAT_AUTH_MODE=${mode}, ${regions.length} regions)`);
}
