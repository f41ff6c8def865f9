/** Loads the real Azure captures kept in test/fixtures/azure-wire, so tests check what Azure really sends. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const WIRE_DIR = join(__dirname, 'fixtures', 'azure-wire');

export interface WireCapture {
  readonly status: number | null;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

export function wire(name: string): WireCapture {
  return JSON.parse(readFileSync(join(WIRE_DIR, `${name}.json`), 'utf8')) as WireCapture;
}
