import type { HttpServer } from '@groupchat/service-kit';
import type { AuthCore } from '../core.ts';
import { type RunInTransaction, transactionRunner } from '../db/transaction.ts';
import { IdentityService } from '../identity/service.ts';
import { createMfaRepository } from '../mfa/repository.ts';
import { MfaService } from '../mfa/service.ts';
import { createOrgRepository } from '../orgs/repository.ts';
import { createAccountRepository } from './repository.ts';
import { accountRoutes } from './routes.ts';
import { AccountMail, AccountsService } from './service.ts';

export interface AccountServices {
  identity: IdentityService;
  accounts: AccountsService;
  /** Two-factor checks; the OAuth sign-in page uses `mfa.completeChallenge` / `mfa.verifyUserCode` too. */
  mfa: MfaService;
}

const services = new WeakMap<AuthCore, AccountServices>();

/** The one set of identity, account and MFA services per core, shared by every context that needs them. */
export function accountServicesFor(core: AuthCore): AccountServices {
  let found = services.get(core);
  if (found) return found;
  const orgs = createOrgRepository(core.db);
  const accountRepository = createAccountRepository(core.db);
  const transaction = transactionRunner(core.db);
  const mfa = new MfaService({
    transaction,
    repository: createMfaRepository(core.db),
    users: core.users,
    audit: core.audit,
    rateLimiter: core.rateLimiter,
    limits: core.config.rateLimits,
    sealingSecret: core.config.keys.encryptionSecret,
    issuerName: 'GroupChat',
    now: core.now,
  });
  const mail = new AccountMail({
    accounts: accountRepository,
    outbox: core.mail.outbox,
    templates: core.mail.templates,
    sender: core.mail.sender,
    now: core.now,
  });
  const identity = new IdentityService(identityDeps(transaction, core, orgs, mail, mfa));
  const accounts = new AccountsService({
    transaction,
    accounts: accountRepository,
    users: core.users,
    orgs,
    passwords: core.hasher,
    sessions: core.sessions,
    identity,
    audit: core.audit,
    outbox: core.mail.outbox,
    templates: core.mail.templates,
    mail,
    rateLimiter: core.rateLimiter,
    limits: core.config.rateLimits,
    logger: core.logger,
    now: core.now,
  });
  found = { identity, accounts, mfa };
  services.set(core, found);
  return found;
}

function identityDeps(
  transaction: RunInTransaction,
  core: AuthCore,
  orgs: ReturnType<typeof createOrgRepository>,
  mail: AccountMail,
  mfa: MfaService,
): ConstructorParameters<typeof IdentityService>[0] {
  return {
    users: core.users,
    orgs,
    passwords: core.hasher,
    sessions: core.sessions,
    tokens: core.tokenIssuer,
    limits: core.limits,
    transaction,
    audit: core.audit,
    mail,
    mfa,
  };
}

/** Wires invitations, email verification, passwords and two-factor routes. */
export async function registerAccounts(app: HttpServer, core: AuthCore): Promise<void> {
  const { accounts, mfa, identity } = accountServicesFor(core);
  await accountRoutes(app, {
    accounts,
    mfa,
    identity,
    principals: core.principals,
    cookie: core.config.session,
  });
}
