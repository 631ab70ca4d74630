// The demo page: a small account portal in plain JS, no build step, no library. Every call is a
// cross-origin fetch to the API, with the token in the Authorization header. Tokens live in
// sessionStorage (gone when the tab closes); a 401 triggers one refresh (whose answer brings a new
// refresh token, kept in place of the spent one) and one retry before the page signs out. A 401
// token_revoked, or a refresh refused, means this session was ended (from another device, by a
// password change, or by the API): the page signs out and says so. A 403
// reauthentication_required opens the re-authentication prompt, and the change is sent again
// once the user has signed in again. Tokens are never logged.
//
// Nothing the user or the API wrote is ever parsed as HTML: the page builds its DOM with
// createElement and textContent only (the server's Content-Security-Policy enforces it with
// Trusted Types: see scripts/serve-web.py), and the one picture the API draws, the
// authenticator's QR code, is shown as a data: image, which runs no script.
"use strict";

// ---------------------------------------------------------------------------------------------
// The API, and calling it

// The API: `?api=http://localhost:3000` on the page's URL, or the local API's default. The
// page's Content-Security-Policy lets fetch reach one origin only, the API it is served for.
const DEFAULT_API = "http://localhost:3000";
const API = (() => {
  const asked = new URLSearchParams(location.search).get("api") || DEFAULT_API;
  try {
    const url = new URL(asked);
    if (url.protocol === "http:" || url.protocol === "https:") return url.href.replace(/\/+$/, "");
  } catch (e) {
    // Not a URL: the default below.
  }
  return DEFAULT_API;
})();
const TOKEN_KEYS = ["id_token", "access_token", "refresh_token", "username"];

let reauth = null; // the re-authentication prompt's {promise, resolve, reject, focus} while open

const $ = (selector) => document.querySelector(selector);

const tokens = {
  get: (k) => sessionStorage.getItem(k),
  save(answer) {
    for (const k of TOKEN_KEYS) if (answer[k]) sessionStorage.setItem(k, answer[k]);
  },
  clear() {
    for (const k of TOKEN_KEYS) sessionStorage.removeItem(k);
  },
};

