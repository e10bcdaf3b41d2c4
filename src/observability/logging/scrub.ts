export interface ScrubOptions {
  /**
   * Also hide where things are: URLs, IP addresses and user@host. For text
   * shown to whoever can reach an endpoint (health answers, the message of a
   * failed model call); log lines keep addresses, operators need them.
   */
  readonly hideLocations?: boolean;
}

const REDACTED = '[REDACTED]';

// Credentials that travel inside free text (driver errors, a proxy's error message).
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/gi;
const URL_QUERY = /\b([a-z][a-z0-9+.-]*:\/\/[^\s?#]*)[?#][^\s]*/gi;
const AUTH_SCHEME_CREDENTIALS = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const ASSIGNED_SECRET =
  /\b(password|passwd|pwd|secret|token|api[-_]?key|access[-_]?key)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi;
// This platform's API keys (eap_...) and the usual provider key formats (sk-..., sk-ant-...).
const KEY_LITERALS = /\b(?:eap_[A-Za-z0-9_-]{16,}|sk-[A-Za-z0-9_-]{16,})/g;

const ANY_URL = /\b[a-z][a-z0-9+.-]*:\/\/\S*/gi;
const USER_AT_HOST = /\S+@\S+/g;
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b/g;
const IPV6 = /\[?[0-9a-f]*:[0-9a-f:]+\]?:\d+/gi;

/**
 * The one scrubber of free text for logs, health answers and model-call
 * errors: credentials in URLs, query strings, Bearer/Basic credentials,
 * `password=...`-style assignments and API-key literals are removed; with
 * `hideLocations`, URLs, addresses and user@host too.
 */
export function scrubText(text: string, options: ScrubOptions = {}): string {
  let clean = text
    .replace(URL_CREDENTIALS, '$1')
    .replace(URL_QUERY, '$1')
    .replace(AUTH_SCHEME_CREDENTIALS, `$1 ${REDACTED}`)
    .replace(ASSIGNED_SECRET, `$1$2${REDACTED}`)
    .replace(KEY_LITERALS, REDACTED);
  if (options.hideLocations) {
    clean = clean
      .replace(ANY_URL, '[url]')
      .replace(USER_AT_HOST, '[redacted]')
      .replace(IPV4, '[address]')
      .replace(IPV6, '[address]');
  }
  return clean;
}
