/** The TOTP step of the platform (RFC 6238's default, 30 s). */
export const TOTP_STEP_MS = 30_000;

/**
 * Waits until the clock is at least 2 s into a TOTP step and `beforeEdgeMs` away from its end, so a
 * code computed now is still the current one when the server checks it. Near the start of a step the
 * edge is already behind: the wait is what is left of the 2 s, never a whole step (three copies of
 * this helper waited ~30 s then, running tests past their timeout now and then).
 */
export async function awayFromTotpStepEdge(beforeEdgeMs = 3_000): Promise<void> {
  const into = Date.now() % TOTP_STEP_MS;
  const wait =
    into < 2_000 ? 2_000 - into : into > TOTP_STEP_MS - beforeEdgeMs ? TOTP_STEP_MS - into + 2_000 : 0;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
