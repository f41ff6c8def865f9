/** The simulator counts tokens with the backend's own tokenizer (shared/tokens.ts), so both agree on a count. */
export { contentText, countPromptTokens, countTokens, tokenizer } from '../shared/tokens';
