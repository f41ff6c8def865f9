/**
 * Upper bounds of token counts that cost no tokenizer: O(n) over the text, microseconds for the largest body
 * the backend accepts. o200k_base (and every OpenAI tokenizer since GPT-2) is a byte-level BPE: each token stands
 * for at least one byte of UTF-8, so a text has at most as many tokens as bytes. The bound is tight for one
 * repeated ASCII character and about 4x the real count for English (3x for CJK): what the quota reserves before a
 * request is known, settled with the real usage after (shared/quota), and what exact counting falls back to past
 * its budget (./tokens.ts). This module loads nothing: the tokenizer's rank table is megabytes.
 */

/**
 * An estimate (not a bound) of the o200k_base tokens of `text` from its characters alone, for what exact counting
 * leaves past its budget: a token per 3.3 ASCII characters (English runs 4 to 5), per 2 characters of the other
 * alphabets (Cyrillic, Greek, Arabic, Hebrew), one per CJK, Thai or other BMP character (common CJK words are one
 * token for two; rare characters two), and one per UTF-16 unit of an emoji or other astral character.
 */
export function estimateTokens(text: string): number {
  let tenths = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    tenths += code < 0x80 ? 3 : code < 0x800 ? 5 : 10;
  }
  return Math.ceil(tenths / 10);
}

/** Upper bound of the o200k_base tokens of `text`: its UTF-8 bytes. */
export function tokenBound(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Upper bound of the prompt tokens of what a request sends (messages, tools, instructions): the UTF-8 bytes of
 * its JSON, which holds every string the model reads plus quotes and punctuation worth more than the few tokens
 * of framing each message costs. Images are billed by size, not by the bytes of their URL: each image part adds
 * the most a high-detail image costs.
 */
export function promptBound(sent: unknown): number {
  const json = JSON.stringify(sent) ?? '';
  return Buffer.byteLength(json, 'utf8') + IMAGE_TOKENS * countOf(json, '"image_url"');
}

/** Most prompt tokens one image costs (high detail, 2048 x 768 after scaling: 85 + 170 x 6 tiles = 1,105). */
const IMAGE_TOKENS = 1_105;

function countOf(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count += 1;
  return count;
}
