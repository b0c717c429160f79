/** tokenIn (the 101's Connection check) reads a list exactly as the split/trim/lowercase chain it replaces, on a table of edge cases and 20,000 random lists. */

import t from 'tap';
import { tokenIn } from '../../src/tunnel/headers.js';

/** The reading tokenIn replaces. */
function reference(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  return value.split(',').map((s) => s.trim()).filter(Boolean).some((s) => s.toLowerCase() === token);
}

t.test('edge cases', async (t) => {
  const cases = [
    undefined, '', ',', 'upgrade', 'Upgrade', 'UPGRADE', ' upgrade ', '\tupgrade\t', 'keep-alive, Upgrade', 'Upgrade,keep-alive',
    ',,upgrade,,', 'upgrades', 'upgrad', 'up grade', 'upgrade\u00a0', '\u00a0Upgrade', 'Upgrade\x0b', '\u00c0upgrade',
    'upgrade\u00ff', 'close', 'keep-alive', 'Upgrade;q=1', '"upgrade"',
  ];
  for (const c of cases) t.equal(tokenIn(c, 'upgrade'), reference(c, 'upgrade'), JSON.stringify(c));
});

t.test('random lists agree with the reference', async (t) => {
  const parts = ['upgrade', 'Upgrade', 'UPGRADE', 'keep-alive', 'close', '', ' ', '\t', '\u00a0', 'upgrade\u00a0', 'x', 'upgradex', '\r', 'Ü'];
  let seed = 7;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  let mismatches = 0;
  for (let i = 0; i < 20_000; i++) {
    const k = 1 + rnd(4);
    const list: string[] = [];
    for (let j = 0; j < k; j++) list.push(parts[rnd(parts.length)]! + (rnd(3) === 0 ? parts[rnd(parts.length)]! : ''));
    const v = list.join(rnd(2) ? ',' : ', ');
    if (tokenIn(v, 'upgrade') !== reference(v, 'upgrade')) mismatches++;
  }
  t.equal(mismatches, 0);
});
