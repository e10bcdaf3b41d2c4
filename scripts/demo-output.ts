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

/** One server-sent event of a streamed run, as the demo reads it. */
export interface DemoEvent {
  readonly event: string;
  readonly data: unknown;
}

/** The events of a whole server-sent-events body (LF or CRLF; comments such as `: ping` skipped). */
export function parseEventStream(body: string): DemoEvent[] {
  return body
    .split(/\r?\n\r?\n/)
    .map((block) => block.split(/\r?\n/).filter((line) => line !== '' && !line.startsWith(':')))
    .filter((lines) => lines.length > 0)
    .map((lines) => {
      const field = (name: string): string[] =>
        lines
          .filter((line) => line.startsWith(`${name}:`))
          .map((line) => line.slice(name.length + 1).replace(/^ /, ''));
      const data = field('data').join('\n');
      let parsed: unknown = data;
      try {
        parsed = JSON.parse(data);
      } catch {
        // not JSON: kept as text
      }
      return { event: field('event')[0] ?? 'message', data: parsed };
    });
}

/** The event names in order, a run of the same name shown once with its count: `message.delta ×4`. */
export function eventTimeline(names: readonly string[]): string {
  const parts: string[] = [];
  for (let at = 0; at < names.length;) {
    let end = at;
    while (end < names.length && names[end] === names[at]) end++;
    parts.push(end - at > 1 ? `${names[at]} ×${end - at}` : names[at]);
    at = end;
  }
  return parts.join(' → ');
}
