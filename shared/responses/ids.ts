/**
 * Response and item ids that say which region stored them, and whose they are. A stored response (and
 * its output items) lives in one region's Azure OpenAI resource only, so a follow-up that names it
 * (`previous_response_id`, an `item_reference`) must go to that region. Rather than a map from id to
 * region, which every instance of a serverless app would need to share, the region travels in the id
 * itself: Azure's id, a tag, then the region (`resp_68af…~<tag>~eastus2`); the backend takes both off
 * again before it calls the region. Region names are public (every answer names its region); Azure's
 * ids keep their prefixes (`resp_`, `msg_`), which some SDKs look at.
 *
 * The tag binds the id to the caller it was given to: an HMAC-SHA256 over (Azure's id, region, caller)
 * with a per-deployment secret (`CHAT_RESPONSE_ID_SECRET`). Holding another caller's id is not enough to
 * continue their thread: a follow-up whose id was not given to its caller (another's, altered, or without
 * a tag) is answered as a response that does not exist, and no region is asked.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Caller } from '../auth/caller';

/** Between Azure's id, the tag and the region: in none of them (ids are letters, digits, `_`; tags base64url). */
const SEPARATOR = '~';

/** Bytes of the HMAC kept in an id: 128 bits, 22 base64url characters. */
const TAG_BYTES = 16;

/** Keys whose string values are stored-object ids, in answers and in stream events. */
const ID_KEYS: ReadonlySet<string> = new Set(['id', 'item_id', 'previous_response_id', 'response_id']);

/** An id as a region knows it, and the region that stored it. */
export interface RegionalId {
  readonly id: string;
  readonly region: string;
}

/**
 * Who an id is given to: a signed-in user, a daemon app, all service-key callers together (they are one
 * caller), or nobody (an anonymous request: every anonymous caller shares the ids of the others).
 */
export function ownerOf(caller: Caller | undefined): string {
  return caller === undefined ? 'anonymous' : `${caller.kind}:${caller.id}`;
}

/** Issues and reads the backend's ids for one secret (one per deployment; see the module comment). */
export class ResponseIds {
  readonly #secret: Buffer;

  /** @param secret - `CHAT_RESPONSE_ID_SECRET`, or random bytes when it is not set (ids then die with the process). */
  constructor(secret: string | Uint8Array) {
    this.#secret = Buffer.from(secret);
  }

  /** Azure's `id`, stored in `region`, as `owner` gets it. */
  issue(id: string, region: string, owner: string): string {
    return `${id}${SEPARATOR}${this.#tag(id, region, owner)}${SEPARATOR}${region}`;
  }

  /** Azure's id and its region, when `value` was issued to `owner`; undefined for anything else. */
  read(value: string, owner: string): RegionalId | undefined {
    const parts = value.split(SEPARATOR);
    if (parts.length !== 3) return undefined;
    const [id = '', tag = '', region = ''] = parts;
    if (id === '' || region === '') return undefined;
    const expected = Buffer.from(this.#tag(id, region, owner));
    const given = Buffer.from(tag);
    return given.length === expected.length && timingSafeEqual(given, expected) ? { id, region } : undefined;
  }

  /**
   * Copies of answers or stream events from `region` with every stored-object id issued to `owner`.
   * Client data (`metadata`) is left alone, and so are ids that are not Azure's stored objects
   * (`call_id`). Each id is signed once: a stream's events name the same item again and again.
   */
  issuer(region: string, owner: string): <T>(value: T) => T {
    const issued = new Map<string, string>();
    const issue = (id: string): string => {
      let tagged = issued.get(id);
      if (tagged === undefined) issued.set(id, (tagged = this.issue(id, region, owner)));
      return tagged;
    };
    return <T>(value: T): T => issueIn(value, issue) as T;
  }

  #tag(id: string, region: string, owner: string): string {
    // JSON keeps the three fields apart whatever they hold.
    const mac = createHmac('sha256', this.#secret)
      .update(JSON.stringify([id, region, owner]))
      .digest();
    return mac.subarray(0, TAG_BYTES).toString('base64url');
  }
}

function issueIn(value: unknown, issue: (id: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item) => issueIn(item, issue));
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key === 'metadata') copy[key] = field;
    else if (ID_KEYS.has(key) && typeof field === 'string' && field !== '') copy[key] = issue(field);
    else copy[key] = issueIn(field, issue);
  }
  return copy;
}