// The API's one error shape, {"error": {"code", "message"}}, or API Gateway's {"message"}.
class ApiError extends Error {
  constructor(status, body) {
    const e = body && body.error;
    super(e ? `${e.code}: ${e.message}` : (body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = e ? e.code : null;
    this.details = e || {};
  }
}

// Thrown once this session is over and the page has signed out and said why: nothing else is
// reported over that notice.
class SessionEnded extends Error {}

async function send(path, { method = "GET", body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers["Authorization"] = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new Error(`The API at ${API} did not answer (${e.message}).`);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    // Not JSON: the status alone says what happened.
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data || {};
}

// Why this session is over, by the API's code: a refused token, or a refused refresh.
const ENDED = {
  token_revoked: "This session was ended: signed out from another device, or by a change to the account. Sign in again.",
  invalid_refresh_token: "This session was ended: signed out from another device, or by a change to the account. Sign in again.",
  refresh_token_reused: "This session was ended: its refresh token was used twice, as only a stolen copy would be. Sign in again, and change your password if that was not you.",
  session_timed_out: "This session was ended after too long without use. Sign in again.",
};

// Signs out, saying why, and returns what to throw.
function sessionEnded(code) {
  signedOut(ENDED[code] || "Your session has ended; please sign in again.", true);
  return new SessionEnded(ENDED[code] || "session ended");
}

// Swaps the refresh token for new tokens. Refresh tokens rotate: the answer's refresh token
// replaces the one sent, which is spent (sent again after a few seconds, it would end this
// session as stolen). One refresh at a time, shared by every call that needs it: two at once
// would spend the same token twice.
let refreshing = null;
function refresh() {
  if (!refreshing) refreshing = rotate().finally(() => { refreshing = null; });
  return refreshing;
}

async function rotate() {
  const refresh_token = tokens.get("refresh_token");
  if (!refresh_token) throw sessionEnded(null);
  let answer;
  try {
    // The user name only for an API from before rotation, which needed it.
    const username = tokens.get("username");
    answer = await send("/refresh", { method: "POST", body: username ? { username, refresh_token } : { refresh_token } });
  } catch (e) {
    if (e instanceof ApiError && (e.status === 400 || e.status === 401)) throw sessionEnded(e.code);
    throw e;
  }
  // Signed out, or signed in again, meanwhile: these tokens belong to no session the page holds.
  if (tokens.get("refresh_token") !== refresh_token) return;
  if (!answer.id_token || !answer.access_token) throw new Error("The API answered /refresh without tokens.");
  tokens.save(answer);
}

// A call with a token (`kind`: "id_token" or "access_token"). On a 401, one refresh and one
// retry; a 401 token_revoked (this session was ended) and a refused refresh sign the page out.
async function signedCall(path, kind, options) {
  const call = () => send(path, { ...options, token: tokens.get(kind) });
  try {
    return await call();
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    if (e.code === "token_revoked") throw sessionEnded(e.code);
  }
  await refresh();
  try {
    return await call();
  } catch (e) {
    if (e instanceof ApiError && e.code === "token_revoked") throw sessionEnded(e.code);
    throw e;
  }
}

// signedCall, and where the change needs a recent sign-in (403 reauthentication_required), the
// re-authentication prompt, then the same call again with the new sign-in's tokens.
async function authed(path, kind, options = {}) {
  try {
    return await signedCall(path, kind, options);
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== "reauthentication_required") throw e;
    await reauthenticate(e.details.window_seconds);
    return await signedCall(path, kind, options);
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function status(text, isError = false) {
  const el = $("#status");
  el.textContent = text;
  el.classList.toggle("error", isError);
  // While the re-authentication prompt is open, it says the same, where the user looks.
  if (reauth) $("#reauth-note").textContent = text;
}

// A value to show: never `undefined` or `null` on the page.
const shown = (value, absent = "—") => (value === undefined || value === null || value === "" ? absent : String(value));

// The parts that are there, joined: "Le Guin · fiction · 9.99", never "x · undefined".
const joined = (...parts) => parts.filter((p) => p !== undefined && p !== null && p !== "").join(" · ");

function el(tag, { text, className, data } = {}, ...children) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  for (const [k, v] of Object.entries(data || {})) if (v !== undefined && v !== null) node.dataset[k] = v;
  node.append(...children);
  return node;
}

const when = (iso) => {
  const d = new Date(iso);
  return iso && !Number.isNaN(d.getTime()) ? d.toLocaleString() : shown(iso, "");
};

// A time the API gives in epoch seconds, as a <time> in the reader's local time.
function timeOf(seconds) {
  const d = new Date(Number(seconds) * 1000);
  if (typeof seconds !== "number" || Number.isNaN(d.getTime())) return el("span", { text: "an unknown time" });
  const node = el("time", { text: d.toLocaleString() });
  node.dateTime = d.toISOString();
  return node;
}

// A form's fields, the empty ones left out (a code field hidden while two-factor sign-in is off).
function formJson(form) {
  return Object.fromEntries([...new FormData(form).entries()].filter(([, v]) => v !== ""));
}

// Runs an action, reporting the API's error (or the browser's) in the status line.
async function attempt(action) {
  try {
    await action();
  } catch (e) {
    // The page said so when it signed out.
    if (e instanceof SessionEnded) return;
    status(e.message || String(e), true);
  }
}

function onSubmit(selector, action) {
  $(selector).addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(() => action(event.target, formJson(event.target)));
  });
}

function onClick(selector, action) {
  $(selector).addEventListener("click", () => attempt(action));
}

// A form field the user must fill before a button that does not submit the form.
function required(input) {
  if (input.reportValidity()) return input.value.trim();
  return null;
}

// A form's "Keep me signed in on my other devices", as the API takes it: false (the other
// sessions end) unless ticked.
function keepingOthers(form, body) {
  const box = form.elements.keep_other_sessions;
  return box ? { ...body, keep_other_sessions: box.checked } : body;
}

// What an answer's `other_sessions_ended` says, or nothing.
function othersEnded(answer) {
  const n = answer && answer.other_sessions_ended;
  if (typeof n !== "number" || n < 1) return "";
  return n === 1 ? " Your other session was signed out." : ` Your ${n} other sessions were signed out.`;
}

// ---------------------------------------------------------------------------------------------
// Views: signed out (sign in, sign up, forgot, recover) and signed in (profile, security, books),
// one at a time, named by the URL's fragment.

let me = null; // GET /me's answer while signed in

function route() {
  const side = me ? "in" : "out";
  const views = [...document.querySelectorAll(".view")].filter((v) => v.dataset.when === side);
  const wanted = location.hash.slice(1);
  const view = views.find((v) => v.dataset.view === wanted) || views[0];
  for (const v of document.querySelectorAll(".view")) v.hidden = v !== view;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === `#${view.dataset.view}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  $("#nav-out").hidden = side !== "out";
  $("#nav-in").hidden = side !== "in";
  $("#account").hidden = side !== "in";
  // Each signed-in view shows what the API says now.
  if (view.dataset.view === "security") {
    loadPasskeys();
    attempt(loadSessions);
  }
  if (view.dataset.view === "books") attempt(loadBooks);
}

function go(view) {
  if (location.hash === `#${view}`) route();
  else location.hash = view;
}

window.addEventListener("hashchange", route);

// ---------------------------------------------------------------------------------------------
// Signing in and out

async function loadMe() {
  me = await authed("/me", "id_token");
  showMe(me);
  return me;
}

function showMe(me) {
  $("#nav-admin").hidden = !(Array.isArray(me.groups) && me.groups.includes("admin"));
  const rows = [
    ["username", "Username", me.username],
    ["e-mail", "E-mail", me.email],
    ["verified", "Verified", me.email_verified ? "yes" : "no"],
    ["name", "Name", me.name],
    ["groups", "Groups", Array.isArray(me.groups) && me.groups.length ? me.groups.join(", ") : "none"],
    ["sub", "User id", me.sub],
  ];
  $("#me").replaceChildren(...rows.flatMap(([field, label, value]) => [
    el("dt", { text: label }),
    el("dd", { text: shown(value), data: { field } }),
  ]));
  $("#whoami").textContent = shown(me.name || me.email || me.username, "");
  const name = $("#name-form [name=name]");
  if (document.activeElement !== name) name.value = me.name || "";
}

// The tokens of a sign-in: saved, and the page shows the account.
async function signedIn(answer) {
  tokens.save(answer);
  endChallenge();
  $("#login-form").reset();
  await loadMe();
  status((answer.message && answer.message !== "Signed in." ? answer.message : `Signed in as ${shown(me.email || me.username)}.`) + othersEnded(answer));
  await loadMfa();
  if (answer.recovery_codes) {
    showRecoveryCodes(answer.recovery_codes);
    go("security");
  } else {
    const wanted = location.hash.slice(1);
    go(["profile", "security", "books"].includes(wanted) ? wanted : "profile");
  }
}

function signedOut(message, isError = false) {
  const username = me && me.username;
  tokens.clear();
  me = null;
  closeReauth(new SessionEnded("signed out"));
  endChallenge();
  $("#me").replaceChildren();
  $("#sessions").replaceChildren();
  $("#whoami").textContent = "";
  $("#passkeys").replaceChildren();
  $("#methods").replaceChildren();
  $("#books").replaceChildren();
  $("#recovery").hidden = true;
  $("#totp-setup").hidden = true;
  setupToken = null;
  passkeyProofByEmail(null);
  for (const form of document.querySelectorAll("[data-when=in] form")) form.reset();
  // Ended elsewhere: the name is there to sign in again.
  if (isError && username) $("#login-form [name=username]").value = username;
  if (message) status(message, isError);
  go("sign-in");
}

// This device only: its refresh token is revoked, and its tokens are refused at once; the
// account's other sessions stay signed in.
onClick("#logout-here", async () => {
  await authed("/logout", "access_token", {
    method: "POST",
    body: { refresh_token: tokens.get("refresh_token") },
  });
  signedOut("Signed out on this device.");
});

onClick("#logout", async () => {
  await authed("/logout", "access_token", { method: "POST", body: {} });
  signedOut("Signed out on every device.");
});

onSubmit("#login-form", async (form, body) => {
  await afterLogin(await send("/login", { method: "POST", body }));
});

// Without a password: /login/start with the method. The answer is a challenge (the passkey, or
// the code sent by e-mail), or the tokens.
async function startLogin(method, username = required($("#login-form [name=username]"))) {
  if (!username) return;
  let answer;
  try {
    answer = await send("/login/start", { method: "POST", body: { username, method } });
  } catch (e) {
    if (e.code === "feature_unavailable") {
      throw new Error("This API's user pool does not offer sign-in without a password (passkeys, codes by e-mail).");
    }
    throw e;
  }
  await afterLogin({ username, ...answer });
}

onClick("#login-passkey", () => startLogin("passkey"));
onClick("#login-email", () => startLogin("email_otp"));

onSubmit("#register-form", async (form, body) => {
  const answer = await send("/register", { method: "POST", body });
  $("#confirm-form [name=username]").value = body.username;
  $("#login-form [name=username]").value = body.username;
  status(answer.message || "Account created. Confirm it with the code sent to you.");
});

onSubmit("#confirm-form", async (form, body) => {
  const answer = await send("/confirm_user", { method: "POST", body });
  form.confirmation_code.value = "";
  $("#login-form [name=username]").value = body.username;
  status(answer.message || "Account confirmed. You can sign in.");
});

onClick("#resend-code", async () => {
  const username = required($("#confirm-form [name=username]"));
  if (!username) return;
  const answer = await send("/resend_code", { method: "POST", body: { username } });
  status(answer.message || "A new code is on its way.");
});

onSubmit("#forgot-form", async (form, body) => {
  const answer = await send("/forgot_password", { method: "POST", body });
  $("#reset-form [name=username]").value = body.username;
  status(answer.message || "If the account exists, a code is on its way.");
});

onSubmit("#reset-form", async (form, body) => {
  const answer = await send("/reset_password", { method: "POST", body });
  form.reset();
  $("#forgot-form").reset();
  $("#login-form [name=username]").value = body.username;
  status(answer.message || "Password changed. Sign in with the new one.");
  go("sign-in");
});

// The tokens, or (in a pool where every user must have an authenticator) the MFA_SETUP
// challenge: a new authenticator is set up inside the sign-in.
onSubmit("#recover-form", async (form, body) => {
  const answer = await send("/login/recover", { method: "POST", body: keepingOthers(form, body) });
  form.reset();
  await afterLogin(answer);
  if (answer.challenge && answer.message) status(answer.message);
});

// ---------------------------------------------------------------------------------------------
// The next step of a sign-in (/login, /login/start and /login/recover may answer a challenge,
// and so may /login/challenge itself): kept in this page's memory only.

let pending = null; // {challenge, username, session, ...the rest of the answer}

const CHALLENGES = {
  SOFTWARE_TOKEN_MFA: { title: "Two-step sign-in", code: "Code from your authenticator app" },
  MFA_SETUP: { title: "Set up an authenticator app", code: "Code from your authenticator app" },
  EMAIL_OTP: { title: "Check your e-mail", code: "Code from the e-mail" },
  WEB_AUTHN: { title: "Use your passkey" },
  SELECT_CHALLENGE: { title: "How do you want to sign in?" },
  PASSWORD: { title: "Your password", password: true },
  NEW_PASSWORD_REQUIRED: { title: "Choose a new password", newPassword: true },
};

const METHODS = {
  password: "Password",
  email_otp: "A code by e-mail",
  passkey: "Passkey",
};

async function afterLogin(answer) {
  if (!answer.challenge) return reauth ? reauthenticated(answer) : signedIn(answer);
  pending = answer;
  // MFA_SETUP starts with the secret to set up: asked for at once.
  if (answer.challenge === "MFA_SETUP" && !answer.secret) {
    return afterLogin(await answerChallenge({}));
  }
  showChallenge(answer);
  if (answer.challenge === "WEB_AUTHN") await usePasskey();
}

function answerChallenge(fields) {
  const { challenge, username, session } = pending;
  return send("/login/challenge", { method: "POST", body: { challenge, username, session, ...fields } });
}

function showChallenge(answer) {
  const form = $("#challenge-form");
  const kind = CHALLENGES[answer.challenge] || { title: "One more step" };
  form.reset();
  $("#challenge-title").textContent = kind.title;
  $("#challenge-hint").textContent = {
    EMAIL_OTP: `We sent a code to ${shown(answer.destination, "your e-mail address")}.`,
    WEB_AUTHN: "Your browser asks for the passkey of this account.",
    SELECT_CHALLENGE: "This account can sign in more than one way.",
  }[answer.challenge] || (CHALLENGES[answer.challenge] ? "" : `The API asks for ${answer.challenge}, which this page does not know.`);

  const setup = answer.challenge === "MFA_SETUP" && answer.secret;
  $("#challenge-setup").hidden = !setup;
  if (setup) {
    showQr($("#challenge-setup .qr"), answer.qr_svg);
    $("#challenge-setup [data-field=secret]").textContent = answer.secret;
  }

  const methods = answer.challenge === "SELECT_CHALLENGE" && Array.isArray(answer.methods) ? answer.methods : [];
  const box = $("#challenge-methods");
  box.replaceChildren(...methods.filter((m) => m !== "password").map((method) => {
    const button = el("button", { text: method === "passkey" ? "Use a passkey" : "E-mail me a code", className: "secondary", data: { method } });
    button.type = "button";
    button.addEventListener("click", () => attempt(async () => afterLogin(await answerChallenge({ method }))));
    return button;
  }));
  box.hidden = !methods.length;

  const asksPassword = kind.password || methods.includes("password");
  $("#challenge-code").hidden = !kind.code;
  if (kind.code) $("#challenge-code").firstChild.textContent = `${kind.code} `;
  $("#challenge-password").hidden = !asksPassword;
  $("#challenge-new-password").hidden = !kind.newPassword;
  $("#challenge-submit").hidden = !(kind.code || asksPassword || kind.newPassword);
  $("#challenge-submit").textContent = methods.includes("password") ? "Continue with the password" : "Continue";
  $("#challenge-passkey").hidden = answer.challenge !== "WEB_AUTHN";

  form.hidden = false;
  if (reauth) {
    // Signing in again: the step goes into the prompt, in place of its first form.
    $("#reauth-note").before(form);
    $("#reauth-form").hidden = true;
  } else {
    $("#login-form").hidden = true;
    go("sign-in");
  }
  status("One more step to sign in.");
}

function endChallenge() {
  pending = null;
  const form = $("#challenge-form");
  form.hidden = true;
  form.reset();
  // Back where it lives, after a step taken in the re-authentication prompt.
  if (form.previousElementSibling !== $("#login-form")) $("#login-form").after(form);
  $("#login-form").hidden = false;
  $("#reauth-form").hidden = false;
}

onSubmit("#challenge-form", async (form, body) => {
  const { challenge } = pending;
  const fields = {};
  if (challenge === "NEW_PASSWORD_REQUIRED") fields.new_password = body.new_password;
  else if (challenge === "PASSWORD") fields.password = body.password;
  else if (challenge === "SELECT_CHALLENGE") Object.assign(fields, { method: "password", password: body.password });
  else if (body.code) fields.code = body.code.trim();
  await afterLogin(await answerChallenge(fields));
});

onClick("#challenge-passkey", usePasskey);

$("#challenge-cancel").addEventListener("click", () => {
  endChallenge();
  status("Sign-in cancelled.");
});

// The WEB_AUTHN challenge: the browser signs the API's challenge with the account's passkey.
async function usePasskey() {
  const options = requestOptions(pending.credential_request_options);
  status("Waiting for your passkey…");
  const credential = await webauthn(() => navigator.credentials.get({ publicKey: options }));
  await afterLogin(await answerChallenge({ credential: credentialJson(credential) }));
}

// ---------------------------------------------------------------------------------------------
// Signing in again before a change that needs a recent sign-in (403 reauthentication_required):
// the prompt over the page, any way the page signs in (the password, a passkey, a code by
// e-mail, and any step those ask for next), then the change goes through with the new tokens.
// The session the page held until then is ended (it is this device's, superseded): the
// sessions list shows one session for this device.

function within(seconds) {
  if (!Number.isFinite(seconds) || seconds <= 0) return "recent";
  if (seconds % 60 === 0) return `within the last ${seconds / 60} minute${seconds === 60 ? "" : "s"}`;
  return `within the last ${seconds} second${seconds === 1 ? "" : "s"}`;
}

function reauthenticate(windowSeconds) {
  if (reauth) return reauth.promise;
  if (!me) return Promise.reject(new SessionEnded("signed out"));
  status("This change needs you to sign in again.");
  let resolve, reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  reauth = { promise, resolve, reject, focus: document.activeElement };
  const name = shown(me.email || me.username, "you");
  $("#reauth-hint").textContent = `For your security, this change needs a sign-in ${within(windowSeconds)}. Sign in again as ${name}, and it goes through.`;
  $("#reauth-form").reset();
  $("#reauth-note").textContent = "";
  // Each way this user can sign in (all of them until the Security view has loaded them).
  $("#reauth-passkey").hidden = methods !== null && !methods.includes("passkey");
  $("#reauth-email").hidden = methods !== null && !methods.includes("email_otp");
  for (const node of [$(".topbar"), $("main")]) node.inert = true;
  $("#reauth").show();
  $("#reauth-form [name=password]").focus();
  return promise;
}

// Closes the prompt: resolved (signed in again) when `error` is absent, rejected with it otherwise.
function closeReauth(error) {
  if (!reauth) return;
  const { resolve, reject, focus } = reauth;
  reauth = null;
  endChallenge();
  $("#reauth").close();
  $("#reauth-form").reset();
  for (const node of [$(".topbar"), $("main")]) node.inert = false;
  if (focus && document.contains(focus)) focus.focus();
  if (error) reject(error);
  else resolve();
}

async function reauthenticated(answer) {
  const before = { access: tokens.get("access_token"), refresh: tokens.get("refresh_token") };
  tokens.save(answer);
  if (answer.recovery_codes) showRecoveryCodes(answer.recovery_codes);
  // The session the new sign-in replaces, signed out alone with its own refresh token (best
  // effort: it may have expired already).
  if (before.access && before.refresh && before.refresh !== answer.refresh_token) {
    await send("/logout", { method: "POST", token: before.access, body: { refresh_token: before.refresh } }).catch(() => {});
  }
  closeReauth();
}

const reauthUser = () => me && me.username;

onSubmit("#reauth-form", async (form, body) => {
  await afterLogin(await send("/login", { method: "POST", body: { username: reauthUser(), password: body.password } }));
});
onClick("#reauth-passkey", () => startLogin("passkey", reauthUser()));
onClick("#reauth-email", () => startLogin("email_otp", reauthUser()));

function cancelReauth() {
  closeReauth(new Error("Not changed: the change needs you to sign in again first."));
}
$("#reauth-cancel").addEventListener("click", cancelReauth);
$("#reauth").addEventListener("keydown", (event) => {
  if (event.key === "Escape") cancelReauth();
});

// ---------------------------------------------------------------------------------------------
// WebAuthn's options and answers as JSON: the byte fields are base64url strings on the wire and
// ArrayBuffers in the browser. Converted here, by hand, in every browser: one path, the one the
// browser test walks (PublicKeyCredential.parseCreationOptionsFromJSON and toJSON do the same
// where they exist).

function toBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function toBase64url(buffer) {
  return toBase64(new Uint8Array(buffer)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text) {
  if (typeof text !== "string") throw new Error("The API sent passkey options without their bytes.");
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "===".slice((base64.length + 3) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

// The options as the API sends them: an object (or its JSON text), maybe under `publicKey`;
// members that are null are left out, as a browser would refuse some of them.
function optionsObject(json) {
  const parsed = typeof json === "string" ? JSON.parse(json) : json;
  if (!parsed || typeof parsed !== "object") throw new Error("The API sent no passkey options.");
  const options = parsed.publicKey || parsed;
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== null));
}

const withId = (descriptor) => ({ ...descriptor, id: fromBase64url(descriptor.id) });

function creationOptions(json) {
  const options = optionsObject(json);
  return {
    ...options,
    challenge: fromBase64url(options.challenge),
    user: { ...options.user, id: fromBase64url(options.user && options.user.id) },
    excludeCredentials: (options.excludeCredentials || []).map(withId),
  };
}

function requestOptions(json) {
  const options = optionsObject(json);
  const converted = { ...options, challenge: fromBase64url(options.challenge) };
  if (options.allowCredentials) converted.allowCredentials = options.allowCredentials.map(withId);
  return converted;
}

// A PublicKeyCredential (a new passkey's attestation, or a sign-in's assertion) as JSON.
function credentialJson(credential) {
  const r = credential.response;
  const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
  } else {
    response.authenticatorData = toBase64url(r.authenticatorData);
    response.signature = toBase64url(r.signature);
    if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
  }
  const json = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response,
    clientExtensionResults: credential.getClientExtensionResults(),
  };
  if (credential.authenticatorAttachment) json.authenticatorAttachment = credential.authenticatorAttachment;
  return json;
}

