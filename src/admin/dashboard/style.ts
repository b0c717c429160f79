/** The dashboard's stylesheet (served as /dashboard.css). */

export const DASHBOARD_CSS = `
:root {
  --bg: #0f1419; --card: #171d24; --line: #27303a; --text: #d8dee6; --muted: #8793a1;
  --up: #4cb86a; --down: #e5534b; --draining: #e0a030; --disabled: #6e7781; --ejected: #b07ad8;
  --accent: #5b9bd5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 14px;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); color: var(--text); }
header { display: flex; align-items: center; gap: 16px; padding: 10px 20px; background: #0b0f13; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
header h1 { margin: 0; font-size: 20px; letter-spacing: .5px; }
.spacer { flex: 1; }
.kv .k { color: var(--muted); font-size: 12px; margin-right: 4px; }
.big { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
.mono, .url { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.muted { color: var(--muted); font-weight: normal; font-size: 12px; }
.live { font-size: 12px; padding: 2px 8px; border-radius: 10px; }
.live::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; vertical-align: middle; }
.live.on::before { background: var(--up); box-shadow: 0 0 6px var(--up); }
.live.off::before { background: var(--draining); }
.lock { font-size: 12px; color: var(--draining); border: 1px solid var(--draining); padding: 1px 6px; border-radius: 4px; }
main { padding: 16px 20px; display: flex; flex-direction: column; gap: 16px; }
.row { display: grid; grid-template-columns: minmax(280px, 1fr) minmax(320px, 1.3fr) minmax(260px, 1fr); gap: 16px; }
@media (max-width: 1100px) { .row { grid-template-columns: 1fr; } }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 0; }
h2 { font-size: 14px; margin: 0 0 10px; display: flex; gap: 10px; align-items: baseline; }
h2 + ul + h2, ul + h2 { margin-top: 14px; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; color: var(--muted); font-weight: 500; font-size: 12px; padding: 4px 8px; border-bottom: 1px solid var(--line); }
td { padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: middle; }
tr:last-child td { border-bottom: none; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th:nth-child(n+4) { text-align: right; }
th:last-child { text-align: left; }
.routes th { text-align: left; }
td.reason { color: var(--muted); font-size: 12px; max-width: 220px; }
td.name { white-space: nowrap; }
.url { color: var(--muted); margin-left: 16px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
.algo { font-family: ui-monospace, monospace; font-size: 12px; background: #1f2a36; color: #9cc3ea; padding: 1px 6px; border-radius: 4px; font-weight: normal; }
.pool-name { font-size: 16px; }
.updown { font-size: 12px; font-weight: normal; }
.updown.ok { color: var(--up); } .updown.warn { color: var(--draining); } .updown.bad { color: var(--down); }
.badge { display: inline-block; font-size: 12px; padding: 1px 8px; border-radius: 10px; border: 1px solid currentColor; }
.state-up { color: var(--up); } .state-down { color: var(--down); } .state-draining { color: var(--draining); }
.state-disabled { color: var(--disabled); } .state-ejected { color: var(--ejected); }
.actions { white-space: nowrap; }
button { background: #222b35; color: var(--text); border: 1px solid #34404c; border-radius: 4px; padding: 3px 9px; font-size: 12px; cursor: pointer; margin-right: 4px; }
button:hover:not(:disabled) { border-color: var(--accent); }
button:disabled { opacity: .35; cursor: default; }
button.confirm { background: #5a3d10; border-color: var(--draining); }
button.busy { opacity: .6; }
button.primary { background: #1d4f7d; border-color: var(--accent); }
.table-wrap { overflow-x: auto; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; margin-top: 12px; }
@media (max-width: 900px) { .charts { grid-template-columns: 1fr; } }
figure { margin: 0; }
figcaption { display: flex; justify-content: space-between; font-size: 12px; color: var(--muted); margin-bottom: 4px; }
svg { display: block; width: 100%; height: 120px; background: #121820; border-radius: 4px; }
svg .grid { stroke: #222c36; stroke-width: 1; }
.xaxis { display: flex; justify-content: space-between; font-size: 11px; color: var(--muted); margin-top: 2px; }
.legend i { display: inline-block; width: 10px; height: 3px; margin: 0 4px 2px 8px; vertical-align: middle; }
.legend i.l-hs { background: #5b9bd5; } .legend i.l-rej { background: #e8625f; }
ul.counts { list-style: none; margin: 0; padding: 0; }
ul.counts li { display: grid; grid-template-columns: 1fr auto 60px; gap: 8px; padding: 3px 0; border-bottom: 1px solid var(--line); font-size: 13px; }
ul.counts li:last-child { border-bottom: none; }
ul.counts .rate, ul.counts .total { text-align: right; font-variant-numeric: tabular-nums; }
ul.counts .rate { color: var(--muted); }
#toasts { position: fixed; right: 16px; bottom: 16px; display: flex; flex-direction: column; gap: 8px; }
.toast { padding: 8px 12px; border-radius: 6px; background: #1e2731; border-left: 4px solid var(--up); box-shadow: 0 2px 8px #0008; }
.toast.err { border-left-color: var(--down); }
dialog { background: var(--card); color: var(--text); border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; }
dialog::backdrop { background: #000a; }
dialog input { width: 100%; padding: 6px 8px; background: #0f1419; color: var(--text); border: 1px solid #34404c; border-radius: 4px; }
.dialog-buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 12px; }
`;
