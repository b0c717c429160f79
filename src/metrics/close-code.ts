/** Maps a WebSocket close code to a bounded `code` label: clients choose 3000-4999 freely, so those collapse to two values. */

/** Close frame absent (TCP closed first, or never read): RFC 6455 7.4.1 reserves 1006 for exactly this. */
export const NO_CLOSE_FRAME = '1006';

export function closeCodeLabel(code: number | undefined): string {
  if (code === undefined) return NO_CLOSE_FRAME;
  if (code >= 1000 && code <= 1015) return String(code);     // the registered range, balancer codes included
  if (code >= 3000 && code <= 3999) return '3xxx';           // IANA-registered application codes
  if (code >= 4000 && code <= 4999) return '4xxx';           // private use
  return 'other';
}
