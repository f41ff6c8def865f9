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
   * What signs a region's answers for `owner`: the ids the API issues, where the API puts them, and nothing else
   * (see {@link issueInResponse}, {@link issueInEvent}). Each id is signed once: a stream's events name the same
   * item again and again.
   */
  issuer(region: string, owner: string): Issuer {
    const issued = new Map<string, string>();
    const issue = (id: string): string => {
      let tagged = issued.get(id);
      if (tagged === undefined) issued.set(id, (tagged = this.issue(id, region, owner)));
      return tagged;
    };
    return {
      response: (response) => issueInResponse(response, issue),
      event: (event) => issueInEvent(event, issue),
    };
  }

  #tag(id: string, region: string, owner: string): string {
    // JSON keeps the three fields apart whatever they hold.
    const mac = createHmac('sha256', this.#secret)
      .update(JSON.stringify([id, region, owner]))
      .digest();
    return mac.subarray(0, TAG_BYTES).toString('base64url');
  }
}

/** Copies of a region's answers with the ids it issued signed for the caller. */
export interface Issuer {
  /** A whole response (`POST /responses` without `stream`). */
  readonly response: <T>(response: T) => T;
  /** A stream event. */
  readonly event: <T>(event: T) => T;
}

type Sign = (id: string) => string;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function signed(record: Record<string, unknown>, key: string, sign: Sign): Record<string, unknown> {
  const value = record[key];
  return typeof value === 'string' && value !== '' ? { ...record, [key]: sign(value) } : record;
}

/**
 * A response object with its own `id`, its `previous_response_id` (the caller's own, checked when it came in) and
 * the `id` of each output item signed. Nothing else is touched: the API echoes parts of the request back (`text`
 * with its JSON schema, `tools`, `metadata`, `instructions`), and a string under `id` there is the caller's own
 * text, not an id the API issued; signing it would sign another user's raw id for whoever put it there.
 * https://platform.openai.com/docs/api-reference/responses/object
 */
export function issueInResponse<T>(response: T, sign: Sign): T {
  if (!isRecord(response)) return response;
  let copy = signed(signed(response, 'id', sign), 'previous_response_id', sign);
  const output = copy.output;
  if (Array.isArray(output)) copy = { ...copy, output: output.map((item) => issueInItem(item, sign)) };
  return copy as T;
}

/** An output item with its `id` signed (a message, function call, reasoning item...). */
function issueInItem(item: unknown, sign: Sign): unknown {
  return isRecord(item) ? signed(item, 'id', sign) : item;
}

/**
 * A stream event with the ids that name what the API issued: the response of the lifecycle events
 * (`response.created`, `response.completed`...), the `item` of `response.output_item.added`/`done`, and the
 * `item_id` and `response_id` by which the other events refer to them.
 * https://platform.openai.com/docs/api-reference/responses-streaming
 */
export function issueInEvent<T>(event: T, sign: Sign): T {
  if (!isRecord(event)) return event;
  let copy = signed(signed(event, 'item_id', sign), 'response_id', sign);
  if (isRecord(copy.response)) copy = { ...copy, response: issueInResponse(copy.response, sign) };
  if (isRecord(copy.item)) copy = { ...copy, item: issueInItem(copy.item, sign) };
  return copy as T;
}
