/* Terminals: the user's MetaTrader terminals (online, mode, balance / equity); add one (the
 * secret is shown this once, with copy buttons, the setup steps and the EA's files); one
 * terminal's page: rename, approval / copy mode, risk settings (the server's message under the
 * field it refused), resume after a drawdown stop, revoke (confirmed). Live: the page fetches
 * again when the server says the terminal changed. */
import { call } from "./api.js";
import { listen } from "./stream.js";
import * as tg from "./telegram.js";
import { confirm, date, el, fail, go, number, show, state, t } from "./ui.js";

export const RISK_FIELDS = ["risk_pct", "lot_multiplier", "max_lot", "max_open_positions", "max_trades_per_day", "max_drawdown_pct"];

/** Call `refresh(kind)` while the page is shown when the server says terminal `key` changed
 * (`kinds` of live updates; key null: any of the user's terminals), and after the stream
 * reconnects ("resync": updates may have been missed). */
export function live(kinds, key, refresh) {
  listen(kinds, (kind, changed) => (kind === "resync" || key === null || changed === key ? refresh(kind) : undefined));
}

export const money = (value, currency) => `${number(value)} ${currency}`;

export function seen(terminal) {
  if (terminal.online) return t("miniapp.terminals_online");
  return terminal.last_seen_at ? t("miniapp.terminals_offline", { when: date(terminal.last_seen_at) }) : t("miniapp.terminals_never");
}

function statusText(terminal) {
  if (terminal.status !== "paused") return t(`miniapp.terminals_mode_${terminal.mode}_short`);
  if (terminal.paused_reason === "drawdown") return t("miniapp.terminals_paused_drawdown");
  return terminal.can_resume ? t("miniapp.terminals_paused") : t("miniapp.terminals_paused_plan");
}

/** Balance, equity, margin and floating P&L as a definition list (the Positions page too). */
export function accountFigures(account, id = "account") {
  if (!account) return el("p", { class: "muted", id }, t("miniapp.terminals_no_account"));
  const figure = (label, value, sign) => el("div", { class: "level" }, el("dt", {}, label),
    el("dd", { "data-sign": sign }, value));
  const floating = Number(account.floating);
  return el("dl", { class: "levels", id },
    figure(t("miniapp.terminals_balance"), money(account.balance, account.currency)),
    figure(t("miniapp.terminals_equity"), money(account.equity, account.currency)),
    figure(t("miniapp.terminals_margin"), money(account.margin, account.currency)),
    figure(t("miniapp.terminals_floating"), money(account.floating, account.currency),
      floating > 0 ? "up" : floating < 0 ? "down" : ""),
    figure(t("miniapp.terminals_drawdown"), `${number(account.drawdown_pct)} %`));
}

function row(terminal) {
  const a = terminal.balance === null ? t("miniapp.terminals_no_account")
    : `${t("miniapp.terminals_balance")} ${money(terminal.balance, terminal.currency)} · ${t("miniapp.terminals_equity")} ${money(terminal.equity, terminal.currency)}`;
  return el("li", {}, el("button", { type: "button", class: "card link terminal", "data-terminal": terminal.device_id,
    "aria-label": t("miniapp.terminals_open", { name: terminal.name }), onclick: () => go("terminal", terminal.device_id) },
  el("span", { class: "title" }, terminal.name),
  el("span", { class: "online", "data-online": String(terminal.online) }, seen(terminal)),
  el("span", { class: "muted" }, t(`miniapp.terminals_mode_${terminal.mode}_short`)),
  el("span", { class: "muted" }, a)));
}

