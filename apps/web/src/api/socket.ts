/**
 * The chat WebSocket (`/api/chat/ws`): authenticates with the first frame, reports a connection state,
 * and reconnects with exponential backoff. What to (re)subscribe to, from which `cursor`, is the
 * owner's business: it is told `onReady` after every (re)authentication.
 */

import type { ClientFrame, GroupReadState, Message, ServerFrame } from '@groupchat/contract';
import { encodeClientFrame, parseServerFrame } from './frames.ts';
import type { TokenSource } from './http.ts';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface SocketHandlers {
  onState(state: ConnectionState): void;
  /** Authenticated (again): subscribe now. */
  onReady(): void;
  /** `cursor`: where live delivery starts, when we subscribed without one. */
  onSubscribed(groupId: string, cursor: string | null): void;
  /** A change-log event: a new message, or a change to one (`updated`). */
  onEvent(message: Message, cursor: string | null, updated: boolean): void;
  /** The gap since our cursor was too large to replay: reload the group by REST; live continues after `cursor`. */
  onReset(groupId: string, cursor: string | null): void;
  onGroupError(groupId: string, status: number, detail: string): void;
  /** The server refused our token (close 4401) and no fresh one could be had. */
  onAuthLost(): void;
  /** Someone else in the group is typing. */
  onTyping?(groupId: string, userId: string): void;
  onPresence?(groupId: string, userId: string, status: 'online' | 'offline'): void;
  /** My read marker moved (on this device or another). */
  onRead?(state: GroupReadState): void;
}

export interface SocketOptions {
  tokens: TokenSource;
  handlers: SocketHandlers;
  url?: string;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** No `ready` within this long after connecting: give up on the attempt and retry. */
  handshakeTimeoutMs?: number;
}

