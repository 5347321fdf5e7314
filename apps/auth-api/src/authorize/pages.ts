import { randomBytes } from 'node:crypto';

/**
 * auth-api's own server-rendered pages for the authorization endpoint: sign-in, the two-factor step,
 * consent and errors. Plain HTML, no script at all; every value is escaped; each page carries a strict
 * Content-Security-Policy (no script, styles only by nonce, forms only to us and, where the flow
 * continues there, to the app's redirect URI, no framing).
 */

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** What each scope lets an app do, in the words the consent page shows. */
export const SCOPE_DESCRIPTIONS: Record<string, string> = {
  openid: 'Know who you are (your account id)',
  profile: 'See your name',
  email: 'See your email address',
  'groups:read': 'See the groups you belong to',
  'groups:write': 'Create groups and change their members, as you could',
  'members:read': 'See the members of your groups',
  'admin:clients': 'Administer OAuth clients (platform administrators only)',
};

export interface Page {
  status: number;
  html: string;
  headers: Record<string, string>;
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
main{max-width:380px;margin:8vh auto;background:#fff;border-radius:10px;padding:28px 28px 22px;box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:1.3rem;margin:0 0 6px}p{line-height:1.45}label{display:block;margin:14px 0 4px;font-weight:600;font-size:.9rem}
input[type=email],input[type=password],input[type=text]{width:100%;box-sizing:border-box;padding:9px 10px;border:1px solid #b8bfcc;border-radius:6px;font-size:1rem}
button{margin-top:18px;padding:10px 16px;border-radius:6px;border:1px solid #2451c7;background:#2f5fe0;color:#fff;font-size:1rem;cursor:pointer}
button.secondary{background:#fff;color:#2451c7;margin-left:8px}.error{color:#b3261e;background:#fdecea;padding:8px 10px;border-radius:6px}
ul.scopes{padding-left:20px}ul.scopes li{margin:6px 0}.muted{color:#5b6475;font-size:.85rem}code{font-size:.85rem}
`;

function layout(title: string, body: string, formTargets: readonly string[], status: number): Page {
  const nonce = randomBytes(16).toString('base64');
  const formAction = ["'self'", ...new Set(formTargets)].join(' ');
  return {
    status,
    html: `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="same-origin"><title>${escapeHtml(title)}</title><style nonce="${nonce}">${STYLE}</style></head><body><main>${body}</main></body></html>`,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      // Form submissions that continue to the app's redirect URI are checked against form-action.
      'content-security-policy': `default-src 'none'; style-src 'nonce-${nonce}'; img-src 'none'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on our own form
      // posts, which the Origin check must refuse; same-origin still sends nothing to other sites.
      'referrer-policy': 'same-origin',
      'cache-control': 'no-store',
      pragma: 'no-cache',
    },
  };
}

function hiddenFields(parameters: Record<string, string>, csrfToken: string): string {
  const fields = Object.entries(parameters).map(
    ([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`,
  );
  fields.push(`<input type="hidden" name="csrf_token" value="${escapeHtml(csrfToken)}">`);
  return fields.join('');
}

export function signInPage(input: {
  clientName: string;
  parameters: Record<string, string>;
  csrfToken: string;
  email?: string;
  error?: string;
  status?: number;
  formTargets: readonly string[];
}): Page {
  const error = input.error
    ? `<p class="error" role="alert" data-testid="signin-error">${escapeHtml(input.error)}</p>`
    : '';
  return layout(
    'Sign in',
    `<h1>Sign in</h1><p>to continue to <strong data-testid="client-name">${escapeHtml(input.clientName)}</strong></p>${error}
<form method="post" action="/oauth/authorize/login" autocomplete="on">${hiddenFields(input.parameters, input.csrfToken)}
<label for="email">Email</label><input id="email" type="email" name="email" required maxlength="320" autocomplete="username" value="${escapeHtml(input.email ?? '')}">
<label for="password">Password</label><input id="password" type="password" name="password" required maxlength="1024" autocomplete="current-password">
<button type="submit">Sign in</button></form>`,
    input.formTargets,
    input.status ?? 200,
  );
}

export function mfaPage(input: {
  clientName: string;
  parameters: Record<string, string>;
  csrfToken: string;
  mfaToken: string;
  error?: string;
  status?: number;
  formTargets: readonly string[];
}): Page {
  const error = input.error
    ? `<p class="error" role="alert" data-testid="mfa-error">${escapeHtml(input.error)}</p>`
    : '';
  return layout(
    'Two-factor sign-in',
    `<h1>Two-factor sign-in</h1><p>Enter the 6-digit code from your authenticator app (or a recovery code) to continue to <strong>${escapeHtml(input.clientName)}</strong>.</p>${error}
<form method="post" action="/oauth/authorize/mfa" autocomplete="off">${hiddenFields(input.parameters, input.csrfToken)}<input type="hidden" name="mfa_token" value="${escapeHtml(input.mfaToken)}">
<label for="code">Code</label><input id="code" type="text" name="code" required maxlength="64" inputmode="numeric" autocomplete="one-time-code">
<button type="submit">Verify</button></form>`,
    input.formTargets,
    input.status ?? 200,
  );
}

export function consentPage(input: {
  clientName: string;
  clientId: string;
  userEmail: string;
  scopes: readonly string[];
  parameters: Record<string, string>;
  csrfToken: string;
  formTargets: readonly string[];
}): Page {
  const items = input.scopes
    .map(
      (scope) =>
        `<li data-scope="${escapeHtml(scope)}">${escapeHtml(SCOPE_DESCRIPTIONS[scope] ?? scope)} <span class="muted"><code>${escapeHtml(scope)}</code></span></li>`,
    )
    .join('');
  return layout(
    'Allow access?',
    `<h1><span data-testid="client-name">${escapeHtml(input.clientName)}</span> wants to access your account</h1>
<p class="muted">Signed in as ${escapeHtml(input.userEmail)} · app id <code>${escapeHtml(input.clientId)}</code></p>
<p>It will be able to:</p><ul class="scopes">${items}</ul>
<form method="post" action="/oauth/authorize/consent">${hiddenFields(input.parameters, input.csrfToken)}
<button type="submit" name="decision" value="allow">Allow</button><button type="submit" name="decision" value="deny" class="secondary">Deny</button></form>
<p class="muted">You can disconnect the app at any time under Settings → Connected apps.</p>`,
    input.formTargets,
    200,
  );
}

export function errorPage(status: number, message: string): Page {
  return layout(
    'Cannot continue',
    `<h1>Cannot continue</h1><p class="error" role="alert" data-testid="authorize-error">${escapeHtml(message)}</p><p class="muted">Go back to the application and try again.</p>`,
    [],
    status,
  );
}