/** Show the field's message under it (`.field-error`, announced), or clear it. */
function fieldError(form, field, message) {
  const node = form.querySelector(`[data-error-for="${field}"]`);
  if (node) node.textContent = message || "";
  const input = form.querySelector(`[name="${field}"]`);
  if (input) { if (message) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid"); }
  return Boolean(node);
}

/** A 422 problem's `errors[]` under their fields; anything else (or a field not on the form)
 * in the form's status line. */
function showProblem(form, error, status) {
  const errors = (error.problem && error.problem.errors) || [];
  let placed = false;
  for (const e of errors) placed = fieldError(form, e.field, e.message) || placed;
  if (!placed) { status.textContent = error.message; status.dataset.state = "error"; }
  tg.haptic("error");
}

function field(name, label, value, hint) {
  const id = `field-${name}`;
  return el("label", { for: id }, el("span", {}, label),
    el("input", { id, name, value: value ?? "", autocomplete: "off", "aria-describedby": `${id}-error`, ...hint }),
    el("span", { class: "field-error", id: `${id}-error`, "data-error-for": name, "aria-live": "polite" }));
}

/** The list; `notice`: what just happened (a revocation), kept across live refreshes. */
async function list(notice = null) {
  const [found, files] = await Promise.all([call("GET", "/terminals"), call("GET", "/ea-files")]);
  const name = field("name", t("miniapp.terminals_name"), "", { maxlength: "64", placeholder: t("miniapp.terminals_name_hint"), required: true });
  const status = el("p", { class: "form-status", "aria-live": "polite" });
  const hosted = Boolean(tg.webApp());
  const form = el("form", { class: "card", id: "terminal-add", "aria-labelledby": "terminal-add-title" },
    el("h2", { id: "terminal-add-title" }, t("miniapp.terminals_add_title")), name, status,
    hosted ? null : el("button", { type: "submit", class: "primary", id: "terminal-add-submit" }, t("miniapp.terminals_add")));
  const add = async () => {
    fieldError(form, "name", "");
    status.textContent = "";
    tg.mainButtonBusy(true);
    try {
      const created = await call("POST", "/terminals", { name: form.elements.name.value });
      tg.haptic("success");
      await go("terminal_new", created);
    } catch (error) {
      showProblem(form, error, status);
    } finally {
      tg.mainButtonBusy(false);
    }
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); add(); });
  const items = found.items.map(row);
  // the plan's limit as loaded at sign-in (the server refuses beyond it in any case: 409)
  const full = state.me && items.length >= state.me.access.terminal_limit;
  show(notice ? el("p", { class: "notice", role: "status", id: "revoked" }, notice) : null,
    el("h1", {}, t("miniapp.terminals_title")),
    items.length ? el("ul", { class: "list", id: "terminal-list", "aria-label": t("miniapp.terminals_title") }, ...items)
      : el("p", { class: "muted", id: "terminal-list" }, t("miniapp.terminals_empty")),
    full ? el("p", { class: "card muted", id: "terminal-limit" }, t("miniapp.terminals_at_limit")) : form,
    downloads(files.files));
  if (!full) tg.mainButton(t("miniapp.terminals_add"), add);
  live(["terminal", "positions"], null, () => (full || !form.elements.name.value ? list(notice).catch(fail) : undefined));
}

function downloads(files) {
  return el("section", { class: "card", id: "ea-files", "aria-labelledby": "ea-files-title" },
    el("h2", { id: "ea-files-title" }, t("miniapp.terminals_files")),
    el("ul", { class: "downloads" }, ...files.map((f) => el("li", {},
      el("a", { href: f.url, download: f.name, class: "download" }, t("miniapp.terminals_download", { name: f.name }))))));
}

function copyable(id, label, value) {
  const button = el("button", { type: "button", class: "secondary copy", id: `copy-${id}`,
    "aria-label": t("miniapp.terminals_copy_label", { what: label }) }, t("miniapp.terminals_copy"));
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = t("miniapp.terminals_copied");
      tg.haptic("success");
    } catch {
      button.textContent = t("miniapp.terminals_copy_failed");
      tg.haptic("error");
    }
  });
  return el("div", { class: "secret-row" }, el("span", { class: "muted" }, label),
    el("code", { id: `new-${id}`, class: "secret-value" }, value), button);
}

