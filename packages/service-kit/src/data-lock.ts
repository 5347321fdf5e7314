import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A PGlite directory has exactly one user at a time: a running server holds `<dir>.lock` (its pid), and
 * a command-line tool refuses to open a directory whose lock names a live process (two PGlite instances
 * on one directory corrupt it). A lock left by a crashed process (dead pid) is taken over.
 */
export function lockPath(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, '')}.lock`;
}

/** The pid of the live process holding the directory, or null. */
export function dataDirHolder(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(lockPath(dataDir), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  if (pid === process.pid) return pid;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

export class DataDirLockedError extends Error {
  constructor(dataDir: string, pid: number) {
    super(`${dataDir} is in use by a running server (pid ${pid}); stop it first`);
    this.name = 'DataDirLockedError';
  }
}

/** Takes the directory for this process; returns the release function. */
export function lockDataDir(dataDir: string): () => void {
  const holder = dataDirHolder(dataDir);
  if (holder !== null && holder !== process.pid) throw new DataDirLockedError(dataDir, holder);
  const path = lockPath(dataDir);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${process.pid}\n`, { mode: 0o600 });
  return () => {
    if (dataDirHolder(dataDir) === process.pid) rmSync(path, { force: true });
  };
}
