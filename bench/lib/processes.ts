/**
 * Child processes of the benchmark: the services under test, the peer server, the load generators.
 * Every child is registered for cleanup, which runs on normal exit, on an error and on Ctrl-C, so a
 * benchmark never leaves a server, a Redis or a database behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { progress } from './log.ts';
import { pinned, type Role } from './pinning.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

/** The Node the benchmark runs on (Node 24 from node_modules/.bin under npm), used for every child. */
export const NODE = process.execPath;

type CleanupStep = { name: string; run: () => Promise<void> };
const cleanupSteps: CleanupStep[] = [];
let cleaningUp: Promise<void> | null = null;

/** True once cleanup has started (Ctrl-C): nothing new may be started after that. */
export function stopping(): boolean {
  return cleaningUp !== null;
}

function assertNotStopping(what: string): void {
  if (stopping()) throw new Error(`not starting ${what}: the benchmark is stopping`);
}

/** Registers work to undo at exit; steps run last-registered first. Returns an unregister function. */
export function onCleanup(name: string, run: () => Promise<void>): () => void {
  if (stopping()) {
    void run();
    throw new Error(`${name} was created while the benchmark was stopping; undone`);
  }
  const step = { name, run };
  cleanupSteps.push(step);
  return () => {
    const index = cleanupSteps.indexOf(step);
    if (index >= 0) cleanupSteps.splice(index, 1);
  };
}

export function cleanupAll(): Promise<void> {
  cleaningUp ??= (async () => {
    while (cleanupSteps.length > 0) {
      const step = cleanupSteps.pop()!;
      try {
        await step.run();
      } catch (error) {
        console.error(`cleanup of ${step.name} failed: ${(error as Error).message}`);
      }
    }
  })();
  return cleaningUp;
}

/** Ctrl-C / SIGTERM: stop the children, drop the databases, then exit 130 / 143. */
export function installSignalCleanup(): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping children and dropping benchmark databases…`);
      void cleanupAll().finally(() => process.exit(code));
    });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** The last lines the process printed (stdout and stderr), for error messages. */
  tail(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`. A --cpu-prof profile is only written on a clean exit. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  args?: string[];
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** Called with each line of stderr (load processes report progress there). */
  onStderrLine?: (line: string) => void;
  /** Collect stdout entirely (load processes print their JSON result there). */
  captureStdout?: boolean;
  /** Written to the child's stdin, which is then closed. */
  stdin?: string;
  /** Which cores it runs on (bench/lib/pinning.ts); unpinned when absent. */
  role?: Role;
}

export function spawnNode(
  name: string,
  script: string,
  options: SpawnOptions = {},
): ManagedProcess & { stdout(): string } {
  assertNotStopping(name);
  const command = pinned(options.role ?? 'platform', NODE, [
    ...(options.nodeArgs ?? []),
    resolve(ROOT, script),
    ...(options.args ?? []),
  ]);
  const child = spawn(command.command, command.args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  const lines: string[] = [];
  const remember = (line: string) => {
    lines.push(line);
    if (lines.length > 200) lines.shift();
  };
  let stdout = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    if (options.captureStdout) stdout += chunk;
    else for (const line of chunk.split('\n')) if (line) remember(line);
  });
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      remember(line);
      options.onStderrLine?.(line);
    }
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stop = async (graceMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const unregister = onCleanup(name, () => stop(5_000));
  void exited.then(unregister);
  return { name, child, exited, stop, tail: () => lines.slice(-40).join('\n'), stdout: () => stdout };
}

/** Polls `url` until it answers 2xx; fails early when the process dies. */
export async function waitHealthy(proc: ManagedProcess, url: string, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (proc.child.exitCode !== null)
      throw new Error(
        `${proc.name} exited with ${proc.child.exitCode} before it was healthy:\n${proc.tail()}`,
      );
    if (Date.now() - started > timeoutMs)
      throw new Error(`${proc.name} was not healthy at ${url} after ${timeoutMs} ms:\n${proc.tail()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {}
    await sleep(100);
  }
}

/**
 * Runs a load/measurement script in its own process and returns the JSON it prints on stdout.
 * Its stderr lines are shown as progress.
 */
export async function runJsonChild<T>(
  name: string,
  script: string,
  input: unknown,
  options: { nodeArgs?: string[]; env?: Record<string, string>; role?: Role } = {},
): Promise<T> {
  const proc = spawnNode(name, script, {
    role: 'load',
    ...options,
    stdin: JSON.stringify(input),
    captureStdout: true,
    onStderrLine: (line) => progress(`  ${name}: ${line}`),
  });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`${name} exited with ${code}:\n${proc.tail()}`);
  try {
    return JSON.parse(proc.stdout()) as T;
  } catch {
    throw new Error(`${name} printed no JSON result:\n${proc.stdout().slice(0, 2000)}\n${proc.tail()}`);
  }
}

/** For scripts run by runJsonChild: their input, a JSON document on stdin. */
export function childInput<T>(): T {
  const raw = readFileSync(0, 'utf8');
  if (!raw.trim()) throw new Error('no input on stdin: this script is started by bench/run.ts');
  return JSON.parse(raw) as T;
}
