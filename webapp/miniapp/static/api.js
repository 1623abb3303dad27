/* The JSON API client: signs in with Telegram's initData, then sends the session token. Every
 * call but the live stream is time-bounded: a server that does not answer is an error shown to
 * the user, not a page waiting for ever (and the view's next task behind it, ui.js). */
import { t } from "./ui.js";

const BASE = document.body.dataset.api;
const TIMEOUT_MS = 20000;
let session = null;

export class ApiError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
    this.status = problem.status;
    this.problem = problem;
  }
}

/** fetch() and `read(response)` (its body) under one deadline of TIMEOUT_MS: `{ response, body }`,
 * body null when it is not what `read` expects (an error page that is not JSON). A timeout or an
 * unreachable server is an ApiError (status 0) in the user's language. */
async function bounded(url, options, read) {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  try {
    const response = await fetch(url, { ...options, signal });
    const body = await read(response).catch((error) => { if (signal.aborted) throw error; return null; });
    return { response, body };
  } catch {
    const key = signal.aborted ? "miniapp.error_timeout" : "miniapp.error_network";
    throw new ApiError({ status: 0, title: t(key) });
  }
}

async function send(method, path, body, token) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await bounded(`${BASE}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  }, (r) => r.json());
  const { response } = answer;
  const data = answer.body ?? { status: response.status, title: response.statusText };
  if (!response.ok) throw new ApiError({ status: response.status, ...data });
  return data;
}

let initData = "";
export async function signIn(data) {
  initData = data;
  session = await send("POST", "/auth/telegram", { init_data: data });
  return session;
}

export async function call(method, path, body) {
  try {
    return await send(method, path, body, session && session.token);
  } catch (error) {
    if (error.status === 401 && initData) {  // the session expired: sign in again, once
      await signIn(initData);
      return send(method, path, body, session.token);
    }
    throw error;
  }
}

export const strings = (language) => send("GET", `/i18n/${language}`);

async function openStream(token) {
  const response = await fetch(`${BASE}/stream`, {
    headers: { Accept: "text/event-stream", Authorization: `Bearer ${token}` }, cache: "no-store",
  });
  if (!response.ok) {
    const data = await response.json().catch(() => ({ title: response.statusText }));
    throw new ApiError({ status: response.status, ...data });
  }
  return response;
}

/** Read the live-update stream until it ends: `opened()` once connected, then each decoded
 * chunk to `onChunk` (signs in again, once, when the session has expired). */
export async function stream(opened, onChunk) {
  let response;
  try {
    response = await openStream(session && session.token);
  } catch (error) {
    if (error.status !== 401 || !initData) throw error;
    await signIn(initData);
    response = await openStream(session.token);
  }
  opened();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    onChunk(value);
  }
}

/** A non-JSON answer (an export): `{ blob, filename }` from its Content-Disposition. */
export async function download(path) {
  const fetchOnce = () => bounded(`${BASE}${path}`, { headers: { Authorization: `Bearer ${session && session.token}` } },
    (r) => (r.ok ? r.blob() : r.json()));
  let { response, body } = await fetchOnce();
  if (response.status === 401 && initData) { await signIn(initData); ({ response, body } = await fetchOnce()); }
  if (!response.ok) throw new ApiError({ status: response.status, ...(body ?? { title: response.statusText }) });
  if (body === null) throw new ApiError({ status: 0, title: t("miniapp.error_network") });
  const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  return { blob: body, filename: match ? match[1] : path.split("/").pop() };
}
