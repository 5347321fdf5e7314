import { DEFAULT_SEARCH_PAGE } from '@groupchat/contract';
import type { ChatUser } from '../auth/user-token-verifier.ts';
import type { GroupDirectory } from '../groups/group-directory.ts';
import type { UserGroups } from '../groups/user-groups.ts';
import { type MessageDto, toDto } from '../messages/schema.ts';
import { toTsQuery } from './query.ts';
import type { SearchRepository } from './repository.ts';

export interface SearchInput {
  q: string;
  group_id?: string | undefined;
  limit?: number | undefined;
  before?: string | undefined;
}

/**
 * Search over the messages of the caller's groups (or one of them, checked like any read: another
 * org's group 404, a group they are not in 403). Never another organization's messages, never deleted ones.
 */
export class SearchService {
  readonly #repo: SearchRepository;
  readonly #groups: GroupDirectory;
  readonly #userGroups: UserGroups;

  constructor(options: { repo: SearchRepository; groups: GroupDirectory; userGroups: UserGroups }) {
    this.#repo = options.repo;
    this.#groups = options.groups;
    this.#userGroups = options.userGroups;
  }

  async search(
    user: ChatUser,
    input: SearchInput,
  ): Promise<{ messages: MessageDto[]; next_cursor: string | null }> {
    let groupIds: string[];
    if (input.group_id !== undefined) {
      const groupId = input.group_id.toLowerCase();
      await this.#groups.authorize({ id: user.userId, orgId: user.orgId }, groupId);
      groupIds = [groupId];
    } else {
      groupIds = await this.#userGroups.ids(user);
    }
    const tsQuery = toTsQuery(input.q);
    if (tsQuery === null) return { messages: [], next_cursor: null };
    const limit = input.limit ?? DEFAULT_SEARCH_PAGE;
    // One row more than asked tells whether another page exists.
    const rows = await this.#repo.search({
      orgId: user.orgId,
      groupIds,
      tsQuery,
      beforeId: input.before?.toLowerCase() ?? null,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit).map(toDto);
    return { messages: page, next_cursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null };
  }
}
