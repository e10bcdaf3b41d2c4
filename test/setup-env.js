// Every tier runs in UTC so period boundaries and timestamps are deterministic.
process.env.TZ = 'UTC';
