import type { ApiKey } from './api-key.entity';

/** A key as the admin API shows it: never the key, never its hash. */
export interface ApiKeyView {
  id: string;
  user_id: string;
  /** The first characters of the key, to tell keys apart. */
  key_prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export function apiKeyView(key: ApiKey): ApiKeyView {
  return {
    id: key.id,
    user_id: key.userId,
    key_prefix: key.keyPrefix,
    created_at: key.createdAt.toISOString(),
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
    revoked_at: key.revokedAt?.toISOString() ?? null,
  };
}
