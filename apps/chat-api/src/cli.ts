import { ConfigError, migrateToLatest, openDatabase } from '@groupchat/service-kit';
import { loadChatConfig } from './config.ts';
import { migrations } from './db/migrations.ts';
import { CHAT_DB_EXTENSIONS, type ChatDB } from './db/schema.ts';

/** `node src/cli.ts migrate`: applies pending migrations and exits (the server also does it at start). */
const [command] = process.argv.slice(2);
if (command !== 'migrate') {
  console.error('usage: node src/cli.ts migrate');
  process.exit(2);
}
try {
  const config = loadChatConfig({ SERVICE_CLIENT_SECRET: 'unused-by-migrate', ...process.env });
  const database = await openDatabase<ChatDB>(config.database, { extensions: CHAT_DB_EXTENSIONS });
  const applied = await migrateToLatest(database.db, migrations);
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
  await database.close();
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
