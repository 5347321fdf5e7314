import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  /** The X-GroupChat-Mail-Id header: one per outbox row, the same on every retry. */
  outboxId: string;
  raw: string;
}

/**
 * A real SMTP server on loopback for tests (the `smtp-server` package), parsing each accepted mail
 * with `mailparser`. `failNext(n)` answers the next n messages with a temporary refusal (451).
 */
export class TestMailbox {
  readonly mails: ReceivedMail[] = [];
  #server: SMTPServer;
  #failures = 0;
  #refused = 0;
  #waiters: (() => void)[] = [];
  readonly #taken = new Set<ReceivedMail>();
  url = '';

  constructor() {
    this.#server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, _session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          if (this.#failures > 0) {
            this.#failures -= 1;
            this.#refused += 1;
            const error = new Error('try again later') as Error & { responseCode: number };
            error.responseCode = 451;
            callback(error);
            return;
          }
          const raw = Buffer.concat(chunks).toString('utf8');
          simpleParser(raw)
            .then((parsed: ParsedMail) => {
              const to = Array.isArray(parsed.to) ? parsed.to : parsed.to ? [parsed.to] : [];
              this.mails.push({
                to: to.flatMap((a) => a.value.map((v) => v.address ?? '')),
                from: parsed.from?.text ?? '',
                subject: parsed.subject ?? '',
                text: parsed.text ?? '',
                html: typeof parsed.html === 'string' ? parsed.html : '',
                messageId: parsed.messageId ?? '',
                outboxId: String(parsed.headers.get('x-groupchat-mail-id') ?? ''),
                raw,
              });
              for (const wake of this.#waiters.splice(0)) wake();
              callback();
            })
            .catch((error: Error) => callback(error));
        });
      },
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', () => resolve()));
    const address = this.#server.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    this.url = `smtp://127.0.0.1:${port}`;
    return this;
  }

  failNext(count: number): void {
    this.#failures = count;
  }

  get refusedCount(): number {
    return this.#refused;
  }

  /** The first mail (already received or still to come) matching `match`. */
  async waitFor(match: (mail: ReceivedMail) => boolean, timeoutMs = 10_000): Promise<ReceivedMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.mails.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching mail within ${timeoutMs} ms (have ${this.mails.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * The oldest mail to `address` (subject containing `subjectHas`) that no earlier call returned,
   * waiting for it: successive calls read successive mails.
   */
  async to(address: string, subjectHas = ''): Promise<ReceivedMail> {
    const mail = await this.waitFor(
      (m) => !this.#taken.has(m) && m.to.includes(address) && m.subject.includes(subjectHas),
    );
    this.#taken.add(mail);
    return mail;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** The one link of the text part; throws unless there is exactly one and it carries `token=`. */
export function linkOf(mail: ReceivedMail): { url: string; token: string } {
  const links = mail.text.match(/https?:\/\/\S+/g) ?? [];
  if (links.length !== 1)
    throw new Error(`expected exactly one link in the text part, found ${links.length}`);
  const url = links[0] as string;
  const token = /[?&#]token=([^&\s]+)/.exec(url)?.[1];
  if (!token) throw new Error('the link carries no token= parameter');
  return { url, token: decodeURIComponent(token) };
}

export async function startTestMailbox(): Promise<TestMailbox> {
  return new TestMailbox().start();
}
