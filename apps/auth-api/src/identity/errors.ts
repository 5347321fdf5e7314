import { bearerChallenge, HttpProblem } from '@groupchat/service-kit';

/** The identity context's typed errors; `code` is stable, clients may switch on it. */

/** One answer for an unknown email and a wrong password, so a login reveals no account. */
export function invalidCredentials(): HttpProblem {
  return new HttpProblem(401, 'invalid_credentials', 'the email or the password is wrong', {
    headers: { 'www-authenticate': bearerChallenge({ realm: 'auth-api' }) },
  });
}

export function emailTaken(): HttpProblem {
  return new HttpProblem(409, 'email_taken', 'a user with this email is already registered');
}

/** Also the answer for another organization: its existence is not disclosed. */
export function orgNotFound(): HttpProblem {
  return new HttpProblem(404, 'org_not_found', 'no such organization');
}

export function notOrgAdmin(): HttpProblem {
  return new HttpProblem(403, 'not_org_admin', 'only an owner or admin of the organization may do this');
}

/** For endpoints about a person (their org, their session) called with a service token. */
export function userRequired(): HttpProblem {
  return new HttpProblem(403, 'user_required', 'this operation is for users; a service token cannot use it');
}
