const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` has a UUID's shape: ids from paths and channels are checked before any query or lookup. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
