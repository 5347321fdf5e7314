/**
 * Which cores the benchmark's processes run on. On a machine with more than one core, every server
 * under test (ours and the peer) is pinned to one core and the load generators to the others, with
 * `taskset` from util-linux, so a server's figure is what one core gives and the generator never takes
 * that core away from it. PostgreSQL and Redis are not pinned (they are shared by other people's tests
 * on this machine). The embedded platform (`npm start`) runs unpinned: it is several services on
 * several threads, measured as a user runs it. The pinning is printed in the header of every run.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export type Role = 'server' | 'load' | 'platform';

const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p));
const CORES = availableParallelism();

/** The core list (taskset -c syntax) for a role, or undefined: unpinned. */
export function coresFor(role: Role): string | undefined {
  if (!TASKSET || CORES < 2 || process.env.BENCH_NO_PIN === '1') return undefined;
  if (role === 'server') return '0';
  if (role === 'load') return CORES === 2 ? '1' : `1-${CORES - 1}`;
  return undefined;
}

/** The command that runs `command args` on the role's cores. */
export function pinned(role: Role, command: string, args: string[]): { command: string; args: string[] } {
  const cores = coresFor(role);
  if (!cores || !TASKSET) return { command, args };
  // taskset execs the command: the child's pid is the server's own (CPU accounting, signals).
  return { command: TASKSET, args: ['-c', cores, command, ...args] };
}

/** One line for the report: how this run placed its processes. */
export function describePinning(): string {
  if (process.env.BENCH_NO_PIN === '1') return 'pinning: off (BENCH_NO_PIN=1), every process on every core';
  if (!TASKSET) return 'pinning: none (taskset not installed), every process on every core';
  if (CORES < 2) return 'pinning: none (one core)';
  return (
    `pinning (taskset): each server under test (auth-api, chat-api, oidc-provider, ceilings) on core ${coresFor('server')}, ` +
    `load generators on core(s) ${coresFor('load')}; PostgreSQL, Redis and the embedded platform (npm start) unpinned`
  );
}
