/** A bounded cache of authentication answers (verified tokens, forward-auth replies): least recently used first out, each entry with its own end. */

import crypto from 'node:crypto';

// One-shot hashing (Node 20.12+) skips the Hash object a createHash chain costs.
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'base64') => string }).hash;

/**
 * The cache key of a credential: its SHA-256, so a cache of long tokens holds 44 characters per
 * entry, and the credential itself is never kept in memory longer than its request.
 */
export function credentialKey(text: string): string {
  return oneShot ? oneShot('sha256', text, 'base64') : crypto.createHash('sha256').update(text).digest('base64');
}

interface Entry<V> {
  readonly value: V;
  readonly until: number;
}

/** At most `max` entries; Map order is the recency order (a hit moves its entry to the back). */
export class AnswerCache<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value stored for `key` while `now` is before its end; an ended entry is dropped. */
  get(key: string, now: number): V | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    this.#entries.delete(key);
    if (now >= e.until) return undefined;
    this.#entries.set(key, e);
    return e.value;
  }

  /** Stores `value` until epoch ms `until`; past `max` entries the least recently used goes. */
  set(key: string, value: V, until: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, until });
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }

  clear(): void {
    this.#entries.clear();
  }
}
