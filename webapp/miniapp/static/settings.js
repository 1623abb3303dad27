/* Settings: the language (the same setting as /language), the chat card style (full: the
 * chart photo with its caption; compact: text only) and, per kind of notification, on (with
 * sound), silent (no sound) or off (not sent), stored on the server and honoured by the bot's
 * outbox. */
import { call, strings } from "./api.js";
import * as tg from "./telegram.js";
import { $, el, fail, show, state, t } from "./ui.js";

const KINDS = ["new_signal", "revision", "fill", "outcome", "expiry", "terminal", "reminder", "alert"];
const MODES = ["on", "silent", "off"];

function saved() {
  const node = $("settings-status");
  if (node) node.textContent = t("miniapp.settings_saved");
  tg.haptic("success");
}

/** The page's text and the tabs in the new language, without signing in again. */
async function relabel(language) {
  state.locale = language;
  state.t = (await strings(language)).strings;
  document.documentElement.lang = language;
  document.title = t("miniapp.title");
  for (const [name, page] of state.pages) {
    const tab = $(`tab-${name}`);
    if (tab && page.tab) tab.textContent = t(page.tab);
  }
}

function languageField(settings) {
  const select = el("select", { id: "settings-language", "aria-labelledby": "settings-language-label" },
    ...settings.languages.map((code) => el("option", { value: code, selected: code === settings.language },
      t(`miniapp.settings_lang_${code}`))));
  select.addEventListener("change", async () => {
    try {
      const updated = await call("PATCH", "/settings", { language: select.value });
      state.me = { ...state.me, language: updated.language };
      await relabel(updated.language);
      await render();
      saved();
    } catch (error) {
      fail(error);
    }
  });
  return el("section", { class: "card" },
    el("h2", { id: "settings-language-label" }, t("miniapp.settings_language")), select);
}

function cardStyleField(settings) {
  const name = "card-style";
  const options = settings.card_styles.map((style) => {
    const id = `${name}-${style}`;
    const input = el("input", { type: "radio", name, value: style, id, checked: style === settings.card_style,
      "aria-describedby": `${id}-hint` });
    input.addEventListener("change", async () => {
      if (!input.checked) return;
      try {
        await call("PATCH", "/settings", { card_style: style });
        saved();
      } catch (error) {
        fail(error);
      }
    });
    return el("label", { class: "mode card-style", for: id }, input,
      el("span", {}, t(`miniapp.settings_card_${style}`)),
      el("small", { id: `${id}-hint`, class: "muted" }, t(`miniapp.settings_card_${style}_hint`)));
  });
  return el("fieldset", { class: "card", id: "settings-card-style" },
    el("legend", {}, t("miniapp.settings_card_style")), el("div", { class: "modes" }, ...options));
}

function kindField(kind, mode) {
  const name = `notify-${kind}`;
  const options = MODES.map((m) => {
    const input = el("input", { type: "radio", name, value: m, id: `${name}-${m}`, checked: m === mode });
    input.addEventListener("change", async () => {
      if (!input.checked) return;
      try {
        await call("PATCH", "/settings/notifications", { [kind]: m });
        saved();
      } catch (error) {
        fail(error);
      }
    });
    return el("label", { class: "mode", for: `${name}-${m}` }, input, el("span", {}, t(`miniapp.settings_${m}`)));
  });
  return el("fieldset", { class: "notify-kind", "data-kind": kind },
    el("legend", {}, t(`miniapp.settings_${kind}`)), el("div", { class: "modes" }, ...options));
}

async function render() {
  const [settings, prefs] = await Promise.all([call("GET", "/settings"), call("GET", "/settings/notifications")]);
  show(
    languageField(settings),
    cardStyleField(settings),
    el("section", { class: "card", id: "settings-notifications" },
      el("h2", {}, t("miniapp.settings_notifications")),
      el("p", { class: "muted" }, t("miniapp.settings_hint")),
      ...KINDS.map((kind) => kindField(kind, prefs[kind]))),
    el("p", { id: "settings-status", role: "status", "aria-live": "polite", class: "muted" }),
  );
}

export const page = { name: "settings", tab: "miniapp.nav_settings", render };
