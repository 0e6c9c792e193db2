// The dashboard's one page: the frame every view is drawn into, the sign-in
// form, the confirmation dialog and the toast. It holds no data (the request
// for it carries no key); app.js fetches each view with the key. Every URL in
// it is relative, so the page works wherever the edge app is mounted.
import { html } from "hono/html";

export const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="8" fill="#2563eb"/>
<rect x="8" y="9" width="16" height="3.5" rx="1.75" fill="#fff"/>
<rect x="8" y="14.25" width="12" height="3.5" rx="1.75" fill="#fff" fill-opacity=".8"/>
<rect x="8" y="19.5" width="8" height="3.5" rx="1.75" fill="#fff" fill-opacity=".6"/>
</svg>`;

export const PAGE = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>edgeq</title>
<link rel="icon" href="dashboard/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="dashboard/app.css">
<script src="dashboard/app.js" defer></script>
</head>
<body>
<header class="bar">
  <a class="brand" href="#/queues"><img src="dashboard/icon.svg" alt="">edgeq</a>
  <div class="session" id="session" hidden>
    <span class="live" id="live" data-state="idle"></span>
    <span class="who" id="who"></span>
    <button type="button" class="btn small quiet" id="sign-out">Sign out</button>
  </div>
</header>
<main>
  <section class="signin" id="signin" hidden>
    <form class="card" id="signin-form" method="post" autocomplete="off">
      <h1><img src="dashboard/icon.svg" alt="">Sign in</h1>
      <p>Paste an API key. It stays in this browser tab and goes only to this server, in a header.</p>
      <label class="field">API key
        <input type="password" id="key" name="key" required autocomplete="off" spellcheck="false">
      </label>
      <p class="error" id="signin-error" role="alert" hidden></p>
      <button type="submit" class="btn primary">Sign in</button>
      <p class="note">A key with the <code>read</code> scope shows its queues and jobs; <code>admin</code> adds the
        actions: cancel, requeue, pause, empty, settings.</p>
    </form>
  </section>
  <div class="view" id="view"></div>
  <noscript><div class="card empty">The dashboard needs JavaScript: it sends the key from this tab.</div></noscript>
</main>
<dialog id="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-text">
  <div class="body"><h2 id="confirm-title">Are you sure?</h2><p id="confirm-text"></p></div>
  <div class="actions">
    <button type="button" class="btn" value="cancel">Keep as it is</button>
    <button type="button" class="btn primary" value="ok" id="confirm-ok">Confirm</button>
  </div>
</dialog>
<div class="toast" id="toast" role="status" aria-live="polite" hidden></div>
</body>
</html>`;
