import { afterEach, describe, expect, it, vi } from 'vitest';
import { awayFromTotpStepEdge, TOTP_STEP_MS } from './totp.ts';

describe('awayFromTotpStepEdge', () => {
  afterEach(() => vi.useRealTimers());

  const waitedFrom = async (into: number, beforeEdgeMs?: number) => {
    vi.useFakeTimers();
    vi.setSystemTime(100 * TOTP_STEP_MS + into);
    const started = Date.now();
    const done = awayFromTotpStepEdge(beforeEdgeMs);
    await vi.runAllTimersAsync();
    await done;
    return { waited: Date.now() - started, into: Date.now() % TOTP_STEP_MS };
  };

  it('waits out the first 2 s of a step, not a whole step', async () => {
    expect(await waitedFrom(500)).toEqual({ waited: 1_500, into: 2_000 });
  });

  it('waits for the next step when too close to the edge, and not at all in between', async () => {
    expect(await waitedFrom(28_000)).toEqual({ waited: 4_000, into: 2_000 });
    expect(await waitedFrom(10_000)).toEqual({ waited: 0, into: 10_000 });
    expect((await waitedFrom(26_500, 4_000)).into).toBe(2_000);
  });
});
