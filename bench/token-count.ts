/**
 * `BENCH_ONLY=token-count`: the worst case of counting untrusted text, per script (CJK, Thai, emoji, one repeated
 * character, English for scale), as a request's message would be counted: how long the event loop is held at a
 * stretch (what /api/health and every other request on the instance wait) and the CPU spent in all.
 *
 * Two ways in the same run, so the ratio is what matters: `whole`, js-tiktoken over the message in 200-character
 * pieces in one synchronous call (how the conversation service counted before the count was bounded; at most
 * WHOLE_CHARS characters, or one sample would take minutes), and `bounded`, shared/tokens.ts's
 * `countPromptTokensAsync` over the full attack size: exact within a per-request budget in pieces of at most 32
 * characters without whitespace, yielding to the event loop, estimated past the budget. The longest hold is the
 * longest gap between turns of a setImmediate loop running beside the count.
 */
import { Tiktoken } from 'js-tiktoken/lite';
import o200kBase from 'js-tiktoken/ranks/o200k_base';
import { countPromptTokensAsync, tokenizer } from '../shared/tokens';

/** Characters of each attack message (100,000: the schema's limit of a message). */
const ATTACK_CHARS = 100_000;
/** Characters counted the old way: enough to show its growth, short enough to finish. */
const WHOLE_CHARS = 10_000;

const THAI = 'สวัสดีครับผมชื่อสมชายยินดีที่ได้รู้จักคุณ';

/** The scripts measured: a text of `chars` UTF-16 units for each. */
export const SCRIPTS: Readonly<Record<string, (chars: number) => string>> = {
  'CJK (用户 repeated)': (n) => '用户'.repeat(Math.ceil(n / 2)).slice(0, n),
  'CJK (rare characters)': (n) =>
    Array.from({ length: n }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919) % 20_000))).join(''),
  Thai: (n) => THAI.repeat(Math.ceil(n / THAI.length)).slice(0, n),
  emoji: (n) => '😀🎉👍🏽'.repeat(Math.ceil(n / 8)).slice(0, n - (n % 2)),
  'one repeated character': (n) => 'x'.repeat(n),
  English: (n) => 'The quick brown fox jumps over the lazy dog. '.repeat(Math.ceil(n / 45)).slice(0, n),
};

export interface TokenCountRow {
  readonly script: string;
  /** The old way over WHOLE_CHARS characters: the event loop held for all of it, ms. */
  readonly wholeMs: number;
  readonly wholeChars: number;
  /** The bounded count over ATTACK_CHARS characters: the longest hold, and all the time it took, ms. */
  readonly boundedLongestHoldMs: number;
  readonly boundedTotalMs: number;
  readonly boundedChars: number;
}

/** The count as the conversation service made it before: 200-character pieces, one synchronous call. */
function wholeCount(encoder: Tiktoken, text: string): number {
  let total = 0;
  for (let start = 0; start < text.length;) {
    let end = Math.min(text.length, start + 200);
    if (end < text.length) {
      const space = text.lastIndexOf(' ', end);
      if (space > start) end = space;
    }
    total += encoder.encode(text.slice(start, end)).length;
    start = end;
  }
  return total;
}

/** Runs `work` beside a setImmediate loop; the longest gap between its turns, and the time `work` took. */
async function measured(work: () => Promise<unknown>): Promise<{ longestMs: number; totalMs: number }> {
  let longest = 0;
  let running = true;
  let last = performance.now();
  const ticking = (async () => {
    while (running) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }
  })();
  const started = performance.now();
  await work();
  const totalMs = performance.now() - started;
  running = false;
  await ticking;
  return { longestMs: Math.max(longest, performance.now() - last), totalMs };
}

export async function tokenCountBench(options: { readonly log: (message: string) => void }): Promise<TokenCountRow[]> {
  const encoder = new Tiktoken(o200kBase);
  encoder.encode('warm up');
  tokenizer().encode('warm up');
  const rows: TokenCountRow[] = [];
  for (const [script, make] of Object.entries(SCRIPTS)) {
    const small = make(WHOLE_CHARS);
    const whole = await measured(() => Promise.resolve(wholeCount(encoder, small)));
    const attack = [{ role: 'user', content: make(ATTACK_CHARS) }];
    const bounded = await measured(() => countPromptTokensAsync(attack));
    rows.push({
      script,
      wholeMs: whole.totalMs,
      wholeChars: small.length,
      boundedLongestHoldMs: bounded.longestMs,
      boundedTotalMs: bounded.totalMs,
      boundedChars: ATTACK_CHARS,
    });
    options.log(
      `token count, ${script}: whole ${whole.totalMs.toFixed(0)} ms for ${small.length} chars; bounded: longest hold ${bounded.longestMs.toFixed(1)} ms, ${bounded.totalMs.toFixed(0)} ms in all for ${ATTACK_CHARS}`,
    );
  }
  return rows;
}

/**
 * Goal row, a ratio in the same run (the machine's load moves both sides alike): for the worst script, the longest
 * hold of the bounded count over ten times the text, against the hold of the old count.
 */
export function tokenCountGoals(rows: readonly TokenCountRow[]): [string, string, string, boolean][] {
  const worstCases = rows.filter((r) => r.script !== 'English');
  const ratio = (r: TokenCountRow) => r.boundedLongestHoldMs / r.wholeMs;
  const worst = worstCases.reduce((a, b) => (ratio(b) > ratio(a) ? b : a));
  return [
    [
      `Longest event-loop hold counting ${ATTACK_CHARS.toLocaleString('en')} characters, bounded, vs ${WHOLE_CHARS.toLocaleString('en')} counted whole, worst script (phase-only run)`,
      '< 1 %',
      `${(100 * ratio(worst)).toFixed(2)} % (${worst.script}: ${worst.boundedLongestHoldMs.toFixed(1)} ms vs ${worst.wholeMs.toFixed(0)} ms)`,
      ratio(worst) < 0.01,
    ],
  ];
}

export function tokenCountSection(rows: readonly TokenCountRow[]): string[] {
  return [
    '### Counting untrusted text (`BENCH_ONLY=token-count`)',
    '',
    `Before: js-tiktoken over the message in one call (${WHOLE_CHARS.toLocaleString('en')} characters: the event loop is held for all of it). After: shared/tokens.ts over ${ATTACK_CHARS.toLocaleString('en')} characters (exact within the budget, yielding, estimated past it).`,
    '',
    '| Script | Before: held, ms (chars) | After: longest hold, ms | After: total, ms |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.script} | ${r.wholeMs.toFixed(0)} (${r.wholeChars.toLocaleString('en')}) | ${r.boundedLongestHoldMs.toFixed(1)} | ${r.boundedTotalMs.toFixed(0)} |`,
    ),
  ];
}
