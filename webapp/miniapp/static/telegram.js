/* The Telegram side of the page: theme parameters as CSS variables (live), safe-area insets,
 * the Back and Main buttons, haptics. Works with Telegram's script and the sandbox's stand-in. */
export const webApp = () => (window.Telegram && window.Telegram.WebApp) || null;

const THEME_KEYS = [
  "bg_color", "text_color", "hint_color", "link_color", "button_color", "button_text_color",
  "secondary_bg_color", "header_bg_color", "accent_text_color", "section_bg_color",
  "section_header_text_color", "subtitle_text_color", "destructive_text_color",
];

export function applyTheme() {
  const app = webApp();
  const root = document.documentElement;
  const params = (app && app.themeParams) || {};
  for (const key of THEME_KEYS) {
    const name = `--tg-theme-${key.replaceAll("_", "-")}`;
    if (params[key]) root.style.setProperty(name, params[key]);
    else root.style.removeProperty(name);
  }
  root.dataset.theme = (app && app.colorScheme) || "light";
}

function applyInsets() {
  const app = webApp();
  const root = document.documentElement;
  const sides = ["top", "bottom", "left", "right"];
  for (const [prefix, inset] of [["safe", app && app.safeAreaInset], ["content", app && app.contentSafeAreaInset]]) {
    for (const side of sides) {
      const px = inset && Number.isFinite(inset[side]) ? inset[side] : 0;
      root.style.setProperty(`--${prefix}-${side}`, `${px}px`);
    }
  }
}

const themeListeners = new Set();
/** Call `callback` after each live theme change; returns the function that stops it. */
export function onTheme(callback) {
  themeListeners.add(callback);
  return () => themeListeners.delete(callback);
}

export function setUp() {
  const app = webApp();
  applyTheme();
  applyInsets();
  if (!app) return;
  app.onEvent("themeChanged", () => { applyTheme(); for (const listener of themeListeners) listener(); });
  app.onEvent("safeAreaChanged", applyInsets);
  app.onEvent("contentSafeAreaChanged", applyInsets);
  app.ready();
  app.expand();
}

let backHandler = null;
export function backButton(handler) {
  const app = webApp();
  if (!app) return;
  if (backHandler) app.BackButton.offClick(backHandler);
  backHandler = handler;
  if (handler) {
    app.BackButton.onClick(handler);
    app.BackButton.show();
  } else app.BackButton.hide();
}

let mainHandler = null;
export function mainButton(text, handler) {
  const app = webApp();
  if (!app) return;
  if (mainHandler) app.MainButton.offClick(mainHandler);
  mainHandler = handler;
  if (handler) {
    app.MainButton.setText(text);
    app.MainButton.onClick(handler);
    app.MainButton.enable();
    app.MainButton.show();
  } else app.MainButton.hide();
}

export function mainButtonBusy(busy) {
  const app = webApp();
  if (!app) return;
  if (busy) { app.MainButton.showProgress(false); app.MainButton.disable(); }
  else { app.MainButton.hideProgress(); app.MainButton.enable(); }
}

export function haptic(kind) {
  const app = webApp();
  if (!app || !app.HapticFeedback) return;
  if (kind === "select") app.HapticFeedback.selectionChanged();
  else app.HapticFeedback.notificationOccurred(kind);
}
