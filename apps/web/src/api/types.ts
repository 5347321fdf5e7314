/** Shapes from /work/shared/contract.md. Extra fields the services may add are tolerated. */

export interface User {
  id: string;
  email: string;
  display_name: string;
  org_id: string;
  role: string;
}

export interface Org {
  id: string;
  name: string;
}

export interface TokenResponse {
  user: User;
  access_token: string;
  token_type: string;
  expires_in: number;
}

export interface Group {
  id: string;
  name: string;
  org_id: string;
  created_at: string;
  member_count?: number;
}

export interface Member {
  user_id: string;
  role: string;
  joined_at?: string;
  /** Not in the contract; used when a service includes it. */
  display_name?: string;
  email?: string;
}

/** A user of my organization, when auth-api offers a directory (not part of the contract). */
export interface OrgUser {
  id: string;
  email?: string;
  display_name?: string;
  role?: string;
}

/** The contract's Part 2 message (packages/contract/src/chat-messages.ts). */
export type { ChatMessage as Message, Reaction } from '@groupchat/contract';

import type { ChatMessage as Message } from '@groupchat/contract';

export interface MessagePage {
  messages: Message[];
  next_cursor: string | null;
}
