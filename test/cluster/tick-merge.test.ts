/** mergeTicks: the workers' sampler ticks summed per server and per code, active counts from each worker's own tunnels. */

import t from 'tap';
import type { Tick } from '../../src/metrics/sampler.js';
import { addEvents, emptyEvents, mergeTicks, type WorkerTick } from '../../src/cluster/tick-merge.js';

function tick(servers: Tick['sample']['servers'], rates: Partial<Tick['rates']>, totals: Partial<Tick['totals']>): Tick {
  const r = { ...emptyEvents(), ...rates };
  return {
    sample: { t: 1, servers, handshakes: r.handshakes, rejections: Object.values(r.rejections).reduce((a, b) => a + b, 0) },
    rates: r,
    totals: { ...emptyEvents(), ...totals },
  };
}

t.test('sums per server and per code; active comes from each worker\'s own count', async (t) => {
  // Each worker's sampler shows the farm-wide count (what picks read): 5 on a, whichever worker asks.
  const w1: WorkerTick = {
    tick: tick({ p: { a: [5, 100, 200], b: [1, 0, 0] } }, { handshakes: 2, rejections: { WSLB_ERR_NO_ROUTE: 0.5 }, closes: { '1000': 1 } },
      { handshakes: 10, rejections: { WSLB_ERR_NO_ROUTE: 3 }, closes: { '1000': 4 } }),
    active: { 'p/a': 3, 'p/b': 1 },
  };
  const w2: WorkerTick = {
    tick: tick({ p: { a: [5, 50.25, 0], b: [1, 0, 0] } }, { handshakes: 1.1, rejections: { WSLB_ERR_NO_ROUTE: 0.2, WSLB_ERR_ORIGIN: 1 } },
      { handshakes: 7, rejections: { WSLB_ERR_ORIGIN: 2 }, closes: { '1001': 1 } }),
    active: { 'p/a': 2, 'p/b': 0 },
  };
  const m = mergeTicks(42, [w1, w2]);
  t.same(m.sample, { t: 42, servers: { p: { a: [5, 150.3, 200], b: [1, 0, 0] } }, handshakes: 3.1, rejections: 1.7 });
  t.same(m.rates, { handshakes: 3.1, rejections: { WSLB_ERR_NO_ROUTE: 0.7, WSLB_ERR_ORIGIN: 1 }, closes: { '1000': 1 } });
  t.same(m.totals, { handshakes: 17, rejections: { WSLB_ERR_NO_ROUTE: 3, WSLB_ERR_ORIGIN: 2 }, closes: { '1000': 4, '1001': 1 } });
});

t.test('retired totals stay; a worker without a tick yet adds its counts only; no worker: empty', async (t) => {
  const retired = { handshakes: 5, rejections: { WSLB_ERR_ORIGIN: 1 }, closes: { '1006': 2 } };
  const m = mergeTicks(7, [{ tick: null, active: { 'p/a': 4, 'chat/x/y': 1 } }], retired);
  t.same(m.sample.servers, { p: { a: [4, 0, 0] }, chat: { 'x/y': [1, 0, 0] } }, 'a server name may hold a slash');
  t.same(m.totals, retired);
  t.not(m.totals, retired, 'the retired record is not modified');
  t.same(mergeTicks(8, []), { sample: { t: 8, servers: {}, handshakes: 0, rejections: 0 }, rates: emptyEvents(), totals: emptyEvents() });
});

t.test('addEvents adds in place', async (t) => {
  const a = { handshakes: 0.1, rejections: {}, closes: { '1000': 1 } };
  t.equal(addEvents(a, { handshakes: 0.2, rejections: { X: 1 }, closes: { '1000': 2 } }), a);
  t.same(a, { handshakes: 0.3, rejections: { X: 1 }, closes: { '1000': 3 } });
});
