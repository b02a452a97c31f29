/** `mmsim oracle`: exit 3 with one line saying why when the real kernel cannot be used; 0 when it agrees. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { unavailable } from './real.js';

function capture(argv: string[]) {
  let out = '';
  let err = '';
  const code = main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false });
  return { code, out, err };
}

describe('mmsim oracle', () => {
  it('rejects a bad option or file with exit 2', () => {
    expect(capture(['oracle', 'examples/01-zero-page.yaml', '--kernel', 'v9']).code).toBe(2);
    expect(capture(['oracle', 'no-such-file.yaml']).code).toBe(2);
  });

  it.skipIf(!existsSync('/usr/bin/setpriv') || process.getuid?.() !== 0)(
    'without root: one line saying why, exit 3',
    () => {
      const r = spawnSync(
        'setpriv',
        [
          '--reuid',
          '65534',
          '--regid',
          '65534',
          '--clear-groups',
          'node',
          '--import',
          'tsx',
          'src/cli/entry.ts',
          'oracle',
          'examples/01-zero-page.yaml',
        ],
        { encoding: 'utf8' },
      );
      expect(r.status).toBe(3);
      expect(r.stderr.trim().split('\n')).toEqual([
        'mmsim oracle: the real-kernel oracle needs root (pagemap frame numbers, /proc/kpageflags, KSM knobs)',
      ]);
    },
  );

  it.skipIf(unavailable !== null)('names the profile it compares with and exits 0 when Linux agrees', () => {
    const r = capture(['oracle', 'examples/05-ksm-merge.yaml']);
    expect(r.err).toBe('');
    expect(r.out).toContain('is the profile nearest the running kernel');
    expect(r.out).toContain('agree at all');
    expect(r.code).toBe(0);
    const j = JSON.parse(capture(['oracle', 'examples/02-fork-cow.yaml', '--json']).out);
    expect(j.unexplainedCount).toBe(0);
  });

  it.skipIf(unavailable !== null)(
    'an older profile: differences explained by a modelled version difference',
    () => {
      const r = capture(['oracle', 'examples/16-pinned-fork-v6.10.yaml', '--kernel', 'v5.0']);
      expect(r.out).toContain('expected difference');
      expect(r.out).toContain('forkCopiesPinnedPages');
      expect(r.code).toBe(0);
    },
  );
});
