// The demo page: plain JS, no build step. Every call is a cross-origin fetch to the API, with
// the token in the Authorization header. Tokens live in sessionStorage (gone when the tab
// closes); a 401 triggers one refresh and one retry before the page signs out.
"use strict";

// The API: `?api=http://127.0.0.1:3000` on the page's URL, or the local API's default.
const API = (new URLSearchParams(location.search).get("api") || "http://127.0.0.1:3000").replace(/\/+$/, "");
const TOKEN_KEYS = ["id_token", "access_token", "refresh_token", "username"];

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

class ApiError extends Error {
  constructor(status, body) {
    const e = body && body.error;
    super(e ? `${e.code}: ${e.message}` : (body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = e ? e.code : null;
  }
}

async function send(path, { method = "GET", body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers["Authorization"] = `Bearer ${token}`;
  const res = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// Swaps the refresh token for new tokens. False if the API refuses it.
async function refresh() {
  const refresh_token = tokens.get("refresh_token");
  if (!refresh_token) return false;
  try {
    tokens.save(await send("/refresh", {
      method: "POST",
      body: { username: tokens.get("username"), refresh_token },
    }));
    return true;
  } catch (e) {
    return false;
  }
}

// A call with a token (`kind`: "id_token" or "access_token"). On a 401, one refresh and one
// retry; if that fails too, the session is over.
async function authed(path, kind, options = {}) {
  try {
    return await send(path, { ...options, token: tokens.get(kind) });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    if (!(await refresh())) {
      signedOut("Your session has ended; please sign in again.");
      throw e;
    }
    return await send(path, { ...options, token: tokens.get(kind) });
  }
}

function status(text, isError = false) {
  const el = $("#status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

// A form's fields, the empty ones left out (a code field hidden while two-factor sign-in is off).
function formJson(form) {
  return Object.fromEntries([...new FormData(form).entries()].filter(([, v]) => v !== ""));
}

// Runs a form's action, reporting success or the API's error in the status line.
function onSubmit(selector, action) {
  $(selector).addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await action(event.target, formJson(event.target));
    } catch (e) {
      status(e.message, true);
    }
  });
}

function showMe(me) {
  const dl = $("#me");
  dl.replaceChildren();
  for (const [label, value] of [
    ["Username", me.username],
    ["E-mail", me.email],
    ["Verified", me.email_verified ? "yes" : "no"],
    ["Name", me.name],
    ["Groups", me.groups.length ? me.groups.join(", ") : "none"],
    ["Sub", me.sub],
  ]) {
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = value == null ? "—" : value;
    dd.dataset.field = label.toLowerCase();
    dl.append(dt, dd);
  }
}

async function loadMe() {
  const me = await authed("/me", "id_token");
  showMe(me);
  $("#signed-in").hidden = false;
  $("#signed-out").hidden = true;
  return me;
}

function signedOut(message) {
  tokens.clear();
  $("#signed-in").hidden = true;
  $("#signed-out").hidden = false;
  $("#me").replaceChildren();
  $("#recovery").hidden = true;
  $("#totp-setup").hidden = true;
  for (const form of ["#email-form", "#totp-setup-form", "#totp-disable-form", "#delete-form"]) $(form).reset();
  if (message) status(message);
  renderBooks(lastBooks);
}

let lastBooks = [];

function renderBooks(books) {
  lastBooks = books;
  const mine = tokens.get("id_token") ? $("#me [data-field=sub]")?.textContent : null;
  const list = $("#books");
  list.replaceChildren();
  if (!books.length) {
    const li = document.createElement("li");
    li.textContent = "No books yet.";
    list.append(li);
  }
  for (const book of books) {
    const li = document.createElement("li");
    li.dataset.id = book.id;
    const text = document.createElement("span");
    text.innerHTML = "<strong></strong> <span class=meta></span>";
    text.querySelector("strong").textContent = book.name;
    text.querySelector(".meta").textContent = `${book.author} · ${book.category} · ${book.price}`;
    li.append(text);
    if (mine && book.created_by === mine) {
      const del = document.createElement("button");
      del.className = "delete";
      del.type = "button";
      del.textContent = "Delete";
      del.addEventListener("click", () => deleteBook(book).catch((e) => status(e.message, true)));
      li.append(del);
    }
    list.append(li);
  }
}

async function loadBooks() {
  const page = await send("/books?limit=50");
  renderBooks(page.items || []);
}

async function deleteBook(book) {
  await authed(`/books/${encodeURIComponent(book.id)}`, "id_token", { method: "DELETE" });
  status(`Deleted “${book.name}”.`);
  await loadBooks();
}

onSubmit("#register-form", async (form, body) => {
  const answer = await send("/register", { method: "POST", body });
  for (const f of ["#confirm-form", "#login-form"]) $(f).username.value = body.username;
  status(answer.message || "Registered. Check your e-mail for the code.");
});

onSubmit("#confirm-form", async (form, body) => {
  const answer = await send("/confirm_user", { method: "POST", body });
  $("#login-form").username.value = body.username;
  status(answer.message || "Confirmed.");
});

// The tokens of a sign-in: saved, and the page shows the user.
async function signedIn(answer) {
  tokens.save(answer);
  $("#challenge-form").hidden = true;
  const me = await loadMe();
  status(answer.message && answer.message !== "Signed in." ? answer.message : `Signed in as ${me.username}.`);
  await loadBooks();
  await loadMfa();
  if (answer.recovery_codes) showRecoveryCodes(answer.recovery_codes);
}

// A QR code the API drew (SVG), as an image: nothing is fetched from anywhere else.
function showQr(container, svg) {
  const img = document.createElement("img");
  img.alt = "QR code of the authenticator key";
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  container.replaceChildren(img);
}

// What /login asks for besides the password.
function showChallenge(answer) {
  const form = $("#challenge-form");
  form.username.value = answer.username;
  form.session.value = answer.session;
  form.challenge.value = answer.challenge;
  form.code.value = "";
  form.new_password.value = "";
  const setup = answer.challenge === "MFA_SETUP";
  $("#challenge-setup").hidden = !(setup && answer.secret);
  if (setup && answer.secret) {
    showQr($("#challenge-setup .qr"), answer.qr_svg);
    $("#challenge-setup [data-field=secret]").textContent = answer.secret;
  }
  $("#challenge-password").hidden = answer.challenge !== "NEW_PASSWORD_REQUIRED";
  $("#challenge-code").hidden = answer.challenge === "NEW_PASSWORD_REQUIRED" || (setup && !answer.secret);
  $("#challenge-title").textContent = {
    SOFTWARE_TOKEN_MFA: "The code from your authenticator",
    NEW_PASSWORD_REQUIRED: "Choose a new password",
    MFA_SETUP: "Set up an authenticator app",
  }[answer.challenge];
  form.hidden = false;
  status("One more step to sign in.");
}

async function afterLogin(answer) {
  if (!answer.challenge) return signedIn(answer);
  // MFA_SETUP starts with the secret to set up: asked for at once.
  if (answer.challenge === "MFA_SETUP" && !answer.secret) {
    const { username, session, challenge } = answer;
    return afterLogin(await send("/login/challenge", { method: "POST", body: { username, session, challenge } }));
  }
  showChallenge(answer);
}

onSubmit("#login-form", async (form, body) => {
  const answer = await send("/login", { method: "POST", body });
  form.reset();
  await afterLogin(answer);
});

onSubmit("#challenge-form", async (form, body) => {
  await afterLogin(await send("/login/challenge", { method: "POST", body }));
});

// The tokens, or (in a pool where every user must have an authenticator) the MFA_SETUP
// challenge: a new authenticator is set up inside the sign-in.
onSubmit("#recover-form", async (form, body) => {
  const answer = await send("/login/recover", { method: "POST", body });
  form.reset();
  await afterLogin(answer);
  if (answer.challenge && answer.message) status(answer.message);
});

async function loadMfa() {
  const mfa = await authed("/mfa", "access_token");
  $("#mfa-status").textContent = mfa.totp_enabled
    ? `On: ${mfa.recovery_codes_remaining} recovery codes left.`
    : "Off.";
  $("#mfa-status").dataset.enabled = mfa.totp_enabled;
  // With an authenticator on, the forms that prove the account holder ask for its code too.
  for (const field of document.querySelectorAll(".totp-only")) field.hidden = !mfa.totp_enabled;
  $("#mfa-setup").textContent = mfa.totp_enabled ? "Replace the authenticator app" : "Set up an authenticator app";
  $("#totp-disable-form").hidden = !mfa.totp_enabled;
}

function showRecoveryCodes(codes) {
  const list = $("#recovery-codes");
  list.replaceChildren(...codes.map((c) => {
    const li = document.createElement("li");
    li.textContent = c;
    return li;
  }));
  $("#recovery").hidden = false;
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
  $("#totp-setup [data-field=secret]").textContent = setup.secret;
  $("#totp-setup").hidden = false;
  status("Scan the code, then confirm it with a code from the app.");
});

onSubmit("#totp-verify-form", async (form, body) => {
  body.setup_token = setupToken;
  const answer = await authed("/mfa/totp/verify", "access_token", { method: "POST", body });
  setupToken = null;
  form.code.value = "";
  $("#totp-setup").hidden = true;
  showRecoveryCodes(answer.recovery_codes);
  status("Two-factor sign-in is on.");
  await loadMfa();
});

onSubmit("#totp-disable-form", async (form, body) => {
  await authed("/mfa/totp/disable", "access_token", { method: "POST", body });
  form.reset();
  $("#recovery").hidden = true;
  status("Two-factor sign-in is off.");
  await loadMfa();
});

onSubmit("#book-form", async (form, body) => {
  const book = await authed("/books", "id_token", { method: "POST", body });
  form.name.value = "";
  form.author.value = "";
  status(`Added “${book.name}”.`);
  await loadBooks();
});

// This device only: its refresh token is revoked, and its tokens are refused at once; the
// account's other sessions stay signed in.
$("#logout-here").addEventListener("click", async () => {
  try {
    await authed("/logout", "access_token", {
      method: "POST",
      body: { refresh_token: tokens.get("refresh_token") },
    });
    signedOut("Signed out on this device.");
  } catch (e) {
    status(e.message, true);
  }
});

onSubmit("#email-form", async (form, body) => {
  const answer = await authed("/me", "access_token", { method: "PATCH", body });
  form.reset();
  status(answer.pending_verification.includes("email")
    ? `A code is on its way to ${body.email}; the old address stays until you confirm it.`
    : answer.message);
});

// Confirmed: a refresh brings an id token with the new address.
onSubmit("#verify-email-form", async (form, body) => {
  await authed("/me/verify_email", "access_token", { method: "POST", body });
  form.reset();
  await refresh();
  await loadMe();
  status("E-mail address changed.");
});

$("#resend-email-code").addEventListener("click", async () => {
  try {
    const answer = await authed("/me/verify_email/resend", "access_token", { method: "POST" });
    status(answer.message);
  } catch (e) {
    status(e.message, true);
  }
});

onSubmit("#delete-form", async (form, body) => {
  if (!confirm("Delete your account and your books? This cannot be undone.")) return;
  await authed("/me", "access_token", { method: "DELETE", body });
  form.reset();
  signedOut("Account deleted, with your books.");
});

$("#logout").addEventListener("click", async () => {
  try {
    await authed("/logout", "access_token", { method: "POST", body: {} });
    signedOut("Signed out on every device.");
  } catch (e) {
    status(e.message, true);
  }
});

$("#reload").addEventListener("click", async () => {
  try {
    if (tokens.get("id_token")) await loadMe();
    await loadBooks();
    status("Reloaded.");
  } catch (e) {
    status(e.message, true);
  }
});

// The local mailbox (the local API only): every code Cognito would have e-mailed, shown in a
// side pane; clicking one fills in the form that wants it. Against a deployed stack the route
// does not exist, and the pane stays hidden.
const FORM_FOR_KIND = {
  sign_up: "#confirm-form [name=confirmation_code]",
  resend_code: "#confirm-form [name=confirmation_code]",
  verify_email: "#verify-email-form [name=code]",
};

async function pollMailbox() {
  let res;
  try {
    res = await fetch(`${API}/_local/mailbox`);
  } catch (e) {
    return;
  }
  if (!res.ok) return;
  const messages = await res.json();
  const list = $("#mail");
  list.replaceChildren();
  for (const m of messages) {
    const li = document.createElement("li");
    li.dataset.username = m.username;
    li.dataset.kind = m.kind;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `${m.kind} · ${m.to} · ${m.sent_at}`;
    if (m.code) {
      const code = document.createElement("button");
      code.type = "button";
      code.className = "code";
      code.textContent = m.code;
      code.addEventListener("click", () => {
        const input = FORM_FOR_KIND[m.kind] && $(FORM_FOR_KIND[m.kind]);
        if (input) {
          input.value = m.code;
          if (input.form.username) input.form.username.value = m.username;
        }
      });
      li.append(code, meta);
    } else {
      // An alert (a change of address asked for, told to the old one): no code to use.
      const note = document.createElement("strong");
      note.className = "alert";
      note.textContent = m.subject || m.kind;
      li.append(note, meta);
    }
    list.append(li);
  }
  $("#mailbox").hidden = false;
  setTimeout(pollMailbox, 1500);
}

(async function start() {
  $("#api-base").textContent = API;
  pollMailbox();
  try {
    if (tokens.get("id_token")) {
      await loadMe();
      await loadMfa();
    }
  } catch (e) {
    status(e.message, true);
  }
  try {
    await loadBooks();
  } catch (e) {
    status(`The API at ${API} did not answer: ${e.message}`, true);
  }
})();
