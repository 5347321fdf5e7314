/**
 * Reads a V8 .cpuprofile (written by a server started with --cpu-prof) and says where its main thread
 * spent its time: self time by function and by owner (our code, a package, Node internals, GC, idle).
 * Work on libuv's thread pool (Argon2, for one) is not in the profile: the main thread shows it as idle.
 */
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { ROOT } from './processes.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileShare {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  percent: number;
}

export interface ProfileSummary {
  file: string;
  /** Only the measured windows were counted (else the whole life of the process). */
  measuredOnly: boolean;
  totalMs: number;
  idleMs: number;
  busyMs: number;
  byOwner: ProfileShare[];
  /** Time with the owner anywhere on the stack (a package's own I/O and callbacks count for it). */
  inclusiveByOwner: ProfileShare[];
  topFunctions: ProfileShare[];
}

/** Now on the clock V8 stamps profile samples with (CLOCK_MONOTONIC, µs): the same in every process. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Measured windows (monotonic µs) reported by the load processes; profiles are cut to them. */
const measuredWindows: [number, number][] = [];

export function markMeasuredWindow(window: [number, number]): void {
  measuredWindows.push(window);
}

/** The measured windows that fell inside [from, to]. */
export function measuredWindowsBetween(from: number, to: number): [number, number][] {
  return measuredWindows.filter(([start, end]) => start >= from && end <= to);
}

function owner(url: string, functionName: string): string {
  if (functionName === '(idle)') return '(idle)';
  if (functionName === '(garbage collector)') return '(garbage collector)';
  if (functionName === '(program)') return '(program: V8/native)';
  if (!url) return '(native)';
  if (url.startsWith('node:')) return 'node: internals';
  const path = url.replace(/^file:\/\//, '');
  const inModules = path.lastIndexOf('/node_modules/');
  if (inModules >= 0) {
    const parts = path.slice(inModules + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const rel = relative(ROOT, path);
  const match = /^(apps\/[^/]+|packages\/[^/]+|bench)\//.exec(rel);
  return match ? match[1]! : rel;
}

function location(url: string): string {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '');
  const inModules = path.lastIndexOf('/node_modules/');
  return inModules >= 0 ? path.slice(inModules + '/node_modules/'.length) : relative(ROOT, path);
}

function top(map: Map<string, number>, busyMs: number, limit: number): ProfileShare[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, ms]) => ({ name, ms: Math.round(ms), percent: busyMs > 0 ? (100 * ms) / busyMs : 0 }));
}

/**
 * Self time per function and owner, counting only samples inside `windows` (the measured runs: start-up,
 * warm-up and shutdown left out) when any are given.
 */
export function summarizeProfile(
  file: string,
  windows: [number, number][] = [],
  limit = 12,
): ProfileSummary | undefined {
  if (!existsSync(file)) return undefined;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  const inWindow = (t: number) =>
    windows.length === 0 || windows.some(([start, end]) => t >= start && t <= end);
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (!inWindow(t)) continue;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byOwner = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let idleMs = 0;
  let totalMs = 0;
  for (const [id, us] of selfUs) {
    const frame = nodes.get(id)!.callFrame;
    const ms = us / 1000;
    totalMs += ms;
    if (frame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    const who = owner(frame.url, frame.functionName);
    byOwner.set(who, (byOwner.get(who) ?? 0) + ms);
    const where = location(frame.url);
    const fn = `${frame.functionName || '(anonymous)'}${where ? ` ${where}:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { url, functionName } = nodes.get(at)!.callFrame;
      if (url) onStack.add(owner(url, functionName));
    }
    for (const who of onStack) inclusive.set(who, (inclusive.get(who) ?? 0) + ms);
  }
  const busyMs = totalMs - idleMs;
  return {
    file: relative(ROOT, file),
    measuredOnly: windows.length > 0,
    totalMs: Math.round(totalMs),
    idleMs: Math.round(idleMs),
    busyMs: Math.round(busyMs),
    byOwner: top(byOwner, busyMs, limit),
    inclusiveByOwner: top(inclusive, busyMs, limit),
    topFunctions: top(byFunction, busyMs, limit),
  };
}

export function formatProfile(label: string, summary: ProfileSummary): string {
  const lines = [
    `${label}: ${summary.file}, main thread busy ${(summary.busyMs / 1000).toFixed(1)} s of ` +
      `${(summary.totalMs / 1000).toFixed(1)} s ${summary.measuredOnly ? 'measured' : '(whole process life)'}`,
    '  self time by owner:',
    ...summary.byOwner.map((s) => `    ${s.percent.toFixed(1).padStart(5)}%  ${s.name}`),
    '  on the stack (inclusive) by owner:',
    ...summary.inclusiveByOwner.map((s) => `    ${s.percent.toFixed(1).padStart(5)}%  ${s.name}`),
    '  top functions (self time):',
    ...summary.topFunctions.map((s) => `    ${s.percent.toFixed(1).padStart(5)}%  ${s.name}`),
  ];
  return lines.join('\n');
}
