/**
 * `node bench/read-search-timing.ts [--messages=1000000] [--groups=200]`: the SQL of GET /api/chat/unread
 * and GET /api/chat/search timed directly against PostgreSQL (no HTTP), on a throw-away database with
 * generated history. A check of the design, not a benchmark row: `npm run bench` measures the endpoints.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { migrations } from '@groupchat/chat-api/db/migrations';
import type { ChatDB } from '@groupchat/chat-api/db/schema';
import { ReadStateRepository } from '@groupchat/chat-api/read-state/repository';
import { toTsQuery } from '@groupchat/chat-api/search/query';
import { SearchRepository } from '@groupchat/chat-api/search/repository';
import { migrateToLatest, openDatabase } from '@groupchat/service-kit';
import { generateChatData, RARE_WORD } from './lib/chat-data.ts';
import { createDatabase } from './lib/infra.ts';
import { progress } from './lib/log.ts';
import { cleanupAll, installSignalCleanup } from './lib/processes.ts';
import { percentiles } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: { messages: { type: 'string', default: '1000000' }, groups: { type: 'string', default: '200' } },
});
const groups = Number(args.groups);
const perGroup = Math.ceil(Number(args.messages) / groups);

installSignalCleanup();
try {
  const url = await createDatabase('timing', `${Date.now()}`);
  const database = await openDatabase<ChatDB>({ kind: 'postgres', url, poolSize: 2 });
  await migrateToLatest(database.db, migrations);
  const orgId = randomUUID();
  const [reader, other] = [randomUUID(), randomUUID()];
  const groupIds = Array.from({ length: groups }, () => randomUUID());
  progress(`generating ${groups * perGroup} messages over ${groups} groups`);
  const generated = await generateChatData({
    databaseUrl: url,
    orgId,
    groupIds,
    senderIds: [other, reader],
    readerId: reader,
    perGroup,
    mentionEvery: 10,
    unreadPerGroup: 50,
  });
  progress(`generated ${generated.messages} messages in ${generated.seconds.toFixed(1)} s`);

  const time = async (label: string, runs: number, work: () => Promise<unknown>) => {
    for (let i = 0; i < 5; i++) await work();
    const samples: number[] = [];
    let last: unknown;
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      last = await work();
      samples.push(performance.now() - started);
    }
    const p = percentiles(samples);
    progress(`${label}: p50 ${p.p50.toFixed(2)} ms, p99 ${p.p99.toFixed(2)} ms, max ${p.max.toFixed(2)} ms`);
    return last;
  };
  const readState = new ReadStateRepository(database.db);
  const states = (await time(`unread, ${groups} groups`, 200, () => readState.states(reader, groupIds))) as {
    unreadCount: number;
    mentionCount: number;
  }[];
  progress(`  e.g. unread ${states[0]?.unreadCount}, mentions ${states[0]?.mentionCount} per group`);
  const search = new SearchRepository(database.db);
  for (const q of [RARE_WORD, 'deplo', 'incident rollback', 'message 4242']) {
    const tsQuery = toTsQuery(q)!;
    const rows = (await time(`search "${q}", ${groups} groups`, 100, () =>
      search.search({ orgId, groupIds, tsQuery, beforeId: null, limit: 21 }),
    )) as unknown[];
    progress(`  ${rows.length} rows on the first page`);
  }
  await database.close();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanupAll();
}
