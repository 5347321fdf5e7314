/**
 * chat-api, contract Part 2: read state, unread counts and receipts; typing and presence; search. Route
 * and frame schemas of chat-api, static types for the web client.
 */
import { type Static, Type } from 'typebox';

const Uuid = (description: string) => Type.String({ format: 'uuid', description });
const Time = (description: string) => Type.String({ format: 'date-time', description });

export const ReadMarkerBody = Type.Object(
  { message_id: Uuid('the newest message the caller has read (a root or a reply of the group)') },
  { additionalProperties: false },
);

export const GroupReadStateSchema = Type.Object(
  {
    group_id: Uuid('the group'),
    last_read_message_id: Type.Union([Uuid('the read marker'), Type.Null()], {
      description: 'null until the caller first marks something read',
    }),
    unread_count: Type.Integer({
      minimum: 0,
      description: 'messages (roots and replies) after the marker, not the caller’s own, not deleted',
    }),
    mention_count: Type.Integer({ minimum: 0, description: 'those of them that mention the caller' }),
  },
  { description: 'The caller’s read state in one group (the same on every device)' },
);
export type GroupReadState = Static<typeof GroupReadStateSchema>;

export const UnreadResponseSchema = Type.Object({ groups: Type.Array(GroupReadStateSchema) });
export type UnreadResponse = Static<typeof UnreadResponseSchema>;

export const ReceiptSchema = Type.Object({
  user_id: Uuid('a member of the group'),
  last_read_message_id: Uuid('their read marker'),
  read_at: Time('when they moved it there'),
});
export type Receipt = Static<typeof ReceiptSchema>;

export const ReceiptsResponseSchema = Type.Object(
  { receipts: Type.Array(ReceiptSchema) },
  { description: 'the markers of the group’s current members (members who never read have none)' },
);
export type ReceiptsResponse = Static<typeof ReceiptsResponseSchema>;

export const PresenceResponseSchema = Type.Object({
  online: Type.Array(Uuid('a present user'), {
    description:
      'users with a WebSocket subscribed to the group on any instance (offline 10 s after the last one left)',
  }),
});
export type PresenceResponse = Static<typeof PresenceResponseSchema>;

export const MAX_SEARCH_QUERY_CHARS = 200;
export const MAX_SEARCH_PAGE = 100;
export const DEFAULT_SEARCH_PAGE = 20;

export const SearchQuerySchema = Type.Object({
  q: Type.String({
    minLength: 1,
    maxLength: MAX_SEARCH_QUERY_CHARS,
    description:
      'words that must all occur (case- and accent-insensitive; each word may match as a prefix; CJK text matches as a substring)',
  }),
  group_id: Type.Optional(Uuid('only this group (the caller must be a member)')),
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_SEARCH_PAGE,
      default: DEFAULT_SEARCH_PAGE,
      description: '1..100',
    }),
  ),
  before: Type.Optional(Uuid('a returned next_cursor (a message id): older results')),
});