// Runs navigator.credentials.create or .get, saying in words why it failed.
async function webauthn(call) {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    throw new Error("This browser cannot use passkeys here (they need https://, or http://localhost).");
  }
  try {
    const credential = await call();
    if (!credential) throw new Error("No passkey was chosen.");
    return credential;
  } catch (e) {
    const why = {
      NotAllowedError: "The passkey prompt was closed, or timed out.",
      InvalidStateError: "This device already holds a passkey of this account.",
      SecurityError: `Passkeys need the page on a domain (http://localhost or https://), not ${location.host}.`,
    }[e.name];
    throw why ? new Error(why) : e;
  }
}

// ---------------------------------------------------------------------------------------------
// Profile

onClick("#reload", async () => {
  await loadMe();
  status("Reloaded.");
});

// The name is in the id token: a refresh brings one with the new name.
onSubmit("#name-form", async (form, body) => {
  const answer = await authed("/me", "access_token", { method: "PATCH", body: { name: body.name } });
  await refresh();
  await loadMe();
  status(answer.message || "Name saved.");
});

onSubmit("#email-form", async (form, body) => {
  const answer = await authed("/me", "access_token", { method: "PATCH", body });
  form.reset();
  const awaiting = Array.isArray(answer.pending_verification) && answer.pending_verification.includes("email");
  status(awaiting
    ? `A code is on its way to ${body.email}; the old address stays until you confirm it.`
    : answer.message || "Saved.");
});

