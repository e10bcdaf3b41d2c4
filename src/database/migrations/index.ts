import { InitialSchema1732700000000 } from './1732700000000-initial-schema';
import { RunCancelled1733900000000 } from './1733900000000-run-cancelled';
import { AgentMaxOutputTokens1734000000000 } from './1734000000000-agent-max-output-tokens';
import { ApiKeyRevocation1734100000000 } from './1734100000000-api-key-revocation';
import { RunErrorType1734200000000 } from './1734200000000-run-error-type';

/** In order; listed explicitly so the built app needs no glob over dist/. */
export const MIGRATIONS = [
  InitialSchema1732700000000,
  RunCancelled1733900000000,
  AgentMaxOutputTokens1734000000000,
  ApiKeyRevocation1734100000000,
  RunErrorType1734200000000,
];
