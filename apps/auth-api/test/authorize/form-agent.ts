/**
 * A minimal browser stand-in for tests that need many authorization requests fast (validation
 * matrix, limits): a cookie jar, form posts with the page's hidden fields, no automatic redirects.
 */
import { createHash, randomBytes } from 'node:crypto';
import { formBody } from '../oauth/helpers.ts';

export interface AgentResponse {
  status: number;
  headers: Headers;
  text: string;
  location: URL | null;
}

export class FormAgent {
  readonly base: string;
  readonly cookies = new Map<string, string>();

  constructor(base: string) {
    this.base = base;
  }

  async get(pathOrUrl: string): Promise<AgentResponse> {
    return this.#send(pathOrUrl, { method: 'GET' });
  }

  /** Submits the page's form (its hidden fields, plus `fields`) to `action`. */
  async submit(page: AgentResponse, action: string, fields: Record<string, string>): Promise<AgentResponse> {
    const hidden = hiddenFields(page.text);
    return this.#send(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.base },
      body: formBody({ ...hidden, ...fields }),
    });
  }

  async post(
    path: string,
    params: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<AgentResponse> {
    return this.#send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.base, ...headers },
      body: formBody(params),
    });
  }

  async #send(pathOrUrl: string, init: RequestInit): Promise<AgentResponse> {
    const url = new URL(pathOrUrl, this.base);
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index);
      const value = pair!.slice(index + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const location = response.headers.get('location');
    return {
      status: response.status,
      headers: response.headers,
      text: await response.text(),
      location: location ? new URL(location, url) : null,
    };
  }
}

export function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[htmlDecode(match[1]!)] = htmlDecode(match[2]!);
  }
  return fields;
}

function htmlDecode(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}
