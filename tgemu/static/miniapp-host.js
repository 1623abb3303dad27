/* The sandbox as a Mini App host: opens a web_app button's page in a frame with initData the
 * emulator signs for the persona, draws Telegram's Back and Main buttons, switches the theme
 * (light/dark, live: theme_changed), records haptics and shows Telegram's payment sheet for
 * openInvoice (web_app_open_invoice {slug}: the persona pays in Stars through the emulator's
 * own flow, POST pay, and the frame hears invoice_closed {slug, status}), speaking Telegram's
 * web protocol ({eventType, eventData} messages) with telegram-web-app.js inside the frame. */
(() => {
  "use strict";
  const CONTROL = document.body.dataset.controlBase;
  const TOKEN = document.body.dataset.controlToken;
  const $ = (id) => document.getElementById(id);
  const THEMES = {
    light: {
      bg_color: "#ffffff", text_color: "#000000", hint_color: "#707579", link_color: "#3390ec",
      button_color: "#3390ec", button_text_color: "#ffffff", secondary_bg_color: "#f4f4f5",
      header_bg_color: "#ffffff", destructive_text_color: "#e53935",
    },
    dark: {
      bg_color: "#17212b", text_color: "#f5f5f5", hint_color: "#708499", link_color: "#6ab3f3",
      button_color: "#5288c1", button_text_color: "#ffffff", secondary_bg_color: "#232e3c",
      header_bg_color: "#17212b", destructive_text_color: "#ec3942",
    },
  };
  const root = $("miniapp");
  const frame = $("miniapp-frame");
  let origin = null;
  let persona = null;  // whose Mini App this is: the user who pays its invoices
  let invoice = null;  // the invoice sheet open now: {slug}

  const theme = () => THEMES[$("miniapp-dark").checked ? "dark" : "light"];

  function send(eventType, eventData = {}) {
    if (frame.contentWindow && origin) frame.contentWindow.postMessage(JSON.stringify({ eventType, eventData }), origin);
  }

  async function control(method, path, body) {
    const headers = { "X-Control-Token": TOKEN };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(`${CONTROL}/${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.detail || data.title || `HTTP ${response.status}`);
    return data;
  }

  /* ---- openInvoice: the payment sheet ---- */
  function closeInvoice(status) {
    if (!invoice) return;
    const { slug } = invoice;
    invoice = null;
    $("miniapp-invoice").hidden = true;
    send("invoice_closed", { slug, status });
  }

  async function openInvoice(slug) {
    if (invoice) return;  // one sheet at a time, as in Telegram
    invoice = { slug };
    const sheet = $("miniapp-invoice");
    const error = $("miniapp-invoice-error");
    error.hidden = true;
    $("miniapp-invoice-pay").disabled = false;
    try {
      const found = await control("GET", `webapp/invoice/${encodeURIComponent(slug)}`);
      const amount = found.currency === "XTR" ? `⭐ ${found.total_amount}` : `${found.total_amount} ${found.currency}`;
      $("miniapp-invoice-title").textContent = found.title;
      $("miniapp-invoice-description").textContent = found.description;
      $("miniapp-invoice-terms").textContent = found.subscription_period
        ? `${amount} every 30 days (a subscription: renews until canceled)` : amount;
      $("miniapp-invoice-pay").textContent = `Pay ${amount}`;
      sheet.hidden = false;
      $("miniapp-invoice-pay").focus();
    } catch {
      closeInvoice("failed");  // not an invoice the bot made: Telegram shows nothing to pay
    }
  }

  async function payInvoice() {
    if (!invoice || persona === null) return;
    const { slug } = invoice;
    $("miniapp-invoice-pay").disabled = true;
    try {
      const result = await control("POST", "pay", { user_id: persona, invoice_link: `https://t.me/$${slug}` });
      if (result.ok) { closeInvoice("paid"); return; }
      $("miniapp-invoice-error").textContent = `Payment failed: ${result.error_message || result.status}`;
    } catch (failure) {
      $("miniapp-invoice-error").textContent = failure.message;
    }
    $("miniapp-invoice-error").hidden = false;
    $("miniapp-invoice-cancel").textContent = "Close";
    if (invoice) invoice.failed = true;
  }

  async function signedInitData(userId, startParam) {
    const response = await fetch(`${CONTROL}/webapp/init_data`, {
      method: "POST",
      headers: { "X-Control-Token": TOKEN, "Content-Type": "application/json" },
      body: JSON.stringify(startParam ? { user_id: userId, start_param: startParam } : { user_id: userId }),
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.detail || data.title || `HTTP ${response.status}`);
    return data.init_data;
  }

  async function open(url, userId, startParam) {
    const target = new URL(url, window.location.href);
    if (!["http:", "https:"].includes(target.protocol)) throw new Error("not a web page");
    const initData = await signedInitData(userId, startParam);
    if (invoice) closeInvoice("cancelled");
    persona = userId;
    origin = target.origin;
    target.hash = new URLSearchParams({
      tgWebAppData: initData, tgWebAppVersion: "8.0", tgWebAppPlatform: "web",
      tgWebAppThemeParams: JSON.stringify(theme()),
    }).toString();
    $("miniapp-main").hidden = true;
    $("miniapp-back").hidden = true;
    root.dataset.haptics = "";
    root.hidden = false;
    frame.src = target.href;
  }

  function close() {
    if (invoice) closeInvoice("cancelled");
    persona = null;
    root.hidden = true;
    frame.src = "about:blank";
    origin = null;
  }

  window.addEventListener("message", (event) => {
    if (event.source !== frame.contentWindow || typeof event.data !== "string") return;
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    const data = message.eventData || {};
    switch (message.eventType) {
      case "web_app_setup_main_button": {
        const main = $("miniapp-main");
        main.hidden = !data.is_visible;
        main.textContent = data.is_progress_visible ? "…" : data.text || "";
        main.disabled = data.is_active === false || Boolean(data.is_progress_visible);
        break;
      }
      case "web_app_setup_back_button": $("miniapp-back").hidden = !data.is_visible; break;
      case "web_app_trigger_haptic_feedback":
        root.dataset.haptics = `${root.dataset.haptics || ""} ${data.notification_type || data.impact_style || data.type}`.trim();
        break;
      case "web_app_request_theme": send("theme_changed", { theme_params: theme() }); break;
      case "web_app_close": close(); break;
      case "web_app_open_invoice":
        if (typeof data.slug === "string") openInvoice(data.slug);
        break;
      default: break;
    }
  });
  $("miniapp-main").addEventListener("click", () => send("main_button_pressed"));
  $("miniapp-back").addEventListener("click", () => send("back_button_pressed"));
  $("miniapp-close").addEventListener("click", close);
  $("miniapp-invoice-pay").addEventListener("click", payInvoice);
  $("miniapp-invoice-cancel").addEventListener("click", () => {
    const failed = invoice && invoice.failed;
    $("miniapp-invoice-cancel").textContent = "Cancel";
    closeInvoice(failed ? "failed" : "cancelled");
  });
  $("miniapp-dark").addEventListener("change", () => {
    root.dataset.theme = $("miniapp-dark").checked ? "dark" : "light";
    send("theme_changed", { theme_params: theme() });
  });
  window.SandboxMiniApp = { open, close };
})();
