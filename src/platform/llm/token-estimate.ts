/**
 * A deliberately rough token count (about 4 characters a token for English
 * and JSON) for when the proxy reports no usage, and for budget reservations
 * before a call. Never zero for non-empty text.
 */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4));
}
