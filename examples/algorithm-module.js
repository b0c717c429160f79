// An example user algorithm for wslb: "fill first" (bin packing). Each server, in config order,
// is filled up to `capacity` active connections before the next one gets any, so that idle
// servers at the end of the list can be scaled in. When all are full: fewest active / weight.
//
//   pools:
//     chat:
//       algorithm: { module: ./examples/algorithm-module.js, capacity: 500 }
//
// The default export is a factory (options, { random, now }) => ({ name, pick }); `options` are
// the keys next to `module:`. `ctx.servers` holds frozen copies of the ready servers (name, url,
// weight, active, bandwidth, rtt, load, loadStale), `ctx.key` the hash key when the options name
// one (`key: query:room`), `ctx.clientAddress` the client's IP. Return one element of
// `ctx.servers`, or undefined for "none" (the client gets 503). An optional close() runs at stop.

/** @type {import('../src/balancing/balancer.js').AlgorithmModuleFactory} */
export default function fillFirst(options, { random }) {
  const capacity = typeof options.capacity === 'number' && options.capacity > 0 ? options.capacity : 100;
  return {
    name: 'fill-first',
    pick(ctx) {
      const open = ctx.servers.find((s) => s.active < capacity * s.weight);
      if (open) return open;
      // Everything is full: spread the overflow, ties broken at random.
      let best;
      let ties = 0;
      for (const s of ctx.servers) {
        const v = s.active / s.weight;
        const b = best ? best.active / best.weight : Infinity;
        if (v < b) { best = s; ties = 1; } else if (v === b && random() * ++ties < 1) best = s;
      }
      return best;
    },
  };
}