function defaultUrl(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/api/chat/ws`;
}

function isOffline(): boolean {
  return typeof navigator !== 'undefined' && navigator.onLine === false;
}

export class ChatSocket {
  readonly #tokens: TokenSource;
  readonly #handlers: SocketHandlers;
  readonly #url: string;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #handshakeTimeoutMs: number;

  #ws: WebSocket | null = null;
  #ready = false;
  #attempt = 0;
  #everReady = false;
  #stopped = true;
  #state: ConnectionState = 'connecting';
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  #offToken: (() => void) | undefined;

  constructor(options: SocketOptions) {
    this.#tokens = options.tokens;
    this.#handlers = options.handlers;
    this.#url = options.url ?? defaultUrl();
    this.#baseDelayMs = options.baseDelayMs ?? 500;
    this.#maxDelayMs = options.maxDelayMs ?? 30_000;
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get ready(): boolean {
    return this.#ready;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    window.addEventListener('online', this.#onOnline);
    window.addEventListener('offline', this.#onOffline);
    // chat-api closes a socket when its token expires, unless a fresh one is sent first.
    this.#offToken = this.#tokens.onToken?.((token) => this.#send({ type: 'auth', token }));
    void this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    window.removeEventListener('online', this.#onOnline);
    window.removeEventListener('offline', this.#onOffline);
    this.#offToken?.();
    clearTimeout(this.#retryTimer);
    this.#drop(1000, 'client closing');
  }

  /** Sends a subscribe (from `cursor` when known) if authenticated; otherwise it happens in the next `onReady`. */
  subscribe(groupId: string, cursor?: string | null): boolean {
    return this.#send(
      cursor ? { type: 'subscribe', group_id: groupId, cursor } : { type: 'subscribe', group_id: groupId },
    );
  }

  unsubscribe(groupId: string): boolean {
    return this.#send({ type: 'unsubscribe', group_id: groupId });
  }

  /** "I am typing" in a subscribed group. */
  typing(groupId: string): boolean {
    return this.#send({ type: 'typing', group_id: groupId });
  }

  /** Skip any pending backoff and try now (e.g. a "Reconnect now" button). */
  reconnectNow(): void {
    if (this.#stopped || this.#ready) return;
    clearTimeout(this.#retryTimer);
    this.#attempt = 0;
    this.#drop(4000, 'reconnecting');
    void this.#connect();
  }

  #send(frame: ClientFrame): boolean {
    if (!this.#ready || !this.#ws || this.#ws.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(encodeClientFrame(frame));
    return true;
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#handlers.onState(state);
  }

  /** Forget the current socket without reacting to its close. */
  #drop(code: number, reason: string): void {
    clearTimeout(this.#handshakeTimer);
    const ws = this.#ws;
    this.#ws = null;
    this.#ready = false;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      try {
        ws.close(code, reason);
      } catch {
        // already closing
      }
    }
  }

  async #connect(): Promise<void> {
    if (this.#stopped || this.#ws) return;
    if (isOffline()) {
      this.#setState('offline');
      this.#scheduleReconnect();
      return;
    }
    this.#setState(this.#everReady ? 'reconnecting' : this.#attempt === 0 ? 'connecting' : 'reconnecting');
    let token: string | null;
    try {
      token = await this.#tokens.getToken();
    } catch {
      token = null;
    }
    if (this.#stopped || this.#ws) return;
    if (!token) {
      this.#scheduleReconnect();
      return;
    }
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.#url);
    } catch {
      this.#scheduleReconnect();
      return;
    }
    this.#ws = ws;
    this.#handshakeTimer = setTimeout(() => {
      if (this.#ws === ws && !this.#ready) {
        this.#drop(4000, 'handshake timeout');
        this.#scheduleReconnect();
      }
    }, this.#handshakeTimeoutMs);
    ws.onopen = () => {
      if (this.#ws === ws) ws.send(encodeClientFrame({ type: 'auth', token }));
    };
    ws.onmessage = (event) => {
      if (this.#ws !== ws) return;
      const frame = parseServerFrame(event.data);
      if (frame) this.#onFrame(frame);
    };
    ws.onclose = (event) => {
      if (this.#ws !== ws) return;
      clearTimeout(this.#handshakeTimer);
      this.#ws = null;
      this.#ready = false;
      if (this.#stopped) return;
      if (event.code === 4401) {
        void this.#renewAndReconnect();
        return;
      }
      this.#scheduleReconnect();
    };
  }

  async #renewAndReconnect(): Promise<void> {
    this.#setState('reconnecting');
    let token: string | null = null;
    try {
      token = await this.#tokens.renewToken();
    } catch {
      token = null;
    }
    if (this.#stopped) return;
    if (!token && !isOffline()) {
      this.#handlers.onAuthLost();
    }
    this.#scheduleReconnect();
  }

  #onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'ready': {
        // A repeated `ready` only acknowledges a token refresh: the subscriptions still stand.
        const first = !this.#ready;
        clearTimeout(this.#handshakeTimer);
        this.#ready = true;
        this.#everReady = true;
        this.#attempt = 0;
        this.#setState('connected');
        if (first) this.#handlers.onReady();
        break;
      }
      case 'subscribed':
        this.#handlers.onSubscribed(frame.group_id, frame.cursor ?? null);
        break;
      case 'message':
      case 'message_updated':
        this.#handlers.onEvent(frame.message, frame.cursor, frame.type === 'message_updated');
        break;
      case 'reset':
        this.#handlers.onReset(frame.group_id, frame.cursor ?? null);
        break;
      case 'error':
        if (frame.group_id) this.#handlers.onGroupError(frame.group_id, frame.status, frame.detail);
        break;
      case 'typing':
        this.#handlers.onTyping?.(frame.group_id, frame.user_id);
        break;
      case 'presence':
        this.#handlers.onPresence?.(frame.group_id, frame.user_id, frame.status);
        break;
      case 'read': {
        const { type: _type, ...state } = frame;
        this.#handlers.onRead?.(state);
        break;
      }
      default:
        break;
    }
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    clearTimeout(this.#retryTimer);
    this.#setState(isOffline() ? 'offline' : 'reconnecting');
    const exp = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** this.#attempt);
    const delay = Math.round(exp / 2 + (Math.random() * exp) / 2);
    this.#attempt = Math.min(this.#attempt + 1, 16);
    this.#retryTimer = setTimeout(() => void this.#connect(), delay);
  }

  readonly #onOnline = (): void => {
    if (this.#stopped || this.#ready) return;
    clearTimeout(this.#retryTimer);
    this.#attempt = 0;
    this.#drop(4000, 'back online');
    void this.#connect();
  };

  readonly #onOffline = (): void => {
    if (this.#stopped) return;
    // A socket may look open for a long while after the network is gone: drop it now and
    // resume from the last message when the browser is back online.
    this.#drop(4000, 'offline');
    this.#setState('offline');
    this.#scheduleReconnect();
  };
}
