/**
 * Policy: a continuation sends only new text. Asked to go on with a cut-off answer, a model often
 * says the last few words (or the whole last sentence start) again before it goes on. The rule: the
 * longest suffix of the partial answer that the continuation starts with is dropped from the
 * continuation, provided it starts on a word boundary (a coincidental match of a word's last letters,
 * "cat" + "at home", is not an overlap). A longest match also covers repeats of a single word.
 */

const WORD_CHAR = /[\p{L}\p{N}]/u;

/** Characters at the start of `continuation` that repeat the end of `partial` (0 when none do). */
export function overlapLength(partial: string, continuation: string): number {
  for (let k = Math.min(partial.length, continuation.length); k > 0; k--) {
    if (partial.endsWith(continuation.slice(0, k)) && onWordBoundary(partial, partial.length - k)) return k;
  }
  return 0;
}

/** Whether text starting at `at` in `text` starts a word (or space or punctuation), not the middle of one. */
function onWordBoundary(text: string, at: number): boolean {
  return at === 0 || !WORD_CHAR.test(text.charAt(at - 1)) || !WORD_CHAR.test(text.charAt(at));
}

/**
 * {@link overlapLength} on a stream: the continuation's text is held only while a longer overlap is
 * still possible (the text so far occurs in the partial answer before its end), usually a token or
 * two, then passed on as it comes.
 */
export class OverlapTrimmer {
  readonly #partial: string;
  #held = '';
  #decided = false;

  /** `partial`: the answer as the client already has it. */
  constructor(partial: string) {
    this.#partial = partial;
  }

  /** The next text of the continuation; returns what to send now ('' while the overlap is undecided). */
  push(text: string): string {
    if (this.#decided) return text;
    this.#held += text;
    return this.#couldGrow() ? '' : this.flush();
  }

  /** Call when the continuation's text ends (its finish chunk): whatever is held, minus the overlap. */
  flush(): string {
    if (this.#decided) return '';
    this.#decided = true;
    const rest = this.#held.slice(overlapLength(this.#partial, this.#held));
    this.#held = '';
    return rest;
  }

  #couldGrow(): boolean {
    const at = this.#partial.indexOf(this.#held);
    return at !== -1 && at + this.#held.length < this.#partial.length;
  }
}
