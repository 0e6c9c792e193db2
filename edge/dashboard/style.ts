// The dashboard's stylesheet, served as /dashboard/app.css: a file of its own
// on this origin, since the dashboard's CSP allows no inline style. System
// fonts only (nothing from another origin); light and dark follow the OS.
// One hue per status, the same in badges, tabs, counts and the chart.
export const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f5f6f8; --panel: #ffffff; --sunk: #f0f2f5; --text: #181c21; --muted: #5d6673; --faint: #8a939f;
  --line: #e1e4e9; --line-strong: #cfd4db; --accent: #2563eb; --accent-text: #ffffff; --focus: #2563eb55;
  --danger: #c8302f; --danger-bg: #fdecec; --ok: #1f8a4c; --warn: #a15c00; --warn-bg: #fff3dc;
  --shadow: 0 1px 2px #10182810, 0 1px 3px #1018280d;
  --queued: #a15c00; --queued-bg: #fff1d6;
  --scheduled: #6d40d8; --scheduled-bg: #efe8ff;
  --deferred: #4b5667; --deferred-bg: #e9edf2;
  --started: #1d5fd1; --started-bg: #e2ecff;
  --finished: #1f8a4c; --finished-bg: #e1f5e8;
  --failed: #c8302f; --failed-bg: #fde6e6;
  --stopped: #b3246b; --stopped-bg: #fce6f1;
  --canceled: #69717d; --canceled-bg: #eef0f2;
  --bar-ok: #3aa866; --bar-fail: #e0524f;
  --mono: ui-monospace, "SFMono-Regular", "Cascadia Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0e1116; --panel: #161a21; --sunk: #1c212a; --text: #e7eaef; --muted: #a0a9b6; --faint: #77808d;
    --line: #272d37; --line-strong: #363e4a; --accent: #6ea1ff; --accent-text: #0b1220; --focus: #6ea1ff66;
    --danger: #ff7b78; --danger-bg: #3a1d1f; --ok: #5ad08d; --warn: #f2b45a; --warn-bg: #3a2c15;
    --shadow: none;
    --queued: #f2b45a; --queued-bg: #3a2c15;
    --scheduled: #b79cff; --scheduled-bg: #2a2145;
    --deferred: #a7b2c2; --deferred-bg: #252b35;
    --started: #7fb0ff; --started-bg: #172a4a;
    --finished: #5ad08d; --finished-bg: #15321f;
    --failed: #ff7b78; --failed-bg: #3a1d1f;
    --stopped: #f47fb8; --stopped-bg: #3a1a2b;
    --canceled: #a0a7b1; --canceled-bg: #262a31;
    --bar-ok: #46b874; --bar-fail: #f06461;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", sans-serif;
  font-variant-numeric: tabular-nums;
}
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 1px; border-radius: 4px; }
h1, h2, h3 { margin: 0; line-height: 1.25; }
h1 { font-size: 22px; font-weight: 650; }
h2 { font-size: 15px; font-weight: 650; }
code, pre, .mono { font-family: var(--mono); font-size: 13px; }
[hidden] { display: none !important; }

/* the bar */
.bar {
  position: sticky; top: 0; z-index: 5; display: flex; align-items: center; gap: 16px;
  padding: 0 24px; min-height: 56px; background: var(--panel); border-bottom: 1px solid var(--line);
}
.brand { display: flex; align-items: center; gap: 8px; font-weight: 700; font-size: 17px; color: var(--text); }
.brand:hover { text-decoration: none; }
.brand img { width: 22px; height: 22px; }
.crumbs { display: flex; align-items: center; gap: 6px; min-width: 0; color: var(--muted); font-size: 14px;
  margin-bottom: -8px; }
