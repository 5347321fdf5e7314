import { Secret, TOTP } from 'otpauth';

/**
 * TOTP per RFC 6238 with the parameters every authenticator app defaults to: HMAC-SHA-1, 6 digits,
 * 30-second steps. `otpauth` (maintained, RFC-tested, constant-time comparison) does the arithmetic;
 * this module fixes the parameters and reports which time step a code matched, so a code can be
 * accepted once.
 */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** 160 bits, as RFC 4226 §4 recommends (and the contract requires at least). */
export const TOTP_SECRET_BYTES = 20;

export function newTotpSecret(): string {
  return new Secret({ size: TOTP_SECRET_BYTES }).base32;
}

function totp(
  secretBase32: string,
  options: { label?: string; issuer?: string; digits?: number } = {},
): TOTP {
  return new TOTP({
    issuer: options.issuer ?? 'GroupChat',
    label: options.label ?? 'account',
    algorithm: 'SHA1',
    digits: options.digits ?? TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: Secret.fromBase32(secretBase32),
  });
}

export function totpUri(secretBase32: string, accountName: string, issuer: string): string {
  return totp(secretBase32, { label: accountName, issuer }).toString();
}

export function totpCode(secretBase32: string, timestampMs: number, digits = TOTP_DIGITS): string {
  return totp(secretBase32, { digits }).generate({ timestamp: timestampMs });
}

/** The time step (counter) the code belongs to, within ±1 step of `nowMs`, or null. */
export function matchTotpStep(
  secretBase32: string,
  code: string,
  nowMs: number,
  digits = TOTP_DIGITS,
): number | null {
  if (!new RegExp(`^[0-9]{${digits}}$`).test(code)) return null;
  const generator = totp(secretBase32, { digits });
  const delta = generator.validate({ token: code, timestamp: nowMs, window: 1 });
  if (delta === null) return null;
  return generator.counter({ timestamp: nowMs }) + delta;
}
