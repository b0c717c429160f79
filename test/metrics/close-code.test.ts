/** The close-code label stays within a fixed set whatever a client sends. */

import t from 'tap';
import { closeCodeLabel } from '../../src/metrics/close-code.js';

t.test('labels', async (t) => {
  const cases: [number | undefined, string][] = [
    [undefined, '1006'], [1000, '1000'], [1001, '1001'], [1012, '1012'], [1014, '1014'], [1015, '1015'],
    [1016, 'other'], [999, 'other'], [2000, 'other'], [3000, '3xxx'], [3999, '3xxx'], [4000, '4xxx'], [4999, '4xxx'], [5000, 'other'],
  ];
  for (const [code, label] of cases) t.equal(closeCodeLabel(code), label, String(code));
});