.crumbs a { white-space: nowrap; }
.crumbs > *::after { content: "/"; margin-left: 6px; color: var(--faint); }
.crumbs a { color: var(--muted); }
.session { margin-left: auto; display: flex; align-items: center; gap: 12px; font-size: 13px; color: var(--muted); }
.who { white-space: nowrap; }
.live { display: inline-flex; align-items: center; gap: 6px; white-space: nowrap; }
.live::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--faint); }
.live[data-state="live"]::before { background: var(--ok);
  box-shadow: 0 0 0 3px color-mix(in srgb, var(--ok) 25%, transparent); }
.live[data-state="offline"]::before, .live[data-state="slow"]::before { background: var(--danger); }

main { max-width: 1240px; margin: 0 auto; padding: 24px; }
.view { display: grid; gap: 20px; }
/* grid children shrink to the screen; wide content (a stack, a table) scrolls inside its own box */
.view > *, .split > *, .grid2 > *, .side > * { min-width: 0; }

/* sign in */
.signin { max-width: 440px; margin: 10vh auto 0; }
.signin .card { padding: 28px; display: grid; gap: 16px; }
.signin h1 { display: flex; align-items: center; gap: 10px; }
.signin h1 img { width: 28px; height: 28px; }
.signin p { margin: 0; color: var(--muted); font-size: 14px; }
.field { display: grid; gap: 6px; font-size: 13px; font-weight: 600; color: var(--muted); }
input, select {
  font: inherit; font-size: 14px; color: var(--text); background: var(--panel);
  border: 1px solid var(--line-strong); border-radius: 7px; padding: 7px 10px; min-width: 0;
}
input:focus, select:focus { outline: none; border-color: var(--accent); box-shadow: 0 0 0 3px var(--focus); }
.error { color: var(--danger); font-size: 14px; margin: 0; }

/* buttons */
.btn {
  display: inline-flex; align-items: center; justify-content: center; gap: 6px; height: 32px; padding: 0 12px;
  font: inherit; font-size: 13.5px; font-weight: 600; color: var(--text); background: var(--panel);
  border: 1px solid var(--line-strong); border-radius: 7px; cursor: pointer; white-space: nowrap;
}
.btn:hover { background: var(--sunk); }
.btn:disabled { opacity: .55; cursor: progress; }
.btn.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); }
.btn.primary:hover { filter: brightness(1.08); }
.btn.danger { color: var(--danger); border-color: color-mix(in srgb, var(--danger) 45%, var(--line-strong)); }
.btn.danger:hover { background: var(--danger-bg); }
.btn.danger.solid { background: var(--danger); border-color: var(--danger); color: #fff; }
.btn.small { height: 28px; padding: 0 10px; font-size: 13px; }
.btn.quiet { border-color: transparent; background: transparent; color: var(--muted); }
.btn.quiet:hover { color: var(--text); background: var(--sunk); }
.actions { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }

/* panels */
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; box-shadow: var(--shadow); }
.card > header { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; padding: 14px 16px 0; }
.card > .body { padding: 14px 16px 16px; }
.card > header h2 a { color: var(--text); }
.muted { color: var(--muted); }
.faint { color: var(--faint); }
.note { font-size: 13px; color: var(--muted); }
.empty { padding: 28px 16px; text-align: center; color: var(--muted); }
.problem { border-color: color-mix(in srgb, var(--danger) 40%, var(--line)); }
.problem .body { display: grid; gap: 6px; }

/* status: one hue each */
[data-status="queued"] { --s: var(--queued); --s-bg: var(--queued-bg); }
[data-status="scheduled"] { --s: var(--scheduled); --s-bg: var(--scheduled-bg); }
[data-status="deferred"] { --s: var(--deferred); --s-bg: var(--deferred-bg); }
[data-status="started"] { --s: var(--started); --s-bg: var(--started-bg); }
[data-status="finished"] { --s: var(--finished); --s-bg: var(--finished-bg); }
[data-status="failed"] { --s: var(--failed); --s-bg: var(--failed-bg); }
[data-status="stopped"] { --s: var(--stopped); --s-bg: var(--stopped-bg); }
[data-status="canceled"] { --s: var(--canceled); --s-bg: var(--canceled-bg); }
.badge {
  display: inline-flex; align-items: center; gap: 6px; padding: 1px 9px; border-radius: 999px; font-size: 12.5px;
  font-weight: 650; line-height: 20px; color: var(--s, var(--muted)); background: var(--s-bg, var(--sunk));
  white-space: nowrap;
}
.badge::before { content: ""; width: 7px; height: 7px; border-radius: 50%; background: currentColor; }
.badge[data-status="started"]::before { animation: pulse 1.4s ease-in-out infinite; }
.badge.paused { --s: var(--warn); --s-bg: var(--warn-bg); }
.badge.paused::before { width: 8px; height: 9px; border-radius: 0; background: none;
  border-left: 3px solid currentColor; border-right: 3px solid currentColor; }
