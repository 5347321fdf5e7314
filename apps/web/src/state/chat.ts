/**
 * Everything the chat screens show, outside React: groups, per-room message windows, sends in flight,
 * read marks and the connection state. It keeps one invariant per group, the *resume point*: the
 * newest message such that the room holds every message up to it without a gap (learned from the
 * WebSocket stream or a REST snapshot — never from our own POST answer, which may overtake messages
 * we have not seen). Each (re)subscription asks for everything after it.
 */

import type {
  AddMemberBody,
  Group,
  GroupReadState,
  Member,
  Message,
  User as OrgUser,
  Receipt,
  LoginUser as User,
} from '@groupchat/contract';
import { AuthApi } from '../api/auth.ts';
import { ChatApi, MAX_CONTENT_LENGTH } from '../api/chat.ts';
import { ApiError, describeError, type TokenSource } from '../api/http.ts';
import { ChatSocket, type ConnectionState } from '../api/socket.ts';
import {
  compareMessages,
  cursorAfter,
  isUuid,
  mergeMessages,
  newClientMessageId,
  newest,
  oldest,
  upsertMessage,
} from './messages.ts';
import { Store } from './store.ts';

export type { ConnectionState };

export interface PendingMessage {
  client_message_id: string;
  content: string;
  mentions: string[];
  status: 'sending' | 'failed';
  error: string | null;
  /** A network or server failure: retried automatically when the connection is back. */
  retryable: boolean;
}

export interface RoomState {
  /** Oldest first, each once. */
  messages: Message[];
  /** Own messages not yet confirmed by the server, in the order they were written. */
  pending: PendingMessage[];
  loaded: boolean;
  loading: boolean;
  loadError: string | null;
  /** `before` cursor of the next older page. */
  olderCursor: string | null;
  hasOlder: boolean;
  loadingOlder: boolean;
  olderError: string | null;
  /** Set when the server refuses this group to us (403/404 on subscribe). */
  accessError: string | null;
}

export interface Person {
  display_name?: string;
  email?: string;
}

export interface ChatState {
  groups: Group[];
  groupsStatus: 'loading' | 'ready' | 'error';
  groupsError: string | null;
  rooms: Record<string, RoomState>;
  connection: ConnectionState;
  activeGroupId: string | null;
  /** Names learned from the org directory or member lists. */
  people: Record<string, Person>;
  /** The org's users when auth-api offers a list; null when it does not. */
  directory: OrgUser[] | null;
  /** My read state per group, from chat-api: the same on every device. */
  readState: Record<string, GroupReadState>;
  /** group → user → until when (ms) they count as typing. */
  typing: Record<string, Record<string, number>>;
  /** group → users present (a socket subscribed, 10 s grace). */
  presence: Record<string, string[]>;
  /** group → members' read markers. */
  receipts: Record<string, Receipt[]>;
  /** A message to scroll to and highlight (a search result opened). */
  highlight: { groupId: string; messageId: string } | null;
  /** direct group → the other user. */
  directPeers: Record<string, string>;
  /** Member lists of the groups opened (mentions, who may delete). */
  members: Record<string, Member[]>;
  /** Threads read, by root id. */
  threads: Record<string, ThreadState>;
  /** The thread shown beside the room. */
  openThread: { groupId: string; rootId: string } | null;
}

export interface ThreadState {
  /** Oldest first. */
  replies: Message[];
  loaded: boolean;
  error: string | null;
}

const EMPTY_THREAD: ThreadState = { replies: [], loaded: false, error: null };

/** How long a typing notice shows: a little longer than the 2 s the server forwards them at most. */
const TYPING_SHOWN_MS = 4_000;
const TYPING_SEND_EVERY_MS = 2_000;

const EMPTY_ROOM: RoomState = {
  messages: [],
  pending: [],
  loaded: false,
  loading: false,
  loadError: null,
  olderCursor: null,
  hasOlder: false,
  loadingOlder: false,
  olderError: null,
  accessError: null,
};

export interface ChatStoreOptions {
  user: User;
  tokens: TokenSource;
  /** The server no longer accepts our session. */
  onAuthLost(): void;
}

