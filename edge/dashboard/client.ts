// The dashboard's only script, served as /dashboard/app.js (the CSP allows
// scripts from this origin and no inline one). It is small on purpose: the
// edge renders every view as HTML for the key that asks (so what a key may do
// is decided where the key is checked), and this script only
//   - keeps the key in sessionStorage and sends it as a bearer header, never in a URL;
//   - maps the page's hash (#/queues/mail?status=failed) to a view and fetches it;
//   - redraws it every few seconds while the tab is visible, patching the DOM in
//     place so that scroll, focus, open details and a form being filled in stay;
//   - sends actions to the HTTP API after a confirmation, repeating bulk ones
//     while the API answers `more`.
// Plain JavaScript in a string, since the edge has no build step and a
// Worker cannot read files; the browser tests run every path of it.
export const SCRIPT = String.raw`"use strict";
(() => {
  const STORE = "edgeq.dashboard.key";
  // charts count per minute and cost a Redis call per queue: redrawn every half minute, not at every refresh
  const CHARTS_EVERY_MS = 30000;
  const byId = (id) => document.getElementById(id);
  const view = byId("view");
  const signin = byId("signin");
  const signinForm = byId("signin-form");
  const keyInput = byId("key");
  const signinError = byId("signin-error");
  const session = byId("session");
  const live = byId("live");
  const who = byId("who");
  const dialog = byId("confirm");
  const toast = byId("toast");
  let timer = 0;
  let toastTimer = 0;
  let sequence = 0;
  let drawnText = "";
  let drawnRoute = "";
  let chartsAt = 0;

  const key = () => sessionStorage.getItem(STORE);

  function call(path, init = {}) {
    const headers = Object.assign({}, init.headers, { Authorization: "Bearer " + key() });
    return fetch(path, Object.assign({}, init, { headers, cache: "no-store", credentials: "omit" }));
  }

  /** The detail of a problem+json answer, or what can be said without one. */
  function reason(text, status) {
    try {
      const problem = JSON.parse(text);
      return problem.detail || problem.title || "the server answered " + status;
    } catch {
      return "the server answered " + status;
    }
  }

  function route() {
    const hash = location.hash.slice(1);
    return /^\/(queues|jobs)(\/|\?|$)/.test(hash) ? hash : "/queues";
  }

  function later(ms) {
    clearTimeout(timer);
    timer = setTimeout(refresh, ms);
  }

  function status(state, text) {
    live.dataset.state = state;
    live.textContent = text;
  }

  async function refresh() {
    clearTimeout(timer);
    if (!key()) return showSignin("");
    // a hidden tab costs no Redis commands; it catches up when shown again
    if (document.hidden) return;
    const mine = ++sequence;
    const path = route();
    const charts = path !== drawnRoute || Date.now() - chartsAt > CHARTS_EVERY_MS;
    const url = "dashboard/view" + path + (path.includes("?") ? "&" : "?") + "charts=" + (charts ? "1" : "0");
    let response;
    let text;
    try {
      response = await call(url);
      text = await response.text();
    } catch {
      if (mine === sequence) {
        status("offline", "Offline, retrying");
        later(5000);
      }
      return;
    }
    if (mine !== sequence) return;
    if (response.status === 401) {
      sessionStorage.removeItem(STORE);
      return showSignin("The API key was not accepted: " + reason(text, 401));
    }
    if (response.status === 429) {
      const seconds = Number(response.headers.get("Retry-After")) || 5;
      status("slow", "Rate limited, retrying in " + seconds + " s");
      return later(seconds * 1000);
    }
    if (!response.ok) {
      drawProblem(response.status, reason(text, response.status));
      return later(15000);
    }
    draw(text, path, charts);
  }

  function draw(text, path, charts) {
    const template = document.createElement("template");
    template.innerHTML = text;
    const root = template.content.firstElementChild;
    document.title = root.dataset.title + " · edgeq";
    who.textContent = root.dataset.who;
    if (path !== drawnRoute) {
      view.replaceChildren(...root.childNodes);
      window.scrollTo(0, 0);
    } else if (text !== drawnText) {
      patchChildren(view, root);
    }
    drawnText = text;
    drawnRoute = path;
    if (charts) chartsAt = Date.now();
    // a queue that appeared since the last chart has a placeholder: draw charts at the next refresh
    if (view.querySelector("[data-keep]:empty")) chartsAt = 0;
    for (const time of view.querySelectorAll("time[datetime]")) time.title = new Date(time.dateTime).toLocaleString();
    status("live", "Live · " + new Date().toLocaleTimeString());
    later(Number(root.dataset.refresh) || 5000);
  }

  /** Makes the children of into look like those of from, touching only what changed. */
  function patchChildren(into, from) {
    const before = Array.from(into.childNodes);
    const after = Array.from(from.childNodes);
    after.forEach((node, i) => {
      const old = before[i];
      if (!old) into.appendChild(node);
      else if (same(old, node)) patch(old, node);
      else into.replaceChild(node, old);
    });
    for (const extra of before.slice(after.length)) extra.remove();
  }

  function same(a, b) {
    if (a.nodeType !== b.nodeType || a.nodeName !== b.nodeName) return false;
    return a.nodeType !== 1 || (a.id === b.id && a.dataset.key === b.dataset.key);
  }

  function patch(old, node) {
    if (old.nodeType !== 1) {
      if (old.nodeValue !== node.nodeValue) old.nodeValue = node.nodeValue;
      return;
    }
    // a chart left out of this refresh, or a form someone is filling in
    if (node.hasAttribute("data-keep") || old.dataset.dirty) return;
    for (const attribute of Array.from(old.attributes)) {
      // an open <details> stays open
      if (!node.hasAttribute(attribute.name) && attribute.name !== "open") old.removeAttribute(attribute.name);
    }
    for (const attribute of Array.from(node.attributes)) {
      if (old.getAttribute(attribute.name) !== attribute.value) old.setAttribute(attribute.name, attribute.value);
    }
    // once typed in, a field shows its value property, not its attribute: a setting changed elsewhere shows too
    if (old.tagName === "INPUT" && old.value !== node.value) old.value = node.value;
    patchChildren(old, node);
  }

  function drawProblem(code, detail) {
    const card = document.createElement("section");
    card.className = "card problem";
    const heading = code === 403 ? "Not allowed" : code === 404 ? "Not found" : "The view could not be loaded";
    card.innerHTML =
      '<header><h2></h2></header><div class="body"><p></p><p class="note"><a href="#/queues">All queues</a></p></div>';
    card.querySelector("h2").textContent = heading;
    card.querySelector("p").textContent = detail;
    view.replaceChildren(card);
    document.title = heading + " · edgeq";
    drawnText = "";
    drawnRoute = "";
    status("live", "Live · " + new Date().toLocaleTimeString());
  }

  function showSignin(message) {
    clearTimeout(timer);
    sequence++;
    view.replaceChildren();
    drawnText = "";
    drawnRoute = "";
    session.hidden = true;
    signin.hidden = false;
    signinError.textContent = message;
    signinError.hidden = !message;
    document.title = "Sign in · edgeq";
    keyInput.focus();
  }

  function say(text, kind) {
    toast.textContent = text;
    toast.dataset.kind = kind;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      toast.hidden = true;
    }, kind === "error" ? 8000 : 4000);
  }

  function confirmed(text, label, danger) {
    byId("confirm-text").textContent = text;
    const ok = byId("confirm-ok");
    ok.textContent = label;
    ok.className = danger ? "btn danger solid" : "btn primary";
    dialog.returnValue = "";
    dialog.showModal();
    ok.focus();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    });
  }

  /** A form's fields as JSON: numbers as numbers, empty as null, "limit.max" nested; all-empty objects null. */
  function fields(form) {
    const body = {};
    for (const field of form.elements) {
      if (!field.name) continue;
      const raw = field.value.trim();
      const value = raw === "" ? null : field.type === "number" ? Number(raw) : raw;
      const path = field.name.split(".");
      let at = body;
      for (const part of path.slice(0, -1)) at = at[part] = at[part] || {};
      at[path[path.length - 1]] = value;
    }
    for (const [name, value] of Object.entries(body)) {
      if (value && typeof value === "object" && Object.values(value).every((v) => v === null)) body[name] = null;
    }
    return body;
  }

  async function act(element, button, form) {
    const data = element.dataset;
    if (data.confirm) {
      const label = button ? button.textContent.trim() : "Confirm";
      if (!(await confirmed(data.confirm, label, !!button && button.classList.contains("danger")))) return;
    }
    const space = data.act.indexOf(" ");
    const method = data.act.slice(0, space);
    let url = data.act.slice(space + 1);
    const init = { method, headers: {} };
    if (form && data.send === "query") url += (url.includes("?") ? "&" : "?") + new URLSearchParams(new FormData(form));
    if (form && data.send === "json") {
      init.body = JSON.stringify(fields(form));
      init.headers["Content-Type"] = "application/json";
    }
    if (button) button.disabled = true;
    try {
      let moved = 0;
      for (let more = true; more; ) {
        const response = await call(url, init);
        const text = await response.text();
        if (!response.ok) throw new Error(reason(text, response.status));
        const answer = JSON.parse(text);
        moved += answer.count || 0;
        more = "bulk" in data && answer.more === true;
        // an action that keeps what it walks past (clean) says where to go on
        if (more && typeof answer.cursor === "number") {
          const rest = url.replace(/([?&])cursor=\d*(&|$)/, "$1").replace(/[?&]$/, "");
          url = rest + (rest.includes("?") ? "&" : "?") + "cursor=" + answer.cursor;
        }
      }
      say(data.done.replace("{count}", moved.toLocaleString()).replace("{jobs}", moved === 1 ? "job" : "jobs"), "ok");
      if (form) delete form.dataset.dirty;
    } catch (error) {
      say(error.message, "error");
    } finally {
      if (button) button.disabled = false;
      refresh();
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-act]");
    if (!button) return;
    event.preventDefault();
    act(button, button, null);
  });
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-act]");
    if (!form) return;
    event.preventDefault();
    act(form, form.querySelector("[type=submit]"), form);
  });
  document.addEventListener("input", (event) => {
    const form = event.target.closest("form[data-act]");
    if (form) form.dataset.dirty = "1";
  });
  dialog.addEventListener("click", (event) => {
    const button = event.target.closest("button[value]");
    if (button) dialog.close(button.value);
  });
  signinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = keyInput.value.trim();
    if (!value) return;
    sessionStorage.setItem(STORE, value);
    keyInput.value = "";
    signin.hidden = true;
    session.hidden = false;
    status("idle", "Loading…");
    refresh();
  });
  byId("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(STORE);
    showSignin("");
  });
  window.addEventListener("hashchange", refresh);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });

  if (key()) {
    signin.hidden = true;
    session.hidden = false;
    refresh();
  } else {
    showSignin("");
  }
})();
`;