.badge.plain::before { display: none; }
@keyframes pulse { 50% { opacity: .3; } }
@media (prefers-reduced-motion: reduce) { .badge::before { animation: none !important; } }
.chip {
  display: inline-flex; align-items: center; gap: 4px; padding: 1px 8px; border-radius: 6px; font-size: 12.5px;
  color: var(--muted); background: var(--sunk); white-space: nowrap;
}

/* the overview */
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
.tile { padding: 12px 16px; display: grid; gap: 2px; align-content: start; }
.tile .label { font-size: 12.5px; font-weight: 600; color: var(--muted); }
.tile .value { font-size: 24px; font-weight: 650; line-height: 1.2; }
.tile .sub { font-size: 12.5px; color: var(--muted); }
.tile[data-tone="bad"] .value { color: var(--failed); }
.tile[data-tone="warn"] .value { color: var(--warn); }
.queues { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 16px; }
.queue.paused { border-color: color-mix(in srgb, var(--warn) 45%, var(--line)); }
.queue > header .actions { margin-left: auto; }
.queue h2 { font-size: 17px; }
.counts { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 1px; background: var(--line);
  border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
.count { display: grid; gap: 0; padding: 8px 10px; background: var(--panel); color: var(--text); }
.count:hover { background: var(--sunk); text-decoration: none; }
.count .label { display: flex; align-items: center; gap: 6px; font-size: 12px; font-weight: 600; color: var(--muted);
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.count .label::before { content: ""; flex: none; width: 7px; height: 7px; border-radius: 50%; background: var(--s); }
.count .value { font-size: 20px; font-weight: 650; line-height: 1.3; }
.count.zero .value { color: var(--faint); font-weight: 500; }
.count[data-status="failed"]:not(.zero) .value { color: var(--failed); }
.queue .body { display: grid; gap: 14px; }
.workers-line { display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 13px; color: var(--muted); }
.state { display: inline-flex; align-items: center; gap: 6px; }
.state::before { content: ""; width: 7px; height: 7px; border-radius: 50%; background: var(--faint); }
.state[data-state="busy"]::before { background: var(--started); }
.state[data-state="idle"]::before { background: var(--ok); }
.state[data-state="warm"]::before, .state[data-state="cold"]::before { background: var(--warn); }

/* the chart */
.chart { margin: 0; display: grid; gap: 4px; }
.chart svg { display: block; width: 100%; height: 56px; }
.chart .ok { fill: var(--bar-ok); }
.chart .fail { fill: var(--bar-fail); }
.chart .base { fill: var(--line-strong); }
.chart g:hover rect:not(.base) { opacity: .75; }
.chart .quiet { display: grid; place-items: center; height: 56px; font-size: 13px; color: var(--faint);
  border-bottom: 1px solid var(--line-strong); }
.chart figcaption { display: flex; justify-content: space-between; gap: 8px; font-size: 12px; color: var(--muted); }
.legend { display: inline-flex; gap: 10px; }
.legend span { display: inline-flex; align-items: center; gap: 5px; }
.legend span::before { content: ""; width: 9px; height: 9px; border-radius: 2px; background: var(--bar-ok); }
.legend .fail::before { background: var(--bar-fail); }

/* tables */
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th { text-align: left; font-size: 12px; font-weight: 650; color: var(--muted); text-transform: uppercase;
  letter-spacing: .03em; padding: 10px 12px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td { padding: 10px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
tbody tr:last-child td { border-bottom: none; }
/* a table flush with its card lines up with the card's heading */
.card > .table-wrap th:first-child, .card > .table-wrap td:first-child { padding-left: 16px; }
.card > .table-wrap th:last-child, .card > .table-wrap td:last-child { padding-right: 16px; }
tbody tr:hover { background: color-mix(in srgb, var(--sunk) 60%, transparent); }
td.num, th.num { text-align: right; }
td.num, td.when { white-space: nowrap; }
/* the job column takes what the others leave; its id and error are cut short with an ellipsis */
table.jobs .id { width: 100%; max-width: 0; }
table.jobs td.id .err { margin-top: 2px; font-size: 13px; }
td.wide { white-space: nowrap; }
td.id a { display: block; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-family: var(--mono);
  font-size: 13px; }
.err { color: var(--failed); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
summary.err { white-space: normal; }
td.act { text-align: right; white-space: nowrap; width: 1%; }

/* one queue */
.page-head { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
.page-head .actions { margin-left: auto; }
.page-head h1 { overflow-wrap: anywhere; }
.tabs { display: flex; gap: 2px; padding: 0 8px; overflow-x: auto; border-bottom: 1px solid var(--line);
  scrollbar-width: thin; }
.tab { display: inline-flex; align-items: center; gap: 6px; padding: 10px 8px; margin-bottom: -1px; white-space: nowrap;
  color: var(--muted); font-weight: 600; font-size: 13.5px; border-bottom: 2px solid transparent; }
.tab:hover { color: var(--text); text-decoration: none; }
.tab .n { font-size: 12px; font-weight: 650; padding: 0 7px; border-radius: 999px; background: var(--sunk);
  color: var(--muted); line-height: 19px; }
.tab:not(.zero) .n { background: var(--s-bg); color: var(--s); }
.tab[aria-current="page"] { color: var(--text); border-bottom-color: var(--s); }
.split { display: grid; grid-template-columns: minmax(0, 1fr) 300px; gap: 20px; align-items: start; }
.side { display: grid; gap: 16px; }
.toolbar { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; padding: 12px 16px;
  border-bottom: 1px solid var(--line); }
.toolbar form { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; font-size: 13.5px; }
.toolbar .grow { flex: 1; }
.pager { display: flex; justify-content: space-between; align-items: center; gap: 8px; padding: 10px 16px;
  border-top: 1px solid var(--line); font-size: 13.5px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 8px 16px; margin: 0; font-size: 14px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.settings { display: grid; gap: 12px; }
.settings .row { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
.settings input { width: 100%; }
.field.sub { font-size: 12px; font-weight: 500; gap: 3px; }

/* one job */
.job-head { display: grid; gap: 8px; }
.job-head .title { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
.job-head h1 { font-family: var(--mono); font-size: 19px; font-weight: 600; overflow-wrap: anywhere; }
.job-head .meta { display: flex; flex-wrap: wrap; gap: 6px 16px; color: var(--muted); font-size: 14px; }
.job-head .actions { margin-left: auto; }
.progress { display: flex; align-items: center; gap: 12px; font-size: 13px; font-weight: 600; color: var(--muted); }
progress { flex: 1; height: 8px; appearance: none; border: none; border-radius: 99px; overflow: hidden;
  background: var(--sunk); }
progress::-webkit-progress-bar { background: var(--sunk); }
progress::-webkit-progress-value { background: var(--started); border-radius: 99px; }
progress::-moz-progress-bar { background: var(--started); }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; align-items: start; }
.timeline { list-style: none; margin: 0; padding: 0; display: grid; gap: 0; }
.timeline li { display: grid; grid-template-columns: 16px 88px 1fr; gap: 10px; align-items: baseline;
  padding: 5px 0; font-size: 14px; }
.timeline li::before { content: ""; width: 9px; height: 9px; border-radius: 50%; border: 2px solid var(--line-strong);
  background: var(--panel); align-self: start; margin-top: 6px; }
.timeline li.done::before { background: var(--faint); border-color: var(--faint); }
.timeline li.done:last-child::before { background: var(--s); border-color: var(--s); }
.timeline li.now::before { border-color: var(--s); animation: pulse 1.4s ease-in-out infinite; }
.timeline .at { display: block; font-size: 12.5px; color: var(--faint); }
.timeline .what { color: var(--muted); }
.timeline .span { color: var(--faint); font-size: 13px; }
pre.code { margin: 0; padding: 12px 14px; background: var(--sunk); border-radius: 8px; overflow: auto;
  max-height: 420px; line-height: 1.5; white-space: pre-wrap; overflow-wrap: anywhere; }
.error-box { border-color: color-mix(in srgb, var(--failed) 40%, var(--line)); }
.error-box .msg { color: var(--failed); font-weight: 600; overflow-wrap: anywhere; }
.error-box pre.code { color: var(--text); white-space: pre; overflow-wrap: normal; }
details summary { cursor: pointer; color: var(--muted); font-size: 13px; }
details pre.code { margin-top: 8px; white-space: pre; }
.deps { display: flex; flex-wrap: wrap; gap: 6px 12px; font-family: var(--mono); font-size: 13px; }

/* the confirmation and the toast */
dialog { border: 1px solid var(--line); border-radius: 12px; padding: 0; width: min(440px, calc(100vw - 32px));
  background: var(--panel); color: var(--text); box-shadow: 0 20px 50px #0005; }
dialog::backdrop { background: #0a0d1280; }
dialog .body { padding: 20px; display: grid; gap: 10px; }
dialog h2 { font-size: 17px; }
dialog p { margin: 0; color: var(--muted); overflow-wrap: anywhere; }
dialog .actions { justify-content: flex-end; padding: 12px 20px; border-top: 1px solid var(--line);
  background: var(--sunk); border-radius: 0 0 12px 12px; }
/* centred by margins, not a transform: left: 50% would cap its width at half the screen */
.toast { position: fixed; left: 0; right: 0; bottom: 24px; z-index: 20; width: fit-content; margin: 0 auto;
  max-width: calc(100vw - 32px);
  padding: 10px 16px; border-radius: 8px; background: var(--text); color: var(--bg); font-size: 14px; font-weight: 550;
  box-shadow: 0 8px 24px #0004; }
.toast[data-kind="error"] { background: var(--danger); color: #fff; }

@media (max-width: 1000px) {
  .split, .grid2 { grid-template-columns: minmax(0, 1fr); }
}
@media (max-width: 640px) {
  body { font-size: 14px; }
  .bar { padding: 8px 16px; gap: 4px 12px; flex-wrap: wrap; }
  .session .who { display: none; }
  td.wide { white-space: normal; overflow-wrap: anywhere; }
  main { padding: 16px; }
  .queues { grid-template-columns: minmax(0, 1fr); }
  .summary { grid-template-columns: repeat(2, 1fr); gap: 8px; }
  .tile .value { font-size: 20px; }
  .count { padding: 6px 7px; }
  .count .value { font-size: 17px; }
  .count .label { font-size: 11px; }
  .count .label::before { display: none; }
  .hide-narrow, .act { display: none; }
  /* every status at once, wrapped, rather than a strip that hides the chosen one off screen */
  .tabs { flex-wrap: wrap; gap: 6px; padding: 12px; }
  .tab { margin: 0; padding: 3px 10px; border: 1px solid var(--line); border-radius: 999px; font-size: 13px; }
  .tab[aria-current="page"] { border-color: var(--s); background: var(--s-bg); color: var(--s); }
  td, th { padding: 9px 8px; }
  .page-head .actions, .job-head .actions { margin-left: 0; }
  .job-head h1 { font-size: 16px; }
  .timeline li { grid-template-columns: 16px 76px 1fr; }
}
`;
