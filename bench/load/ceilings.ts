/**
 * Ceilings measured on this machine in the same run as the servers, each in a process of its own:
 *
 * - es256: node:crypto ECDSA P-256 / SHA-256 signatures (ieee-p1363 encoding, as JWS wants) per second
 *   on one thread, over a JWT-sized signing input. No token endpoint on one event loop can issue more
 *   tokens per second than this.
 * - argon2: Argon2id verifications per second with auth-api's own Argon2idHasher (same parameters as a
 *   login), one at a time (the cost of one hash) and with `concurrency` in flight, as a server's libuv
 *   pool runs them. Each login is one verification, so the concurrent figure bounds login req/s.
 *
 * Started by bench/run.ts with its input as JSON on stdin; prints one JSON result on stdout.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { Argon2idHasher } from '../../apps/auth-api/src/crypto/argon2id.ts';
import { childInput } from '../lib/processes.ts';

export type CeilingInput =
  | { kind: 'es256'; seconds: number }
  | { kind: 'argon2'; seconds: number; concurrency: number };

export interface Es256Ceiling {
  kind: 'es256';
  opsPerSec: number;
  microsPerOp: number;
}

export interface Argon2Ceiling {
  kind: 'argon2';
  sequentialPerSec: number;
  msPerHash: number;
  concurrency: number;
  concurrentPerSec: number;
  /** CPU time (all threads) per verification with `concurrency` in flight. */
  cpuMsPerHashConcurrent: number;
}

function es256(seconds: number): Es256Ceiling {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // A signing input the size of an auth-api service token (header + claims, base64url).
  const signingInput = Buffer.from(`${'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9'}.${'x'.repeat(300)}`);
  const signOnce = () => sign('sha256', signingInput, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const until = (ms: number, body: () => void) => {
    const end = performance.now() + ms;
    let ops = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 100; i++) body();
      ops += 100;
    }
    return ops;
  };
  until(500, signOnce);
  const started = performance.now();
  const ops = until(seconds * 1000, signOnce);
  const elapsed = (performance.now() - started) / 1000;
  return { kind: 'es256', opsPerSec: ops / elapsed, microsPerOp: (elapsed * 1e6) / ops };
}

async function argon2(seconds: number, concurrency: number): Promise<Argon2Ceiling> {
  const hasher = new Argon2idHasher();
  const password = 'correct-horse-battery-staple';
  const hash = await hasher.hash(password);
  const verifyFor = async (ms: number, inFlight: number) => {
    const end = performance.now() + ms;
    let done = 0;
    const lane = async () => {
      while (performance.now() < end) {
        if (!(await hasher.verify(hash, password))) throw new Error('argon2 verify failed');
        done += 1;
      }
    };
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    await Promise.all(Array.from({ length: inFlight }, lane));
    const cpu = process.cpuUsage(cpuBefore);
    return {
      perSec: done / ((performance.now() - started) / 1000),
      cpuMsPerHash: (cpu.user + cpu.system) / 1000 / done,
    };
  };
  await verifyFor(300, 1);
  const sequential = await verifyFor((seconds * 1000) / 2, 1);
  const concurrent = await verifyFor((seconds * 1000) / 2, concurrency);
  return {
    kind: 'argon2',
    sequentialPerSec: sequential.perSec,
    msPerHash: 1000 / sequential.perSec,
    concurrency,
    concurrentPerSec: concurrent.perSec,
    cpuMsPerHashConcurrent: concurrent.cpuMsPerHash,
  };
}

const input = childInput<CeilingInput>();
const result = input.kind === 'es256' ? es256(input.seconds) : await argon2(input.seconds, input.concurrency);
process.stdout.write(JSON.stringify(result));
