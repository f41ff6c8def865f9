/**
 * Response and item ids that say which region stored them. A stored response (and its output items)
 * lives in one region's Azure OpenAI resource only, so a follow-up that names it (`previous_response_id`,
 * an `item_reference`) must go to that region. Rather than a map from id to region, which every instance
 * of a serverless app would need to share, the region travels in the id itself: the id a client gets is
 * Azure's id with `~<region>` appended (`resp_68af…~eastus2`), and the backend takes it off again before
 * it calls the region. Region names are public (every answer names its region), so the suffix tells a
 * client nothing new; Azure's ids keep their prefixes (`resp_`, `msg_`), which some SDKs look at.
 */

/** Between Azure's id and the region name: in neither (ids are letters, digits, `_`; regions `[a-z0-9-]`). */
const SEPARATOR = '~';

/** Keys whose string values are stored-object ids, in answers and in stream events. */
const ID_KEYS: ReadonlySet<string> = new Set(['id', 'item_id', 'previous_response_id', 'response_id']);

/** Azure's `id` as clients get it: tagged with the region that stored it. */
export function regionalId(id: string, region: string): string {
  return id.includes(SEPARATOR) ? id : `${id}${SEPARATOR}${region}`;
}

/** A backend id split into Azure's id and its region; an id without a region (from elsewhere) as it is. */
export function parseRegionalId(id: string): { readonly id: string; readonly region?: string } {
  const at = id.lastIndexOf(SEPARATOR);
  if (at < 0) return { id };
  return { id: id.slice(0, at), region: id.slice(at + SEPARATOR.length) };
}

/**
 * A copy of an answer or stream event with every stored-object id tagged with `region`. Client data
 * (`metadata`) is left alone, and so are ids that are not Azure's stored objects (`call_id`).
 */
export function withRegionalIds<T>(value: T, region: string): T {
  return tag(value, region) as T;
}

function tag(value: unknown, region: string): unknown {
  if (Array.isArray(value)) return value.map((item) => tag(item, region));
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key === 'metadata') copy[key] = field;
    else if (ID_KEYS.has(key) && typeof field === 'string' && field !== '') copy[key] = regionalId(field, region);
    else copy[key] = tag(field, region);
  }
  return copy;
}
