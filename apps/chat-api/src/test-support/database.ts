import {
  createTestDatabaseTarget,
  type Database,
  migrateToLatest,
  openDatabase,
} from '@groupchat/service-kit';
import { migrations } from '../db/migrations.ts';
import { CHAT_DB_EXTENSIONS, type ChatDB } from '../db/schema.ts';

/** A migrated throw-away chat database: PGlite in memory, or a fresh one on TEST_DATABASE_URL. */
export async function testDatabase(): Promise<{ database: Database<ChatDB>; close(): Promise<void> }> {
  const { target, drop } = await createTestDatabaseTarget('chat_unit');
  const database = await openDatabase<ChatDB>(target, { extensions: CHAT_DB_EXTENSIONS });
  await migrateToLatest(database.db, migrations);
  return {
    database,
    close: async () => {
      await database.close();
      await drop();
    },
  };
}
