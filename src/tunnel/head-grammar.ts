/** Character classes shared by the hand-written HTTP head readers (the client's request head, the server's 101): a table lookup per character, no regex. */

/** A 256-entry table: 1 for each character of `chars`. */
export function charTable(chars: string): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

/** RFC 9110 token characters (header names). */
export const TOKEN = charTable("!#$%&'*+.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-");

/** The index of the first character in head[start, end) that is not a token character (end when all are). */
export function tokenEnd(head: string, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = head.charCodeAt(i);
    if (c > 255 || TOKEN[c] === 0) break;
    i++;
  }
  return i;
}
