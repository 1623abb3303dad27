/* Alerts: the user's price alerts (active and fired) with a confirmed Delete, the plan's quota,
 * and a form to add one (the server checks it: a refusal names the field, shown beside it).
 * Live: an alert firing (or changing in the chat) makes the page fetch the list again. */
import { call } from "./api.js";
import { listen } from "./stream.js";
import * as tg from "./telegram.js";
import { $, confirm, date, el, fail, number, show, t } from "./ui.js";

const CONDITIONS = ["above", "below", "cross"];
const FIELDS = ["symbol", "condition", "level", "note", "cooldown_min"];

function alertRow(a, reload) {
  const level = number(a.level, a.digits);
  const button = el("button", { type: "button", class: "danger small", "data-delete": String(a.id),
    "aria-label": `${t("miniapp.alerts_delete")} #${a.id}` }, t("miniapp.alerts_delete"));
  button.addEventListener("click", async () => {
    tg.haptic("warning");
    const yes = await confirm(t("miniapp.alerts_delete"), t("miniapp.alerts_delete_confirm", { symbol: a.symbol, level }),
      t("miniapp.alerts_delete"), true);
    if (!yes) return;
    button.disabled = true;
    try {
      await call("DELETE", `/alerts/${a.id}`);
      tg.haptic("success");
    } catch (error) {
      if (error.status !== 404) { button.disabled = false; fail(error); return; }
    }
    await reload();
  });
  const lines = [];
  if (a.repeat) lines.push(t("miniapp.alerts_repeats", { minutes: a.cooldown_min }));
  if (a.last_fired_at) lines.push(t("miniapp.alerts_last_fired", { when: date(a.last_fired_at) }));
  return el("li", { class: "card alert-item", "data-alert": String(a.id), "data-state": a.state },
    el("div", { class: "row" },
      el("span", { class: "title" }, `${a.symbol} · ${t(`miniapp.alerts_${a.condition}`)} ${level}`),
      el("span", { class: "badge", "data-state": a.state }, t(`miniapp.alerts_state_${a.state}`))),
    a.note ? el("span", { class: "muted note" }, a.note) : null,
    ...lines.map((line) => el("span", { class: "muted" }, line)),
    el("div", { class: "row" }, el("span", {}), button));
}

function field(name, label, input) {
  return el("label", { for: `alert-${name}`, class: "field" }, el("span", {}, label), input,
    el("span", { class: "field-error", id: `alert-${name}-error`, role: "alert" }));
}

function form(data, reload) {
  const symbol = el("select", { id: "alert-symbol", name: "symbol" },
    ...data.symbols.map((s) => el("option", { value: s.symbol }, s.symbol)));
  const condition = el("select", { id: "alert-condition", name: "condition" },
    ...CONDITIONS.map((c) => el("option", { value: c }, t(`miniapp.alerts_${c}`))));
  const level = el("input", { id: "alert-level", name: "level", inputmode: "decimal", autocomplete: "off", required: true });
  const note = el("input", { id: "alert-note", name: "note", maxlength: "200", autocomplete: "off" });
  const repeat = el("input", { id: "alert-repeat", name: "repeat", type: "checkbox" });
  const cooldown = el("input", { id: "alert-cooldown_min", name: "cooldown_min", type: "number", min: "1", max: "1440", value: "5" });
  const last = el("span", { class: "muted", id: "alert-last" });
  const status = el("p", { class: "muted", id: "alert-status", "aria-live": "polite" });
  const shown = () => {
    const s = data.symbols.find((x) => x.symbol === symbol.value);
    last.textContent = s ? t("miniapp.alerts_last_price", { price: number(s.last, s.digits) }) : "";
    if (s && !level.value) level.placeholder = s.last;
  };
  symbol.addEventListener("change", () => { level.placeholder = ""; shown(); });
  shown();
  const clear = () => { for (const name of FIELDS) $(`alert-${name}-error`).textContent = ""; status.textContent = ""; };
  const node = el("form", { class: "card stack", id: "alert-form", novalidate: true },
    el("h2", {}, t("miniapp.alerts_new")),
    field("symbol", t("miniapp.alerts_symbol"), symbol), last,
    field("condition", t("miniapp.alerts_condition"), condition),
    field("level", t("miniapp.alerts_level"), level),
    field("note", t("miniapp.alerts_note"), note),
    el("label", { for: "alert-repeat", class: "check" }, repeat, el("span", {}, t("miniapp.alerts_repeat"))),
    field("cooldown_min", t("miniapp.alerts_cooldown"), cooldown),
    el("button", { type: "submit", class: "primary", id: "alert-add" }, t("miniapp.alerts_add")), status);
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear();
    const body = { symbol: symbol.value, condition: condition.value, level: level.value.trim(), note: note.value,
      repeat: repeat.checked, cooldown_min: Number(cooldown.value) || 5 };
    try {
      await call("POST", "/alerts", body);
      tg.haptic("success");
      await reload(t("miniapp.alerts_added"));
    } catch (error) {
      tg.haptic("error");
      const errors = (error.problem && error.problem.errors) || [];
      const known = errors.filter((e) => FIELDS.includes(e.field));
      for (const e of known) $(`alert-${e.field}-error`).textContent = e.message;
      if (!known.length) status.textContent = error.message;
    }
  });
  return node;
}

const firedCount = (items) => items.filter((a) => a.state === "fired" || a.fired_count > 0)
  .reduce((sum, a) => sum + a.fired_count, 0);

async function render() {
  const data = await call("GET", "/alerts");
  const quota = el("span", { class: "muted", id: "alerts-quota" });
  const listBox = el("div", {});
  const news = el("p", { class: "muted", id: "alerts-news", role: "status" });
  let fired = firedCount(data.items);
  const fill = (found) => {
    quota.textContent = t("miniapp.alerts_quota", { used: found.quota.used, limit: found.quota.limit });
    listBox.replaceChildren(found.items.length
      ? el("ul", { class: "list", id: "alert-list", "aria-labelledby": "alerts-title" }, ...found.items.map((a) => alertRow(a, reload)))
      : el("p", { class: "muted", id: "alert-list" }, t("miniapp.alerts_empty")));
  };
  // The form stays as typed across reloads: only the list and the quota are redrawn.
  const reload = async (message) => {
    try {
      const found = await call("GET", "/alerts");
      fill(found);
      const now = firedCount(found.items);
      if (now > fired) { news.textContent = t("miniapp.alerts_fired_now"); tg.haptic("success"); }
      fired = now;
      if (typeof message === "string") { const status = $("alert-status"); if (status) status.textContent = message; }
    } catch (error) {
      fail(error);
    }
  };
  fill(data);
  const adding = data.symbols.length ? form(data, reload) : el("p", { class: "muted", id: "alert-no-feed" }, t("miniapp.alerts_no_feed"));
  show(el("div", { class: "stack", id: "alerts" },
    el("section", { class: "card" }, el("h2", { id: "alerts-title" }, t("miniapp.alerts_title")), quota, news),
    listBox, adding));
  listen(["alert"], () => reload());
}

export const page = { name: "alerts", tab: "miniapp.nav_alerts", render };
