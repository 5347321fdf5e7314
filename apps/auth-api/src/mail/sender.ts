import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { ClaimedMail, OutboxRepository } from './outbox.ts';

export interface MailSenderOptions {
  outbox: OutboxRepository;
  logger: Logger;
  from: string;
  /** smtp://…; undefined: write .eml files under `dir` (the embedded start). */
  smtpUrl: string | undefined;
  dir: string;
  pollMs: number;
  retryBaseMs: number;
  leaseSeconds: number;
}

/** Temporary failures are retried at most this long apart (the contract: again within 60 s). */
const MAX_RETRY_DELAY_MS = 30_000;
/** About an hour of retries at the capped delay before a mail is given up. */
const MAX_ATTEMPTS = 120;
const BATCH = 20;

/**
 * Delivers the outbox. Every auth-api instance runs one; claims with a lease make each mail go out
 * once even with many instances (a sender that dies mid-send leaves its claim to expire, and the mail
 * goes again: delivery is at least once, never lost). The request that caused a mail never waits for it.
 */
export class MailSender {
  readonly #options: MailSenderOptions;
  readonly #id = randomUUID();
  readonly #transport: Transporter;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;

  constructor(options: MailSenderOptions) {
    this.#options = options;
    this.#transport = options.smtpUrl
      ? nodemailer.createTransport(options.smtpUrl)
      : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }

  start(): void {
    this.#stopped = false;
    this.#timer = setInterval(() => this.kick(), this.#options.pollMs);
    this.#timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
    this.#transport.close();
  }

  /** Look for due mail now (called after a commit that queued one). Coalesces concurrent calls. */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#drain()
      .catch((error) =>
        this.#options.logger.warn({ err: error, event: 'mail_outbox_failed' }, 'mail outbox pass failed'),
      )
      .finally(() => {
        this.#running = null;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  /** For tests and shutdown: resolves when the current pass (if any) is over. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #drain(): Promise<void> {
    const { outbox, leaseSeconds } = this.#options;
    for (;;) {
      if (this.#stopped) return;
      const batch = await outbox.claim(this.#id, leaseSeconds, BATCH);
      for (const mail of batch) await this.#deliver(mail);
      if (batch.length < BATCH) return;
    }
  }

  async #deliver(mail: ClaimedMail): Promise<void> {
    const { outbox, logger } = this.#options;
    try {
      const info = await this.#transport.sendMail({
        from: this.#options.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        headers: { 'X-GroupChat-Mail-Id': mail.id },
      });
      if (!this.#options.smtpUrl) {
        const file = await this.#writeEml(mail, info.message as Buffer);
        // The file name only: the mail itself holds a token.
        logger.info(
          { event: 'mail_written', mail_id: mail.id, kind: mail.kind, file },
          'mail written to file',
        );
      } else {
        logger.info(
          { event: 'mail_sent', mail_id: mail.id, kind: mail.kind, attempts: mail.attempts },
          'mail sent',
        );
      }
      await outbox.markSent(mail.id, this.#id);
    } catch (error) {
      const reason = describe(error);
      if (isPermanent(error) || mail.attempts >= MAX_ATTEMPTS) {
        logger.error({ event: 'mail_failed', mail_id: mail.id, kind: mail.kind, reason }, 'mail given up');
        await outbox.markFailed(mail.id, this.#id, reason);
        return;
      }
      const delay = Math.min(MAX_RETRY_DELAY_MS, this.#options.retryBaseMs * 2 ** (mail.attempts - 1));
      logger.warn(
        {
          event: 'mail_retry',
          mail_id: mail.id,
          kind: mail.kind,
          attempts: mail.attempts,
          delay_ms: delay,
          reason,
        },
        'mail not sent, will retry',
      );
      await outbox.reschedule(mail.id, this.#id, delay, reason);
      setTimeout(() => this.kick(), delay + 10).unref();
    }
  }

  async #writeEml(mail: ClaimedMail, message: Buffer): Promise<string> {
    await mkdir(this.#options.dir, { recursive: true, mode: 0o700 });
    const file = path.join(
      this.#options.dir,
      `${new Date().toISOString().replace(/[:.]/g, '-')}-${mail.kind}-${mail.id}.eml`,
    );
    await writeFile(file, message, { mode: 0o600 });
    return file;
  }
}

/** SMTP 5xx is a permanent refusal (bad address, policy); 4xx and network trouble are worth retrying. */
function isPermanent(error: unknown): boolean {
  const code = (error as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

function describe(error: unknown): string {
  const e = error as { responseCode?: number; code?: string; message?: string } | null;
  return [e?.code, e?.responseCode, e?.message].filter((part) => part !== undefined).join(' ');
}
