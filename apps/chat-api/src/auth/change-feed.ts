import type { Logger } from 'pino';
import type { GroupDirectory } from '../groups/group-directory.ts';
import type { AuthApiClient } from '../service-auth/auth-api-client.ts';
import type { RevokedTokens } from './revocations.ts';

const PAGE = 500;

/**
 * Catches up from auth-api's change feed (GET /internal/change-feed, commit order): at start, then every
 * `pollMs`, so a revocation, an ended session or a removed member whose bus message was lost (bus down,
 * this instance restarting) is still honoured within one poll. The bus stays the fast path; events
 * arrive in the bus's own shapes and are applied by the same code, so one seen twice changes nothing.
 *
 * The first sweep after start skips membership events: the membership cache is empty then (loaded fresh
 * from auth-api), and an old removal replayed onto a user added again since would only delay them.
 */
export class ChangeFeedConsumer {
  readonly #client: AuthApiClient;
  readonly #revocations: RevokedTokens;
  readonly #groups: GroupDirectory;
  readonly #logger: Logger;
  readonly #pollMs: number;
  readonly #onKeyRemoved: () => Promise<void>;
  #cursor = '';
  #caughtUp = false;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  /** Successful polls (tests, metrics). */
  polls = 0;

  constructor(options: {
    client: AuthApiClient;
    revocations: RevokedTokens;
    groups: GroupDirectory;
    logger: Logger;
    pollMs: number;
    /** A key taken out: its emergency replacement signs already, so fetch the keys now. */
    onKeyRemoved?: () => Promise<void>;
  }) {
    this.#onKeyRemoved = options.onKeyRemoved ?? (async () => {});
    this.#client = options.client;
    this.#revocations = options.revocations;
    this.#groups = options.groups;
    this.#logger = options.logger;
    this.#pollMs = options.pollMs;
  }

  get caughtUp(): boolean {
    return this.#caughtUp;
  }

  async start(): Promise<void> {
    // auth-api may not be up yet: the first sweep is retried by the timer, never a reason not to start.
    await this.poll().catch((error) =>
      this.#logger.warn(
        { event: 'change_feed_failed', error: (error as Error).message },
        'change feed not read',
      ),
    );
    this.#timer = setInterval(() => {
      this.poll().catch((error) =>
        this.#logger.warn(
          { event: 'change_feed_failed', error: (error as Error).message },
          'change feed not read',
        ),
      );
    }, this.#pollMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One catch-up (concurrent calls share it). */
  poll(): Promise<void> {
    this.#running ??= this.#sweep().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #sweep(): Promise<void> {
    for (;;) {
      const query = `limit=${PAGE}${this.#cursor ? `&cursor=${encodeURIComponent(this.#cursor)}` : ''}`;
      const response = await this.#client.get(`/internal/change-feed?${query}`, 'changes');
      if (response.status !== 200) throw new Error(`change feed answered ${response.status}`);
      const body = response.body as { changes?: { event?: unknown }[]; next_cursor?: unknown };
      if (!Array.isArray(body?.changes) || typeof body.next_cursor !== 'string')
        throw new Error('change feed answered an unexpected shape');
      for (const change of body.changes) {
        const event = change?.event as { type?: unknown } | undefined;
        if (!event || typeof event.type !== 'string') continue;
        if (
          event.type === 'member_removed' ||
          event.type === 'member_added' ||
          event.type === 'group_deleted'
        ) {
          if (this.#caughtUp) this.#groups.applyChange(event);
        } else {
          this.#revocations.apply(event);
          if (event.type === 'key_removed' && this.#caughtUp)
            await this.#onKeyRemoved().catch((error) =>
              this.#logger.warn(
                { event: 'jwks_reload_failed', error: (error as Error).message },
                'JWKS reload failed',
              ),
            );
        }
      }
      this.#cursor = body.next_cursor;
      if (body.changes.length < PAGE) break;
    }
    this.#caughtUp = true;
    this.polls += 1;
  }
}