// Confirmed: a refresh brings an id token with the new address.
onSubmit("#verify-email-form", async (form, body) => {
  await authed("/me/verify_email", "access_token", { method: "POST", body });
  form.reset();
  await refresh();
  await loadMe();
  status("E-mail address changed.");
});

onClick("#resend-email-code", async () => {
  const answer = await authed("/me/verify_email/resend", "access_token", { method: "POST" });
  status(answer.message || "A new code is on its way.");
});

onSubmit("#delete-form", async (form, body) => {
  if (!confirm("Delete your account and your books? This cannot be undone.")) return;
  await authed("/me", "access_token", { method: "DELETE", body });
  form.reset();
  signedOut("Account deleted, with your books.");
});

// ---------------------------------------------------------------------------------------------
// Security: the sign-in methods, passkeys, the authenticator app, the password

let totpEnabled = false;

async function loadMfa() {
  const mfa = await authed("/mfa", "access_token");
  totpEnabled = !!mfa.totp_enabled;
  $("#mfa-status").textContent = totpEnabled
    ? `On: ${shown(mfa.recovery_codes_remaining, "no")} recovery codes left.`
    : "Off.";
  $("#mfa-status").dataset.enabled = totpEnabled;
  // With an authenticator on, the forms that prove the account holder ask for its code too.
  for (const field of document.querySelectorAll(".totp-only")) field.hidden = !totpEnabled;
  $("#mfa-setup").textContent = totpEnabled ? "Replace the authenticator app" : "Set up an authenticator app";
  $("#totp-disable-form").hidden = !totpEnabled;
  showMethods();
}

