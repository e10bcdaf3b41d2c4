/**
 * Text from a model or a tool, made storable: PostgreSQL's text type refuses
 * U+0000 (error 22021) and JSON round trips turn a lone UTF-16 surrogate
 * into U+FFFD anyway. Both become U+FFFD, so what is stored, what the client
 * was answered and what a later read returns are the same, and a reader sees
 * that something was there.
 */
export function storableText(text: string): string;
export function storableText(text: string | null): string | null;
export function storableText(text: string | null): string | null {
  if (text === null) return null;
  const withoutNul = text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
  return withoutNul.isWellFormed() ? withoutNul : withoutNul.toWellFormed();
}
