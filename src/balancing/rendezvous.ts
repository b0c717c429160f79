/**
 * Weighted rendezvous (highest random weight) hashing: Thaler & Ravishankar, "Using Name-Based
 * Mappings to Increase Hit Rates" (1998), weighted as in Schindelhauer & Schomaker, "Weighted
 * Distributed Hash Tables" (2005): score = weight / -ln(u), u = hash(key, server) in (0, 1).
 * Pure functions of the key and the server names: every process computes the same answer.
 */

/** FNV-1a over UTF-16 code units, finished with murmur3's fmix32 for avalanche; unsigned 32-bit. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** murmur3's 32-bit finalizer: a bijection in which every input bit flips each output bit with p ~ 1/2. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The weighted score of one (key, server) pair; the highest wins. Two finalizer rounds over
 * key ^ server decorrelate the servers' scores for one key (one round left measurable bias
 * between servers whose name hashes differ in few bits).
 */
export function rendezvousScore(keyHash: number, serverHash: number, weight: number): number {
  if (!(weight > 0)) return -Infinity;
  const x = fmix32(fmix32((keyHash ^ serverHash) >>> 0) ^ serverHash);
  const u = (x + 0.5) / 4294967296;   // in (0, 1): never 0 (log -Infinity) nor 1 (division by 0)
  return weight / -Math.log(u);
}