let methods = null; // GET /passkeys' `methods`, or null when the API has no passkeys

function showMethods() {
  const list = (methods || ["password"]).map((m) => el("li", { text: METHODS[m] || m, data: { method: m } }));
  if (totpEnabled) list.push(el("li", { text: "Authenticator app (second step)", data: { method: "totp" } }));
  $("#methods").replaceChildren(...list);
}

// The passkeys, and the ways this user can sign in. An API without them (an older one, or a
// user pool on the Lite plan) leaves the card with a note, not an error.
async function loadPasskeys() {
  const note = $("#methods-note");
  let answer;
  try {
    answer = await authed("/passkeys", "access_token");
  } catch (e) {
    if (e instanceof SessionEnded) return;
    methods = null;
    showMethods();
    $("#passkeys-card").hidden = true;
    note.textContent = e.code === "feature_unavailable"
      ? "This user pool offers no passkeys or codes by e-mail (its plan is Lite)."
      : `This API offers no passkeys: ${e.message}`;
    return;
  }
  methods = Array.isArray(answer.methods) ? answer.methods : null;
  showMethods();
  note.textContent = "";
  $("#passkeys-card").hidden = false;
  const passkeys = Array.isArray(answer.passkeys) ? answer.passkeys : [];
  $("#passkeys").replaceChildren(...(passkeys.length
    ? passkeys.map(passkeyItem)
    : [el("li", { text: "No passkey yet.", className: "empty" })]));
}

