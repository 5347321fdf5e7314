/**
 * `npm test` (pretest): the browser tests drive Debian's Chromium (/usr/bin/chromium, never a
 * downloaded browser). When it is missing, install it if we can (root, with apt-get); otherwise stop
 * at once with one line naming the command, before any test runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';
export const INSTALL_COMMAND = 'apt-get update && apt-get install -y chromium';

export type Plan = { action: 'ready' } | { action: 'install' } | { action: 'stop'; message: string };

export function plan(facts: { hasChromium: boolean; isRoot: boolean; hasApt: boolean }): Plan {
  if (facts.hasChromium) return { action: 'ready' };
  if (facts.isRoot && facts.hasApt) return { action: 'install' };
  return {
    action: 'stop',
    message: `npm test needs Debian's Chromium at ${CHROMIUM}: run \`sudo ${INSTALL_COMMAND}\`, then npm test again`,
  };
}

function main(): number {
  const decided = plan({
    hasChromium: existsSync(CHROMIUM),
    isRoot: process.getuid?.() === 0,
    hasApt: existsSync('/usr/bin/apt-get'),
  });
  if (decided.action === 'ready') return 0;
  if (decided.action === 'stop') {
    console.error(decided.message);
    return 1;
  }
  console.error(`Chromium is missing; installing it: ${INSTALL_COMMAND}`);
  const result = spawnSync('sh', ['-c', INSTALL_COMMAND], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.status !== 0 || !existsSync(CHROMIUM)) {
    console.error(`installing Chromium failed: run \`${INSTALL_COMMAND}\` yourself, then npm test again`);
    return 1;
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exit(main());
