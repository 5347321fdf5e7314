/**
 * Who used the CPU during a measured run, from /proc (Linux): each watched process (all its threads),
 * every PostgreSQL process, this load process, and the machine as a whole. On a small shared machine
 * this says at once whether a server was bound by its own work or starved by its neighbours.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** USER_HZ: the unit of utime/stime in /proc (100 on every mainstream Linux). */
const TICKS_PER_SECOND = 100;

export interface CpuSnapshot {
  atMs: number;
  /** label → pid → utime + stime. */
  ticks: Record<string, Map<number, number>>;
  machineBusyTicks: number;
}

function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime
  } catch {
    return 0;
  }
}

function pidsNamed(command: string): number[] {
  const pids: number[] = [];
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === command) pids.push(Number(entry));
      } catch {}
    }
  } catch {}
  return pids;
}

function machineBusyTicks(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return user! + nice! + system! + irq! + softirq! + steal!;
  } catch {
    return 0;
  }
}

/** `watch`: label → pid. PostgreSQL (every backend, whoever it serves) and this process are added. */
export function cpuSnapshot(watch: Record<string, number>): CpuSnapshot {
  const of = (pids: number[]) => new Map(pids.map((pid) => [pid, processTicks(pid)]));
  const ticks: Record<string, Map<number, number>> = {};
  for (const [label, pid] of Object.entries(watch)) ticks[label] = of([pid]);
  ticks['postgres (all)'] = of(pidsNamed('postgres'));
  ticks['load generator'] = of([process.pid]);
  return { atMs: performance.now(), ticks, machineBusyTicks: machineBusyTicks() };
}

/**
 * Cores used per label between two snapshots, plus `others` (every other process) and `machine`. A
 * process that appeared in between counts whole; one that exited in between is missed (PostgreSQL
 * backends of short-lived connections: an undercount, never a negative).
 */
export function cpuCores(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const seconds = (after.atMs - before.atMs) / 1000;
  const cores: Record<string, number> = {};
  let listed = 0;
  for (const [label, pids] of Object.entries(after.ticks)) {
    let ticks = 0;
    for (const [pid, value] of pids) ticks += Math.max(0, value - (before.ticks[label]?.get(pid) ?? 0));
    const used = ticks / TICKS_PER_SECOND / seconds;
    cores[label] = Math.round(used * 100) / 100;
    listed += used;
  }
  const machine = (after.machineBusyTicks - before.machineBusyTicks) / TICKS_PER_SECOND / seconds;
  cores.others = Math.round(Math.max(0, machine - listed) * 100) / 100;
  cores.machine = Math.round(machine * 100) / 100;
  return cores;
}

/** CPU time the first watched process (the server under test) spent per unit of work, in µs. */
export function serverCpuMicrosPer(cores: Record<string, number>, perSecond: number): number {
  const server = Object.values(cores)[0] ?? 0;
  return perSecond > 0 ? (server / perSecond) * 1e6 : 0;
}

export function formatCores(cores: Record<string, number>): string {
  const { machine, ...parts } = cores;
  return `CPU (cores of ${cpus().length}): ${Object.entries(parts)
    .map(([label, value]) => `${label} ${value.toFixed(2)}`)
    .join(', ')}; machine busy ${machine?.toFixed(2)}`;
}
