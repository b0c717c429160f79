/** The one table of wslb error codes: HTTP status before the upgrade, close code after, and who is at fault. */

export type ErrorSource = 'downstream' | 'upstream' | 'internal' | 'config';

interface ErrorSpec {
  readonly status: number;       // HTTP status when the failure happens before the 101
  readonly close: number;        // WebSocket close code when it happens after
  readonly source: ErrorSource;
  readonly message: string;
}

export const ERRORS = {
  WSLB_ERR_BAD_METHOD:        { status: 400, close: 1002, source: 'downstream', message: 'WebSocket handshake must be GET' },
  WSLB_ERR_BAD_VERSION_HTTP:  { status: 400, close: 1002, source: 'downstream', message: 'WebSocket handshake needs HTTP/1.1' },
  WSLB_ERR_BAD_UPGRADE:       { status: 400, close: 1002, source: 'downstream', message: 'Upgrade header must be exactly "websocket"' },
  WSLB_ERR_BAD_CONNECTION:    { status: 400, close: 1002, source: 'downstream', message: 'Connection header must contain "upgrade"' },
  WSLB_ERR_BAD_KEY:           { status: 400, close: 1002, source: 'downstream', message: 'Sec-WebSocket-Key must be base64 of 16 bytes' },
  WSLB_ERR_BAD_WS_VERSION:    { status: 426, close: 1002, source: 'downstream', message: 'Sec-WebSocket-Version must be 13' },
  WSLB_ERR_BODY:              { status: 400, close: 1002, source: 'downstream', message: 'WebSocket handshake must not carry a body' },
  WSLB_ERR_MALFORMED:         { status: 400, close: 1002, source: 'downstream', message: 'malformed HTTP request' },
  WSLB_ERR_BAD_HOST:          { status: 400, close: 1002, source: 'downstream', message: 'request needs exactly one Host header holding a valid host[:port]' },
  WSLB_ERR_PROXY_HEADER:      { status: 400, close: 1002, source: 'downstream', message: 'missing, malformed or untrusted PROXY protocol header (connection closed)' },
  WSLB_ERR_NO_ROUTE:          { status: 404, close: 1008, source: 'downstream', message: 'no route matches this request' },
  WSLB_ERR_NOT_WEBSOCKET:     { status: 426, close: 1002, source: 'downstream', message: 'this route only accepts WebSocket upgrades' },
  WSLB_ERR_UNKNOWN_PROTOCOL:  { status: 501, close: 1002, source: 'downstream', message: 'HTTP/2 extended CONNECT for a protocol other than websocket' },
  WSLB_ERR_ORIGIN:            { status: 403, close: 1008, source: 'downstream', message: 'Origin not allowed' },
  WSLB_ERR_AUTH:              { status: 401, close: 1008, source: 'downstream', message: 'authentication required or token refused' },
  WSLB_ERR_AUTH_FORBIDDEN:    { status: 403, close: 1008, source: 'downstream', message: 'the auth service refused this request' },
  WSLB_ERR_AUTH_UNAVAILABLE:  { status: 503, close: 1013, source: 'upstream',   message: 'authentication unavailable (auth service or key set not reachable)' },
  WSLB_ERR_HEAD_TIMEOUT:      { status: 408, close: 1002, source: 'downstream', message: 'request head not received in time' },
  WSLB_ERR_RATE:              { status: 429, close: 1008, source: 'downstream', message: 'too many handshakes from this address' },
  WSLB_ERR_IP_CAP:            { status: 429, close: 1008, source: 'downstream', message: 'too many connections from this address' },
  WSLB_ERR_HEADERS_TOO_LARGE: { status: 431, close: 1002, source: 'downstream', message: 'request headers too large' },
  WSLB_ERR_OVER_CAPACITY:     { status: 503, close: 1013, source: 'internal',   message: 'balancer over capacity' },
  WSLB_ERR_POOL_RATE:         { status: 503, close: 1013, source: 'internal',   message: 'pool handshake rate exceeded (reconnect storm guard)' },
  WSLB_ERR_NO_SERVER:         { status: 503, close: 1013, source: 'upstream',   message: 'no ready server in pool' },
  WSLB_ERR_CONNECT:           { status: 502, close: 1014, source: 'upstream',   message: 'could not connect to any server' },
  WSLB_ERR_BAD_101:           { status: 502, close: 1014, source: 'upstream',   message: 'server sent an invalid WebSocket handshake response' },
  WSLB_ERR_UPSTREAM_CLOSED:   { status: 502, close: 1014, source: 'upstream',   message: 'server closed the connection during the handshake' },
  WSLB_ERR_UPSTREAM_TIMEOUT:  { status: 504, close: 1014, source: 'upstream',   message: 'server did not answer the handshake in time' },
  WSLB_ERR_DRAINING:          { status: 503, close: 1001, source: 'internal',   message: 'balancer is shutting down' },
  WSLB_ERR_MESSAGE_TOO_BIG:   { status: 400, close: 1009, source: 'downstream', message: 'message exceeds limits.max_message_bytes' },
  WSLB_ERR_INTERNAL:          { status: 500, close: 1011, source: 'internal',   message: 'internal error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export class WslbError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly closeCode: number;
  readonly source: ErrorSource;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].message, options);
    this.name = 'WslbError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.closeCode = ERRORS[code].close;
    this.source = ERRORS[code].source;
  }
}

/** WebSocket close codes the balancer itself sends (docs/security.md "What clients see"). */
export const CLOSE = {
  GOING_AWAY: 1001,       // shutdown, idle
  POLICY: 1008,           // stalled reader, token expired (close_on_expiry), over limits.messages_per_second (message rate)
  TOO_BIG: 1009,
  INTERNAL: 1011,
  SERVICE_RESTART: 1012,  // server drained / removed / rebalanced
  TRY_AGAIN_LATER: 1013,  // overloaded
  BAD_GATEWAY: 1014,      // server failed mid-stream
} as const;
