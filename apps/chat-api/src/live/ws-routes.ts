import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { CloseCodes, type ServerFrame } from '@groupchat/contract';
import { HttpProblem, type HttpServer } from '@groupchat/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { authenticateToken, ChatScopes, requireScope } from '../auth/plugin.ts';
import type { ChatUser, UserTokenVerifier } from '../auth/user-token-verifier.ts';
import type { ChatConfig } from '../config.ts';
import type { GroupDirectory } from '../groups/group-directory.ts';
import type { ChatLimits } from '../limits.ts';
import type { ConnectionSlots } from './connection-slots.ts';
import type { LiveConnection, LiveHub } from './hub.ts';
import { PingSweep } from './ping-sweep.ts';
import { encode, type ParsedFrame, parseClientFrame } from './protocol.ts';
import type { LiveSignals } from './signals.ts';

export interface LiveRouteDeps {
  hub: LiveHub;
  signals: LiveSignals;
  groups: GroupDirectory;
  verifier: UserTokenVerifier;
  limits: ChatLimits;
  /** Connections per user across instances. */
  slots: ConnectionSlots;
  config: ChatConfig['ws'];
  clockToleranceSeconds: number;
  logger: Logger;
}

const OPEN = 1;
/** The ping interval is cut into this many ticks, each pinging its share of the sockets (see PingSweep). */
const PING_SLICES = 32;

/** One WebSocket from accept to close. Frames are handled one at a time, in arrival order. */
class SocketConnection implements LiveConnection {
  readonly #socket: WebSocket;
  readonly #maxBuffered: number;
  readonly #graceMs: number;
  readonly #onClose: () => void;
  #overSince = 0;
  #corked = false;
  #user: ChatUser | null = null;
  #closed = false;
  /** This connection's slot among its user's connections (ConnectionSlots). */
  readonly id = randomUUID();
  /** The client's address as a limit subject. */
  address = '';
  alive = true;
  queue: Promise<void> = Promise.resolve();
  /** Frames received and not yet handled. */
  pending = 0;
  /** Token bucket of client frames. */
  tokens = 0;
  refilledAt = Date.now();
  authTimer: NodeJS.Timeout | null = null;
  expiryTimer: NodeJS.Timeout | null = null;

  constructor(socket: WebSocket, options: { maxBuffered: number; graceMs: number; onClose: () => void }) {
    this.#socket = socket;
    this.#maxBuffered = options.maxBuffered;
    this.#graceMs = options.graceMs;
    this.#onClose = options.onClose;
  }

