// Preloaded into wslb's processes by bench:workers (node --expose-gc --require): SIGUSR2 runs a full
// garbage collection, so RSS readings before and after holding idle connections do not depend on when
// V8 last collected or trimmed its heap. Bench-only: wslb itself does not use SIGUSR2.
'use strict';
if (typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => { globalThis.gc(); setTimeout(() => globalThis.gc(), 200); });
}
