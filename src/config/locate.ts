/** Finds where a data path (pools.chat.servers[0].url) sits in the YAML source, as a 1-based line:col. */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

export type DataPath = readonly (string | number)[];

export interface Location {
  readonly line: number;
  readonly col: number;
  /** Whether the whole path exists in the document (a key written with no value counts). */
  readonly found: boolean;
}

interface Ranged { range?: [number, number, number] | null }

/**
 * Walks the document along `path`. Found: the value's position (the key's when `at` is
 * 'key', or when the key has no value). Not found: the position of the key of the deepest
 * node that exists, so a missing required key points at the mapping that should hold it.
 */
export function locate(doc: Document, lc: LineCounter, path: DataPath, at: 'value' | 'key' = 'value'): Location {
  let node: unknown = doc.contents;
  let key: Ranged | undefined;      // the key (or, for list items, the item) that holds `node`
  let depth = 0;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
      if (!pair) break;
      key = pair.key as Ranged;
      node = pair.value;
    } else if (isSeq(node) && Number.isInteger(Number(seg))) {
      const item = node.items[Number(seg)];
      if (item === undefined) break;
      key = item as Ranged;
      node = item;
    } else {
      break;
    }
    depth++;
  }
  const found = depth === path.length;
  // `key:` with nothing after it has an empty null scalar just past the colon: use the key.
  const empty = isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1];
  const value = empty ? null : (node as Ranged | null);
  let offset: number | undefined;
  if (found && at === 'value' && value?.range) offset = value.range[0];
  else if (key?.range) offset = key.range[0];
  else offset = value?.range?.[0];
  const pos = lc.linePos(offset ?? 0);
  return { line: pos.line, col: pos.col, found };
}

function keyText(k: unknown): string {
  if (isScalar(k)) return String(k.value);
  return String(k);
}

/** `pools.chat.servers[0].url`; the root is `(root)`. */
export function formatPath(path: DataPath): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out || '(root)';
}
