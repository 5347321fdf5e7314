import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The point of @groupchat/contract: when one side changes a shape the other reads, the other side no
 * longer typechecks. Each case below edits one schema in memory (as a producer would), typechecks the
 * consumer file that reads it, and expects an error there; the same consumer typechecks cleanly with
 * the contract as committed, so the error comes from the change and nothing else.
 */
const root = path.resolve(import.meta.dirname, '../..');
const contract = (file: string) => path.join(root, 'packages/contract/src', file);

interface Case {
  name: string;
  tsconfig: string;
  /** The consumer that must stop compiling. */
  consumer: string;
  file: string;
  from: string;
  to: string;
}

const cases: Case[] = [
  {
    name: 'auth-api renames the group org_id chat-api reads',
    tsconfig: 'tsconfig.json',
    consumer: 'apps/chat-api/src/groups/group-directory.ts',
    file: contract('auth-groups.ts'),
    from: '  org_id: Uuid,\n  created_at: Timestamp,\n  member_count',
    to: '  organization_id: Uuid,\n  created_at: Timestamp,\n  member_count',
  },
  {
    name: 'auth-api renames the revoked token id chat-api reads from the bus',
    tsconfig: 'tsconfig.json',
    consumer: 'apps/chat-api/src/auth/revocations.ts',
    file: contract('bus-events.ts'),
    from: "type: Type.Literal('token_revoked'),\n    jti: Type.String(),",
    to: "type: Type.Literal('token_revoked'),\n    token_id: Type.String(),",
  },
  {
    name: 'chat-api renames the message sender_id the web client reads',
    tsconfig: 'apps/web/tsconfig.json',
    consumer: 'apps/web/src/components/MessageList.tsx',
    file: contract('chat-messages.ts'),
    from: "sender_id: uuid({ description: 'the user who sent it' }),",
    to: "author_id: uuid({ description: 'the user who sent it' }),",
  },
  {
    name: 'auth-api drops the token response scope chat-api reads',
    tsconfig: 'tsconfig.json',
    consumer: 'apps/chat-api/src/service-auth/token-manager.ts',
    file: contract('auth-oauth.ts'),
    from: "scope: Type.String({ description: 'the granted scopes, space-separated' }),",
    to: '',
  },
];

function consumerErrors(c: Case, edit: boolean): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(root, c.tsconfig),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error(`cannot read ${c.tsconfig}`);
  const host = ts.createCompilerHost(config.options);
  const original = readFileSync(c.file, 'utf8');
  if (!original.includes(c.from)) throw new Error(`${c.file} no longer contains the text this case edits`);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) =>
    edit && path.resolve(name) === c.file ? original.replace(c.from, c.to) : readFile(name);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, onError, create) => {
    if (edit && path.resolve(name) === c.file)
      return ts.createSourceFile(name, original.replace(c.from, c.to), language);
    return getSourceFile(name, language, onError, create);
  };
  const consumer = path.join(root, c.consumer);
  const program = ts.createProgram({ rootNames: [consumer], options: config.options, host });
  const source = program.getSourceFile(consumer);
  if (!source) throw new Error(`${c.consumer} not in the program`);
  return program
    .getSemanticDiagnostics(source)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('a shape change in the contract breaks the consumer at typecheck', () => {
  for (const c of cases) {
    it(c.name, () => {
      expect(consumerErrors(c, false)).toEqual([]);
      expect(consumerErrors(c, true).length).toBeGreaterThan(0);
    }, 120_000);
  }
});