  get user(): ChatUser {
    if (!this.#user) throw new Error('connection not authenticated');
    return this.#user;
  }

  get authenticated(): boolean {
    return this.#user !== null;
  }

  setUser(user: ChatUser): void {
    this.#user = user;
  }

  get isOpen(): boolean {
    return !this.#closed && this.#socket.readyState === OPEN;
  }

  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  send(data: string | Buffer): void {
    if (!this.isOpen) return;
    // Never let one client that does not read make the server buffer without bound or hold others
    // back: over the cap for longer than a burst takes to drain (or far over it), it has queued more
    // than the server will hold and is closed with 1008 (the contract), and resumes with `cursor`
    // when it reconnects.
    const buffered = this.#socket.bufferedAmount;
    if (buffered > this.#maxBuffered) {
      const now = Date.now();
      if (this.#overSince === 0) this.#overSince = now;
      if (buffered > 4 * this.#maxBuffered || now - this.#overSince > this.#graceMs) {
        this.close(CloseCodes.policyViolation, 'outgoing queue over its bound (slow consumer)');
        return;
      }
    } else this.#overSince = 0;
    this.#cork();
    // A Buffer goes out as a text frame as it is: no copy, no UTF-8 encoding per subscriber.
    this.#socket.send(data, { binary: false });
  }

  /**
   * Frames sent in one turn of the event loop (a replay, a group-commit batch of live messages) leave
   * in one write to the kernel instead of one each: the TCP socket is corked until the turn ends.
   */
  #cork(): void {
    if (this.#corked) return;
    const raw = (this.#socket as unknown as { _socket?: Socket })._socket;
    if (!raw || raw.destroyed) return;
    raw.cork();
    this.#corked = true;
    process.nextTick(() => {
      this.#corked = false;
      raw.uncork();
    });
  }

  frame(frame: ServerFrame): void {
    this.send(encode(frame));
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.clearTimers();
    this.#onClose();
    try {
      this.#socket.close(code, reason);
    } catch {
      this.#socket.terminate();
      return;
    }
    // A client that does not answer the close handshake (or does not read at all) is cut off.
    setTimeout(() => this.#socket.terminate(), 2_000).unref();
  }

  /** The socket is gone: stop timers, send nothing more. */
  dispose(): void {
    if (!this.#closed) this.#onClose();
    this.#closed = true;
    this.clearTimers();
  }

  ping(): void {
    if (!this.alive) {
      this.dispose();
      this.#socket.terminate();
      return;
    }
    this.alive = false;
    try {
      this.#socket.ping();
    } catch {
      // closing already
    }
  }

  clearTimers(): void {
    if (this.authTimer) clearTimeout(this.authTimer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.authTimer = null;
    this.expiryTimer = null;
  }
}

/** GET /api/chat/ws: the contract's live-delivery protocol. */
export async function liveRoutes(app: HttpServer, deps: LiveRouteDeps): Promise<void> {
  const { hub, signals, groups, verifier, config, logger, limits, slots } = deps;
  const connections = new Set<SocketConnection>();
  const frameBurst = config.maxFramesPerSecond * 2;

  /** One token per frame, refilled at maxFramesPerSecond, holding at most 2 s' worth. */
  const takeFrameToken = (conn: SocketConnection): boolean => {
    const now = Date.now();
    conn.tokens = Math.min(
      frameBurst,
      conn.tokens + ((now - conn.refilledAt) / 1000) * config.maxFramesPerSecond,
    );
    conn.refilledAt = now;
    if (conn.tokens < 1) return false;
    conn.tokens -= 1;
    return true;
  };

  const pings = new PingSweep(connections, (conn) => conn.ping(), PING_SLICES);
  const heartbeat = setInterval(() => {
    if (!pings.tick()) return;
    slots
      .refresh()
      .catch((error) =>
        logger.warn({ err: error, event: 'connection_slots_refresh_failed' }, 'slots not refreshed'),
      );
  }, pings.tickMs(config.pingIntervalMs));
  heartbeat.unref();
  app.addHook('onClose', async () => clearInterval(heartbeat));

  const armExpiry = (conn: SocketConnection, user: ChatUser) => {
    if (conn.expiryTimer) clearTimeout(conn.expiryTimer);
    // The connection lives as long as its token: send another `auth` frame before `exp` to extend.
    const delay = Math.min(
      2 ** 31 - 1,
      Math.max(0, user.expiresAt + deps.clockToleranceSeconds * 1000 - Date.now()),
    );
    conn.expiryTimer = setTimeout(() => conn.close(CloseCodes.unauthorized, 'token expired'), delay);
    conn.expiryTimer.unref();
  };

  const authenticate = async (conn: SocketConnection, token: string): Promise<ChatUser | null> => {
    try {
      return await authenticateToken(verifier, token);
    } catch (error) {
      if (error instanceof HttpProblem && error.status === 503)
        conn.close(CloseCodes.tryAgainLater, 'cannot verify tokens now');
      else conn.close(CloseCodes.unauthorized, 'invalid token');
      return null;
    }
  };

  const handle = async (conn: SocketConnection, frame: ParsedFrame): Promise<void> => {
    if (frame.type === 'auth') {
      const user = await authenticate(conn, frame.token);
      if (!user) return;
      if (conn.authenticated && conn.user.userId !== user.userId) {
        conn.close(CloseCodes.unauthorized, 'a connection cannot change user');
        return;
      }
      const first = !conn.authenticated;
      // A later token may carry fewer scopes (a narrowed refresh): without the read scope, the
      // subscriptions it would keep alive end, as a removal from the groups would.
      if (!first && !user.scopes.has(ChatScopes.read))
        for (const groupId of hub.subscribedGroups(conn)) {
          hub.unsubscribe(conn, groupId);
          conn.frame({
            type: 'error',
            group_id: groupId,
            status: 403,
            detail: `this token lacks the scope "${ChatScopes.read}"`,
          });
        }
      if (first) {
        const slot = { userId: user.userId, connectionId: conn.id };
        if (!(await slots.acquire(slot))) {
          conn.close(CloseCodes.policyViolation, 'too many connections for this user');
          return;
        }
        // Gone while the slot was being taken: onClose found no user to release it for.
        if (!conn.isOpen) {
          slots.release(slot);
          return;
        }
      }
      conn.setUser(user);
      if (first) {
        if (conn.authTimer) clearTimeout(conn.authTimer);
        conn.authTimer = null;
        hub.addConnection(conn);
      }
      armExpiry(conn, user);
      conn.frame({ type: 'ready', user_id: user.userId });
      return;
    }
    const user = conn.user;
    if (frame.type === 'unsubscribe') {
      hub.unsubscribe(conn, frame.group_id);
      conn.frame({ type: 'unsubscribed', group_id: frame.group_id });
      return;
    }
    if (frame.type === 'typing') {
      // Telling the others "Bob is typing" acts for Bob: the write scope, as a post would need.
      if (!user.scopes.has(ChatScopes.write)) {
        conn.frame({
          type: 'error',
          group_id: frame.group_id,
          status: 403,
          detail: `this token lacks the scope "${ChatScopes.write}"`,
        });
        return;
      }
      if (!signals.typing(conn, frame.group_id))
        conn.frame({
          type: 'error',
          group_id: frame.group_id,
          status: 400,
          detail: 'typing is only for a group this connection is subscribed to',
        });
      return;
    }
    // subscribe
    const groupId = frame.group_id;
    if (hub.subscriptionCount(conn) >= config.maxSubscriptions) {
      conn.frame({
        type: 'error',
        group_id: groupId,
        status: 400,
        detail: `at most ${config.maxSubscriptions} subscriptions per connection`,
      });
      return;
    }
    try {
      // Subscribing to groups one may not see is a failure like a 403/404 over REST, limited per user and
      // address; once over, refused from memory without asking auth-api.
      limits.assertNotBlocked({ userId: user.userId, address: conn.address });
      requireScope(user, ChatScopes.read);
      const access = await groups.authorize({ id: user.userId, orgId: user.orgId }, groupId);
      if (!conn.isOpen) return;
      const subscribed = await hub.subscribe(conn, groupId, access.orgId, {
        afterId: frame.after,
        cursor: frame.cursor,
      });
      // A removal that raced with the subscription (event handled between the check and the
      // registration) is caught here.
      if (subscribed && groups.isMemberCached(groupId, user.userId) === false)
        hub.accessLost(groupId, user.userId, 403);
    } catch (error) {
      const problem = error instanceof HttpProblem ? error : null;
      // As on REST: a missing scope is not a probe of other groups (see messages/routes.ts).
      if (
        problem &&
        (problem.status === 403 || problem.status === 404) &&
        problem.code !== 'insufficient_scope'
      )
        await limits.recordFailure({ userId: user.userId, address: conn.address }).catch(() => {});
      if (!problem)
        logger.error({ err: error, event: 'ws_subscribe_failed', group_id: groupId }, 'subscribe failed');
      conn.frame({
        type: 'error',
        group_id: groupId,
        status: problem?.status ?? 503,
        detail: problem?.detail ?? 'temporarily unavailable, retry shortly',
      });
    }
  };

  const onConnection = (socket: WebSocket, request: FastifyRequest) => {
    const conn: SocketConnection = new SocketConnection(socket, {
      maxBuffered: config.maxBufferedBytes,
      graceMs: config.slowConsumerGraceMs,
      onClose: () => {
        connections.delete(conn);
        hub.removeConnection(conn);
        if (conn.authenticated) slots.release({ userId: conn.user.userId, connectionId: conn.id });
      },
    });
    conn.address = request.clientKey;
    conn.tokens = frameBurst;
    connections.add(conn);
    conn.authTimer = setTimeout(
      () => conn.close(CloseCodes.unauthorized, 'no auth frame in time'),
      config.authTimeoutMs,
    );
    conn.authTimer.unref();

    socket.on('pong', () => {
      conn.alive = true;
    });
    socket.on('message', (data, isBinary) => {
      conn.alive = true;
      if (!conn.isOpen) return;
      // A client may not make the server queue work without bound: too fast, or too much waiting, and
      // the connection is closed (1008) before the frame is even parsed.
      if (!takeFrameToken(conn)) {
        conn.close(CloseCodes.policyViolation, 'too many frames');
        return;
      }
      if (conn.pending >= config.maxQueuedFrames) {
        conn.close(CloseCodes.policyViolation, 'too many frames waiting');
        return;
      }
      conn.pending += 1;
      const parsed = isBinary
        ? ({ ok: false, detail: 'frames must be JSON text' } as const)
        : parseClientFrame(data.toString());
      conn.queue = conn.queue
        .then(async () => {
          if (!conn.isOpen) return;
          if (!parsed.ok || (!conn.authenticated && parsed.frame.type !== 'auth')) {
            if (!conn.authenticated) {
              conn.close(CloseCodes.unauthorized, 'the first frame must be {"type":"auth","token":…}');
              return;
            }
            const failure = parsed as { detail: string; group_id?: string };
            conn.frame({
              type: 'error',
              status: 400,
              detail: failure.detail,
              ...(failure.group_id ? { group_id: failure.group_id } : {}),
            });
            return;
          }
          await handle(conn, parsed.frame);
        })
        .catch((error) => {
          request.log.error({ err: error, event: 'ws_frame_failed' }, 'frame handling failed');
        })
        .finally(() => {
          conn.pending -= 1;
        });
    });
    socket.on('close', () => conn.dispose());
    socket.on('error', (error) => {
      request.log.debug({ err: error, event: 'ws_socket_error' }, 'websocket error');
    });
  };

  app.route({
    method: 'GET',
    url: '/api/chat/ws',
    schema: {
      tags: ['live'],
      summary: 'WebSocket: live messages (upgrade required)',
      description: [
        'JSON text frames. First frame {"type":"auth","token":"<user access token>"} → {"type":"ready","user_id"}; no valid auth within 10 s: close 4401. Send auth again before the token expires to extend the connection; at `exp` it is closed with 4401.',
        '{"type":"subscribe","group_id","cursor"?|"after"?} → {"type":"subscribed","group_id"}, then with `cursor` (a change-log cursor, decimal digits) every event of the group after it, or with `after` (a message id) every event after that message was created, in order, then live ones, none twice, none skipped; when the gap is too large (more than WS_RESUME_MAX_GAP events) or the cursor is unknown {"type":"reset","group_id","cursor"} (reload by REST; live delivery continues after `cursor`). Without either, `subscribed` carries the `cursor` live delivery starts after. Not allowed: {"type":"error","group_id","status":403|404,"detail"}.',
        '{"type":"unsubscribe","group_id"} → {"type":"unsubscribed","group_id"}. Server → client {"type":"message","message":{…REST shape…},"cursor"} for a new message (root or reply) and {"type":"message_updated","message","cursor"} for an edit, deletion, reaction or reply-count change, in cursor order. A removed member gets {"type":"error","group_id","status":403}.',
        '{"type":"typing","group_id"} (a subscribed group only, else an error frame 400) → the other subscribers get {"type":"typing","group_id","user_id"}, at most one per user and group per 2 s (the rest dropped silently); nothing is stored. Subscribers get {"type":"presence","group_id","user_id","status":"online"|"offline"} when a user gets their first subscribed socket in the group (any instance) or has had none for 10 s. When the caller’s read marker moves, every socket of theirs gets {"type":"read","group_id","last_read_message_id","unread_count","mention_count"}.',
        'Scopes: subscribe needs the token’s groups:read, typing its groups:write (an app’s token may carry fewer than the platform’s own); without it an error frame {"type":"error","group_id","status":403,"detail"}, the connection stays. A later auth frame whose token lacks groups:read ends the subscriptions the same way.',
        'Other frames: {"type":"error","status":400,"detail"}, the connection stays. Liveness: WebSocket ping/pong. Slow consumers (send buffer over WS_MAX_BUFFERED_BYTES for WS_SLOW_CONSUMER_GRACE_MS, or over 4 times it) are closed with 1008; revoked tokens and ended sessions with 4401.',
      ].join('\n\n'),
    },
    handler: async (_request: FastifyRequest, reply: FastifyReply) => {
      reply
        .code(426)
        .header('upgrade', 'websocket')
        .type('application/problem+json')
        .send(new HttpProblem(426, 'upgrade_required', 'this endpoint speaks WebSocket only').toBody());
    },
    wsHandler: onConnection,
  });
}
