/* The sandbox's stand-in for https://telegram.org/js/telegram-web-app.js (offline): the same
 * `window.Telegram.WebApp` surface a Mini App uses, speaking Telegram's web protocol with the
 * page that frames it: it reads tgWebAppData / tgWebAppThemeParams from the URL's fragment,
 * posts {eventType, eventData} to the parent (web_app_setup_main_button, web_app_open_invoice,
 * ...) and hears theme_changed, main_button_pressed, back_button_pressed, safe_area_changed and
 * invoice_closed back. */
(() => {
  "use strict";
  const hash = new URLSearchParams(window.location.hash.slice(1));
  const initData = hash.get("tgWebAppData") || "";
  const parse = (text, fallback) => { try { return JSON.parse(text); } catch { return fallback; } };
  let themeParams = parse(hash.get("tgWebAppThemeParams"), {}) || {};
  const handlers = new Map();
  const invoices = new Map();  // slug -> {url, callback}: the invoices open now

  /* The slug of an invoice link (t.me/$slug, t.me/invoice/slug, t.me/bot?start=$slug), as
   * Telegram's script reads it; anything else throws WebAppInvoiceUrlInvalid. */
  function invoiceSlug(url) {
    let link;
    try { link = new URL(String(url)); } catch { throw new Error("WebAppInvoiceUrlInvalid"); }
    if (!["https:", "http:"].includes(link.protocol) || link.hostname !== "t.me") throw new Error("WebAppInvoiceUrlInvalid");
    const path = /^\/(\$|invoice\/)([A-Za-z0-9\-_=]+)$/.exec(decodeURIComponent(link.pathname));
    const start = /(\?|&)start=\$([A-Za-z0-9\-_=]+)(&|$)/.exec(decodeURIComponent(link.search));
    const slug = (path && path[2]) || (start && start[2]);
    if (!slug) throw new Error("WebAppInvoiceUrlInvalid");
    return slug;
  }

  function post(eventType, eventData = {}) {
    if (window.parent !== window) window.parent.postMessage(JSON.stringify({ eventType, eventData }), "*");
  }

  function fire(name, ...args) {
    for (const handler of handlers.get(name) || []) {
      try { handler.apply(WebApp, args); } catch (error) { console.error(error); }
    }
  }

  function unsafe() {
    const data = {};
    for (const [key, value] of new URLSearchParams(initData)) {
      data[key] = ["user", "receiver", "chat"].includes(key) ? parse(value, null) : value;
    }
    if (data.auth_date) data.auth_date = Number(data.auth_date);
    return data;
  }

  function scheme(params) {
    const bg = (params.bg_color || "#ffffff").replace("#", "");
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(bg.slice(i, i + 2), 16) || 255);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 128 ? "dark" : "light";
  }

  function button(kind, defaults) {
    const state = { ...defaults };
    const api = {
      get isVisible() { return state.is_visible; },
      get isActive() { return state.is_active; },
      get text() { return state.text; },
      setText(text) { state.text = String(text); sync(); return api; },
      setParams(params) {
        if ("text" in params) state.text = String(params.text);
        if ("is_visible" in params) state.is_visible = Boolean(params.is_visible);
        if ("is_active" in params) state.is_active = Boolean(params.is_active);
        sync(); return api;
      },
      show() { state.is_visible = true; sync(); return api; },
      hide() { state.is_visible = false; sync(); return api; },
      enable() { state.is_active = true; sync(); return api; },
      disable() { state.is_active = false; sync(); return api; },
      showProgress() { state.is_progress_visible = true; sync(); return api; },
      hideProgress() { state.is_progress_visible = false; sync(); return api; },
      onClick(handler) { WebApp.onEvent(kind === "main" ? "mainButtonClicked" : "backButtonClicked", handler); return api; },
      offClick(handler) { WebApp.offEvent(kind === "main" ? "mainButtonClicked" : "backButtonClicked", handler); return api; },
    };
    function sync() {
      if (kind === "main") post("web_app_setup_main_button", { ...state });
      else post("web_app_setup_back_button", { is_visible: state.is_visible });
    }
    return api;
  }

  const zero = { top: 0, bottom: 0, left: 0, right: 0 };
  const WebApp = {
    initData,
    initDataUnsafe: unsafe(),
    version: hash.get("tgWebAppVersion") || "8.0",
    platform: hash.get("tgWebAppPlatform") || "web",
    get themeParams() { return themeParams; },
    get colorScheme() { return scheme(themeParams); },
    isExpanded: true,
    viewportHeight: window.innerHeight,
    viewportStableHeight: window.innerHeight,
    safeAreaInset: { ...zero },
    contentSafeAreaInset: { ...zero },
    onEvent(name, handler) { if (!handlers.has(name)) handlers.set(name, new Set()); handlers.get(name).add(handler); },
    offEvent(name, handler) { handlers.get(name)?.delete(handler); },
    ready() { post("web_app_ready"); },
    expand() { post("web_app_expand"); },
    close() { post("web_app_close"); },
    openLink(url) { post("web_app_open_link", { url: String(url) }); },
    openTelegramLink(url) { post("web_app_open_tg_link", { path_full: String(url) }); },
    openInvoice(url, callback) {
      const slug = invoiceSlug(url);
      if (invoices.has(slug)) throw new Error("WebAppInvoiceOpened");
      invoices.set(slug, { url: String(url), callback });
      post("web_app_open_invoice", { slug });
    },
    isVersionAtLeast(version) { return Number(version) <= Number(WebApp.version); },
    HapticFeedback: {
      impactOccurred(style) { post("web_app_trigger_haptic_feedback", { type: "impact", impact_style: style }); return this; },
      notificationOccurred(type) { post("web_app_trigger_haptic_feedback", { type: "notification", notification_type: type }); return this; },
      selectionChanged() { post("web_app_trigger_haptic_feedback", { type: "selection_change" }); return this; },
    },
  };
  WebApp.MainButton = button("main", { is_visible: false, is_active: true, text: "CONTINUE", is_progress_visible: false });
  WebApp.BackButton = button("back", { is_visible: false });

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || typeof event.data !== "string") return;
    const message = parse(event.data, null);
    if (!message || typeof message.eventType !== "string") return;
    const data = message.eventData || {};
    switch (message.eventType) {
      case "theme_changed":
        themeParams = data.theme_params || {};
        fire("themeChanged");
        break;
      case "main_button_pressed": fire("mainButtonClicked"); break;
      case "invoice_closed": {
        const opened = invoices.get(data.slug);
        if (!opened) break;
        invoices.delete(data.slug);
        fire("invoiceClosed", { url: opened.url, status: data.status });
        if (typeof opened.callback === "function") {
          try { opened.callback(data.status); } catch (error) { console.error(error); }
        }
        break;
      }
      case "back_button_pressed": fire("backButtonClicked"); break;
      case "safe_area_changed":
        Object.assign(WebApp.safeAreaInset, data); fire("safeAreaChanged"); break;
      case "content_safe_area_changed":
        Object.assign(WebApp.contentSafeAreaInset, data); fire("contentSafeAreaChanged"); break;
      default: break;
    }
  });
  window.Telegram = { WebApp };
})();
