/**
 * A server's connection counts and the lease through which one connection holds its place in
 * them: taken at the pick (so least-connections sees handshakes in flight), then handed from the
 * selection to the tunnel or kept by the exchange, and released once, whatever path ends it.
 */

/** Plain numbers, read at scrape time; changed only by leases. */
export class ConnectionCounts {
  /** Connections on the server from this process: picked and not yet ended (handshakes in flight, tunnels, HTTP exchanges). */
  active = 0;
  /** Tunnels opened on the server since start. */
  total = 0;
  /** Connections that could not be made (refused, timed out, reset before a byte was sent). */
  connectFailures = 0;
}

export class Lease<S> {
  /** The server this lease counts against. */
  readonly server: S;
  /** Null once released: a second release, or a count after it, does nothing. */
  #counts: ConnectionCounts | null;
  #opened = false;

  /** Counted active from here. `counts` is the server's own (src/pool/server.ts Server.lease). */
  constructor(server: S, counts: ConnectionCounts) {
    this.server = server;
    this.#counts = counts;
    counts.active++;
  }

  get released(): boolean {
    return this.#counts === null;
  }

  /** A tunnel opened on the server: counted in `total`, once per lease. */
  opened(): void {
    if (this.#counts === null || this.#opened) return;
    this.#opened = true;
    this.#counts.total++;
  }

  /** The connection could not be made: counted, and the lease ends. */
  connectFailed(): void {
    if (this.#counts === null) return;
    this.#counts.connectFailures++;
    this.release();
  }

  /** Ends the lease; runs once, later calls do nothing. */
  release(): void {
    const counts = this.#counts;
    if (counts === null) return;
    this.#counts = null;
    counts.active--;
  }
}
