import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { DEMO, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { linkOf, startTestMailbox, type TestMailbox } from '@groupchat/testkit/mailbox';
import { simpleParser } from 'mailparser';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transactionRunner } from '../../src/db/transaction.ts';
import { MailSender } from '../../src/mail/sender.ts';
import { TestClient } from '../support/test-client.ts';

describe('mail outbox over SMTP', () => {
  let mailbox: TestMailbox;
  let api: TestAuthApi;
  let http: TestClient;
  let acme: string;
  let bobToken: string;

  beforeAll(async () => {
    mailbox = await startTestMailbox();
    api = await startTestAuthApi({
      env: {
        SMTP_URL: mailbox.url,
        MAIL_FROM: 'GroupChat <mail@groupchat.test>',
        PUBLIC_WEB_URL: 'https://chat.example.test',
        RATE_LIMIT_INVITATIONS_PER_USER: '1000',
        SIGNING_KEY_ENCRYPTION_SECRET: 'mail-test-at-rest-secret-0123456789',
      },
    });
    http = new TestClient(api.url);
    const bob = await http.login(DEMO.users.bob, DEMO.password);
    acme = bob.user.org_id;
    bobToken = bob.token;
  });

  afterAll(async () => {
    await api?.close();
    await mailbox?.close();
  });

  const invite = (email: string) =>
    http.post(`/api/auth/orgs/${acme}/invitations`, { token: bobToken, body: { email } });

  it('sends a mail with a text and an HTML part and exactly one token link from PUBLIC_WEB_URL', async () => {
    const response = await invite('first@acme.example');
    expect(response.status, response.text).toBe(201);
    const mail = await mailbox.to('first@acme.example');
    expect(mail.from).toContain('mail@groupchat.test');
    expect(mail.subject).toContain('Acme');
    const { url, token } = linkOf(mail);
    expect(url.startsWith('https://chat.example.test/')).toBe(true);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(mail.html).toContain(url.replace(/&/g, '&#38;'));
    // The outbox keeps no readable token: sealed until sent, erased after.
    await api.running.core.mail.sender.idle();
    const rows = await api.running.core.db.selectFrom('mail_outbox').selectAll().execute();
    for (const row of rows) expect(row.sealed_message).not.toContain(token);
    const sent = rows.find((row) => row.to_address === 'first@acme.example');
    expect(sent?.sent_at).not.toBeNull();
    expect(sent?.sealed_message).toBe('');
  });

  it('delivers an invitation once although SMTP refuses it twice (temporary 451)', async () => {
    const before = mailbox.mails.length;
    const refusedBefore = mailbox.refusedCount;
    mailbox.failNext(2);
    const started = Date.now();
    expect((await invite('retry@acme.example')).status).toBe(201);
    const mail = await mailbox.to('retry@acme.example');
    expect(mailbox.refusedCount - refusedBefore).toBe(2);
    // Retried well within 60 s of each refusal (test back-off: 200 ms, 400 ms).
    expect(Date.now() - started).toBeLessThan(20_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const copies = mailbox.mails.slice(before).filter((m) => m.to.includes('retry@acme.example'));
    expect(copies).toHaveLength(1);
    const row = await api.running.core.db
      .selectFrom('mail_outbox')
      .selectAll()
      .where('id', '=', mail.outboxId)
      .executeTakeFirstOrThrow();
    expect(row.attempts).toBe(3);
    expect(row.sent_at).not.toBeNull();
  });

  it('never sends the same mail twice from two senders on one database', async () => {
    // A second auth-api instance on the same PostgreSQL database when there is one; with PGlite (one
    // process owns the database) a second sender competes on the same database handle.
    const second = api.env.DATABASE_URL?.startsWith('postgres')
      ? await startTestAuthApi({
          env: { ...api.env, PORT: '0', SMTP_URL: mailbox.url, SEED_DEMO_DATA: 'false' },
        })
      : undefined;
    const extra = second
      ? undefined
      : new MailSender({
          outbox: api.running.core.mail.outbox,
          logger: pino({ level: 'silent' }),
          from: 'x@groupchat.test',
          smtpUrl: mailbox.url,
          dir: tmpdir(),
          pollMs: 20,
          retryBaseMs: 50,
          leaseSeconds: 60,
        });
    extra?.start();
    try {
      const before = mailbox.mails.length;
      const emails = Array.from({ length: 24 }, (_, i) => `twice-${i}@acme.example`);
      // Queue all in one go, straight into the outbox, then let both senders race for them.
      await transactionRunner(api.running.core.db)(async (tx) => {
        for (const to of emails) {
          await api.running.core.mail.outbox.enqueue(tx, {
            kind: 'test',
            to,
            subject: 'race',
            text: 'https://chat.example.test/#/x?token=abc\n',
            html: '<p>x</p>',
          });
        }
      });
      api.running.core.mail.sender.kick();
      second?.running.core.mail.sender.kick();
      extra?.kick();
      await mailbox.waitFor(() => mailbox.mails.length - before >= emails.length, 20_000);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const got = mailbox.mails.slice(before).flatMap((m) => m.to);
      expect(got.sort()).toEqual([...emails].sort());
    } finally {
      await extra?.stop();
      await second?.close({ keepDatabase: true });
    }
  });
});

describe('mail without SMTP_URL (the embedded start)', () => {
  let api: TestAuthApi;
  let dir: string;
  const lines: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'auth-mail-'));
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    api = await startTestAuthApi({ env: { MAIL_DIR: dir }, logger: pino({ level: 'info' }, sink) });
  });

  afterAll(async () => {
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes each mail as an .eml file under the data directory and logs the file name, never the token', async () => {
    const http = new TestClient(api.url);
    const response = await http.post('/api/auth/register', {
      body: {
        email: 'eml@initech.example',
        password: 'a-fresh-password-42',
        display_name: 'Eml',
        org_name: 'Initech',
      },
    });
    expect(response.status, response.text).toBe(201);
    let files: string[] = [];
    for (let i = 0; i < 50 && files.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      files = (await readdir(dir)).filter((f) => f.endsWith('.eml'));
    }
    expect(files).toHaveLength(1);
    const eml = await readFile(path.join(dir, files[0]!), 'utf8');
    const parsed = await simpleParser(eml);
    expect(parsed.text).toBeTruthy();
    expect(parsed.html).toBeTruthy();
    expect(eml).toContain('To: eml@initech.example');
    const links = parsed.text?.match(/https?:\/\/\S+/g) ?? [];
    expect(links).toHaveLength(1);
    const token = decodeURIComponent(/token=([^&\s]+)/.exec(links[0]!)?.[1] ?? '');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const logged = lines.join('');
    expect(logged).toContain(files[0]);
    expect(logged).toContain('"event":"mail_written"');
    expect(logged).not.toContain(token);
    // The token in the file works.
    expect((await http.post('/api/auth/email/verify', { body: { token } })).status).toBe(204);
  });
});
