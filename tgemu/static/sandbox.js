/* SignalDesk sandbox: a small Telegram-like client over the emulator's control API.
 * No framework, no build step. All text goes into the DOM through text nodes, so anything the
 * bot sends is shown, never executed; formatting comes from the message entities. */
(() => {
  "use strict";

  const CONTROL = document.body.dataset.controlBase;
  const TOKEN = document.body.dataset.controlToken;  // per start; only this page carries it
  const $ = (id) => document.getElementById(id);
  const state = {
    bot: null,
    users: [],
    chats: [],
    persona: null,
    chatId: null,
    seq: 0,
    session: 0,
    abort: null,
    messages: new Map(),
  };

  async function request(base, method, path, payload, signal) {
    const options = { method, headers: { "X-Control-Token": TOKEN }, signal };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload ?? {});
    }
    const response = await fetch(`${base}/${path}`, options);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || data.title || `HTTP ${response.status}`);
    return data;
  }

  const api = (method, path, payload, signal) => request(CONTROL, method, path, payload, signal);

  /* Files need the token too, so they are fetched and shown as blob: URLs. */
  const blobs = new Map();
  async function fileUrl(fileId) {
    if (!blobs.has(fileId)) {
      blobs.set(fileId, (async () => {
        const response = await fetch(`${CONTROL}/files/${encodeURIComponent(fileId)}`, {
          headers: { "X-Control-Token": TOKEN },
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return URL.createObjectURL(await response.blob());
      })());
    }
    return blobs.get(fileId);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* t.me/$slug: an invoice link made by createInvoiceLink; paying it is an action here. */
  const INVOICE_LINK = /^https:\/\/t\.me\/\$[A-Za-z0-9_-]+$/;
  const invoiceLink = (url) => (typeof url === "string" && INVOICE_LINK.test(url) ? url : null);

  function safeUrl(url) {
    try {
      const parsed = new URL(url, window.location.href);
      return ["http:", "https:", "tg:", "mailto:"].includes(parsed.protocol) ? parsed.href : null;
    } catch {
      return null;
    }
  }

  let toastTimer = null;
  function toast(text, alert = false) {
    const box = $("toast");
    box.replaceChildren(el("span", null, text));
    box.className = alert ? "toast alert" : "toast";
    box.hidden = false;
    clearTimeout(toastTimer);
    if (alert) {
      const ok = el("button", null, "OK");
      ok.type = "button";
      ok.addEventListener("click", () => { box.hidden = true; });
      box.append(ok);
    } else {
      toastTimer = setTimeout(() => { box.hidden = true; }, 3000);
    }
  }

  /* ---- text + entities -> DOM (offsets are UTF-16 units, like JS string indices) ---- */
  function entityNode(entity, slice) {
    switch (entity.type) {
      case "bold": return el("b");
      case "italic": return el("i");
      case "underline": return el("u");
      case "strikethrough": return el("s");
      case "code": return el("code");
      case "pre": return el("pre");
      case "blockquote":
      case "expandable_blockquote": return el("blockquote");
      case "spoiler": {
        const node = el("span", "spoiler");
        node.addEventListener("click", () => node.classList.add("shown"));
        return node;
      }
      case "text_link":
      case "url": {
        const target = entity.type === "url" ? slice : entity.url;
        if (invoiceLink(target)) {
          const link = el("a", "invoice-link");
          link.href = "#";
          link.title = "Pay this invoice";
          link.addEventListener("click", (event) => {
            event.preventDefault();
            payWith({ invoice_link: target });
          });
          return link;
        }
        const href = safeUrl(target);
        if (!href) return el("span");
        const link = el("a");
        link.href = href;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        if (INVITE.test(href)) link.addEventListener("click", (event) => openInvite(event, href));
        return link;
      }
      case "bot_command": {
        const node = el("span", "command");
        node.addEventListener("click", () => sendText(slice));
        return node;
      }
      case "mention": return el("span", "mention");
      default: return el("span");
    }
  }

  function build(parent, text, start, end, entities) {
    let pos = start;
    let i = 0;
    while (i < entities.length) {
      const entity = entities[i];
      const stop = Math.min(entity.offset + entity.length, end);
      if (entity.offset < pos) { i += 1; continue; }
      if (entity.offset > pos) parent.append(text.slice(pos, entity.offset));
      const inner = [];
      let j = i + 1;
      while (j < entities.length && entities[j].offset < stop) {
        if (entities[j].offset + entities[j].length <= stop) inner.push(entities[j]);
        j += 1;
      }
      const node = entityNode(entity, text.slice(entity.offset, stop));
      build(node, text, entity.offset, stop, inner);
      parent.append(node);
      pos = stop;
      i = j;
    }
    if (pos < end) parent.append(text.slice(pos, end));
  }

  function formatted(text, entities) {
    const span = el("span", "text");
    const sorted = [...(entities || [])].sort((a, b) => a.offset - b.offset || b.length - a.length);
    build(span, text, 0, text.length, sorted);
    return span;
  }

  /* ---- message bubbles ---- */
  function money(currency, amount) {
    if (currency === "XTR") return `★ ${amount}`;  // Telegram Stars
    return `${(amount / 100).toFixed(2)} ${currency}`;
  }

  function time(date) {
    return new Date(date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function senderName(message) {
    if (message.from_bot) return state.bot ? state.bot.first_name : "Bot";
    const user = state.users.find((u) => u.id === message.user_id);
    return user ? user.first_name : String(message.user_id);
  }

  function serviceText(message) {
    const who = senderName(message);
    if (message.successful_payment) {
      const p = message.successful_payment;
      const renewal = p.is_recurring && !p.is_first_recurring ? " (subscription renewal)" : "";
      return `${who} paid ${money(p.currency, p.total_amount)} (${p.invoice_payload})${renewal}`;
    }
    if (message.refunded_payment) {
      const p = message.refunded_payment;
      return `${money(p.currency, p.total_amount)} refunded to ${who}`;
    }
    return null;
  }

  function invoiceCard(message) {
    const inv = message.invoice;
    const card = el("div", "invoice");
    card.append(el("div", "inv-title", inv.title), el("div", "inv-desc", inv.description));
    card.append(el("div", "inv-price", money(inv.currency, inv.total_amount)));
    const payButton = el("button", "pay-button", `Pay ${money(inv.currency, inv.total_amount)}`);
    payButton.type = "button";
    payButton.addEventListener("click", () => pay(message));
    card.append(payButton);
    return card;
  }

  function mediaNodes(message) {
    const nodes = [];
    if (message.photo) {
      const img = el("img", "photo");
      img.alt = message.caption || "photo";
      fileUrl(message.photo).then((url) => { img.src = url; }).catch(() => { img.alt = "photo unavailable"; });
      nodes.push(img);
    }
    if (message.document) {
      const name = message.document.file_name || "document";
      const link = el("a", "doc");
      link.append(el("span", "doc-icon", "📄"), el("span", "doc-name", name));
      link.href = "#";
      link.download = name;
      link.addEventListener("click", async (event) => {
        if (link.getAttribute("href") !== "#") return;  // already fetched: the browser saves it
        event.preventDefault();
        try {
          link.href = await fileUrl(message.document.file_id);
          link.click();
        } catch (error) {
          toast(`Download failed: ${error.message}`, true);
        }
      });
      nodes.push(link);
    }
    if (message.invoice) nodes.push(invoiceCard(message));
    return nodes;
  }

  function keyboardNode(message) {
    const rows = message.reply_markup && message.reply_markup.inline_keyboard;
    if (!rows || !rows.length) return null;
    const box = el("div", "keyboard");
    for (const row of rows) {
      const line = el("div", "kb-row");
      for (const button of row) {
        const node = el("button", "kb-button", button.text);
        node.type = "button";
        const leaves = (button.url && !invoiceLink(button.url)) || button.web_app || button.login_url;
        if (leaves) node.classList.add("link");  // an invoice link is paid here, not opened
        node.addEventListener("click", () => pressButton(message, button, node));
        line.append(node);
      }
      box.append(line);
    }
    return box;
  }

  function bubbleRow(message) {
    const service = serviceText(message);
    const row = el("div", `row ${service ? "service" : message.from_bot ? "bot" : "user"}`);
    row.dataset.messageId = String(message.message_id);
    const bubble = el("div", "bubble");
    if (service) {
      bubble.textContent = service;
      row.append(bubble);
      return row;
    }
    const chat = state.chats.find((c) => c.id === state.chatId);
    if (chat && chat.type !== "private" && !message.from_bot) {
      bubble.append(el("div", "sender", senderName(message)));
    }
    const replied = state.messages.get(message.reply_to_message_id);
    if (replied) bubble.append(el("div", "quote", replied.text || replied.caption || "…"));
    bubble.append(...mediaNodes(message));
    const body = message.text ?? message.caption;
    if (body) bubble.append(formatted(body, message.text != null ? message.entities : message.caption_entities));
    const meta = el("span", "meta", `${message.edited ? "edited " : ""}${time(message.date)}`);
    bubble.append(meta);
    row.append(bubble);
    const keyboard = keyboardNode(message);
    if (keyboard) row.append(keyboard);
    return row;
  }

  function scrollToEnd(force) {
    const box = $("messages");
    const near = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    if (force || near) box.scrollTop = box.scrollHeight;
  }

  function showMessage(message) {
    const box = $("messages");
    const existing = box.querySelector(`[data-message-id="${message.message_id}"]`);
    state.messages.set(message.message_id, message);
    if (message.deleted) {
      if (existing) existing.remove();
      return;
    }
    $("empty").hidden = true;
    const row = bubbleRow(message);
    if (existing) existing.replaceWith(row);
    else box.append(row);
    if (message.from_bot && message.reply_markup && !message.reply_markup.inline_keyboard) {
      replyKeyboard(message.reply_markup);
    }
    scrollToEnd(!existing);
  }

  function replyKeyboard(markup) {
    const box = $("reply-keyboard");
    box.replaceChildren();
    box.hidden = !markup.keyboard;
    for (const row of markup.keyboard || []) {
      for (const button of row) {
        const label = typeof button === "string" ? button : button.text;
        const node = el("button", null, label);
        node.type = "button";
        node.addEventListener("click", () => {
          if (markup.one_time_keyboard) box.hidden = true;
          sendText(label);
        });
        box.append(node);
      }
    }
  }

  let typingTimer = null;
  function clearTyping() {
    clearTimeout(typingTimer);
    $("bot-status").textContent = "bot";
    $("bot-status").classList.remove("typing");
  }

  function showTyping(action) {
    const status = $("bot-status");
    status.textContent = `${action === "typing" ? "typing" : action.replaceAll("_", " ")}…`;
    status.classList.add("typing");
    clearTimeout(typingTimer);
    typingTimer = setTimeout(clearTyping, 5000);
  }

  function applyEvent(event) {
    if (event.type === "chat_action") {
      showTyping(event.action);
      return;
    }
    if (!event.message) return;
    if (event.message.from_bot) clearTyping();
    showMessage(event.message);
    refreshSubscriptions();  // the bot may have changed one (editUserStarSubscription) and said so
  }

  /* ---- live transcript: long-poll the control API ---- */
  async function follow(session) {
    while (session === state.session) {
      try {
        const path = `chats/${state.chatId}/messages?after_seq=${state.seq}&wait=25`;
        const data = await api("GET", path, undefined, state.abort.signal);
        if (session !== state.session) return;
        if ($("bot-status").textContent === "reconnecting…") clearTyping();
        data.events.forEach(applyEvent);
        state.seq = data.last_seq;
      } catch (error) {
        if (session !== state.session || error.name === "AbortError") return;
        $("bot-status").textContent = "reconnecting…";
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  function openChat(chatId) {
    if (state.abort) state.abort.abort();
    state.session += 1;
    state.abort = new AbortController();
    state.chatId = chatId;
    state.seq = 0;
    state.messages.clear();
    const box = $("messages");
    box.replaceChildren($("empty"));
    $("empty").hidden = false;
    $("reply-keyboard").hidden = true;
    $("commands-menu").hidden = true;
    follow(state.session);
  }

  /* ---- acting as the persona ---- */
  async function sendText(text) {
    if (!state.persona || !text.trim()) return;
    try {
      await api("POST", "send", { user_id: state.persona.id, chat_id: state.chatId, text });
    } catch (error) {
      toast(`Not sent: ${error.message}`, true);
    }
  }

  async function pressButton(message, button, node) {
    if (button.callback_data !== undefined) {
      node.disabled = true;
      try {
        const pressed = await api("POST", "press", {
          user_id: state.persona.id,
          chat_id: state.chatId,
          message_id: message.message_id,
          callback_data: button.callback_data,
        });
        const answer = await api("GET", `callback/${pressed.callback_query_id}?wait=10`);
        if (!answer.answered) toast("The bot did not answer this button (no answerCallbackQuery).", true);
        else if (answer.text) toast(answer.text, answer.show_alert);
        else if (answer.url && safeUrl(answer.url)) window.open(safeUrl(answer.url), "_blank", "noopener");
      } catch (error) {
        toast(error.message, true);
      } finally {
        node.disabled = false;
      }
      return;
    }
    if (invoiceLink(button.url)) {
      payWith({ invoice_link: button.url });
      return;
    }
    if (button.web_app && window.SandboxMiniApp) {
      window.SandboxMiniApp.open(button.web_app.url, state.persona.id).catch((e) => toast(e.message, true));
      return;
    }
    const url = button.url || (button.web_app && button.web_app.url) || (button.login_url && button.login_url.url);
    if (url && safeUrl(url)) window.open(safeUrl(url), "_blank", "noopener");
    else if (button.pay && message.invoice) pay(message);
    else if (button.copy_text) {
      navigator.clipboard?.writeText(button.copy_text.text);
      toast("Copied");
    } else toast("This button type is not supported in the sandbox");
  }

  /* A chat invite link (https://t.me/+...) opened by the persona: they join (or ask to). */
  const INVITE = /^https:\/\/t\.me\/\+[\w-]+$/;
  async function openInvite(event, href) {
    event.preventDefault();
    try {
      const result = await api("POST", "join", { user_id: state.persona.id, invite_link: href });
      const title = result.chat.title || result.chat.id;
      toast(result.status === "requested" ? `Asked to join ${title}` : `Joined ${title}`);
    } catch (error) {
      toast(error.message, true);
    }
  }

  const pay = (message) => payWith({ chat_id: state.chatId, message_id: message.message_id });

  async function payWith(target) {
    if (!state.persona) return;
    toast("Paying…");
    try {
      const result = await api("POST", "pay", { user_id: state.persona.id, ...target });
      toast(result.ok ? "Payment successful" : `Payment failed: ${result.error_message}`, !result.ok);
    } catch (error) {
      toast(error.message, true);
    }
    refreshSubscriptions();
  }

  /* ---- Stars subscriptions: the persona's, as Telegram's settings show them ---- */
  function day(date) {
    return new Date(date * 1000).toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" });
  }

  function subscriptionStatus(sub) {
    const until = day(sub.subscription_expiration_date);
    if (sub.state === "active") return `Renews ${until}`;
    if (sub.state === "canceled") return `Canceled${sub.canceled_by_bot ? " by the bot" : ""}: paid until ${until}`;
    if (sub.state === "failed") return `Renewal failed: the payment due ${until} did not go through`;
    return `Ended ${until}`;
  }

  function subscriptionButton(label, action) {
    const button = el("button", "sub-button", label);
    button.type = "button";
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        toast(await action());
      } catch (error) {
        toast(error.message, true);
      }
      refreshSubscriptions();
    });
    return button;
  }

  async function setCanceled(sub, canceled) {
    await api("POST", "subscriptions/cancel", {
      user_id: state.persona.id,
      telegram_payment_charge_id: sub.id,
      canceled,
    });
    return canceled ? "Subscription canceled" : "Subscription re-enabled";
  }

  async function renew(sub, fail) {
    const result = await api("POST", "subscriptions/renew", { telegram_payment_charge_id: sub.id, fail });
    if (result.status === "renewed") return `Renewed: ${money(sub.currency, sub.amount)} paid`;
    if (result.status === "failed") return "The renewal payment failed";
    return "The subscription ended";
  }

  function subscriptionItem(sub) {
    const item = el("li", `sub sub-${sub.state}`);
    item.dataset.subscriptionId = sub.id;
    item.append(
      el("div", "sub-title", sub.title),
      el("div", "sub-price", `${money(sub.currency, sub.amount)} / 30 days`),
      el("div", "sub-state", subscriptionStatus(sub)),
    );
    const actions = el("div", "sub-actions");
    if (sub.state === "active") actions.append(subscriptionButton("Cancel subscription", () => setCanceled(sub, true)));
    if (sub.state === "canceled" && !sub.canceled_by_bot && sub.canceled_by_user) {
      actions.append(subscriptionButton("Re-enable", () => setCanceled(sub, false)));
    }
    if (sub.state === "canceled") actions.append(subscriptionButton("End the period", () => renew(sub, false)));
    if (sub.state === "active" || sub.state === "failed") {
      actions.append(
        subscriptionButton("Renew now", () => renew(sub, false)),
        subscriptionButton("Fail renewal", () => renew(sub, true)),
      );
    }
    if (actions.childElementCount) item.append(actions);
    return item;
  }

  let subsTimer = null;
  function refreshSubscriptions() {
    clearTimeout(subsTimer);  // one request for a burst of events
    subsTimer = setTimeout(async () => {
      if (!state.persona) return;
      const persona = state.persona.id;
      try {
        const data = await api("GET", `subscriptions?user_id=${persona}`);
        if (!state.persona || state.persona.id !== persona) return;
        $("subs-list").replaceChildren(...data.subscriptions.map(subscriptionItem));
        $("subs").hidden = !data.subscriptions.length;
      } catch (error) {
        /* the panel stays as it was; the next event refreshes it */
      }
    }, 50);
  }

  async function toggleCommands() {
    const menu = $("commands-menu");
    if (!menu.hidden) { menu.hidden = true; return; }
    menu.replaceChildren();
    const data = await api("GET", `chats/${state.chatId}/commands?user_id=${state.persona.id}`);
    const chat = state.chats.find((c) => c.id === state.chatId);
    const suffix = chat && chat.type !== "private" && state.bot ? `@${state.bot.username}` : "";
    if (!data.commands.length) menu.append(el("div", "none", "The bot set no commands for this chat."));
    for (const command of data.commands) {
      const item = el("button");
      item.type = "button";
      item.append(el("span", "cmd", `/${command.command}`), el("span", null, command.description));
      item.addEventListener("click", () => {
        menu.hidden = true;
        sendText(`/${command.command}${suffix}`);
      });
      menu.append(item);
    }
    menu.hidden = false;
  }

  /* ---- personas and chats ---- */
  function initials(user) {
    const first = (user.first_name || "?").charAt(0);
    const last = (user.last_name || "").charAt(0);
    return (first + last).toUpperCase();
  }

  function renderPersonas() {
    const list = $("personas");
    list.replaceChildren();
    const labelled = state.users.filter((u) => u.label);
    for (const user of labelled.length ? labelled : state.users) {
      const item = el("li");
      const button = el("button", "persona");
      button.type = "button";
      button.dataset.userId = String(user.id);
      if (state.persona && state.persona.id === user.id) {
        button.classList.add("active");
        button.setAttribute("aria-pressed", "true");
      }
      const who = el("span", "who");
      who.append(el("span", "name", user.first_name), el("span", "label", user.label || `id ${user.id}`));
      button.append(el("span", "avatar", initials(user)), who);
      button.addEventListener("click", () => choosePersona(user));
      item.append(button);
      list.append(item);
    }
  }

  /* Labels follow the personas' roles (the app updates them): long-poll the users. */
  async function followUsers(version) {
    for (;;) {
      try {
        const data = await api("GET", `users?after_version=${version}&wait=25`);
        version = data.version;
        state.users = data.users;
        if (state.persona) state.persona = state.users.find((u) => u.id === state.persona.id) || state.persona;
        renderPersonas();
      } catch (error) {
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  }

  function renderChats() {
    const select = $("chat-select");
    select.replaceChildren();
    const mine = state.chats.filter(
      (c) => c.id === state.persona.id || (c.type !== "private" && c.members.includes(state.persona.id)),
    );
    for (const chat of mine) {
      const option = el("option", null, chat.type === "private" ? "Private chat with the bot" : `${chat.title} (${chat.type})`);
      option.value = String(chat.id);
      select.append(option);
    }
    select.value = String(state.persona.id);
  }

  async function choosePersona(user) {
    state.persona = user;
    state.chats = (await api("GET", "chats")).chats;
    renderPersonas();
    renderChats();
    $("subs").hidden = true;
    refreshSubscriptions();
    $("input").disabled = false;
    $("send").disabled = false;
    $("commands-button").disabled = false;
    openChat(user.id);
    $("input").focus();
  }

  async function start() {
    const info = await api("GET", "bot");
    state.bot = info.bot;
    $("bot-name").textContent = `${info.bot.first_name} (@${info.bot.username})`;
    const menuButton = info.menu_button || {};
    if (menuButton.type === "web_app" && safeUrl(menuButton.web_app.url)) {
      const open = $("menu-app");
      open.textContent = menuButton.text || "Open app";
      open.hidden = false;
      open.addEventListener("click", () => {
        if (window.SandboxMiniApp && state.persona) {
          window.SandboxMiniApp.open(menuButton.web_app.url, state.persona.id).catch((e) => toast(e.message, true));
        } else window.open(safeUrl(menuButton.web_app.url), "_blank", "noopener");
      });
    }
    const users = await api("GET", "users");
    state.users = users.users;
    renderPersonas();
    followUsers(users.version);
    $("input").disabled = true;
    $("send").disabled = true;
    $("commands-button").disabled = true;
  }

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("input");
    const text = input.value;
    input.value = "";
    sendText(text);
  });
  $("input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("commands-button").addEventListener("click", () => toggleCommands().catch((e) => toast(e.message, true)));
  $("chat-select").addEventListener("change", (event) => openChat(Number(event.target.value)));

  start().catch((error) => toast(`Sandbox unavailable: ${error.message}`, true));
})();