/** The answer of POST /terminals, shown once: nothing can fetch the secret again. */
function created(made) {
  const url = made.server_url;
  const steps = [1, 2, 3, 4].map((n) => el("li", {}, t(`miniapp.terminals_step${n}`, { url })));
  const done = () => go("terminals");
  show(el("section", { class: "card", id: "new-terminal", "aria-labelledby": "new-terminal-title" },
    el("h1", { id: "new-terminal-title" }, t("miniapp.terminals_created", { name: made.terminal.name })),
    copyable("device-id", t("miniapp.terminals_device_id"), made.device_id),
    copyable("secret", t("miniapp.terminals_secret"), made.secret),
    copyable("url", t("miniapp.terminals_server_url"), url),
    el("p", { class: "warning", role: "note" }, t("miniapp.terminals_secret_once"))),
  el("section", { class: "card", "aria-labelledby": "setup-title" },
    el("h2", { id: "setup-title" }, t("miniapp.terminals_setup_title")), el("ol", { class: "steps" }, ...steps)),
  downloads(made.files),
  tg.webApp() ? null : el("div", { class: "actions" }, el("button", { type: "button", class: "primary", id: "new-done", onclick: done }, t("miniapp.terminals_done"))));
  tg.mainButton(t("miniapp.terminals_done"), done);
  tg.backButton(done);
}

function summary(terminal) {
  return el("section", { class: "card", id: "terminal-summary", "aria-live": "polite" },
    el("span", { class: "online", "data-online": String(terminal.online) }, seen(terminal)),
    el("span", { class: "muted", id: "terminal-status" }, statusText(terminal)),
    accountFigures(terminal.account));
}

function renameForm(terminal, refresh) {
  const status = el("p", { class: "form-status", "aria-live": "polite" });
  const form = el("form", { class: "card", id: "rename" },
    field("name", t("miniapp.terminals_rename"), terminal.name, { maxlength: "64", required: true }),
    status, el("button", { type: "submit", class: "primary", id: "rename-save" }, t("miniapp.terminals_save")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    fieldError(form, "name", "");
    try {
      const changed = await call("PATCH", `/terminals/${terminal.device_id}`, { name: form.elements.name.value });
      status.textContent = t("miniapp.terminals_saved");
      status.dataset.state = "ok";
      refresh(changed);
    } catch (error) { showProblem(form, error, status); }
  });
  return form;
}

function modeForm(terminal, refresh) {
  const status = el("p", { class: "form-status", "aria-live": "polite" });
  const option = (mode) => el("label", { class: "choice" },
    el("input", { type: "radio", name: "mode", value: mode, checked: terminal.mode === mode }),
    el("span", {}, t(`miniapp.terminals_mode_${mode}`)));
  const form = el("form", { class: "card", id: "mode" },
    el("fieldset", {}, el("legend", {}, t("miniapp.terminals_mode")), option("approval"), option("copy"),
      el("span", { class: "field-error", "data-error-for": "mode", "aria-live": "polite" })), status);
  form.addEventListener("change", async () => {
    fieldError(form, "mode", "");
    status.textContent = "";
    const mode = form.elements.mode.value;
    try {
      const changed = await call("PATCH", `/terminals/${terminal.device_id}`, { mode });
      tg.haptic("success");
      status.textContent = t("miniapp.terminals_saved");
      status.dataset.state = "ok";
      refresh(changed);
    } catch (error) {
      for (const input of form.elements.mode) input.checked = input.value === terminal.mode;
      const message = error.problem && error.problem.errors ? null : error.message;
      if (message) { fieldError(form, "mode", message); tg.haptic("error"); } else showProblem(form, error, status);
    }
  });
  return form;
}

// "No cap" as the risk fields show it: the word the server's parser takes in every language
// (services/terminals/risk_settings.py OFF_WORDS); the hint above the fields explains it.
const OFF = "off";
const shown = (value) => (value === null ? OFF : String(value));

