/** The dashboard's files as strings compiled into the package (tsc copies no other assets): page, stylesheet and script, served by path. */

import { dashboardCharts } from './charts.js';
import { dashboardClient } from './client.js';
import { DASHBOARD_CSS } from './style.js';

export interface Asset {
  readonly type: string;
  readonly body: string;
  readonly headers: Record<string, string>;
}

// Everything comes from this origin: no CDN (the balancer often runs without internet), and a
// strict CSP means an injected server name can never run as script.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wslb dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="dashboard.css">
<script src="dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>wslb</h1>
  <span id="live" class="live off">connecting…</span>
  <span id="draining" class="badge state-draining" hidden>balancer draining</span>
  <span id="lock" class="lock" hidden title="POST endpoints need the admin token">token required</span>
  <span class="spacer"></span>
  <span class="kv"><span class="k">listeners</span> <span id="listeners" class="mono">-</span></span>
  <span class="kv"><span class="k">connections</span> <span id="connections" class="big">-</span></span>
  <span class="kv"><span class="k">handshakes/s</span> <span id="hs-rate" class="big">-</span></span>
  <span class="kv"><span class="k">rejections/s</span> <span id="rej-rate" class="big">-</span></span>
</header>
<main>
  <div class="row">
    <section class="card">
      <h2>Routes</h2>
      <table class="routes"><thead><tr><th>route</th><th>match</th><th>pool</th><th>algorithm</th></tr></thead><tbody id="routes"></tbody></table>
    </section>
    <section class="card traffic">
      <h2>Handshakes <span class="muted">(total <span id="hs-total">0</span>)</span></h2>
      <figure>
        <figcaption><span class="legend"><i class="l-hs"></i>upgrades/s <i class="l-rej"></i>rejections/s</span><span class="ymax"></span></figcaption>
        <svg id="hs-chart" viewBox="0 0 600 120" preserveAspectRatio="none" role="img">
          <line x1="0" x2="600" y1="0" y2="0" class="grid" vector-effect="non-scaling-stroke"></line>
          <line x1="0" x2="600" y1="60" y2="60" class="grid" vector-effect="non-scaling-stroke"></line>
          <line x1="0" x2="600" y1="120" y2="120" class="grid" vector-effect="non-scaling-stroke"></line>
        </svg>
        <div class="xaxis"><span class="xstart">-5 min</span><span>now</span></div>
      </figure>
    </section>
    <section class="card">
      <h2>Rejections <span class="muted">by reason: rate, total</span></h2>
      <ul id="rejections" class="counts"></ul>
      <h2>Closes <span class="muted">by code: rate, total</span></h2>
      <ul id="closes" class="counts"></ul>
    </section>
  </div>
  <div id="pools"></div>
</main>
<div id="toasts"></div>
<dialog id="token-dialog">
  <form method="dialog">
    <p>This balancer needs its admin token for changes.</p>
    <input id="token-input" type="password" autocomplete="off" placeholder="admin token" aria-label="admin token">
    <div class="dialog-buttons"><button value="cancel" type="submit">Cancel</button><button value="ok" type="submit" class="primary">Send</button></div>
  </form>
</dialog>
</body>
</html>
`;

const page: Asset = {
  type: 'text/html; charset=utf-8',
  body: HTML,
  headers: { 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' },
};

export const DASHBOARD_ASSETS: Readonly<Record<string, Asset>> = {
  '/': page,
  '/index.html': page,
  '/dashboard.css': { type: 'text/css; charset=utf-8', body: DASHBOARD_CSS, headers: { 'X-Content-Type-Options': 'nosniff' } },
  '/dashboard.js': {
    type: 'text/javascript; charset=utf-8',
    body: `"use strict";\n(${dashboardClient.toString()})((${dashboardCharts.toString()})());\n`,
    headers: { 'X-Content-Type-Options': 'nosniff' },
  },
};
