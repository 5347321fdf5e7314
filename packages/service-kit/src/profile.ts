import { BlockList, isIP } from 'node:net';
import type { EnvReader } from './config.ts';

/**
 * The deployment profile, derived from what a start is given (never a switch someone forgets to flip):
 * `demo` only for the embedded start on loopback (no DATABASE_URL, no REDIS_URL, loopback HOST and public
 * URL). Everything else is `production`: no demo data unless asked, no default passwords, /metrics off the
 * public listener, generated secrets not accepted in place of configured ones.
 */
export type Profile = 'demo' | 'production';

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

export function deriveProfile(input: {
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  host: string;
  publicUrls: (string | undefined)[];
}): Profile {
  if (input.databaseUrl || input.redisUrl || !isLoopbackHost(input.host)) return 'production';
  for (const url of input.publicUrls) {
    if (url === undefined) continue;
    try {
      if (!isLoopbackHost(new URL(url).hostname)) return 'production';
    } catch {
      return 'production';
    }
  }
  return 'demo';
}

export interface OperationsConfig {
  profile: Profile;
  /** Addresses/CIDRs of proxies whose X-Forwarded-For is believed (TRUST_PROXY); empty: none. */
  trustProxy: string[];
  metrics: {
    /** A separate listener for /metrics (METRICS_PORT); null: none. */
    port: number | null;
    host: string;
    /** Bearer secret that opens /metrics on the public listener (METRICS_TOKEN). */
    token: string | null;
    /** /metrics on the public listener without a secret: only in the demo profile. */
    publicOpen: boolean;
  };
}

/** TRUST_PROXY, METRICS_PORT, METRICS_TOKEN: the operational settings both services read the same way. */
export function readOperations(
  read: EnvReader,
  input: { profile: Profile; host: string; trustProxyDefault?: string[] },
): OperationsConfig {
  const trustProxy = read.list('TRUST_PROXY', input.trustProxyDefault ?? []);
  for (const entry of trustProxy) {
    if (!validAddressOrCidr(entry)) read.problem(`TRUST_PROXY has "${entry}", not an IP address or CIDR`);
  }
  const metricsPortRaw = read.string('METRICS_PORT');
  const metricsPort =
    metricsPortRaw === undefined ? null : read.int('METRICS_PORT', 0, { min: 0, max: 65_535 });
  const token = read.string('METRICS_TOKEN') ?? null;
  if (token !== null && token.length < 32) read.problem('METRICS_TOKEN must be at least 32 characters');
  return {
    profile: input.profile,
    trustProxy,
    metrics: {
      port: metricsPort,
      host: read.string('METRICS_HOST', input.host),
      token,
      publicOpen: input.profile === 'demo' && token === null && metricsPort === null,
    },
  };
}

function validAddressOrCidr(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  if (rest.length > 0 || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (family === 4 ? 32 : 128);
}

/** A matcher over TRUST_PROXY entries (for servers that are not Fastify, e.g. the web server's upgrade path). */
export function proxyMatcher(entries: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return (address) => {
    if (!address) return false;
    const bare = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(bare);
    if (family === 0) return false;
    return list.check(bare, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/**
 * The key a per-address limit counts under: the address itself for IPv4, its /64 for IPv6 (one host
 * usually holds a whole /64, so counting single IPv6 addresses would let it rotate around any limit).
 */
export function addressKey(address: string): string {
  const bare = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  if (isIP(bare) !== 6) return bare;
  const [head = '', tail = ''] = bare.toLowerCase().split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const groups = bare.includes('::')
    ? [...headParts, ...Array(8 - headParts.length - tailParts.length).fill('0'), ...tailParts]
    : headParts;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}
