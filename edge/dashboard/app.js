// @ts-check
// The dashboard's script, served as /dashboard/app.js after patch.js (the CSP
// allows scripts from this origin and no inline one). It is small on purpose:
// the edge renders every view as HTML for the key that asks (so what a key may
// do is decided where the key is checked), and this script only
//   - keeps the key in sessionStorage and sends it as a bearer header, never in a URL;
//   - maps the page's hash (#/queues/mail?status=failed) to a view and fetches it;
//   - redraws it every few seconds while the tab is visible, patching the DOM in
//     place (patch.js) so that scroll, focus, open details and a form being filled in stay;
//   - sends actions to the HTTP API after a confirmation, repeating bulk ones
//     while the API answers `more`.
// A Worker cannot read files, so `npm run generate` (tools/dashboard.ts) joins
// patch.js and this file, as they are, into assets.generated.ts; the browser
// tests run every path of them. Plain browser JavaScript, checked by tsc
// (edge/dashboard/tsconfig.json); the served script is strict from patch.js's
// directive on.
(() => {
  const STORE = "edgeq.dashboard.key";
  // charts count per minute and cost a Redis call per queue: redrawn every half minute, not at every refresh
  const CHARTS_EVERY_MS = 30000;
  /**
   * An element of the page (page.ts), which holds every id this script asks for.
   * @template {HTMLElement} [T=HTMLElement]
   * @param {string} id
   * @returns {T}
   */
  const byId = (id) => /** @type {T} */ (document.getElementById(id));
  const view = byId("view");
  const signin = byId("signin");
  const signinForm = byId("signin-form");
  /** @type {HTMLInputElement} */
  const keyInput = byId("key");
  const signinError = byId("signin-error");
  const session = byId("session");
  const live = byId("live");
  const who = byId("who");
  /** @type {HTMLDialogElement} */
  const dialog = byId("confirm");
  const toast = byId("toast");
  let timer = 0;
  let toastTimer = 0;
  let sequence = 0;
  let drawnText = "";
  let drawnRoute = "";
  let chartsAt = 0;

  const key = () => sessionStorage.getItem(STORE);

  /**
   * @param {string} path
   * @param {RequestInit} [init]
   */
  function call(path, init = {}) {
    const headers = Object.assign({}, init.headers, { Authorization: `Bearer ${key()}` });
    /** @type {RequestInit} */
    const always = { headers, cache: "no-store", credentials: "omit" };
    return fetch(path, Object.assign({}, init, always));
  }

  /**
   * The detail of a problem+json answer, or what can be said without one.
   * @param {string} text
   * @param {number} status
   * @returns {string}
   */
  function reason(text, status) {
    try {
      const problem = JSON.parse(text);
      return problem.detail || problem.title || `the server answered ${status}`;
    } catch {
      return `the server answered ${status}`;
    }
  }

  function route() {
    const hash = location.hash.slice(1);
    return /^\/(queues|jobs)(\/|\?|$)/.test(hash) ? hash : "/queues";
  }

  /** @param {number} ms */
  function later(ms) {
    clearTimeout(timer);
    timer = setTimeout(refresh, ms);
  }

  /**
   * @param {"idle" | "live" | "offline" | "slow"} state
   * @param {string} text
   */
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
    const url = `dashboard/view${path}${path.includes("?") ? "&" : "?"}charts=${charts ? "1" : "0"}`;
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
      return showSignin(`The API key was not accepted: ${reason(text, 401)}`);
    }
    if (response.status === 429) {
      const seconds = Number(response.headers.get("Retry-After")) || 5;
      status("slow", `Rate limited, retrying in ${seconds} s`);
      return later(seconds * 1000);
    }
    if (!response.ok) {
      drawProblem(response.status, reason(text, response.status));
      return later(15000);
    }
    draw(text, path, charts);
  }

  /**
   * @param {string} text a view as the edge renders it: one element whose data- attributes say how to show it
   * @param {string} path
   * @param {boolean} charts
   */
  function draw(text, path, charts) {
    const template = document.createElement("template");
    template.innerHTML = text;
    const root = /** @type {HTMLElement} */ (template.content.firstElementChild);
    const about = /** @type {{ title: string, who: string, refresh: string }} */ (root.dataset);
    document.title = `${about.title} · edgeq`;
    who.textContent = about.who;
    // a job's log stays at its end, as a terminal follows what is written, unless it was scrolled back to read
    const log = view.querySelector("ol.log");
    const atEnd = path !== drawnRoute || !log || log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    if (path !== drawnRoute) {
      view.replaceChildren(...root.childNodes);
      window.scrollTo(0, 0);
    } else if (text !== drawnText) {
      patchChildren(view, root);
    }
    const drawnLog = view.querySelector("ol.log");
    if (drawnLog && atEnd) drawnLog.scrollTop = drawnLog.scrollHeight;
    drawnText = text;
    drawnRoute = path;
    if (charts) chartsAt = Date.now();
    // a queue that appeared since the last chart has a placeholder: draw charts at the next refresh
    if (view.querySelector("[data-keep]:empty")) chartsAt = 0;
    const times = /** @type {NodeListOf<HTMLTimeElement>} */ (view.querySelectorAll("time[datetime]"));
    for (const time of times) time.title = new Date(time.dateTime).toLocaleString();
    status("live", `Live · ${new Date().toLocaleTimeString()}`);
    later(Number(about.refresh) || 5000);
  }

  /**
   * @param {number} code
   * @param {string} detail
   */
  function drawProblem(code, detail) {
    const card = document.createElement("section");
    card.className = "card problem";
    const heading = code === 403 ? "Not allowed" : code === 404 ? "Not found" : "The view could not be loaded";
    card.innerHTML =
      '<header><h2></h2></header><div class="body"><p></p><p class="note"><a href="#/queues">All queues</a></p></div>';
    /** @type {HTMLElement} */ (card.querySelector("h2")).textContent = heading;
    /** @type {HTMLElement} */ (card.querySelector("p")).textContent = detail;
    view.replaceChildren(card);
    document.title = `${heading} · edgeq`;
    drawnText = "";
    drawnRoute = "";
    status("live", `Live · ${new Date().toLocaleTimeString()}`);
  }

  /** @param {string} message */
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

  /**
   * @param {string} text
   * @param {"ok" | "error"} kind
   */
  function say(text, kind) {
    toast.textContent = text;
    toast.dataset.kind = kind;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(
      () => {
        toast.hidden = true;
      },
      kind === "error" ? 8000 : 4000,
    );
  }

  /**
   * @param {string} text
   * @param {string} label
   * @param {boolean} danger
   * @returns {Promise<boolean>}
   */
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

  /**
   * A form's fields as JSON: numbers as numbers, empty as null (data-optional ones left out), "limit.max" nested;
   * all-empty objects null.
   * @param {HTMLFormElement} form
   */
  function fields(form) {
    /** @type {Record<string, any>} */
    const body = {};
    // inputs, selects and buttons alike have a name, a value and a type
    for (const field of /** @type {Iterable<HTMLInputElement>} */ (form.elements)) {
      if (!field.name) continue;
      const raw = field.value.trim();
      const value = raw === "" ? null : field.type === "number" ? Number(raw) : raw;
      const path = field.name.split(".");
      let at = body;
      for (const part of path.slice(0, -1)) at = at[part] = at[part] || {};
      // an optional member left empty is left out, its object going on without it (all empty: null, below)
      if (value === null && field.dataset.optional !== undefined) continue;
      at[path[path.length - 1]] = value;
    }
    for (const [name, value] of Object.entries(body)) {
      if (value && typeof value === "object" && Object.values(value).every((v) => v === null)) body[name] = null;
    }
    return body;
  }

  /**
   * What an element with an action says in its data- attributes (parts.ts, queue.ts): the method and URL, the
   * toast when done, and optionally a confirmation, what of the form to send or a button's JSON body, and whether
   * to repeat while `more`.
   * @typedef {{ act: string, done: string, confirm?: string, send?: "query" | "json", body?: string,
   *   bulk?: string }} Action
   */

  /**
   * @param {HTMLElement} element
   * @param {HTMLButtonElement | null} button
   * @param {HTMLFormElement | null} form
   */
  async function act(element, button, form) {
    const data = /** @type {Action} */ (element.dataset);
    if (data.confirm) {
      const label = button ? button.textContent.trim() : "Confirm";
      if (!(await confirmed(data.confirm, label, !!button && button.classList.contains("danger")))) return;
    }
    const space = data.act.indexOf(" ");
    const method = data.act.slice(0, space);
    let url = data.act.slice(space + 1);
    /** @type {{ method: string, headers: Record<string, string>, body?: string }} */
    const init = { method, headers: {} };
    // a form's entries are strings here (it has no file input), which the DOM types cannot know
    const query = (/** @type {FormData} */ f) => new URLSearchParams(/** @type {any} */ (f));
    if (form && data.send === "query") url += (url.includes("?") ? "&" : "?") + query(new FormData(form));
    const body = form && data.send === "json" ? JSON.stringify(fields(form)) : data.body;
    if (body !== undefined) {
      init.body = body;
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
          url = `${rest}${rest.includes("?") ? "&" : "?"}cursor=${answer.cursor}`;
        }
      }
      say(data.done.replace("{count}", moved.toLocaleString()).replace("{jobs}", moved === 1 ? "job" : "jobs"), "ok");
      if (form) delete form.dataset.dirty;
    } catch (error) {
      say(/** @type {Error} */ (error).message, "error");
    } finally {
      if (button) button.disabled = false;
      refresh();
    }
  }

  /**
   * The element an event happened in, or the nearest one around it, that matches selector.
   * @template {Element} T
   * @param {Event} event
   * @param {string} selector
   * @returns {T | null}
   */
  const nearest = (event, selector) => /** @type {Element} */ (event.target).closest(selector);

  document.addEventListener("click", (event) => {
    /** @type {HTMLButtonElement | null} */
    const button = nearest(event, "button[data-act]");
    if (!button) return;
    event.preventDefault();
    act(button, button, null);
  });
  document.addEventListener("submit", (event) => {
    /** @type {HTMLFormElement | null} */
    const form = nearest(event, "form[data-act]");
    if (!form) return;
    event.preventDefault();
    act(form, /** @type {HTMLButtonElement | null} */ (form.querySelector("[type=submit]")), form);
  });
  document.addEventListener("input", (event) => {
    /** @type {HTMLFormElement | null} */
    const form = nearest(event, "form[data-act]");
    if (form) form.dataset.dirty = "1";
  });
  dialog.addEventListener("click", (event) => {
    /** @type {HTMLButtonElement | null} */
    const button = nearest(event, "button[value]");
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