export class ChatStore extends Store<ChatState> {
  readonly user: User;
  readonly #auth: AuthApi;
  readonly #chat: ChatApi;
  readonly #socket: ChatSocket;
  readonly #onAuthLost: () => void;
  /** Per group, the change-log cursor up to which we have every event (from the WebSocket only). */
  readonly #cursors = new Map<string, string>();
  /** Groups subscribed on the current connection, and whether we asked with a cursor. */
  readonly #subscribed = new Map<string, boolean>();
  readonly #latestInFlight = new Map<string, { promise: Promise<void>; stale: boolean }>();
  readonly #posting = new Set<string>();
  #stopped = false;
  #receiptTimer: ReturnType<typeof setInterval> | undefined;
  readonly #typingSent = new Map<string, number>();
  readonly #marking = new Map<string, string>();

  constructor(options: ChatStoreOptions) {
    super({
      groups: [],
      groupsStatus: 'loading',
      groupsError: null,
      rooms: {},
      connection: 'connecting',
      activeGroupId: null,
      people: { [options.user.id]: { display_name: options.user.display_name, email: options.user.email } },
      directory: null,
      readState: {},
      typing: {},
      presence: {},
      receipts: {},
      highlight: null,
      directPeers: {},
      members: {},
      threads: {},
      openThread: null,
    });
    this.user = options.user;
    this.#onAuthLost = options.onAuthLost;
    this.#auth = new AuthApi(options.tokens);
    this.#chat = new ChatApi(options.tokens);
    this.#socket = new ChatSocket({
      tokens: options.tokens,
      handlers: {
        onState: (connection) => {
          if (connection !== 'connected') this.#subscribed.clear();
          this.setState({ connection });
        },
        onReady: () => {
          this.#subscribed.clear();
          this.#subscribeAll();
          this.retryFailed();
        },
        onSubscribed: (groupId, cursor) => this.#onSubscribed(groupId, cursor),
        onEvent: (message, cursor, updated) => this.#onEvent(message, cursor, updated),
        onReset: (groupId, cursor) => this.#onReset(groupId, cursor),
        onGroupError: (groupId, status, detail) => this.#onGroupError(groupId, status, detail),
        onAuthLost: () => this.#onAuthLost(),
        onTyping: (groupId, userId) => this.#onTyping(groupId, userId),
        onPresence: (groupId, userId, status) => this.#onPresence(groupId, userId, status),
        onRead: (state) => this.#setReadState(state),
      },
    });
  }

  start(): void {
    this.#stopped = false;
    this.#socket.start();
    document.addEventListener('visibilitychange', this.#onVisibility);
    window.addEventListener('online', this.#onOnline);
    void this.loadGroups();
    void this.#loadDirectory();
    void this.loadUnread();
    // Receipts of the open room, and the unread list (which also reveals groups I was added to, such
    // as a direct conversation someone opened with me) are refreshed while the page is visible.
    this.#receiptTimer = setInterval(() => {
      if (document.visibilityState !== 'visible') return;
      const active = this.state.activeGroupId;
      if (active) void this.loadReceipts(active);
      void this.loadUnread();
    }, 5_000);
  }

  stop(): void {
    this.#stopped = true;
    this.#socket.stop();
    clearInterval(this.#receiptTimer);
    document.removeEventListener('visibilitychange', this.#onVisibility);
    window.removeEventListener('online', this.#onOnline);
  }

  reconnectNow(): void {
    this.#socket.reconnectNow();
  }

  // ---- groups -------------------------------------------------------------------------------------

  async loadGroups(): Promise<void> {
    try {
      const groups = await this.#auth.listGroups();
      if (this.#stopped) return;
      groups.sort((a, b) => groupSortKey(a).localeCompare(groupSortKey(b)));
      this.setState({ groups, groupsStatus: 'ready', groupsError: null });
      this.#subscribeAll();
      void this.#learnDirectPeers(groups);
    } catch (error) {
      if (this.#stopped) return;
      this.setState({
        groupsStatus: this.state.groups.length ? 'ready' : 'error',
        groupsError: describeError(error),
      });
    }
  }

  async createGroup(name: string): Promise<Group> {
    const group = await this.#auth.createGroup(name.trim());
    this.setState((s) => ({
      ...s,
      groups: [...s.groups.filter((g) => g.id !== group.id), group].sort((a, b) =>
        groupSortKey(a).localeCompare(groupSortKey(b)),
      ),
    }));
    this.#subscribeAll();
    return group;
  }

  /** Opens (creating on first use) the direct conversation with `userId`; resolves with its group. */
  async openDirect(userId: string): Promise<Group> {
    const group = await this.#auth.openDirect(userId);
    this.setState((s) => ({
      ...s,
      groups: [...s.groups.filter((g) => g.id !== group.id), group].sort((a, b) =>
        groupSortKey(a).localeCompare(groupSortKey(b)),
      ),
      directPeers: { ...s.directPeers, [group.id]: userId },
    }));
    this.#subscribeAll();
    return group;
  }

  /** A direct group is shown under the other user's name: learn who that is. */
  async #learnDirectPeers(groups: readonly Group[]): Promise<void> {
    for (const group of groups) {
      if (group.kind !== 'direct' || this.state.directPeers[group.id]) continue;
      try {
        const members = await this.listMembers(group.id);
        const peer = members.find((m) => m.user_id !== this.user.id)?.user_id ?? this.user.id;
        this.setState((s) => ({ ...s, directPeers: { ...s.directPeers, [group.id]: peer } }));
      } catch {
        // Shown as "Direct conversation" until it can be read.
      }
    }
  }

  // ---- read state, typing, presence, receipts (chat-api keeps them; every device sees the same) -----

  async loadUnread(): Promise<void> {
    try {
      const states = await this.#chat.unread();
      if (this.#stopped) return;
      const readState = { ...this.state.readState };
      for (const state of states) readState[state.group_id] = state;
      this.setState({ readState });
      const known = new Set(this.state.groups.map((g) => g.id));
      if (this.state.groupsStatus === 'ready' && states.some((st) => !known.has(st.group_id)))
        void this.loadGroups();
    } catch {
      // Badges stay as they are; the next read frame or reload fixes them.
    }
  }

  #setReadState(state: GroupReadState): void {
    this.setState((s) => ({ ...s, readState: { ...s.readState, [state.group_id]: state } }));
  }

  async loadReceipts(groupId: string): Promise<void> {
    try {
      const receipts = await this.#chat.receipts(groupId);
      if (!this.#stopped) this.setState((s) => ({ ...s, receipts: { ...s.receipts, [groupId]: receipts } }));
    } catch {
      // "Seen by" is a courtesy; it shows again at the next refresh.
    }
  }

  async loadPresence(groupId: string): Promise<void> {
    try {
      const online = await this.#chat.presence(groupId);
      if (!this.#stopped) this.setState((s) => ({ ...s, presence: { ...s.presence, [groupId]: online } }));
    } catch {
      // Dots appear with the next presence frame.
    }
  }

  #onPresence(groupId: string, userId: string, status: 'online' | 'offline'): void {
    this.setState((s) => {
      const current = s.presence[groupId] ?? [];
      const next =
        status === 'online'
          ? current.includes(userId)
            ? current
            : [...current, userId]
          : current.filter((id) => id !== userId);
      return { ...s, presence: { ...s.presence, [groupId]: next } };
    });
  }

  /** Called as I type: tells the others, at most once per 2 s per group. */
  typing(groupId: string): void {
    const now = Date.now();
    if (now - (this.#typingSent.get(groupId) ?? 0) < TYPING_SEND_EVERY_MS) return;
    if (this.#socket.typing(groupId)) this.#typingSent.set(groupId, now);
  }

  #onTyping(groupId: string, userId: string): void {
    const until = Date.now() + TYPING_SHOWN_MS;
    this.setState((s) => ({
      ...s,
      typing: { ...s.typing, [groupId]: { ...s.typing[groupId], [userId]: until } },
    }));
    setTimeout(() => this.#pruneTyping(groupId), TYPING_SHOWN_MS + 50);
  }

  #pruneTyping(groupId: string, userId?: string): void {
    const now = Date.now();
    const current = this.state.typing[groupId];
    if (!current) return;
    const next = Object.fromEntries(
      Object.entries(current).filter(([id, until]) => until > now && id !== userId),
    );
    if (Object.keys(next).length !== Object.keys(current).length)
      this.setState((s) => ({ ...s, typing: { ...s.typing, [groupId]: next } }));
  }

  /**
   * Opens a search result in its room: the room's history is paged back until the message is there,
   * then the list scrolls to it and highlights it.
   */
  async jumpTo(groupId: string, messageId: string): Promise<void> {
    this.setState({ highlight: { groupId, messageId } });
    if (!this.room(groupId).loaded) await this.#loadLatest(groupId);
    for (let page = 0; page < 40; page++) {
      const room = this.room(groupId);
      if (room.messages.some((m) => m.id === messageId) || !room.hasOlder) return;
      await this.loadOlder(groupId);
    }
  }

  clearHighlight(): void {
    if (this.state.highlight) this.setState({ highlight: null });
  }

  search(q: string): Promise<Message[]> {
    return this.#chat.search(q);
  }

  async listMembers(groupId: string): Promise<Member[]> {
    const members = await this.#auth.listMembers(groupId);
    this.#learnPeople(members.map((m) => ({ id: m.user_id, display_name: m.display_name })));
    this.#patchGroup(groupId, { member_count: members.length });
    this.setState((s) => ({ ...s, members: { ...s.members, [groupId]: members } }));
    return members;
  }

  /** Loads the member list once per group (mentions autocomplete, moderator rights). */
  ensureMembers(groupId: string): void {
    if (this.state.members[groupId]) return;
    this.listMembers(groupId).catch(() => {
      // Mentions and moderation degrade to "own messages only"; the room still works.
    });
  }

  /** Whether I may delete others' messages in the group (group owner or admin). */
  isModerator(groupId: string): boolean {
    const me = this.state.members[groupId]?.find((m) => m.user_id === this.user.id);
    return me?.role === 'owner' || me?.role === 'admin';
  }

  /** `who`: a user id, or an email (resolved through the org directory when there is one). */
  async addMember(groupId: string, who: string): Promise<Member> {
    const value = who.trim();
    if (!value) throw new ApiError(400, 'Missing user', 'Enter a user id or an email address.');
    let body: AddMemberBody;
    if (isUuid(value)) {
      body = { user_id: value };
    } else if (value.includes('@')) {
      const directory = this.state.directory;
      const match = directory?.find((u) => u.email?.toLowerCase() === value.toLowerCase());
      if (match) body = { user_id: match.id };
      else if (directory)
        throw new ApiError(404, 'Unknown user', `No one in your organization has the email ${value}.`);
      else
        throw new ApiError(400, 'Unknown user', 'Without the organization directory, enter their user id.');
    } else {
      throw new ApiError(400, 'Invalid user', 'Enter a user id (a UUID) or an email address.');
    }
    const member = await this.#auth.addMember(groupId, body);
    const group = this.state.groups.find((g) => g.id === groupId);
    if (group && typeof group.member_count === 'number')
      this.#patchGroup(groupId, { member_count: group.member_count + 1 });
    return member;
  }

  async #loadDirectory(): Promise<void> {
    try {
      const users = await this.#auth.listOrgUsers(this.user.org_id);
      if (this.#stopped || !users) return;
      this.setState({ directory: users });
      this.#learnPeople(users);
    } catch {
      // Optional feature; adding members by id still works.
    }
  }

  #learnPeople(
    people: { id: string; display_name?: string | undefined; email?: string | undefined }[],
  ): void {
    const known = { ...this.state.people };
    let changed = false;
    for (const p of people) {
      if (!p.display_name && !p.email) continue;
      const before = known[p.id];
      if (before?.display_name === p.display_name && before?.email === p.email) continue;
      known[p.id] = { display_name: p.display_name ?? before?.display_name, email: p.email ?? before?.email };
      changed = true;
    }
    if (changed) this.setState({ people: known });
  }

  #patchGroup(groupId: string, patch: Partial<Group>): void {
    this.setState((s) => ({
      ...s,
      groups: s.groups.map((g) => (g.id === groupId ? { ...g, ...patch } : g)),
    }));
  }

  // ---- rooms --------------------------------------------------------------------------------------

  room(groupId: string): RoomState {
    return this.state.rooms[groupId] ?? EMPTY_ROOM;
  }

  #patchRoom(groupId: string, patch: Partial<RoomState> | ((room: RoomState) => Partial<RoomState>)): void {
    this.setState((s) => {
      const current = s.rooms[groupId] ?? EMPTY_ROOM;
      const next = { ...current, ...(typeof patch === 'function' ? patch(current) : patch) };
      return { ...s, rooms: { ...s.rooms, [groupId]: next } };
    });
  }

  setActiveGroup(groupId: string | null): void {
    if (this.state.activeGroupId !== groupId) this.setState({ activeGroupId: groupId });
    if (!groupId) return;
    const room = this.room(groupId);
    if (!room.loaded && !room.loading) void this.#loadLatest(groupId);
    this.markRead(groupId);
    void this.loadReceipts(groupId);
    void this.loadPresence(groupId);
  }

  /** Reload a room whose first load failed. */
  reloadRoom(groupId: string): void {
    void this.#loadLatest(groupId);
  }

  /** The newest page, merged into what the room holds. Single flight per group. */
  #loadLatest(groupId: string): Promise<void> {
    const inFlight = this.#latestInFlight.get(groupId);
    if (inFlight) return inFlight.promise;
    const entry = { promise: Promise.resolve(), stale: false };
    entry.promise = (async () => {
      this.#patchRoom(groupId, { loading: true, loadError: null });
      try {
        const page = await this.#chat.listMessages(groupId);
        if (this.#stopped) return;
        this.#patchRoom(groupId, (room) => {
          const bottom = oldest(page.messages);
          const existing = new Set(room.messages.map((m) => m.id));
          const overlaps = page.messages.some((m) => existing.has(m.id));
          if (!room.loaded || (!overlaps && page.next_cursor !== null)) {
            // The page starts a fresh window; keep only what we hold that is newer than its bottom
            // (live messages that arrived meanwhile), so no gap can hide between the two.
            const keep = bottom ? room.messages.filter((m) => compareMessages(m, bottom) > 0) : room.messages;
            return {
              messages: mergeMessages(keep, page.messages),
              loaded: true,
              loading: false,
              olderCursor: page.next_cursor,
              hasOlder: page.next_cursor !== null,
              olderError: null,
            };
          }
          return { messages: mergeMessages(room.messages, page.messages), loading: false };
        });
        this.#confirmPending(groupId, page.messages);
        this.#maybeMarkRead(groupId);
      } catch (error) {
        if (!this.#stopped) this.#patchRoom(groupId, { loading: false, loadError: describeError(error) });
      } finally {
        this.#latestInFlight.delete(groupId);
        if (entry.stale && !this.#stopped) void this.#loadLatest(groupId);
      }
    })();
    this.#latestInFlight.set(groupId, entry);
    return entry.promise;
  }

  async loadOlder(groupId: string): Promise<void> {
    const room = this.room(groupId);
    if (!room.loaded || !room.hasOlder || room.loadingOlder || !room.olderCursor) return;
    const cursor = room.olderCursor;
    this.#patchRoom(groupId, { loadingOlder: true, olderError: null });
    try {
      const page = await this.#chat.listMessages(groupId, { before: cursor });
      if (this.#stopped) return;
      this.#patchRoom(groupId, (r) =>
        // A reset may have replaced the window meanwhile: then this page no longer fits.
        r.olderCursor !== cursor
          ? { loadingOlder: false }
          : {
              messages: mergeMessages(r.messages, page.messages),
              olderCursor: page.next_cursor,
              hasOlder: page.next_cursor !== null,
              loadingOlder: false,
            },
      );
    } catch (error) {
      if (!this.#stopped) this.#patchRoom(groupId, { loadingOlder: false, olderError: describeError(error) });
    }
  }

  #advanceCursor(groupId: string, cursor: string | null): void {
    if (cursor !== null && cursorAfter(cursor, this.#cursors.get(groupId)))
      this.#cursors.set(groupId, cursor);
  }

  // ---- live delivery ------------------------------------------------------------------------------

  #subscribeAll(): void {
    if (!this.#socket.ready) return;
    for (const group of this.state.groups) {
      if (this.#subscribed.has(group.id)) continue;
      const cursor = this.#cursors.get(group.id) ?? null;
      if (this.#socket.subscribe(group.id, cursor)) this.#subscribed.set(group.id, cursor !== null);
    }
  }

  #onSubscribed(groupId: string, cursor: string | null): void {
    if (this.room(groupId).accessError) this.#patchRoom(groupId, { accessError: null });
    this.#advanceCursor(groupId, cursor);
    // Without a cursor (nothing known yet) the REST snapshot taken now holds everything up to where
    // live delivery starts. With a cursor, the server replays the gap itself.
    if (!this.room(groupId).loaded || this.#subscribed.get(groupId) === false) void this.#loadLatest(groupId);
    const thread = this.state.openThread;
    if (thread?.groupId === groupId && this.#subscribed.get(groupId) === false)
      void this.#loadThread(groupId, thread.rootId);
  }

  #onEvent(message: Message, cursor: string | null, updated: boolean): void {
    const groupId = message.group_id;
    this.#advanceCursor(groupId, cursor);
    if (message.thread_root_id) {
      this.#patchThread(message.thread_root_id, (t) => ({ replies: upsertMessage(t.replies, message) }));
      return;
    }
    if (updated) {
      // A change to a message we hold (edit, deletion, reaction, reply count); others load with their page.
      this.#patchRoom(groupId, (room) =>
        room.messages.some((m) => m.id === message.id)
          ? { messages: upsertMessage(room.messages, message) }
          : {},
      );
      return;
    }
    this.#patchRoom(groupId, (room) => ({
      messages: mergeMessages(room.messages, [message]),
      pending:
        message.sender_id === this.user.id && message.client_message_id
          ? room.pending.filter((p) => p.client_message_id !== message.client_message_id)
          : room.pending,
    }));
    this.#pruneTyping(groupId, message.sender_id);
    if (message.sender_id !== this.user.id && !this.#isViewing(groupId)) {
      // Counted here at once; the server's count (a read frame, or the next load) settles it.
      const mentioned = ((message as { mentions?: string[] }).mentions ?? []).includes(this.user.id);
      this.setState((s) => {
        const current = s.readState[groupId] ?? {
          group_id: groupId,
          last_read_message_id: null,
          unread_count: 0,
          mention_count: 0,
        };
        return {
          ...s,
          readState: {
            ...s.readState,
            [groupId]: {
              ...current,
              unread_count: current.unread_count + 1,
              mention_count: current.mention_count + (mentioned ? 1 : 0),
            },
          },
        };
      });
    }
    this.#maybeMarkRead(groupId);
    if (this.state.activeGroupId === groupId) void this.loadReceipts(groupId);
  }

  #isViewing(groupId: string): boolean {
    return this.state.activeGroupId === groupId && document.visibilityState === 'visible';
  }

  #onReset(groupId: string, cursor: string | null): void {
    // Live delivery continues after `cursor`; the REST reload covers everything up to it.
    if (cursor !== null) this.#cursors.set(groupId, cursor);
    else this.#cursors.delete(groupId);
    this.#patchRoom(groupId, (room) => ({ ...EMPTY_ROOM, pending: room.pending }));
    const thread = this.state.openThread;
    if (thread?.groupId === groupId) void this.#loadThread(groupId, thread.rootId);
    const inFlight = this.#latestInFlight.get(groupId);
    if (inFlight) inFlight.stale = true;
    else void this.#loadLatest(groupId);
  }

  #onGroupError(groupId: string, status: number, detail: string): void {
    // Stays in #subscribed so it is not asked again on this connection (no refusal loop).
    this.#patchRoom(groupId, { accessError: detail });
    // Removed from the group, or it is gone: the list may have changed.
    if (status === 403 || status === 404) void this.loadGroups();
  }

  // ---- sending ------------------------------------------------------------------------------------

  /** Queues a message; returns an error sentence when it cannot be sent at all. */
  send(groupId: string, content: string, mentions: string[] = []): string | null {
    const text = content.trim();
    if (!text) return 'Write something first.';
    if (text.length > MAX_CONTENT_LENGTH) {
      return `Messages can be at most ${MAX_CONTENT_LENGTH} characters (this one has ${text.length}).`;
    }
    const pending: PendingMessage = {
      // Generated once per message and reused on every retry: the server stores it at most once.
      client_message_id: newClientMessageId(),
      content: text,
      mentions,
      status: 'sending',
      error: null,
      retryable: false,
    };
    this.#patchRoom(groupId, (room) => ({ pending: [...room.pending, pending] }));
    void this.#post(groupId, pending.client_message_id);
    return null;
  }

  retry(groupId: string, clientMessageId: string): void {
    void this.#post(groupId, clientMessageId);
  }

  discard(groupId: string, clientMessageId: string): void {
    this.#patchRoom(groupId, (room) => ({
      pending: room.pending.filter((p) => p.client_message_id !== clientMessageId || p.status === 'sending'),
    }));
  }

  /** Retries every failed send that may succeed now (called when the connection is back). */
  retryFailed(): void {
    for (const [groupId, room] of Object.entries(this.state.rooms)) {
      for (const p of room.pending) {
        if (p.status === 'failed' && p.retryable) void this.#post(groupId, p.client_message_id);
      }
    }
  }

  #updatePending(groupId: string, clientMessageId: string, patch: Partial<PendingMessage>): void {
    this.#patchRoom(groupId, (room) => ({
      pending: room.pending.map((p) => (p.client_message_id === clientMessageId ? { ...p, ...patch } : p)),
    }));
  }

  async #post(groupId: string, clientMessageId: string): Promise<void> {
    const pending = this.room(groupId).pending.find((p) => p.client_message_id === clientMessageId);
    if (!pending || this.#posting.has(clientMessageId)) return;
    this.#posting.add(clientMessageId);
    this.#updatePending(groupId, clientMessageId, { status: 'sending', error: null });
    try {
      const message = await this.#chat.postMessage(groupId, pending.content, clientMessageId, {
        mentions: pending.mentions,
      });
      if (this.#stopped) return;
      this.#patchRoom(groupId, (room) => ({
        messages: mergeMessages(room.messages, [message]),
        pending: room.pending.filter((p) => p.client_message_id !== clientMessageId),
      }));
      this.#maybeMarkRead(groupId);
    } catch (error) {
      if (this.#stopped) return;
      this.#updatePending(groupId, clientMessageId, {
        status: 'failed',
        error: describeError(error),
        retryable: error instanceof ApiError ? error.retryable : true,
      });
    } finally {
      this.#posting.delete(clientMessageId);
    }
  }

  #confirmPending(groupId: string, messages: readonly Message[]): void {
    const mine = new Set(
      messages
        .filter((m) => m.sender_id === this.user.id && m.client_message_id)
        .map((m) => m.client_message_id),
    );
    if (mine.size === 0) return;
    const room = this.room(groupId);
    // Only drop those not being posted right now; the POST answer will settle those.
    const pending = room.pending.filter(
      (p) => !mine.has(p.client_message_id) || this.#posting.has(p.client_message_id),
    );
    if (pending.length !== room.pending.length) this.#patchRoom(groupId, { pending });
  }

  // ---- threads, edits, deletions, reactions --------------------------------------------------------

  thread(rootId: string): ThreadState {
    return this.state.threads[rootId] ?? EMPTY_THREAD;
  }

  #patchThread(rootId: string, patch: (thread: ThreadState) => Partial<ThreadState>): void {
    this.setState((s) => {
      const current = s.threads[rootId] ?? EMPTY_THREAD;
      return { ...s, threads: { ...s.threads, [rootId]: { ...current, ...patch(current) } } };
    });
  }

  openThread(groupId: string, rootId: string): void {
    this.setState({ openThread: { groupId, rootId } });
    if (!this.thread(rootId).loaded) void this.#loadThread(groupId, rootId);
  }

  closeThread(): void {
    this.setState({ openThread: null });
  }

  /** Every reply of the thread by REST (pages of 100), merged with what arrived live meanwhile. */
  async #loadThread(groupId: string, rootId: string): Promise<void> {
    try {
      let after: string | null = null;
      let replies: Message[] = [];
      do {
        const page = await this.#chat.listReplies(groupId, rootId, after);
        replies = mergeMessages(replies, page.messages);
        after = page.next_cursor;
      } while (after);
      if (this.#stopped) return;
      this.#patchThread(rootId, (t) => ({
        replies: mergeMessages(t.replies, replies),
        loaded: true,
        error: null,
      }));
    } catch (error) {
      if (!this.#stopped) this.#patchThread(rootId, () => ({ error: describeError(error) }));
    }
  }

  /** Posts a reply; resolves with an error sentence, or null when sent. */
  async reply(groupId: string, rootId: string, content: string, mentions: string[]): Promise<string | null> {
    const text = content.trim();
    if (!text) return 'Write something first.';
    if (text.length > MAX_CONTENT_LENGTH) return `Replies can be at most ${MAX_CONTENT_LENGTH} characters.`;
    try {
      const message = await this.#chat.postMessage(groupId, text, newClientMessageId(), {
        thread_root_id: rootId,
        mentions,
      });
      this.#patchThread(rootId, (t) => ({ replies: upsertMessage(t.replies, message) }));
      return null;
    } catch (error) {
      return describeError(error);
    }
  }

  /** The answer of a change: put it in place wherever the message is shown. */
  #apply(message: Message): void {
    if (message.thread_root_id)
      this.#patchThread(message.thread_root_id, (t) => ({ replies: upsertMessage(t.replies, message) }));
    else
      this.#patchRoom(message.group_id, (room) =>
        room.messages.some((m) => m.id === message.id)
          ? { messages: upsertMessage(room.messages, message) }
          : {},
      );
  }

  async edit(groupId: string, id: string, content: string, mentions: string[]): Promise<string | null> {
    const text = content.trim();
    if (!text) return 'A message cannot be empty (delete it instead).';
    try {
      this.#apply(await this.#chat.editMessage(groupId, id, text, mentions));
      return null;
    } catch (error) {
      return describeError(error);
    }
  }

  async remove(message: Message): Promise<string | null> {
    try {
      await this.#chat.deleteMessage(message.group_id, message.id);
      // The tombstone as the server keeps it; the live event brings the same.
      this.#apply({
        ...message,
        content: '',
        reactions: [],
        mentions: [],
        edited_at: null,
        deleted_at: message.deleted_at ?? new Date().toISOString(),
      });
      return null;
    } catch (error) {
      return describeError(error);
    }
  }

  /** Adds my reaction, or takes it back when I already reacted with that emoji. */
  async toggleReaction(message: Message, emoji: string): Promise<string | null> {
    const mine = message.reactions.some((r) => r.emoji === emoji && r.user_ids.includes(this.user.id));
    try {
      this.#apply(await this.#chat.react(message.group_id, message.id, emoji, !mine));
      return null;
    } catch (error) {
      return describeError(error);
    }
  }

  // ---- read marks ---------------------------------------------------------------------------------

  markRead(groupId: string): void {
    const latest = newest(this.room(groupId).messages);
    if (latest) void this.#markReadOnServer(groupId, latest.id);
  }

  /** One PUT per group at a time; the newest asked for wins. */
  async #markReadOnServer(groupId: string, messageId: string): Promise<void> {
    const known = this.state.readState[groupId];
    if (known?.last_read_message_id === messageId && known.unread_count === 0) return;
    if (this.#marking.has(groupId)) {
      this.#marking.set(groupId, messageId);
      return;
    }
    this.#marking.set(groupId, messageId);
    try {
      for (let next = messageId; ; ) {
        const state = await this.#chat.markRead(groupId, next);
        if (this.#stopped) return;
        this.#setReadState(state);
        const queued = this.#marking.get(groupId);
        if (!queued || queued === next) break;
        next = queued;
      }
    } catch {
      // The badge stays; the next view of the group tries again.
    } finally {
      this.#marking.delete(groupId);
    }
  }

  #maybeMarkRead(groupId: string): void {
    if (this.state.activeGroupId === groupId && document.visibilityState === 'visible')
      this.markRead(groupId);
  }

  readonly #onVisibility = (): void => {
    const active = this.state.activeGroupId;
    if (active) this.#maybeMarkRead(active);
  };

  readonly #onOnline = (): void => {
    this.retryFailed();
  };
}

/** Unread messages from others after my read marker, as chat-api counts them (every device alike). */
export function unreadCount(
  state: ChatState,
  groupId: string,
  _myId: string,
): { count: number; more: boolean; mentions: number } {
  const server = state.readState[groupId];
  return { count: server?.unread_count ?? 0, more: false, mentions: server?.mention_count ?? 0 };
}

/** What the list and the header call a group: its name, or for a direct one the other person's. */
export function groupLabel(state: ChatState, group: Group): string {
  if (group.kind !== 'direct') return group.name ?? 'Unnamed group';
  const peer = state.directPeers[group.id];
  return peer ? displayName(state.people, peer) : 'Direct conversation';
}

function groupSortKey(group: Group): string {
  return `${group.kind === 'direct' ? '1' : '0'}${group.name ?? ''}`;
}

export function displayName(people: Record<string, Person>, userId: string): string {
  const person = people[userId];
  return person?.display_name || person?.email || `User ${userId.slice(0, 8)}`;
}
