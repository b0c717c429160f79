/**
 * The dashboard's browser script, written as one self-contained function: tsc type-checks it
 * against the DOM library, and the admin server serves `(${dashboardClient})((${dashboardCharts})())`
 * as /dashboard.js (no bundler, no CDN). It must not reference anything outside its own body
 * and its argument (types excepted: they are erased).
 */

import type { DashboardCharts } from './charts.js';
import type { ServerStatus, StatusDocument } from '../status-document.js';

/* c8 ignore start */
export function dashboardClient(charts: DashboardCharts): void {
  const { chartSvg, fmtBytes, fmtNum } = charts;
  type Point = [number, number, number];   // active, bytes/s in, bytes/s out
  interface Sample { t: number; servers: Record<string, Record<string, Point>>; handshakes?: number; rejections?: number }
  interface Counts { handshakes: number; rejections: Record<string, number>; closes: Record<string, number> }
  type ServerDoc = ServerStatus;
  type Status = StatusDocument;
  interface Doc { t: number; auth: boolean; status: Status; rates: Counts; totals: Counts; sample: Sample; history?: Sample[] }

  const MAX_POINTS = 600;
  const COLORS = ['#5b9bd5', '#f4a340', '#6cc070', '#e8625f', '#7fd0cb', '#e9cf5b', '#c08cc0', '#ff9fae', '#b58b6e', '#a6a6a6'];
  const CLOSE_NAMES: Record<string, string> = {
    '1000': 'normal', '1001': 'going away', '1002': 'protocol error', '1003': 'unsupported data', '1005': 'no status',
    '1006': 'no close frame', '1007': 'invalid payload', '1008': 'policy', '1009': 'too big', '1010': 'extension',
    '1011': 'internal error', '1012': 'restart / drain', '1013': 'try again later', '1014': 'bad gateway', '1015': 'TLS',
    '3xxx': 'application', '4xxx': 'private', 'other': 'other',
  };

  let history: Sample[] = [];
  let doc: Doc | null = null;
  let layoutKey = '';
  const colorOf = new Map<string, string>();

  const byId = (id: string): HTMLElement => {
    const e = document.getElementById(id);
    if (!e) throw new Error(`missing #${id}`);
    return e;
  };

  function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    for (const c of children) e.append(c);
    return e;
  }

  function setText(root: ParentNode, sel: string, value: string): void {
    const e = root.querySelector(sel);
    if (e && e.textContent !== value) e.textContent = value;
  }

  function keyOf(pool: string, server: string): string {
    return `${pool}\u0000${server}`;
  }

  // ---- live data ----

  function connect(): void {
    const es = new EventSource('events');
    es.addEventListener('open', () => setLive(true));
    es.addEventListener('error', () => setLive(false));
    es.addEventListener('snapshot', (e) => {
      const d = JSON.parse((e as MessageEvent<string>).data) as Doc;
      history = (d.history ?? []).slice(-MAX_POINTS);
      apply(d);
    });
    es.addEventListener('tick', (e) => {
      const d = JSON.parse((e as MessageEvent<string>).data) as Doc;
      history.push(d.sample);
      if (history.length > MAX_POINTS) history.splice(0, history.length - MAX_POINTS);
      apply(d);
    });
  }

  function setLive(live: boolean): void {
    const e = byId('live');
    e.className = live ? 'live on' : 'live off';
    e.textContent = live ? 'live' : 'reconnecting…';
  }

  function apply(d: Doc): void {
    doc = d;
    renderHeader(d);
    renderRoutes(d.status);
    renderTraffic(d);
    renderPools(d);
  }

  // ---- header, routes, traffic ----

  function renderHeader(d: Doc): void {
    const s = d.status;
    setText(document, '#connections', fmtNum(s.connections));
    setText(document, '#hs-rate', fmtNum(d.rates.handshakes));
    const rej = Object.values(d.rates.rejections).reduce((a, b) => a + b, 0);
    setText(document, '#rej-rate', fmtNum(rej));
    setText(document, '#listeners', s.listeners.map((l) => `${l.address}:${l.port}`).join('  ') || '-');
    byId('draining').hidden = !s.draining;
    byId('lock').hidden = !d.auth;
  }

  function renderRoutes(s: Status): void {
    const tbody = byId('routes');
    const key = JSON.stringify(s.routes);
    if (tbody.dataset.key === key) return;
    tbody.dataset.key = key;
    tbody.replaceChildren(...s.routes.map((r) => el('tr', { 'data-route': r.name },
      el('td', {}, r.name),
      el('td', { class: 'mono' }, `${r.match?.host ?? '*'}${r.match?.path ?? '/'}`),
      el('td', {}, r.pool),
      el('td', {}, el('span', { class: 'algo' }, r.algorithm)))));
    if (s.routes.length === 0) tbody.append(el('tr', {}, el('td', { colspan: '4', class: 'muted' }, 'no routes: every request gets 404')));
  }

  function renderCounts(id: string, rates: Record<string, number>, totals: Record<string, number>, label: (k: string) => string): void {
    const keys = Object.keys(totals).sort((a, b) => (totals[b] ?? 0) - (totals[a] ?? 0));
    const list = byId(id);
    if (keys.length === 0) { list.replaceChildren(el('li', { class: 'muted' }, 'none yet')); return; }
    list.replaceChildren(...keys.map((k) => el('li', { 'data-key': k },
      el('span', { class: 'k' }, label(k)),
      el('span', { class: 'rate' }, `${fmtNum(rates[k] ?? 0)}/s`),
      el('span', { class: 'total' }, fmtNum(totals[k] ?? 0)))));
  }

  function renderTraffic(d: Doc): void {
    setText(document, '#hs-total', fmtNum(d.totals.handshakes));
    renderCounts('rejections', d.rates.rejections, d.totals.rejections, (k) => k.replace(/^WSLB_ERR_/, ''));
    renderCounts('closes', d.rates.closes, d.totals.closes, (k) => `${k} ${CLOSE_NAMES[k] ?? ''}`);
    const end = d.sample.t;
    charts.draw(byId('hs-chart') as unknown as SVGSVGElement, [
      { color: COLORS[0]!, points: history.map((h) => [h.t, h.handshakes ?? 0] as [number, number]) },
      { color: COLORS[3]!, points: history.map((h) => [h.t, h.rejections ?? 0] as [number, number]) },
    ], end, history[0]?.t ?? end, (v) => `${fmtNum(v)}/s`, 1);
  }

  // ---- pools ----

  function renderPools(d: Doc): void {
    const pools = d.status.pools;
    const key = JSON.stringify(Object.entries(pools).map(([p, v]) => [p, v.algorithm, v.servers.map((s) => s.name)]));
    const root = byId('pools');
    if (key !== layoutKey) {
      layoutKey = key;
      root.replaceChildren(...Object.entries(pools).map(([name, p]) => poolSection(name, p.servers)));
      if (Object.keys(pools).length === 0) root.append(el('p', { class: 'muted' }, 'no pools configured'));
    }
    const end = d.sample.t;
    for (const [name, p] of Object.entries(pools)) {
      const section = root.querySelector<HTMLElement>(`section[data-pool="${CSS.escape(name)}"]`);
      if (!section) continue;
      setText(section, '.algo', p.algorithm);
      const up = p.servers.filter((s) => s.state === 'up').length;
      setText(section, '.updown', `${up}/${p.servers.length} up`);
      section.querySelector('.updown')!.className = `updown ${up === p.servers.length ? 'ok' : up === 0 ? 'bad' : 'warn'}`;
      for (const s of p.servers) updateRow(section, name, s, d.sample);
      const series = (field: 0 | 1 | 2, plus?: 1 | 2) => p.servers.map((s) => ({
        color: colorOf.get(keyOf(name, s.name)) ?? COLORS[0]!,
        points: history.map((h) => {
          const pt = h.servers[name]?.[s.name];
          return [h.t, pt ? pt[field] + (plus ? pt[plus] : 0) : 0] as [number, number];
        }),
      }));
      const first = history[0]?.t ?? end;
      charts.draw(section.querySelector('svg[data-chart="active"]'), series(0), end, first, fmtNum, 1);
      charts.draw(section.querySelector('svg[data-chart="bandwidth"]'), series(1, 2), end, first, (v) => fmtBytes(v, '/s'), 1024);
    }
  }

  function poolSection(name: string, servers: ServerDoc[]): HTMLElement {
    servers.forEach((s, i) => colorOf.set(keyOf(name, s.name), COLORS[i % COLORS.length]!));
    const head = el('tr', {}, ...['server', 'state', 'reason', 'weight', 'active', 'total', 'in', 'out', 'rtt', 'load', ''].map((h) => el('th', {}, h)));
    const rows = servers.map((s) => {
      const swatch = el('span', { class: 'swatch' });
      swatch.style.background = colorOf.get(keyOf(name, s.name)) ?? COLORS[0]!;
      return el('tr', { 'data-server': s.name },
        el('td', { class: 'name' }, swatch, el('span', { 'data-field': 'name' }, s.name), el('div', { class: 'url mono', 'data-field': 'url' }, s.url)),
        el('td', {}, el('span', { class: 'badge', 'data-field': 'state' })),
        el('td', { class: 'reason', 'data-field': 'reason' }),
        el('td', { class: 'num', 'data-field': 'weight' }),
        el('td', { class: 'num', 'data-field': 'active' }),
        el('td', { class: 'num', 'data-field': 'total' }),
        el('td', { class: 'num', 'data-field': 'in' }),
        el('td', { class: 'num', 'data-field': 'out' }),
        el('td', { class: 'num', 'data-field': 'rtt' }),
        el('td', { class: 'num', 'data-field': 'load' }),
        el('td', { class: 'actions' },
          el('button', { type: 'button', 'data-action': 'drain', 'data-pool': name, 'data-server': s.name, title: 'close its tunnels with 1012 over the drain window' }, 'Drain'),
          el('button', { type: 'button', 'data-action': 'disable', 'data-pool': name, 'data-server': s.name, title: 'no new tunnels; open ones stay' }, 'Disable'),
          el('button', { type: 'button', 'data-action': 'enable', 'data-pool': name, 'data-server': s.name, title: 'take traffic again' }, 'Enable')));
    });
    const chart = (kind: string, title: string) => el('figure', {},
      el('figcaption', {}, title, el('span', { class: 'ymax' })),
      chartSvg(kind),
      el('div', { class: 'xaxis' }, el('span', { class: 'xstart' }, '-5 min'), el('span', {}, 'now')));
    return el('section', { class: 'pool card', 'data-pool': name },
      el('h2', {}, el('span', { class: 'pool-name' }, name), el('span', { class: 'algo' }), el('span', { class: 'updown' })),
      el('div', { class: 'table-wrap' }, el('table', { class: 'servers' }, el('thead', {}, head), el('tbody', {}, ...rows))),
      el('div', { class: 'charts' }, chart('active', 'Active connections'), chart('bandwidth', 'Bandwidth (in + out)')));
  }

  function updateRow(section: HTMLElement, pool: string, s: ServerDoc, sample: Sample): void {
    const row = section.querySelector<HTMLElement>(`tr[data-server="${CSS.escape(s.name)}"]`);
    if (!row) return;
    const pt = sample.servers[pool]?.[s.name];
    const badge = row.querySelector<HTMLElement>('[data-field="state"]')!;
    badge.className = `badge state-${s.state}`;
    setText(row, '[data-field="state"]', s.state);
    setText(row, '[data-field="reason"]', s.reason ?? '');
    setText(row, '[data-field="weight"]', s.effective_weight !== s.weight ? `${s.effective_weight} / ${s.weight}` : String(s.weight));
    setText(row, '[data-field="active"]', String(s.active));
    setText(row, '[data-field="total"]', fmtNum(s.total));
    setText(row, '[data-field="in"]', fmtBytes(pt ? pt[1] : 0, '/s'));
    setText(row, '[data-field="out"]', fmtBytes(pt ? pt[2] : 0, '/s'));
    setText(row, '[data-field="rtt"]', s.rtt_ms > 0 ? `${s.rtt_ms < 10 ? s.rtt_ms.toFixed(1) : Math.round(s.rtt_ms)} ms` : '-');
    setText(row, '[data-field="load"]', s.load > 0 || s.load_stale ? `${Math.round(s.load * 100) / 100}${s.load_stale ? ' (stale)' : ''}` : '-');
    row.querySelector<HTMLElement>('[data-field="in"]')!.title = `${fmtBytes(s.bytes_in)} total`;
    row.querySelector<HTMLElement>('[data-field="out"]')!.title = `${fmtBytes(s.bytes_out)} total`;
    for (const b of row.querySelectorAll<HTMLButtonElement>('button[data-action]')) {
      const a = b.dataset.action;
      if (b.classList.contains('confirm') || b.classList.contains('busy')) continue;
      b.disabled = a === 'enable' ? s.state !== 'disabled' && s.state !== 'draining'
        : a === 'drain' ? s.state === 'draining' : s.state === 'disabled';
    }
  }

  // ---- actions ----

  function toast(msg: string, kind: 'ok' | 'err'): void {
    const t = el('div', { class: `toast ${kind}`, role: 'status' }, msg);
    byId('toasts').append(t);
    setTimeout(() => t.remove(), 5000);
  }

  function askToken(): Promise<string | null> {
    const dialog = byId('token-dialog') as HTMLDialogElement;
    const input = byId('token-input') as HTMLInputElement;
    input.value = '';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok' && input.value !== '' ? input.value : null), { once: true });
      dialog.showModal();
    });
  }

  async function send(pool: string, server: string, action: string, retried = false): Promise<void> {
    const token = sessionStorage.getItem('wslb-token');
    const res = await fetch(`pools/${encodeURIComponent(pool)}/servers/${encodeURIComponent(server)}/${action}`, {
      method: 'POST', headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    if (res.status === 204) { toast(`${action}: ${pool}/${server}`, 'ok'); return; }
    if (res.status === 401 && !retried) {
      const t = await askToken();
      if (t === null) { toast(`${action} ${server}: the admin token is required`, 'err'); return; }
      sessionStorage.setItem('wslb-token', t);
      return send(pool, server, action, true);
    }
    if (res.status === 401) sessionStorage.removeItem('wslb-token');
    let message = `HTTP ${res.status}`;
    try { message = ((await res.json()) as { error: { message: string } }).error.message; } catch { /* not JSON */ }
    toast(`${action} ${server}: ${message}`, 'err');
  }

  document.addEventListener('click', (e) => {
    const b = (e.target as Element | null)?.closest<HTMLButtonElement>('button[data-action]');
    if (!b || b.disabled) return;
    const { action, pool, server } = b.dataset as { action: string; pool: string; server: string };
    // Drain and disable change traffic: a second click within 4 s confirms.
    if (action !== 'enable' && !b.classList.contains('confirm')) {
      b.classList.add('confirm');
      const label = b.textContent;
      b.textContent = 'Confirm?';
      setTimeout(() => { b.classList.remove('confirm'); b.textContent = label; }, 4000);
      return;
    }
    b.classList.remove('confirm');
    b.classList.add('busy');
    b.textContent = action[0]!.toUpperCase() + action.slice(1);
    void send(pool, server, action)
      .catch((err: unknown) => toast(`${action} ${server}: ${String(err)}`, 'err'))
      .finally(() => { b.classList.remove('busy'); if (doc) renderPools(doc); });
  });

  connect();
}
/* c8 ignore stop */