const ATTACHMENT = { platform: "on a device", "cross-platform": "a security key or a phone" };

function passkeyItem(passkey) {
  const name = shown(passkey.name, "Passkey");
  const meta = joined(
    passkey.created_at && `added ${when(passkey.created_at)}`,
    ATTACHMENT[passkey.authenticator_attachment],
    Array.isArray(passkey.transports) && passkey.transports.length ? passkey.transports.join(", ") : null,
  );
  const remove = el("button", { text: "Remove", className: "delete small" });
  remove.type = "button";
  remove.addEventListener("click", () => attempt(async () => {
    if (!confirm(`Remove the passkey “${name}”? It will no longer sign you in.`)) return;
    const answer = await authed(`/passkeys/${encodeURIComponent(passkey.id)}`, "access_token", { method: "DELETE" });
    status(answer.message || `Removed the passkey “${name}”.`);
    await loadPasskeys();
  }));
  return el("li", { data: { id: passkey.id } }, el("span", {}, el("strong", { text: name }), " ", el("span", { text: meta, className: "meta" })), remove);
}

// A new passkey: the proof to /passkeys/register/start (the password and the authenticator's
// code, or a code it mails), the browser makes the key pair, and /passkeys/register/finish keeps
// its public key. Cognito names it.
let proofSession = null; // the e-mailed code's session, in this page's memory only

function passkeyProofByEmail(session) {
  proofSession = session;
  const byEmail = session !== null;
  $("#passkey-by-password").hidden = byEmail;
  $("#passkey-form [name=password]").required = !byEmail;
  $("#passkey-by-email").hidden = !byEmail;
  $("#passkey-form [name=email_code]").required = byEmail;
  $("#passkey-email").hidden = byEmail;
}

onClick("#passkey-email", async () => {
  const sent = await authed("/passkeys/register/start", "access_token", { method: "POST", body: { send_email_code: true } });
  passkeyProofByEmail(sent.proof_session);
  status(`A code is on its way to ${shown(sent.destination, "your e-mail address")}.`);
});

onSubmit("#passkey-form", async (form, body) => {
  const proof = proofSession
    ? { email_code: body.email_code, proof_session: proofSession }
    : { password: body.password, ...(body.code ? { code: body.code } : {}) };
  const start = await authed("/passkeys/register/start", "access_token", { method: "POST", body: proof });
  form.reset();
  passkeyProofByEmail(null);
  const options = creationOptions(start.credential_creation_options);
  status("Follow your browser to create the passkey…");
  const credential = await webauthn(() => navigator.credentials.create({ publicKey: options }));
  const answer = await authed("/passkeys/register/finish", "access_token", {
    method: "POST",
    body: { credential: credentialJson(credential), registration_token: start.registration_token },
  });
  status(`Passkey “${shown(answer.passkey && answer.passkey.name, "passkey")}” added: it signs you in without a password.`);
  await loadPasskeys();
});

onSubmit("#password-form", async (form, body) => {
  const answer = await authed("/change_password", "access_token", { method: "POST", body: keepingOthers(form, body) });
  form.reset();
  status(`Password changed.${othersEnded(answer)}`);
  await loadSessions();
});

function showRecoveryCodes(codes) {
  $("#recovery-codes").replaceChildren(...codes.map((c) => el("li", { text: c })));
  $("#recovery").hidden = false;
}

// A QR code the API drew (SVG), as a data: image: nothing fetched from anywhere else, and no
// markup of the API's put into the page.
function showQr(container, svg) {
  const img = document.createElement("img");
  img.alt = "QR code of the authenticator key";
  if (typeof svg === "string") img.src = `data:image/svg+xml;base64,${toBase64(new TextEncoder().encode(svg))}`;
  container.replaceChildren(img);
}

// The password (and the current authenticator's code, to replace it) first; the secret it
// answers is confirmed below, from this same session, with the setup_token it answers too
// (kept in this page's memory only).
let setupToken = null;
onSubmit("#totp-setup-form", async (form, body) => {
  const setup = await authed("/mfa/totp/setup", "access_token", { method: "POST", body });
  setupToken = setup.setup_token;
  form.reset();
  showQr($("#totp-setup .qr"), setup.qr_svg);
  $("#totp-setup [data-field=secret]").textContent = shown(setup.secret, "");
  $("#totp-setup").hidden = false;
  status("Scan the code, then confirm it with a code from the app.");
});

onSubmit("#totp-verify-form", async (form, body) => {
  body.setup_token = setupToken;
  const answer = await authed("/mfa/totp/verify", "access_token", { method: "POST", body: keepingOthers(form, body) });
  setupToken = null;
  form.code.value = "";
  form.keep_other_sessions.checked = false;
  $("#totp-setup").hidden = true;
  showRecoveryCodes(answer.recovery_codes || []);
  status(`Two-factor sign-in is on.${othersEnded(answer)}`);
  await loadMfa();
  await loadSessions();
});

onSubmit("#totp-disable-form", async (form, body) => {
  const answer = await authed("/mfa/totp/disable", "access_token", { method: "POST", body: keepingOthers(form, body) });
  form.reset();
  $("#recovery").hidden = true;
  status(`Two-factor sign-in is off.${othersEnded(answer)}`);
  await loadMfa();
  await loadSessions();
});

