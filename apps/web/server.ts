/**
 * The web client's production server: serves the built SPA from dist/ (with an index.html fallback
 * for client routes) and proxies the API prefixes to the two services, so the browser only ever
 * talks to one origin. Origin, Sec-Fetch-* and cookies pass through unchanged; only Host is rewritten.
 * The chat WebSocket upgrade is tunnelled byte for byte, so close codes (4401), ping/pong and
 * framing reach the browser exactly as chat-api sent them.
 *
 *   WEB_PORT (8080) WEB_HOST (127.0.0.1) AUTH_API_URL (http://127.0.0.1:8000)
 *   CHAT_API_URL (http://127.0.0.1:8001) WEB_DIST_DIR (./dist beside this file)
 *   WEB_TRUST_PROXY (none: addresses/CIDRs of a proxy in front of this server, e.g. the TLS terminator)
 *
 * The services limit per client address, so this server tells them the browser's address in
 * X-Forwarded-For: exactly one address, the TCP peer (or, when the peer is a proxy named in
 * WEB_TRUST_PROXY, the address that proxy reports). Whatever X-Forwarded-For a browser sends is
 * replaced, never passed on, so nobody picks their own address.
 */
import { existsSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import httpProxy, { type FastifyHttpProxyOptions } from '@fastify/http-proxy';
import fastifyStatic from '@fastify/static';
import { proxyMatcher } from '@groupchat/service-kit';
import Fastify from 'fastify';

export interface WebServerOptions {
  port?: number;
  host?: string;
  authApiUrl?: string;
  chatApiUrl?: string;
  distDir?: string;
  /** Proxies in front of this server whose X-Forwarded-For is believed (addresses or CIDRs). */
  trustProxy?: readonly string[];
  /** Fastify logger (pino) settings; false (default) logs nothing. */
  logger?: boolean | { level: string };
}

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Prefixes owned by the services; everything else is the SPA. */
const AUTH_PREFIXES = ['/api/auth', '/oauth', '/.well-known'] as const;
const CHAT_PREFIX = '/api/chat';

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

function isProxied(url: string): boolean {
  return [...AUTH_PREFIXES, CHAT_PREFIX].some(
    (p) => url === p || url.startsWith(`${p}/`) || url.startsWith(`${p}?`),
  );
}

/**
 * The browser's address: the TCP peer, unless that peer is a trusted proxy, in which case the
 * right-most address of its X-Forwarded-For that is not itself a trusted proxy.
 */
export function clientAddress(
  remote: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: (address: string | undefined) => boolean,
): string {
  let address = remote ?? '';
  if (!trusted(address)) return address;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? ''))
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    address = hops[i]!;
    if (!trusted(address)) return address;
  }
  return address;
}

function forwardedHeaders(
  request: {
    socket: unknown;
    headers: IncomingHttpHeaders;
  },
  trusted: (address: string | undefined) => boolean,
): Record<string, string> {
  const socket = request.socket as { remoteAddress?: string; encrypted?: boolean } | null;
  return {
    'x-forwarded-for': clientAddress(socket?.remoteAddress, request.headers['x-forwarded-for'], trusted),
    'x-forwarded-host': request.headers.host ?? '',
    'x-forwarded-proto': socket?.encrypted ? 'https' : 'http',
  };
}

/**
 * Tunnels a WebSocket upgrade to `target` as raw bytes: the request line and headers (Host
 * rewritten, X-Forwarded-* set), then both directions piped untouched.
 */
function tunnelUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: URL,
  open: Set<Duplex>,
  trusted: (address: string | undefined) => boolean,
): void {
  const secure = target.protocol === 'https:' || target.protocol === 'wss:';
  const port = Number(target.port) || (secure ? 443 : 80);
  const upstream = secure
    ? tls.connect({ host: target.hostname, port, servername: target.hostname })
    : net.connect({ host: target.hostname, port });
  let piped = false;
  open.add(socket);
  open.add(upstream);
  const cleanup = () => {
    open.delete(socket);
    open.delete(upstream);
    socket.destroy();
    upstream.destroy();
  };
  upstream.once(secure ? 'secureConnect' : 'connect', () => {
    const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
    const raw = req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      const lower = name.toLowerCase();
      if (lower === 'host' || lower.startsWith('x-forwarded-')) continue;
      lines.push(`${name}: ${raw[i + 1]}`);
    }
    lines.push(`Host: ${target.host}`);
    for (const [name, value] of Object.entries(forwardedHeaders(req, trusted)))
      lines.push(`${name}: ${value}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length) upstream.write(head);
    upstream.setNoDelay(true);
    if (socket instanceof net.Socket) socket.setNoDelay(true);
    piped = true;
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on('error', () => {
    if (!piped && socket.writable) {
      socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
    cleanup();
  });
  socket.on('error', cleanup);
  upstream.on('close', cleanup);
  socket.on('close', cleanup);
}

export async function startWebServer(options: WebServerOptions = {}): Promise<WebServer> {
  const port = options.port ?? 8080;
  const host = options.host ?? '127.0.0.1';
  const authApiUrl = options.authApiUrl ?? 'http://127.0.0.1:8000';
  const chatApiUrl = options.chatApiUrl ?? 'http://127.0.0.1:8001';
  const distDir = path.resolve(options.distDir ?? path.join(HERE, 'dist'));
  const chatTarget = new URL(chatApiUrl);
  const trusted = proxyMatcher(options.trustProxy ?? []);

  const app = Fastify({
    logger: options.logger ?? false,
    // Let the services see the real client, and keep slow uploads from pinning sockets forever.
    requestTimeout: 60_000,
    forceCloseConnections: true,
  });

  const replyOptions = (service: string): FastifyHttpProxyOptions['replyOptions'] => ({
    rewriteRequestHeaders: (request, headers) => ({ ...headers, ...forwardedHeaders(request.raw, trusted) }),
    // The service is down or slow: say so in the APIs' own error format, never a bare 500.
    onError: (reply, { error }) => {
      const code = (error as { statusCode?: number }).statusCode;
      const status = code === 503 || code === 504 ? code : 502;
      void reply
        .code(status)
        .type('application/problem+json')
        .send({
          type: 'about:blank',
          title: status === 504 ? 'Gateway Timeout' : status === 503 ? 'Service Unavailable' : 'Bad Gateway',
          status,
          detail: `The ${service} service is not reachable right now. Please try again in a moment.`,
        });
    },
  });
  for (const prefix of AUTH_PREFIXES) {
    await app.register(httpProxy, {
      upstream: authApiUrl,
      prefix,
      rewritePrefix: prefix,
      replyOptions: replyOptions('sign-in'),
    });
  }
  await app.register(httpProxy, {
    upstream: chatApiUrl,
    prefix: CHAT_PREFIX,
    rewritePrefix: CHAT_PREFIX,
    replyOptions: replyOptions('chat'),
  });

  const upgraded = new Set<Duplex>();
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? '/';
    if (url === CHAT_PREFIX || url.startsWith(`${CHAT_PREFIX}/`)) {
      tunnelUpgrade(req, socket, head, chatTarget, upgraded, trusted);
    } else {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
  });

  app.get('/health', async () => ({ status: 'ok' }));

  const hasDist = existsSync(path.join(distDir, 'index.html'));
  if (hasDist) {
    await app.register(fastifyStatic, {
      root: distDir,
      cacheControl: false,
      setHeaders(res, filePath) {
        const rel = path.relative(distDir, filePath).split(path.sep).join('/');
        res.header(
          'cache-control',
          rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    });
  }

  app.addHook('onSend', async (request, reply, payload) => {
    if (!isProxied(request.url)) {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
    }
    return payload;
  });

  // SPA fallback: client routes get index.html; unknown API paths and assets get a real 404.
  app.setNotFoundHandler((request, reply) => {
    const accept = request.headers.accept ?? '';
    const isPage =
      (request.method === 'GET' || request.method === 'HEAD') &&
      !isProxied(request.url) &&
      !request.url.startsWith('/assets/') &&
      (accept.includes('text/html') || accept.includes('*/*') || accept === '');
    if (isPage && hasDist) {
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    if (isPage) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The web client is not built yet: run `npm run build -w @groupchat/web`.');
    }
    return reply
      .code(404)
      .type('application/problem+json')
      .send({
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: `No such resource: ${request.method} ${request.url.split('?')[0]}`,
      });
  });

  await app.listen({ port, host });
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${urlHost}:${actualPort}`,
    async close() {
      for (const socket of upgraded) socket.destroy();
      upgraded.clear();
      await app.close();
    },
  };
}

if (import.meta.main) {
  const env = process.env;
  const server = await startWebServer({
    port: Number(env.WEB_PORT ?? 8080),
    host: env.WEB_HOST ?? env.HOST ?? '127.0.0.1',
    authApiUrl: env.AUTH_API_URL ?? 'http://127.0.0.1:8000',
    chatApiUrl: env.CHAT_API_URL ?? 'http://127.0.0.1:8001',
    distDir: env.WEB_DIST_DIR,
    trustProxy: (env.WEB_TRUST_PROXY ?? '').split(/[\s,]+/).filter(Boolean),
    logger: { level: env.LOG_LEVEL ?? 'info' },
  });
  console.log(`web client on ${server.url}`);
  const shutdown = () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
