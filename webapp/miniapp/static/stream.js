/* Live updates: one server-sent events stream per page (GET /api/v1/stream, read with fetch so
 * the session travels in the Authorization header, not in the URL). Pages `listen(kinds, cb)`:
 * `cb(kind, key)` runs for each update of those kinds while the page is shown; after a
 * reconnection (updates may have been missed) every listener gets ("resync", 0). */
import { stream } from "./api.js";
import { current, onLeave, task } from "./ui.js";

const listeners = new Set();
let started = false;

/** One listener's call at a time: updates arriving meanwhile are run after it, the latest of
 * each (kind, key) once (a burst of updates is one reload, not many racing ones). */
async function deliver(listener, kind, key) {
  listener.queue.set(`${kind}:${key}`, [kind, key]);
  if (listener.busy) return;
  listener.busy = true;
  try {
    while (listener.queue.size && listeners.has(listener)) {
      const [[id, [k, v]]] = listener.queue;
      listener.queue.delete(id);
      const run = async () => {
        try { await listener.callback(k, v); } catch (error) { console.warn("live update", error); }
      };
      // a page's re-render is a view task of the page's navigation (ui.js: never over another
      // page); an app-wide listener runs at once
      if (listener.nav === null) await run(); else await task(listener.nav, run);
    }
  } finally {
    listener.busy = false;
  }
}

function dispatch(kind, key) {
  for (const listener of [...listeners]) {
    if (kind === "resync" || listener.kinds.has(kind)) deliver(listener, kind, key);
  }
}

/** Parse `text/event-stream` chunks; calls `onEvent(name, data)` per complete event. */
export function parser(onEvent) {
  let buffer = "";
  return (chunk) => {
    buffer += chunk;
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      let name = "message";
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      }
      if (data.length) onEvent(name, data.join("\n"));
    }
  };
}

function offline(yes) {
  const status = document.getElementById("live-status");
  if (status) status.hidden = !yes;
}

async function run() {
  let connected = false;
  let delay = 1000;
  for (;;) {
    try {
      const feed = parser((name, data) => {
        if (name !== "live") return;
        const update = JSON.parse(data);
        dispatch(update.kind, update.key);
      });
      await stream(() => {
        if (connected) dispatch("resync", 0);  // a reconnection: we may have missed some
        connected = true;
        delay = 1000;
        document.body.dataset.live = "open";
        offline(false);
      }, feed);
    } catch (error) {
      if (error && error.status === 403) { document.body.dataset.live = "refused"; return; }
    }
    document.body.dataset.live = "closed";
    offline(true);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 30000);
  }
}

/** Start the stream (once, after signing in). */
export function start() {
  if (started) return;
  started = true;
  run();
}

/** Call `callback(kind, key)` for live updates of `kinds` until the page is left (`always`:
 * for as long as the app is open). Returns the function that stops it. */
export function listen(kinds, callback, { always = false } = {}) {
  const listener = { kinds: new Set(kinds), callback, queue: new Map(), busy: false, nav: always ? null : current() };
  listeners.add(listener);
  const stop = () => listeners.delete(listener);
  if (!always) onLeave(stop);
  return stop;
}