// ---------------------------------------------------------------------------------------------
// Your sessions: one per sign-in (GET /me/sessions, newest first), each but this one with a
// button to end it; ending them all but this one at once. Ending another needs a recent sign-in:
// authed() asks for one when the API says so.

const SIGNED_IN_WITH = {
  password: "with the password",
  totp: "with the password and an authenticator code",
  recovery_code: "with a recovery code",
  passkey: "with a passkey",
  email_code: "with a code by e-mail",
};

async function loadSessions() {
  const answer = await authed("/me/sessions", "access_token");
  const sessions = Array.isArray(answer.sessions) ? answer.sessions : [];
  $("#sessions").replaceChildren(...(sessions.length
    ? sessions.map(sessionItem)
    : [el("li", { text: "No session.", className: "empty" })]));
  $("#end-other-sessions").disabled = !sessions.some((s) => !s.current);
  await loadActivity();
}

// ---------------------------------------------------------------------------------------------
// Recent security activity: the account's auth events (GET /me/activity, newest first), a page
// at a time. Every field is shown as text.

const ACTIVITY = {
  sign_up: "Account created",
  sign_up_confirmed: "Address confirmed",
  sign_in: "Signed in",
  sign_in_failed: "Sign-in refused",
  sign_out: "Signed out",
  session_ended: "Session ended",
  password_changed: "Password changed",
  password_reset_requested: "Password reset asked for",
  password_reset: "Password reset",
  email_change_requested: "New e-mail address asked for",
  email_changed: "E-mail address changed",
  totp_enabled: "Two-factor sign-in turned on",
  totp_disabled: "Two-factor sign-in turned off",
  recovery_code_used: "Recovery code used",
  passkey_added: "Passkey added",
  passkey_removed: "Passkey removed",
  account_deleted: "Account deleted",
  account_disabled: "Account disabled",
  account_enabled: "Account enabled",
  mfa_reset: "Two-factor sign-in reset by an administrator",
  group_added: "Added to a group",
  group_removed: "Removed from a group",
  password_reset_required: "Password reset required",
};

let activityCursor = null;

async function loadActivity(more = false) {
  const query = new URLSearchParams({ limit: "10" });
  if (more && activityCursor) query.set("cursor", activityCursor);
  const answer = await authed(`/me/activity?${query}`, "access_token");
  const events = Array.isArray(answer.events) ? answer.events : [];
  const items = events.map(activityItem);
  if (more) $("#activity").append(...items);
  else {
    $("#activity").replaceChildren(...(items.length
      ? items
      : [el("li", { text: "No activity yet.", className: "empty" })]));
  }
  activityCursor = typeof answer.next_cursor === "string" ? answer.next_cursor : null;
  $("#more-activity").hidden = !activityCursor;
}

function activityItem(event) {
  const what = shown(ACTIVITY[event.type], event.type);
  const detail = event.detail || {};
  const how = detail.method ? SIGNED_IN_WITH[detail.method] : null;
  const why = event.outcome === "failure" && detail.reason ? `(${detail.reason})` : null;
  const by = event.actor && event.actor.kind !== "user" ? `by an ${event.actor.kind === "admin" ? "administrator" : "operator"}` : null;
  const time = new Date(event.time);
  const when = Number.isNaN(time.getTime()) ? el("span", { text: "an unknown time" }) : el("time", { text: time.toLocaleString() });
  if (when.tagName === "TIME") when.dateTime = time.toISOString();
  const head = el("span", {}, el("strong", { text: what, data: { field: "type" } }));
  if (event.outcome === "failure") head.append(el("span", { text: "Refused", className: "badge warn" }));
  if (detail.new_device) head.append(el("span", { text: "New device", className: "badge" }));
  const meta = el("span", {
    className: "meta",
    text: joined(how, why, by, shown(event.device, "Unknown device"), event.ip ? `from ${event.ip}` : null),
  });
  return el("li", { data: { type: event.type, outcome: event.outcome } },
    el("div", { className: "session" }, head, meta, el("span", { className: "meta" }, when)));
}

onClick("#reload-activity", async () => {
  await loadActivity();
  status("Reloaded.");
});

onClick("#more-activity", async () => {
  await loadActivity(true);
});

function sessionItem(session) {
  const device = shown(session.device, "Unknown device");
  const name = el("span", {}, el("strong", { text: device, data: { field: "device" } }));
  if (session.current) name.append(el("span", { text: "This device", className: "badge" }));
  const how = el("span", {
    className: "meta",
    data: { field: "how" },
    text: joined(
      session.ip ? `From ${session.ip}` : "From an unknown address",
      SIGNED_IN_WITH[session.method] || (session.method ? `with ${session.method}` : null),
    ),
  });
  const started = timeOf(session.started_at);
  const times = el("span", { className: "meta", data: { field: "times" } },
    "Signed in ", started, " · last active ", timeOf(session.last_refreshed_at));
  const li = el("li", { data: { id: session.id, current: String(!!session.current) } },
    el("div", { className: "session" }, name, how, times));
  if (!session.current) {
    const end = el("button", { text: "End session", className: "delete small" });
    end.type = "button";
    // Two sessions on the same kind of device: the label tells them apart.
    end.setAttribute("aria-label", `End session: ${device}, signed in ${started.textContent}`);
    end.addEventListener("click", () => attempt(() => endSession(session, device)));
    li.append(end);
  }
  return li;
}

async function endSession(session, device) {
  try {
    await authed(`/me/sessions/${encodeURIComponent(session.id)}`, "access_token", { method: "DELETE" });
    status(`Signed out the session on ${device}.`);
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== "not_found") throw e;
    status(`The session on ${device} had ended already.`);
  }
  await loadSessions();
}

onClick("#end-other-sessions", async () => {
  const answer = await authed("/me/sessions", "access_token", { method: "DELETE" });
  const n = answer.ended;
  status(typeof n !== "number" ? shown(answer.message, "Your other sessions have ended.")
    : n === 1 ? "Signed out 1 other session." : `Signed out ${n} other sessions.`);
  await loadSessions();
});

