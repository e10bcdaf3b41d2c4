/**
 * Shortens text to at most `max` characters for one line of the demo's
 * output: whitespace (answers can span lines) becomes single spaces, and a cut
 * falls on a word boundary, marked with an ellipsis. A single word longer than
 * half the room is cut inside the word rather than leaving a near-empty line.
 */
export function shortenAtWord(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const room = flat.slice(0, max - 1);
  const boundary = flat[max - 1] === ' ' ? room.length : room.lastIndexOf(' ');
  const head = boundary >= max / 2 ? room.slice(0, boundary) : room;
  return `${head.replace(/[\s,;:]+$/, '')}…`;
}
