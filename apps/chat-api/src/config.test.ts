import { ConfigError } from '@groupchat/service-kit';
import { describe, expect, it } from 'vitest';
import { loadChatConfig } from './config.ts';

describe('loadChatConfig', () => {
  it("keeps the seed's names and derives the rest from AUTH_API_URL", () => {
    const config = loadChatConfig({ SERVICE_CLIENT_SECRET: 's', AUTH_API_URL: 'http://auth.internal:8000/' });
    expect(config.port).toBe(8001);
    expect(config.authApi).toMatchObject({
      url: 'http://auth.internal:8000',
      issuer: 'http://auth.internal:8000',
      jwksUrl: 'http://auth.internal:8000/.well-known/jwks.json',
      audience: 'chat-api',
    });
    expect(config.service).toEqual({
      clientId: 'chat-api-service',
      clientSecret: 's',
      tokenUrl: 'http://auth.internal:8000/oauth/token',
      scope: 'groups:read members:read',
    });
    expect(config.database).toEqual({ kind: 'pglite', dataDir: './data/chat' });
    expect(config.membership.ttlMs).toBe(60_000);
    expect(Object.isFrozen(config.ws)).toBe(true);
  });

  it('uses AUTH_ISSUER and SERVICE_* when given', () => {
    const config = loadChatConfig({
      SERVICE_CLIENT_SECRET: 's',
      SERVICE_CLIENT_ID: 'other',
      SERVICE_SCOPE: 'groups:read',
      SERVICE_TOKEN_URL: 'http://gw/token',
      AUTH_ISSUER: 'https://id.example/',
      DATABASE_URL: 'postgres://db/chat',
    });
    expect(config.authApi.issuer).toBe('https://id.example');
    expect(config.service).toMatchObject({
      clientId: 'other',
      scope: 'groups:read',
      tokenUrl: 'http://gw/token',
    });
    expect(config.database).toMatchObject({ kind: 'postgres', url: 'postgres://db/chat' });
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      loadChatConfig({ PORT: 'eighty', AUTH_API_URL: 'not a url', WS_RESUME_MAX_GAP: '0' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as ConfigError).problems.join('\n');
    for (const name of ['SERVICE_CLIENT_SECRET', 'PORT', 'AUTH_API_URL', 'WS_RESUME_MAX_GAP'])
      expect(text).toContain(name);
  });
});
