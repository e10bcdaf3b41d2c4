import { Injectable } from '@nestjs/common';
import { TraceTool } from '../../../observability/observers';
import { TOOL_CALL, ToolError } from '../tool.types';
import type { AgentTool, ToolContext } from '../tool.types';

const MAX_ZONE_LENGTH = 64;

@Injectable()
export class CurrentTimeTool implements AgentTool {
  readonly name = 'current_time';
  readonly description =
    'Returns the current date and time as ISO 8601 with the UTC offset, in an IANA time zone (default UTC).';
  readonly parameters = {
    type: 'object',
    properties: {
      timezone: {
        type: 'string',
        description:
          'IANA time zone name such as "Europe/Paris" or "America/New_York"; default "UTC"',
      },
    },
    additionalProperties: false,
  };

  @TraceTool(TOOL_CALL)
  execute(args: Record<string, unknown>, _context: ToolContext): Promise<string> {
    // Synchronous work; the executor turns a thrown ToolError into a rejection.
    return new Promise((resolve) => {
      const zone = timeZoneOf(args.timezone);
      resolve(`${isoInZone(new Date(), zone)} (${zone})`);
    });
  }
}

function timeZoneOf(value: unknown): string {
  if (value === undefined || value === null || value === '') return 'UTC';
  if (typeof value !== 'string') {
    throw new ToolError(
      '"timezone" must be a string: an IANA time zone name such as "Europe/Paris"',
    );
  }
  const shown = value.length > MAX_ZONE_LENGTH ? `${value.slice(0, MAX_ZONE_LENGTH)}...` : value;
  try {
    // Validation only: ICU's canonical name can be a legacy alias (Asia/Kolkata -> Asia/Calcutta).
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return value;
  } catch {
    throw new ToolError(
      `Unknown time zone "${shown}": use an IANA name such as "UTC", "Europe/Paris" or "America/New_York"`,
    );
  }
}

/** 2026-11-28T01:02:03+01:00: the wall-clock time in the zone, with its offset at that instant. */
export function isoInZone(date: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(date)
      .map((part) => [part.type, part.value]),
  ) as Record<string, string>;
  const wallClock = `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
  const wholeSeconds = Math.floor(date.getTime() / 1000) * 1000;
  const offsetMinutes = Math.round((Date.parse(`${wallClock}Z`) - wholeSeconds) / 60_000);
  if (offsetMinutes === 0) return `${wallClock}Z`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${wallClock}${sign}${hh}:${mm}`;
}
