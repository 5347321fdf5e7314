import { randomBytes } from 'node:crypto';
import type { MfaChallengeDto, RecoveryCodesDto, TotpSetupDto } from '@groupchat/contract';
import type { RateLimiter } from '@groupchat/service-kit';
import {
  invalidMfaCode,
  invalidMfaToken,
  mfaAlreadyEnabled,
  mfaNotEnabled,
  mfaNotSetUp,
} from '../accounts/errors.ts';
import { enforceLimit } from '../accounts/limits.ts';
import type { AuditRepository } from '../audit/repository.ts';
import type { RunInTransaction, Tx } from '../db/transaction.ts';
import { openAtRest, sealAtRest } from '../keys/at-rest.ts';
import type { UserPrincipal } from '../principal/principal.ts';
import { hashSessionToken as hashToken } from '../sessions/service.ts';
import type { UserRepository } from '../users/repository.ts';
import { newRecoveryCode, normalizeRecoveryCode } from './recovery-codes.ts';
import { MAX_FAILED_CODES, type MfaRepository } from './repository.ts';
import { matchTotpStep, newTotpSecret, totpUri } from './totp.ts';

export const MFA_TOKEN_TTL_SECONDS = 300;
const RECOVERY_CODE_COUNT = 10;

export interface MfaServiceDeps {
  transaction: RunInTransaction;
  repository: MfaRepository;
  users: UserRepository;
  audit: AuditRepository;
  rateLimiter: RateLimiter;
  limits: { mfaPerIpPerMinute: number; mfaPerUserPerMinute: number };
  /** The at-rest secret (the one that seals signing keys). */
  sealingSecret: string | undefined;
  /** Shown by authenticator apps next to the code. */
  issuerName: string;
  now: () => number;
}

/**
 * TOTP two-factor sign-in. `completeChallenge` (the second step of a password login) and
 * `verifyUserCode` are the one way any caller checks a user's second factor: the login API here and
 * the OAuth sign-in page use the same rules (±1 step, each TOTP step once, recovery codes once,
 * five wrong codes end the attempt).
 */
export class MfaService {
  readonly #deps: MfaServiceDeps;

  constructor(deps: MfaServiceDeps) {
    this.#deps = deps;
  }

  async setup(caller: UserPrincipal): Promise<TotpSetupDto> {
    const secret = newTotpSecret();
    const saved = await this.#deps.repository.savePending(
      caller.userId,
      sealAtRest(secret, this.#deps.sealingSecret),
    );
    if (!saved) throw mfaAlreadyEnabled();
    return { secret, otpauth_uri: totpUri(secret, caller.email, this.#deps.issuerName) };
  }

  async enable(caller: UserPrincipal, code: string, ip: string): Promise<RecoveryCodesDto> {
    await this.#throttle(caller.userId, ip);
    const credential = await this.#deps.repository.find(caller.userId);
    if (!credential) throw mfaNotSetUp();
    if (credential.enabled) throw mfaAlreadyEnabled();
    const step = matchTotpStep(this.#open(credential.sealedSecret), code.trim(), this.#deps.now());
    if (step === null) throw invalidMfaCode(400);
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    const enabled = await this.#deps.transaction(async (trx) => {
      if (!(await this.#deps.repository.enable(trx, caller.userId, step, codes.map(hashToken)))) return false;
      await this.#deps.users.setMfaEnabled(caller.userId, true, trx);
      await this.#deps.audit.record(trx, {
        orgId: caller.orgId,
        type: 'user.mfa_enabled',
        actor: { type: 'user', id: caller.userId },
        target: { type: 'user', id: caller.userId },
        ip,
      });
      return true;
    });
    if (!enabled) throw mfaAlreadyEnabled();
    return { recovery_codes: codes };
  }

  async disable(caller: UserPrincipal, code: string, ip: string): Promise<void> {
    await this.#throttle(caller.userId, ip);
    const credential = await this.#deps.repository.find(caller.userId);
    if (!credential?.enabled) throw mfaNotEnabled();
    if (!(await this.verifyUserCode(caller.userId, code))) throw invalidMfaCode(400);
    await this.#deps.transaction(async (trx) => {
      await this.#deps.repository.remove(trx, caller.userId);
      await this.#deps.users.setMfaEnabled(caller.userId, false, trx);
      await this.#deps.audit.record(trx, {
        orgId: caller.orgId,
        type: 'user.mfa_disabled',
        actor: { type: 'user', id: caller.userId },
        target: { type: 'user', id: caller.userId },
        ip,
      });
    });
  }

  /** Starts the second step of a sign-in whose password was right. */
  async startChallenge(userId: string): Promise<MfaChallengeDto> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(this.#deps.now() + MFA_TOKEN_TTL_SECONDS * 1000);
    await this.#deps.repository.createChallenge(userId, hashToken(token), expiresAt);
    return { mfa_required: true, mfa_token: token, expires_in: MFA_TOKEN_TTL_SECONDS };
  }

  /**
   * The second step: the user whose sign-in the `mfaToken` started, when `code` is right. A wrong code
   * counts against the attempt; the fifth kills it. Throws 401 problems.
   */
  async completeChallenge(mfaToken: string, code: string, ip: string): Promise<{ userId: string }> {
    const { repository, now } = this.#deps;
    await enforceLimit(this.#deps.rateLimiter, `mfa:ip:${ip}`, this.#deps.limits.mfaPerIpPerMinute, 60);
    const challenge = await repository.findLiveChallenge(hashToken(mfaToken), new Date(now()));
    if (!challenge) throw invalidMfaToken();
    await enforceLimit(
      this.#deps.rateLimiter,
      `mfa:user:${challenge.userId}`,
      this.#deps.limits.mfaPerUserPerMinute,
      60,
    );
    if (!(await this.verifyUserCode(challenge.userId, code))) {
      const failed = await repository.failChallenge(challenge.id);
      const user = await this.#deps.users.findById(challenge.userId);
      await this.#deps.audit.record(null, {
        orgId: user?.orgId ?? null,
        type: 'user.mfa_failed',
        actor: { type: 'anonymous', id: null },
        target: { type: 'user', id: challenge.userId },
        ip,
      });
      if (failed >= MAX_FAILED_CODES) throw invalidMfaToken();
      throw invalidMfaCode(401);
    }
    if (!(await repository.consumeChallenge(challenge.id))) throw invalidMfaToken();
    return { userId: challenge.userId };
  }

  /**
   * True when `code` is a current TOTP code (±1 step) not used before, or an unused recovery code; the
   * code is then used up. Comparisons are constant-time (otpauth) or by hash lookup.
   */
  async verifyUserCode(userId: string, code: string): Promise<boolean> {
    const { repository, now } = this.#deps;
    const credential = await repository.find(userId);
    if (!credential?.enabled) return false;
    const trimmed = code.trim();
    const step = matchTotpStep(this.#open(credential.sealedSecret), trimmed, now());
    if (step !== null) return repository.useStep(userId, step);
    const recovery = normalizeRecoveryCode(trimmed);
    if (recovery === null) return false;
    return repository.useRecoveryCode(userId, hashToken(recovery));
  }

  #open(sealed: string): string {
    return openAtRest(sealed, this.#deps.sealingSecret);
  }

  async #throttle(userId: string, ip: string): Promise<void> {
    const { rateLimiter, limits } = this.#deps;
    await enforceLimit(rateLimiter, `mfa:ip:${ip}`, limits.mfaPerIpPerMinute, 60);
    await enforceLimit(rateLimiter, `mfa:user:${userId}`, limits.mfaPerUserPerMinute, 60);
  }
}