function riskForm(terminal, refresh) {
  const status = el("p", { class: "form-status", id: "risk-status", "aria-live": "polite" });
  const inputs = RISK_FIELDS.map((name) => field(name, t(`miniapp.terminals_label_${name}`), shown(terminal.risk[name]),
    { inputmode: "decimal", maxlength: "20" }));
  const form = el("form", { class: "card", id: "risk", "aria-labelledby": "risk-title" },
    el("h2", { id: "risk-title" }, t("miniapp.terminals_risk_title")),
    el("p", { class: "muted" }, t("miniapp.terminals_risk_hint")), ...inputs, status,
    el("button", { type: "submit", class: "primary", id: "risk-save" }, t("miniapp.terminals_save")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    const body = {};
    for (const name of RISK_FIELDS) {
      fieldError(form, name, "");
      const value = form.elements[name].value.trim();
      if (value !== shown(terminal.risk[name])) body[name] = value;
    }
    if (!Object.keys(body).length) return;
    try {
      const changed = await call("PATCH", `/terminals/${terminal.device_id}/risk`, body);
      terminal = changed;
      for (const name of RISK_FIELDS) form.elements[name].value = shown(changed.risk[name]);
      status.textContent = t("miniapp.terminals_saved");
      status.dataset.state = "ok";
      tg.haptic("success");
      refresh(changed);
    } catch (error) { showProblem(form, error, status); }
  });
  return form;
}

const revoking = new Set();  // device ids being revoked here: their own update is not news

async function revoke(terminal) {
  tg.haptic("warning");
  const yes = await confirm(t("miniapp.terminals_revoke_title", { name: terminal.name }),
    t("miniapp.terminals_revoke_text"), t("miniapp.terminals_revoke_yes"), true);
  if (!yes) return;
  revoking.add(terminal.device_id);
  try {
    await call("DELETE", `/terminals/${terminal.device_id}`);
    tg.haptic("success");
    await go("terminals", t("miniapp.terminals_revoked", { name: terminal.name }));
  } catch (error) { fail(error); } finally { revoking.delete(terminal.device_id); }
}

async function detail(deviceId) {
  const terminal = await call("GET", `/terminals/${deviceId}/detail`);
  const title = el("h1", { id: "terminal-title" }, terminal.name);
  let top = summary(terminal);
  const actions = el("div", { class: "actions stacked" });
  const refresh = (changed) => {
    title.textContent = changed.name;
    const next = summary(changed);
    top.replaceWith(next);
    top = next;
    actions.replaceChildren(...buttons(changed));
  };
  const buttons = (current) => [
    el("button", { type: "button", class: "secondary plain", id: "to-positions", onclick: () => go("positions", current.device_id) }, t("miniapp.terminals_show_positions")),
    current.can_resume ? el("button", { type: "button", class: "primary", id: "resume", onclick: async () => {
      try {
        refresh(await call("POST", `/terminals/${current.device_id}/resume`));
        actions.append(el("p", { class: "form-status", role: "status", id: "resumed" }, t("miniapp.terminals_resumed")));
        tg.haptic("success");
      } catch (error) { fail(error); }
    } }, t("miniapp.terminals_resume")) : null,
    el("button", { type: "button", class: "danger", id: "revoke", onclick: () => revoke(current) }, t("miniapp.terminals_revoke")),
  ];
  actions.replaceChildren(...buttons(terminal));
  show(el("div", { class: "stack", id: "terminal-detail", "data-terminal": terminal.device_id },
    title, top, actions, renameForm(terminal, refresh), modeForm(terminal, refresh), riskForm(terminal, refresh)));
  tg.backButton(() => go("terminals"));
  live(["terminal", "positions"], terminal.live_key, async () => {
    if (revoking.has(deviceId)) return;
    try { refresh(await call("GET", `/terminals/${deviceId}/detail`)); } catch (error) { if (error.status === 404) go("terminals"); }
  });
}

export const page = { name: "terminals", tab: "miniapp.nav_terminals", render: list };
export const terminalPage = { name: "terminal", render: detail };
export const newTerminalPage = { name: "terminal_new", render: created };
