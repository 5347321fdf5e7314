import { Type } from 'typebox';

/** Building blocks every area uses: ids and times as the contract fixes them (UUIDs, RFC 3339 UTC). */

// ajv's `uuid` format also accepts a `urn:uuid:` prefix that Postgres would reject with an error; the
// pattern keeps ids to the plain form, so a bad id is a 400, never a 500.
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

export function uuid(options: { description?: string } = {}) {
  return Type.String({ format: 'uuid', pattern: UUID_PATTERN, ...options });
}
export const Uuid = uuid();

export function timestamp(description = 'RFC 3339, UTC') {
  return Type.String({ format: 'date-time', description });
}
export const Timestamp = timestamp();
