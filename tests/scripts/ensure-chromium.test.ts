import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { INSTALL_COMMAND, plan } from '../../scripts/ensure-chromium.ts';

describe('npm test on a machine without Chromium', () => {
  it('goes on when Chromium is there', () => {
    expect(plan({ hasChromium: true, isRoot: false, hasApt: false })).toEqual({ action: 'ready' });
  });

  it('installs it when it can (root with apt-get)', () => {
    expect(plan({ hasChromium: false, isRoot: true, hasApt: true })).toEqual({ action: 'install' });
  });

  it('otherwise stops with one line naming the command', () => {
    for (const facts of [
      { hasChromium: false, isRoot: false, hasApt: true },
      { hasChromium: false, isRoot: true, hasApt: false },
    ]) {
      const decided = plan(facts);
      expect(decided.action).toBe('stop');
      if (decided.action === 'stop') {
        expect(decided.message).toContain(INSTALL_COMMAND);
        expect(decided.message).not.toContain('\n');
      }
    }
  });

  it('is what npm runs before the tests', async () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const { default: pkg } = await import(path.join(root, 'package.json'), { with: { type: 'json' } });
    expect(pkg.scripts.pretest).toBe('node scripts/ensure-chromium.ts');
    // On this machine Chromium is installed: the check passes silently.
    const run = spawnSync(process.execPath, ['scripts/ensure-chromium.ts'], { cwd: root, encoding: 'utf8' });
    expect(run.status).toBe(0);
  });
});
