// Unit parsers: durations to ms, sizes to bytes, rates to per second, and their refusals.
import t from 'tap';
import { formatDuration, parseDuration, parseRate, parseSize, UnitError } from '../../src/config/units.js';

t.test('durations', async (t) => {
  const ok: [unknown, number][] = [
    ['500ms', 500], ['3s', 3000], ['1.5s', 1500], ['10m', 600_000], ['1h', 3_600_000],
    ['0s', 0], ['0', 0], [0, 0], [' 2s ', 2000], ['.5s', 500], ['250 ms', 250],
  ];
  for (const [input, ms] of ok) t.equal(parseDuration(input), ms, String(input));
});

t.test('a bare number is not a duration, with a message that says what to write', async (t) => {
  t.throws(() => parseDuration(30), { name: 'UnitError', message: /needs a unit: write "30s" or "30ms"/ });
  t.throws(() => parseDuration('30'), /needs a unit/);
  for (const bad of ['3x', 's', '-1s', '1d', '', true, null, {}, '1s2']) {
    t.throws(() => parseDuration(bad), UnitError, JSON.stringify(bad));
  }
});

t.test('sizes', async (t) => {
  const ok: [unknown, number][] = [
    ['16KiB', 16_384], ['1MiB', 1_048_576], ['1GiB', 1_073_741_824], ['512B', 512],
    ['1KB', 1000], ['2MB', 2_000_000], ['1GB', 1e9], [4096, 4096], ['4096', 4096], ['1.5KiB', 1536], ['16 KiB', 16_384],
  ];
  for (const [input, bytes] of ok) t.equal(parseSize(input), bytes, String(input));
  for (const bad of ['16kib', '1.1B', '1TB', -1, 1.5, 'lots', false]) {
    t.throws(() => parseSize(bad), UnitError, JSON.stringify(bad));
  }
});

t.test('rates', async (t) => {
  t.equal(parseRate('50/s'), 50);
  t.equal(parseRate('2.5/s'), 2.5);
  t.equal(parseRate('10 / s'), 10);
  t.equal(parseRate(500), 500);
  for (const bad of ['50/m', '50', '0/s', 0, -3, 'x/s', null]) {
    t.throws(() => parseRate(bad), UnitError, JSON.stringify(bad));
  }
});

t.test('formatDuration picks the largest exact unit', async (t) => {
  t.equal(formatDuration(3_600_000), '1h');
  t.equal(formatDuration(90_000), '90s');
  t.equal(formatDuration(1500), '1500ms');
  t.equal(formatDuration(0), '0ms');
});
