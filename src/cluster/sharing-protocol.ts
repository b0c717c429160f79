/** The IPC messages of cluster-wide per-IP caps and shared affinity tables (joined into protocol.ts's unions). */

/** `[limit key, count]` pairs for the keys that changed; 0 = none any more. */
export type KeyCounts = [string, number][];

/** Primary -> worker. */
export type SharingToWorker =
  | { readonly t: 'ip-remote'; readonly counts: KeyCounts }   // the rest of the farm's count per changed key
  | { readonly t: 'affinity'; readonly route: string; readonly session: string; readonly server: string }   // learnt elsewhere; server = `pool/server`
  | { readonly t: 'affinity-found'; readonly ref: number; readonly server: string | null };

/** Worker -> primary. */
export type SharingFromWorker =
  | { readonly t: 'ip-local'; readonly counts: KeyCounts }    // this worker's count per changed key
  | { readonly t: 'affinity'; readonly route: string; readonly session: string; readonly server: string }
  | { readonly t: 'affinity-lookup'; readonly ref: number; readonly route: string; readonly session: string };
