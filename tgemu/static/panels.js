/* The sandbox page's panels: the market replay's control strip and the sandbox EA's terminal.
 * Both talk to the app's panels API (data-panels-base, e.g. /sandbox/api) with the page's
 * control token; without that API (a bare emulator) they stay hidden. Text goes into the DOM
 * through text nodes only. */
(() => {
  "use strict";

  const BASE = document.body.dataset.panelsBase;
  const TOKEN = document.body.dataset.controlToken;
  const $ = (id) => document.getElementById(id);
  if (!BASE) return;

  async function request(method, path, payload) {
    const options = { method, headers: { "X-Control-Token": TOKEN } };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload ?? {});
    }
    const response = await fetch(`${BASE}/${path}`, options);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || data.title || `HTTP ${response.status}`);
    return data;
  }

  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /* ---- the replay strip ---- */
  const STATE_LABELS = { playing: "▶ Playing", paused: "⏸ Paused", held: "✋ Held" };

  function barText(times) {
    const entries = Object.entries(times || {});
    if (!entries.length) return "no bar yet";
    return entries
      .map(([symbol, iso]) => `${symbol} bar ${iso.slice(0, 16).replace("T", " ")} UTC`)
      .join(" · ");
  }

  function speedLabel(speed) {
    return `${speed}×`;
  }

  let speedsShown = "";
  function showReplay(state) {
    const strip = $("replay");
    strip.hidden = false;
    strip.dataset.state = state.state;
    $("replay-state").textContent = STATE_LABELS[state.state] || state.state;
    $("replay-bar").textContent = `${barText(state.bar_times)} · ${state.bars} bars played`;
    let reason = state.reason === state.state ? "" : state.reason;  // "playing" says nothing new
    if (state.state === "held" && state.hold_left_s !== null) {
      reason += ` — resumes by itself in ${Math.ceil(state.hold_left_s)} s`;
    }
    $("replay-reason").textContent = reason;
    $("replay-pause").disabled = state.state === "paused";
    $("replay-play").disabled = state.state === "playing";
    const select = $("replay-speed");
    const speeds = state.speeds.join(",");
    if (speeds !== speedsShown) {
      select.replaceChildren();
      for (const speed of state.speeds) {
        const option = document.createElement("option");
        option.value = String(speed);
        option.textContent = speedLabel(speed);
        select.append(option);
      }
      speedsShown = speeds;
    }
    select.value = String(state.speed);
    select.disabled = state.interval_s === 0;  // as fast as possible: no pace to scale
  }

  let replayVersion = -1;
  async function followReplay() {
    let held = false;
    for (;;) {
      try {
        const wait = held ? 1 : 25;  // while held, the countdown ticks once a second
        const query = replayVersion < 0 ? "" : `?after_version=${replayVersion}&wait=${wait}`;
        const state = await request("GET", `replay${query}`);
        if (!state.available) return;
        replayVersion = state.version;
        held = state.state === "held";
        showReplay(state);
      } catch (error) {
        $("replay-reason").textContent = `reconnecting… (${error.message})`;
        await pause(2000);
      }
    }
  }

  async function act(action, extra) {
    try {
      showReplay(await request("POST", "replay", { action, ...extra }));
    } catch (error) {
      $("replay-reason").textContent = `Not done: ${error.message}`;
    }
  }

  $("replay-pause").addEventListener("click", () => act("pause"));
  $("replay-play").addEventListener("click", () => act("play"));
  $("replay-step").addEventListener("click", () => act("step"));
  $("replay-speed").addEventListener("change", (event) => act("speed", { speed: Number(event.target.value) }));

  /* ---- the sandbox EA's terminal ---- */
  function terminalLine(event) {
    const item = document.createElement("li");
    item.className = `term-${event.kind}`;
    item.dataset.seq = String(event.seq);
    const time = document.createElement("time");
    time.dateTime = event.time;
    time.textContent = new Date(event.time).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    const arrow = document.createElement("span");
    arrow.className = "term-arrow";
    arrow.textContent = event.kind === "command" ? "⇐ command" : "⇒ ack";
    arrow.title = event.kind === "command" ? "received from the server" : "reported to the server";
    const text = document.createElement("span");
    text.className = "term-text";
    text.textContent = event.text;
    item.append(time, arrow, text);
    return item;
  }

  let terminalSeq = 0;
  async function followTerminal() {
    for (;;) {
      try {
        const data = await request("GET", `terminal?after_seq=${terminalSeq}&wait=25`);
        if (!data.available) return;
        $("terminal").hidden = false;
        const log = $("terminal-log");
        for (const event of data.events) log.append(terminalLine(event));
        if (data.events.length) {
          $("terminal-empty").hidden = true;
          log.scrollTop = log.scrollHeight;
        }
        terminalSeq = data.last_seq;
      } catch (error) {
        await pause(2000);
      }
    }
  }

  followReplay();
  followTerminal();
})();