onClick("#reload-sessions", async () => {
  await loadSessions();
  status("Reloaded.");
});

// ---------------------------------------------------------------------------------------------
// Admin: users found by an e-mail prefix, each with what an administrator may do to them.

let adminSearch = "";

async function loadAdminUsers() {
  const query = new URLSearchParams({ limit: "20" });
  if (adminSearch) query.set("email", adminSearch);
  const answer = await authed(`/admin/users?${query}`, "access_token");
  const users = Array.isArray(answer.users) ? answer.users : [];
  $("#admin-users").replaceChildren(...(users.length
    ? users.map(adminUserItem)
    : [el("li", { text: "No user found.", className: "empty" })]));
}

function adminUserItem(user) {
  const name = el("span", {}, el("strong", { text: shown(user.email, user.username) }));
  if (!user.enabled) name.append(el("span", { text: "Disabled", className: "badge warn" }));
  const meta = el("span", { className: "meta", text: joined(user.username, user.status) });
  const li = el("li", { data: { username: user.username, enabled: String(!!user.enabled) } },
    el("div", { className: "session" }, name, meta));
  const action = (label, path, done, className = "secondary small") => {
    const b = el("button", { text: label, className });
    b.type = "button";
    b.setAttribute("aria-label", `${label}: ${user.username}`);
    b.addEventListener("click", () => attempt(async () => {
      await authed(`/admin/users/${encodeURIComponent(user.username)}/${path}`, "access_token", { method: "POST" });
      status(done);
      await loadAdminUsers();
    }));
    return b;
  };
  li.append(user.enabled
    ? action("Disable", "disable", `Disabled ${user.username}: every session of theirs has ended.`, "delete small")
    : action("Enable", "enable", `Enabled ${user.username}.`));
  li.append(action("Sign out", "sign_out", `Signed ${user.username} out everywhere.`));
  li.append(action("Reset MFA", "reset_mfa", `Two-factor sign-in is off for ${user.username}.`));
  return li;
}

onSubmit("#admin-search-form", async (form, body) => {
  adminSearch = (body.email || "").trim();
  await loadAdminUsers();
});

// ---------------------------------------------------------------------------------------------
// Books

function renderBooks(books) {
  const list = $("#books");
  if (!books.length) {
    list.replaceChildren(el("li", { text: "No books yet.", className: "empty" }));
    return;
  }
  list.replaceChildren(...books.map((book) => {
    const text = el("span", {},
      el("strong", { text: shown(book.name, "Untitled") }), " ",
      el("span", { text: joined(book.author, book.category, book.price), className: "meta" }));
    const li = el("li", { data: { id: book.id } }, text);
    if (me && book.created_by === me.sub) {
      const del = el("button", { text: "Delete", className: "delete small" });
      del.type = "button";
      del.addEventListener("click", () => attempt(() => deleteBook(book)));
      li.append(del);
    }
    return li;
  }));
}

async function loadBooks() {
  const page = await send("/books?limit=50");
  renderBooks(Array.isArray(page.items) ? page.items : []);
}

async function deleteBook(book) {
  await authed(`/books/${encodeURIComponent(book.id)}`, "id_token", { method: "DELETE" });
  status(`Deleted “${shown(book.name, "the book")}”.`);
  await loadBooks();
}

onSubmit("#book-form", async (form, body) => {
  const book = await authed("/books", "id_token", { method: "POST", body });
  form.name.value = "";
  form.author.value = "";
  status(`Added “${shown(book.name, body.name)}”.`);
  await loadBooks();
});

onClick("#reload-books", async () => {
  await loadBooks();
  status("Reloaded.");
});

// ---------------------------------------------------------------------------------------------
// The local mailbox (the local API only): every code Cognito would have e-mailed, shown in a
// side pane; clicking one fills in the code field on screen that wants it. Against a deployed
// stack the route does not exist, and the pane stays hidden.

const isShown = (node) => node.offsetParent !== null;

function useCode(m) {
  const fields = [...document.querySelectorAll("input[data-mail]")].filter(isShown);
  const input = fields.find((f) => f.dataset.mail.split(" ").includes(m.kind)) || (fields.length === 1 ? fields[0] : null);
  if (!input) return;
  input.value = m.code;
  const username = input.form && input.form.elements.username;
  if (username && !username.value && m.username) username.value = m.username;
}

async function pollMailbox() {
  let messages;
  try {
    const res = await fetch(`${API}/_local/mailbox`);
    if (!res.ok) return;
    messages = await res.json();
  } catch (e) {
    return;
  }
  $("#mail").replaceChildren(...(Array.isArray(messages) ? messages : []).map((m) => {
    const li = el("li", { data: { username: m.username, kind: m.kind } });
    const meta = el("span", { text: joined(m.kind, m.to, m.sent_at), className: "meta" });
    if (m.code) {
      const code = el("button", { text: m.code, className: "code" });
      code.type = "button";
      code.addEventListener("click", () => useCode(m));
      li.append(code, meta);
    } else {
      // An alert (a change of address asked for, told to the old one): no code to use.
      li.append(el("strong", { text: shown(m.subject || m.kind, "message"), className: "alert" }), meta);
    }
    return li;
  }));
  $("#mailbox").hidden = false;
  setTimeout(pollMailbox, 1500);
}

// A request the page's Content-Security-Policy refused: most likely `?api=` names an API other
// than the one the page is served for.
document.addEventListener("securitypolicyviolation", (e) => {
  status(`The page's Content-Security-Policy refused ${shown(e.blockedURI, "a resource")} (${e.effectiveDirective}).`, true);
});

(async function start() {
  $("#api-base").textContent = API;
  pollMailbox();
  if (tokens.get("id_token")) {
    try {
      await loadMe();
      await loadMfa();
    } catch (e) {
      if (!(e instanceof SessionEnded)) status(e.message, true);
    }
  }
  route();
})();
