// The demo page (an account portal) in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), loaded from one origin against the API on another, both on localhost (a
// passkey's relying party is a domain), in one browser and one walk:
//   the page's Content-Security-Policy; register → confirm → login → /me → a 401 answered by one
//   refresh (the refresh token rotated) → the name → the same user on a second device (another
//   browser context, another User-Agent): the first lists both sessions, "This device" on its
//   own, ends the second, whose next action signs it out ("This session was ended"); again with
//   "Sign out all other sessions" → create a book (markup in its title shown as text, no
//   "undefined") → list → delete → logout, and then the old refresh token is refused; a
//   forgotten password reset with the code from the mailbox; a change of e-mail address (the
//   password again; the old address alerted); sign-in without a password, with a virtual
//   authenticator: add a passkey (the password again), sign in with it, sign in with a code
//   sent by e-mail, remove the passkey, add one with a code by e-mail as the proof; two-factor
//   sign-in: enrol (the password again), sign in with a code, with a recovery code, enrol again,
//   replace the authenticator (the password and the current code), turn it off (the "Keep me
//   signed in on my other devices" box sent unticked); change the password (sent ticked);
//   delete the account.
// And, against a second API whose re-authentication window is seconds long (SHORT_REAUTH_*), on
// its own page in a third context, the re-authentication prompt: a user signed in at the start;
// at the end, past the window with no wait, an e-mail change opens the prompt; cancelled,
// nothing changes; a wrong password is refused in it; signed in again, the change goes through,
// and the superseded session is ended.
// Fails on any console error mentioning CORS, on any page error, on any failed request, and on
// any console message holding a token.
// The passwordless part is skipped, saying so, only when the API has no POST /login/start.
//
// Usage: node flow.mjs <page-url> <api-url> [screenshot.png]
// with SHORT_REAUTH_PAGE, SHORT_REAUTH_API (the page and an API with a short ReauthWindow) and
// SHORT_REAUTH_WINDOW (its seconds) for the re-authentication part, skipped, saying so, without.
import { chromium } from "playwright-core";


// The code an authenticator app shows for a base32 key at a 30-second step (RFC 6238:
// HMAC-SHA1, six digits), with WebCrypto.
async function totpAt(secret, step) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = new Uint8Array(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const counter = new DataView(new ArrayBuffer(8));
  counter.setBigUint64(0, BigInt(step));
  const hmac = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const hash = new Uint8Array(await crypto.subtle.sign("HMAC", hmac, counter.buffer));
  const offset = hash[hash.length - 1] & 0x0f;
  const bin = ((hash[offset] & 0x7f) << 24) | (hash[offset + 1] << 16) | (hash[offset + 2] << 8) | hash[offset + 3];
  return String(bin % 1_000_000).padStart(6, "0");
}

// A code is good once (RFC 6238 §5.2; Cognito answers a second use "Your software token has
// already been used once", and so does the local Cognito): once a code of a step is accepted for
// the user, a sign-in (or a proof, which is one) takes no code of that step or an earlier one,
// whatever the key. So `totp` waits for a step after the last code sent (at most 30 s, twice per
// walk); `totpNow` is for /mfa/totp/verify, which checks a new key's first code without that
// rule (but counts it as the last code accepted).
let lastStep = 0;
const stepNow = () => Math.floor(Date.now() / 30_000);
async function totp(secret) {
  while (stepNow() <= lastStep) await new Promise((resolve) => setTimeout(resolve, 250));
  lastStep = stepNow();
  return totpAt(secret, lastStep);
}
async function totpNow(secret) {
  lastStep = Math.max(lastStep, stepNow());
  return totpAt(secret, lastStep);
}

const [pageUrl, apiUrl, screenshot] = process.argv.slice(2);
if (!pageUrl || !apiUrl) {
  console.error("usage: node flow.mjs <page-url> <api-url> [screenshot.png]");
  process.exit(2);
}
if (new URL(pageUrl).origin === new URL(apiUrl).origin) {
  console.error("the page and the API must be on different origins");
  process.exit(2);
}

const STEP_TIMEOUT = 15_000;
const startedAt = Date.now();
// Two devices, as the API names them from their User-Agent.
const CHROME_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const FIREFOX_ON_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const VIEWPORT = { width: 1100, height: 900 };
const shortReauth = process.env.SHORT_REAUTH_PAGE && process.env.SHORT_REAUTH_API
  ? { page: process.env.SHORT_REAUTH_PAGE, api: process.env.SHORT_REAUTH_API, window: Number(process.env.SHORT_REAUTH_WINDOW || 2) }
  : null;
if (!shortReauth) console.log("# no SHORT_REAUTH_PAGE and SHORT_REAUTH_API: the re-authentication prompt part of the walk is skipped");
const problems = [];
let passed = 0;

function step(name) {
  passed += 1;
  console.log(`ok ${passed} - ${name}`);
}

// Whether the API has the passwordless routes: an API without them answers a route it does not
// have as API Gateway does (403 "Missing Authentication Token"; 404 elsewhere). Asked from node,
// not from the page, whose preflight to a missing route would be a CORS error.
async function hasRoute(path) {
  const res = await fetch(`${apiUrl}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{}",
  });
  const body = await res.json().catch(() => ({}));
  return !(res.status === 404 || (res.status === 403 && body.message === "Missing Authentication Token"));
}
const passwordless = await hasRoute("/login/start");
if (!passwordless) console.log(`# ${apiUrl} has no POST /login/start: the passkey and e-mail code part of the walk is skipped`);

// Console errors the walk provokes on purpose, for the moment it provokes them.
const expected = new Set();
const isExpected = (text) => [...expected].some((re) => re.test(text));
// Without the passwordless routes, the Security view's GET /passkeys is refused at its preflight.
const passkeyRoute = /\/passkeys\b/;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  timeout: 60_000,
  // Playwright gives each launch a fresh, temporary profile (user data dir).
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
  ],
});

// A page of a context (a device): its console, errors and failed requests watched, its API
// calls listed in `calls`.
async function openPage(context, api, calls) {
  const p = await context.newPage();
  p.setDefaultTimeout(STEP_TIMEOUT);
  p.on("console", (msg) => {
    const text = msg.text();
    // A JWT (the id, access or refresh token, or a piece of one) never reaches the console.
    if (/eyJ[\w-]{8,}/.test(text)) problems.push(`a token in a console message: ${text.slice(0, 40)}…`);
    // "Failed to load resource" names its URL in the message's location only.
    const about = `${text} ${msg.location()?.url || ""}`;
    if (isExpected(about) || (!passwordless && passkeyRoute.test(about))) return;
    if (/cors|access-control/i.test(text)) problems.push(`CORS console message: ${text}`);
    else if (msg.type() === "error" && !/status of (400|401|403)/.test(text)) {
      // The browser logs every 4xx; the flow provokes 401s (a bad token, a revoked one, a
      // deleted account's sign-in, an ended session), 400s (a wrong code, an address change
      // without the password) and 403s (enrolling without /mfa/totp/setup's grant, a change
      // past the re-authentication window) on purpose.
      problems.push(`console error: ${text}`);
    }
  });
  p.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  p.on("requestfailed", (req) => {
    if (!passwordless && passkeyRoute.test(req.url())) return;
    if (isExpected(req.url())) return;
    problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
  });
  p.on("request", (req) => {
    if (req.url().startsWith(api)) calls.push(`${req.method()} ${new URL(req.url()).pathname}`);
  });
  return p;
}

let page;
try {
  const context = await browser.newContext({ viewport: VIEWPORT, userAgent: CHROME_ON_LINUX });
  const apiCalls = [];
  page = await openPage(context, apiUrl, apiCalls);

  const statusLine = page.locator("#status");
  // A view of the portal, through its navigation, as a person would open it.
  const view = async (name) => {
    await page.click(`nav a[href="#${name}"]`);
    await page.locator(`[data-view="${name}"]`).waitFor();
  };

  const response = await page.goto(`${pageUrl}/?api=${encodeURIComponent(apiUrl)}`);
  await page.locator("#api-base", { hasText: apiUrl }).waitFor();
  step("the page loads from its own origin and names the API");

  // The policy comes as a header (a <meta> cannot carry frame-ancestors), and holds.
  const csp = (response.headers()["content-security-policy"] || "").split(/\s*;\s*/);
  for (const directive of [
    "default-src 'self'",
    "script-src 'self'",
    `connect-src ${new URL(apiUrl).origin}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
  ]) {
    if (!csp.includes(directive)) throw new Error(`the page's Content-Security-Policy lacks ${directive}: ${csp.join("; ")}`);
  }
  expected.add(/Refused to connect|violates the following Content Security Policy|TrustedHTML|127\.0\.0\.1:9\//);
  const refused = await page.evaluate(async () => {
    const fetched = await fetch("http://127.0.0.1:9/").then(() => "fetched", () => "refused");
    let html;
    try {
      document.body.insertAdjacentHTML("beforeend", "<b id=injected>markup</b>");
      html = "parsed";
    } catch (e) {
      html = "refused";
    }
    return { fetched, html };
  });
  if (refused.fetched !== "refused" || refused.html !== "refused") {
    throw new Error(`the policy let through: ${JSON.stringify(refused)}`);
  }
  await statusLine.filter({ hasText: /Content-Security-Policy refused/ }).waitFor();
  expected.clear();
  step("its Content-Security-Policy header: the API's origin only for fetch, no string parsed as HTML, no framing");

  const user = `browser-${Date.now()}@example.com`;
  let password = "Correct-Horse-9!";

  // The re-authentication part's sign-in, on its own API and page, in its own context: made now,
  // so that by the end of the walk it is older than the window, with no wait.
  let short = null;
  if (shortReauth) {
    const api = shortReauth.api;
    // The account, made from node (the walk makes one through the page below).
    const call = async (path, body) => {
      const res = await fetch(`${api}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    };
    const who = `reauth-${Date.now()}@example.com`;
    await call("/register", { username: who, password });
    const mailbox = await (await fetch(`${api}/_local/mailbox`)).json();
    const signUp = mailbox.find((m) => m.username === who && m.kind === "sign_up");
    await call("/confirm_user", { username: who, confirmation_code: signUp.code });
    const desk = await browser.newContext({ viewport: VIEWPORT, userAgent: CHROME_ON_LINUX });
    const calls = [];
    const page3 = await openPage(desk, api, calls);
    await page3.goto(`${shortReauth.page}/?api=${encodeURIComponent(api)}`);
    await page3.fill("#login-form [name=username]", who);
    await page3.fill("#login-form [name=password]", password);
    await page3.click("#login-form button[type=submit]");
    await page3.locator("[data-view=profile]").waitFor({ state: "visible" });
    // The API counts whole seconds from the sign-in: past the window once its second and the
    // window have gone by.
    const pastWindow = (Math.floor(Date.now() / 1000) + shortReauth.window + 1) * 1000 + 100;
    short = { page3, calls, password, pastWindow };
    step(`on a page against an API whose re-authentication window is ${shortReauth.window} s, another user signs in (its prompt is walked at the end)`);
  }

  await view("sign-up");
  await page.fill("#register-form [name=username]", user);
  await page.fill("#register-form [name=password]", password);
  await page.click("#register-form button[type=submit]");
  await statusLine.filter({ hasText: /code|confirm/i }).waitFor();
  step("register");

  // The code Cognito would have e-mailed, from the page's local mailbox pane, as a person
  // would read it there: a wrong one first, which the local Cognito refuses as Cognito does.
  const mail = page.locator(`#mail li[data-username="${user}"][data-kind=sign_up] .code`);
  await mail.first().waitFor();
  const code = (await mail.first().textContent()).trim();
  if (!/^[0-9]{6}$/.test(code)) throw new Error(`the mailbox shows ${code}, not a 6-digit code`);
  await page.fill("#confirm-form [name=confirmation_code]", code === "000000" ? "000001" : "000000");
  await page.click("#confirm-form button[type=submit]");
  await statusLine.filter({ hasText: /code_mismatch/ }).waitFor();
  await mail.first().click();
  await page.click("#confirm-form button[type=submit]");
  await statusLine.filter({ hasText: /confirmed/i }).waitFor();
  step("confirm");

  await view("sign-in");
  await page.fill("#login-form [name=password]", password);
  await page.click("#login-form button[type=submit]");
  await page.locator("#me [data-field=username]", { hasText: user }).waitFor();
  await page.locator("#me [data-field=e-mail]", { hasText: user }).waitFor();
  await page.locator("#me [data-field=verified]", { hasText: "yes" }).waitFor();
  await page.locator("#nav-in").waitFor();
  step("login, and the profile shows the signed-in user, their e-mail address verified");

  // A token the authorizer refuses: the page refreshes once and retries, and keeps the refresh
  // token the answer brings (they rotate: the one sent is spent).
  const spent = await page.evaluate(() => sessionStorage.getItem("refresh_token"));
  await page.evaluate(() => sessionStorage.setItem("id_token", "not-a-token"));
  await page.click("#reload");
  await statusLine.filter({ hasText: "Reloaded." }).waitFor();
  const idToken = await page.evaluate(() => sessionStorage.getItem("id_token"));
  if (!idToken || idToken === "not-a-token") throw new Error("the page did not refresh its token");
  if (apiCalls.filter((c) => c === "POST /refresh").length !== 1) throw new Error(`not one call to /refresh: ${apiCalls}`);
  const rotated = await page.evaluate(() => sessionStorage.getItem("refresh_token"));
  if (!rotated || rotated === spent) throw new Error("the page did not keep the rotated refresh token");
  step("a 401 is answered by one refresh and a retry; the page keeps the rotated refresh token");

  await page.fill("#name-form [name=name]", "Ged");
  await page.click("#name-form button[type=submit]");
  await page.locator("#me [data-field=name]", { hasText: "Ged" }).waitFor();
  await page.locator("#whoami", { hasText: "Ged" }).waitFor();
  step("change the name; the profile and the bar show it");

  // The same user on a second device: its own browser context (its own sessionStorage), another
  // User-Agent.
  const laptop = await browser.newContext({ viewport: VIEWPORT, userAgent: FIREFOX_ON_WINDOWS });
  const page2 = await openPage(laptop, apiUrl, []);
  await page2.goto(`${pageUrl}/?api=${encodeURIComponent(apiUrl)}`);
  const signInOn2 = async () => {
    await page2.fill("#login-form [name=username]", user);
    await page2.fill("#login-form [name=password]", password);
    await page2.click("#login-form button[type=submit]");
    await page2.locator("[data-view=profile]").waitFor({ state: "visible" });
  };
  await signInOn2();
  await view("security");
  const sessions = page.locator("#sessions li[data-id]");
  await sessions.nth(1).waitFor();
  if ((await sessions.count()) !== 2) throw new Error(`${await sessions.count()} sessions listed, not 2`);
  const here = page.locator("#sessions li[data-current=true]");
  const there = page.locator("#sessions li[data-current=false]");
  await here.locator(".badge", { hasText: "This device" }).waitFor();
  if ((await there.locator(".badge").count()) !== 0) throw new Error("the other session is marked as this device");
  if ((await here.locator("button").count()) !== 0) throw new Error("this session has a button to end it");
  const hereText = await here.innerText();
  const thereText = await there.innerText();
  for (const [text, device] of [[hereText, "Chrome on Linux"], [thereText, "Firefox on Windows"]]) {
    if (!text.includes(device)) throw new Error(`a session listed without its device ${device}: ${text}`);
    if (!/From \S+/.test(text) || !text.includes("with the password")) throw new Error(`a session without where from or how: ${text}`);
    if (/undefined|null|NaN|Invalid Date|unknown time/.test(text)) throw new Error(`a session shows a raw value: ${text}`);
  }
  const started = await there.locator("time").first().getAttribute("datetime");
  if (Math.abs(Date.parse(started) - Date.now()) > 120_000) throw new Error(`the other session started at ${started}`);
  step("a second device signs in; the first lists both sessions (device, where from, how, when), \"This device\" on its own");

  // The same sign-ins in the account's recent security activity, newest first, the second
  // device's marked new to the account.
  const activity = page.locator("#activity li[data-type]");
  await activity.first().waitFor();
  const signIns = page.locator("#activity li[data-type=sign_in]");
  if ((await signIns.count()) < 2) throw new Error(`${await signIns.count()} sign-ins in the activity, not 2`);
  const newest = await signIns.first().innerText();
  if (!newest.includes("Firefox on Windows") || !newest.includes("New device")) throw new Error(`the newest sign-in: ${newest}`);
  if (!newest.includes("with the password")) throw new Error(`the newest sign-in does not say how: ${newest}`);
  const allActivity = await page.locator("#activity").innerText();
  if (/undefined|null|NaN|Invalid Date/.test(allActivity)) throw new Error(`the activity shows a raw value: ${allActivity}`);
  if (!allActivity.includes("Account created")) throw new Error(`the sign-up is not in the activity: ${allActivity}`);
  step("the first device's recent security activity lists both sign-ins, the second marked as a new device");

  const end = there.locator("button", { hasText: "End session" });
  if (!/Firefox on Windows/.test(await end.getAttribute("aria-label"))) throw new Error("the button to end a session does not say which");
  await end.click();
  await statusLine.filter({ hasText: /Signed out the session on Firefox/ }).waitFor();
  await there.waitFor({ state: "detached" });
  if ((await sessions.count()) !== 1) throw new Error("the list did not reload to this session alone");
  await page.locator("#end-other-sessions:disabled").waitFor();
  step("the first ends the second; the list reloads");

  const endedNotice = page2.locator("#status", { hasText: "This session was ended" });
  await page2.click("#reload");
  await endedNotice.waitFor();
  await page2.locator("[data-view=sign-in]").waitFor({ state: "visible" });
  if (await page2.evaluate(() => sessionStorage.length)) throw new Error("the ended session's tokens are still in sessionStorage");
  step("the second device's next action shows it signed out: \"This session was ended\"");

  await signInOn2();
  await page.click("#reload-sessions");
  await sessions.nth(1).waitFor();
  await page.click("#end-other-sessions");
  await statusLine.filter({ hasText: "Signed out 1 other session." }).waitFor();
  await there.waitFor({ state: "detached" });
  await page2.click("nav a[href='#security']");
  await endedNotice.waitFor();
  await page2.locator("[data-view=sign-in]").waitFor({ state: "visible" });
  await laptop.close();
  step("\"Sign out all other sessions\" ends the second device's new session; its next action signs it out too");

  await view("books");
  const title = `A Wizard of Earthsea ${Date.now()}`;
  await page.fill("#book-form [name=name]", title);
  await page.fill("#book-form [name=author]", "Ursula K. Le Guin");
  await page.click("#book-form button[type=submit]");
  const row = page.locator("#books li", { hasText: title });
  await row.waitFor();
  step("create a book, and the list shows it");

  if (screenshot) {
    await page.screenshot({ path: screenshot, fullPage: true });
    step(`screenshot of the signed-in page: ${screenshot}`);
  }

  // Markup in a title is text, and a book without a category or a price shows neither.
  const markup = `<img src=x onerror=alert(1)><b>Earthsea</b> ${Date.now()}`;
  await page.fill("#book-form [name=name]", markup);
  await page.fill("#book-form [name=author]", "Le Guin");
  await page.fill("#book-form [name=category]", "");
  await page.fill("#book-form [name=price]", "");
  await page.click("#book-form button[type=submit]");
  const bare = page.locator("#books li", { hasText: markup });
  await bare.waitFor();
  if ((await bare.locator("strong").textContent()) !== markup) throw new Error("the title was not shown as text");
  if (await page.locator("#books img, #books b").count()) throw new Error("a title was parsed as HTML");
  const shown = await page.locator("main").innerText();
  if (/undefined|null|NaN/.test(shown)) throw new Error(`the page shows a raw value: ${shown}`);
  if ((await bare.locator(".meta").textContent()) !== "Le Guin") throw new Error("a book without category or price");
  step("a title with markup shows as text; a book without a category or a price shows no undefined");

  await row.locator("button.delete").click();
  await row.waitFor({ state: "detached" });
  step("delete the book, and the list no longer shows it");

  const refreshToken = await page.evaluate(() => sessionStorage.getItem("refresh_token"));
  const username = await page.evaluate(() => sessionStorage.getItem("username"));
  await view("security");
  await page.click("#logout");
  await page.locator("[data-view=sign-in]").waitFor({ state: "visible" });
  await statusLine.filter({ hasText: /signed out/i }).waitFor();
  const left = await page.evaluate(() => sessionStorage.length);
  if (left !== 0) throw new Error(`${left} items left in sessionStorage after logout`);
  step("logout clears the session");

  // The refresh token the page held before logout, sent cross-origin from the page.
  const after = await page.evaluate(
    async ([api, username, refresh_token]) => {
      const res = await fetch(`${api}/refresh`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username, refresh_token }),
      });
      return { status: res.status, body: await res.json() };
    },
    [apiUrl, username, refreshToken],
  );
  if (after.status !== 401 || after.body?.error?.code !== "invalid_refresh_token") {
    throw new Error(`refresh after logout: ${JSON.stringify(after)}`);
  }
  step("after logout, the old refresh token is refused");

  // Forgot the password: a code by e-mail, and a new password.
  await page.click("a[href='#forgot']");
  await page.fill("#forgot-form [name=username]", user);
  await page.click("#forgot-form button[type=submit]");
  await statusLine.filter({ hasText: /code/ }).waitFor();
  await page.locator(`#mail li[data-username="${user}"][data-kind=forgot_password] .code`).first().click();
  password = "Another-Horse-7!";
  await page.fill("#reset-form [name=new_password]", password);
  await page.click("#reset-form button[type=submit]");
  await statusLine.filter({ hasText: /sign in with the new password/i }).waitFor();
  await page.locator("#login-form [name=username]").waitFor();
  step("forgot the password: reset it with the code from the mailbox pane");

  // Sign-in times are whole seconds: a sign-in in the second of a sign-out everywhere (or of a
  // reset, which is one) counts as before it.
  await page.waitForTimeout(1100);
  const signInWithPassword = async () => {
    await page.fill("#login-form [name=username]", user);
    await page.fill("#login-form [name=password]", password);
    await page.click("#login-form button[type=submit]");
  };
  const signIn = async () => {
    await signInWithPassword();
    await page.locator("[data-view=profile]").waitFor({ state: "visible" });
  };
  const signOut = async () => {
    await page.click("#logout-here");
    await page.locator("[data-view=sign-in]").waitFor({ state: "visible" });
  };
  await signIn();
  const moved = `moved-${Date.now()}@example.com`;
  // What a thief holding only the access token would send: refused, nothing sent.
  const thief = await page.evaluate(
    async ([api, token]) => {
      const res = await fetch(`${api}/me`, {
        method: "PATCH",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ email: "thief@example.com" }),
      });
      return { status: res.status, body: await res.json() };
    },
    [apiUrl, await page.evaluate(() => sessionStorage.getItem("access_token"))],
  );
  if (thief.status !== 400 || thief.body?.error?.code !== "missing_field") {
    throw new Error(`PATCH /me with an access token alone: ${JSON.stringify(thief)}`);
  }
  await page.fill("#email-form [name=email]", moved);
  await page.fill("#email-form [name=password]", password);
  await page.click("#email-form button[type=submit]");
  await statusLine.filter({ hasText: /code is on its way/ }).waitFor();
  await page.locator("#me [data-field=e-mail]", { hasText: user }).waitFor();
  // The old address hears of it ("was this you?"): the local SES puts the alert in the mailbox.
  await page.locator("#mail li[data-kind=alert]", { hasText: user }).first().waitFor();
  const verifyMail = page.locator(`#mail li[data-kind=verify_email] .code`);
  await verifyMail.first().waitFor();
  await verifyMail.first().click();
  await page.click("#verify-email-form button[type=submit]");
  await page.locator("#me [data-field=e-mail]", { hasText: moved }).waitFor();
  await page.locator("#me [data-field=verified]", { hasText: "yes" }).waitFor();
  step("change the e-mail address with the password and the code from the mailbox pane (not with the access token alone); the old address is alerted");

  const oldIdToken = await page.evaluate(() => sessionStorage.getItem("id_token"));
  await signOut();
  const me = await page.evaluate(
    async ([api, token]) => {
      const res = await fetch(`${api}/me`, { headers: { Authorization: `Bearer ${token}` } });
      return { status: res.status, body: await res.json() };
    },
    [apiUrl, oldIdToken],
  );
  if (me.status !== 401 || me.body?.error?.code !== "token_revoked") {
    throw new Error(`/me after signing out this device: ${JSON.stringify(me)}`);
  }
  step("sign out this device, and its id token is refused at once (token_revoked)");

  // Sign-in without a password: passkeys and codes by e-mail.
  if (passwordless) {
    await signIn();
    await view("security");
    // A platform authenticator that verifies its user, as a laptop with a fingerprint reader
    // would; the browser stores the passkey in it.
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });

    await page.locator("#methods li[data-method=password]").waitFor();
    await page.fill("#passkey-form [name=password]", password);
    await page.click("#passkey-form button[type=submit]");
    const passkey = page.locator("#passkeys li[data-id]");
    await passkey.waitFor();
    await statusLine.filter({ hasText: /added/ }).waitFor();
    await page.locator("#methods li[data-method=passkey]").waitFor();
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    if (credentials.length !== 1) throw new Error(`the authenticator holds ${credentials.length} passkeys`);
    const listed = await passkey.getAttribute("data-id");
    if (listed !== credentials[0].credentialId.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")) {
      throw new Error(`the page lists ${listed}, the authenticator holds ${credentials[0].credentialId}`);
    }
    step("add a passkey with the password; the list and the sign-in methods show it");

    await signOut();
    await page.fill("#login-form [name=username]", user);
    await page.click("#login-passkey");
    await page.locator("[data-view=profile]").waitFor({ state: "visible" });
    await page.locator("#me [data-field=username]", { hasText: user }).waitFor();
    step("sign out, and sign in with the passkey");

    await signOut();
    // The newest mail with a code (newest first) once one more has come: the alert of the new
    // passkey has none.
    const codes = page.locator("#mail li:has(.code)");
    const before = await codes.count();
    await page.fill("#login-form [name=username]", user);
    await page.click("#login-email");
    await page.locator("#challenge-code").waitFor({ state: "visible" });
    await statusLine.filter({ hasText: "One more step" }).waitFor();
    await codes.nth(before).waitFor();
    const otp = codes.first().locator(".code");
    if (!/^[0-9]{6,8}$/.test((await otp.textContent()).trim())) throw new Error("the newest mail holds no sign-in code");
    await otp.click();
    await page.click("#challenge-submit");
    await page.locator("[data-view=profile]").waitFor({ state: "visible" });
    step("sign out, and sign in with a code sent by e-mail, from the mailbox pane");

    await view("security");
    page.once("dialog", (dialog) => dialog.accept());
    await passkey.locator("button.delete").click();
    await passkey.waitFor({ state: "detached" });
    await page.locator("#passkeys li", { hasText: "No passkey yet." }).waitFor();
    await page.locator("#methods li[data-method=passkey]").waitFor({ state: "detached" });
    step("remove the passkey");

    // A passkey again, proved this time with a code the API mails instead of the password.
    const before2 = await codes.count();
    await page.click("#passkey-email");
    await page.locator("#passkey-by-email").waitFor();
    await codes.nth(before2).waitFor();
    await codes.first().locator(".code").click();
    await page.click("#passkey-form button[type=submit]");
    await passkey.waitFor();
    await page.locator("#methods li[data-method=passkey]").waitFor();
    step("add a passkey with a code by e-mail as the proof");

    for (const call of ["POST /login/start", "POST /passkeys/register/start", "POST /passkeys/register/finish", "GET /passkeys", "DELETE /passkeys"]) {
      if (!apiCalls.some((c) => c.startsWith(call))) throw new Error(`the page never called ${call}`);
    }
    await signOut();
  }

  // Two-factor sign-in, codes computed from the key as an authenticator app computes them.
  await signIn();
  await view("security");
  await page.locator("#mfa-status", { hasText: "Off." }).waitFor();
  // An access token alone cannot enrol: /mfa/totp/verify wants the grant /mfa/totp/setup gives,
  // and the setup_token it answers.
  const unset = await page.evaluate(
    async ([api, token]) => {
      const res = await fetch(`${api}/mfa/totp/verify`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ code: "123456", setup_token: "a-token-nobody-was-given" }),
      });
      return { status: res.status, body: await res.json() };
    },
    [apiUrl, await page.evaluate(() => sessionStorage.getItem("access_token"))],
  );
  if (unset.status !== 403 || unset.body?.error?.code !== "setup_required") {
    throw new Error(`/mfa/totp/verify without /mfa/totp/setup: ${JSON.stringify(unset)}`);
  }
  await page.fill("#totp-setup-form [name=password]", password);
  await page.click("#mfa-setup");
  const qr = page.locator("#totp-setup .qr img");
  await qr.waitFor();
  if (!(await qr.getAttribute("src")).startsWith("data:image/svg+xml;base64,")) throw new Error("the QR code is not a data: image");
  if (!(await qr.evaluate((img) => img.complete && img.naturalWidth > 0))) throw new Error("the QR code does not draw");
  const secret = (await page.locator("#totp-setup [data-field=secret]").textContent()).trim();
  await page.fill("#totp-verify-form [name=code]", await totpNow(secret));
  await page.click("#totp-verify-form button");
  await page.locator("#recovery-codes li").nth(9).waitFor();
  const recoveryCodes = await page.locator("#recovery-codes li").allTextContents();
  await page.locator("#mfa-status", { hasText: "On: 10 recovery codes left." }).waitFor();
  step("enrol an authenticator from its QR code (an image of the API's SVG), with the password (not with the access token alone); ten recovery codes shown once");

  await signOut();
  await signInWithPassword();
  await page.locator("#challenge-form").waitFor({ state: "visible" });
  await page.fill("#challenge-form [name=code]", await totp(secret));
  await page.click("#challenge-submit");
  await page.locator("[data-view=profile]").waitFor({ state: "visible" });
  step("sign out, and sign in again with the password and the authenticator's code");

  await signOut();
  await page.click("a[href='#recover']");
  await page.fill("#recover-form [name=username]", user);
  await page.fill("#recover-form [name=password]", password);
  await page.fill("#recover-form [name=recovery_code]", recoveryCodes[0]);
  await page.click("#recover-form button[type=submit]");
  await page.locator("#nav-in").waitFor({ state: "visible" });
  await statusLine.filter({ hasText: /turn it on again/ }).waitFor();
  await view("security");
  await page.locator("#mfa-status", { hasText: "Off." }).waitFor();
  step("sign in with a recovery code instead; two-factor sign-in is off");

  await page.fill("#totp-setup-form [name=password]", password);
  await page.click("#mfa-setup");
  await page.locator("#totp-setup .qr img").waitFor();
  const again = (await page.locator("#totp-setup [data-field=secret]").textContent()).trim();
  await page.fill("#totp-verify-form [name=code]", await totpNow(again));
  await page.click("#totp-verify-form button");
  await page.locator("#totp-setup").waitFor({ state: "hidden" });
  await page.locator("#mfa-status", { hasText: "On: 10 recovery codes left." }).waitFor();
  const againCodes = await page.locator("#recovery-codes li").allTextContents();
  await page.locator("#methods li[data-method=totp]").waitFor();
  step("enrol again");

  // Replacing it takes the password and the current authenticator's code.
  await page.locator("#totp-setup-form [name=code]").waitFor({ state: "visible" });
  await page.fill("#totp-setup-form [name=password]", password);
  await page.fill("#totp-setup-form [name=code]", await totp(again));
  await page.click("#mfa-setup");
  await page.locator("#totp-setup").waitFor({ state: "visible" });
  const replaced = (await page.locator("#totp-setup [data-field=secret]").textContent()).trim();
  if (replaced === again) throw new Error("the replacement shows the old key");
  await page.fill("#totp-verify-form [name=code]", await totpNow(replaced));
  await page.click("#totp-verify-form button");
  await page.locator("#totp-setup").waitFor({ state: "hidden" });
  await page.locator("#mfa-status", { hasText: "On: 10 recovery codes left." }).waitFor();
  const replacedCodes = await page.locator("#recovery-codes li").allTextContents();
  if (replacedCodes.length !== 10 || replacedCodes.some((c) => againCodes.includes(c))) {
    throw new Error("replacing the authenticator did not show ten new recovery codes");
  }
  step("replace the authenticator with the password and the current code; ten new recovery codes");

  // What a form sent of "Keep me signed in on my other devices".
  const keepSent = async (path, submit) => {
    const [request] = await Promise.all([
      page.waitForRequest((r) => r.method() === "POST" && r.url() === `${apiUrl}${path}`),
      submit(),
    ]);
    return request.postDataJSON().keep_other_sessions;
  };

  // Off with the password and one of the new recovery codes (no wait for a fresh TOTP step).
  await page.fill("#totp-disable-form [name=password]", password);
  await page.fill("#totp-disable-form [name=recovery_code]", replacedCodes[0]);
  const keptOff = await keepSent("/mfa/totp/disable", () => page.click("#totp-disable-form button"));
  await page.locator("#mfa-status", { hasText: "Off." }).waitFor();
  if (keptOff !== false) throw new Error(`turning it off sent keep_other_sessions ${keptOff}, not false`);
  step("turn two-factor sign-in off with the password and a recovery code (the other sessions not kept)");

  await page.fill("#password-form [name=previous_password]", password);
  password = "Third-Horse-5!x";
  await page.fill("#password-form [name=proposed_password]", password);
  await page.check("#password-form [name=keep_other_sessions]");
  const keptChange = await keepSent("/change_password", () => page.click("#password-form button[type=submit]"));
  await statusLine.filter({ hasText: "Password changed." }).waitFor();
  if (keptChange !== true) throw new Error(`the password change sent keep_other_sessions ${keptChange}, not true`);
  step("change the password, keeping the other sessions as ticked");

  await view("profile");
  page.once("dialog", (dialog) => dialog.accept());
  await page.fill("#delete-form [name=password]", password);
  await page.click("#delete-form button[type=submit]");
  await statusLine.filter({ hasText: /account deleted/i }).waitFor();
  await page.locator("[data-view=sign-in]").waitFor({ state: "visible" });
  await page.fill("#login-form [name=username]", user);
  await page.fill("#login-form [name=password]", password);
  await page.click("#login-form button[type=submit]");
  await statusLine.filter({ hasText: /invalid_credentials/ }).waitFor();
  step("delete the account; signing in again fails as for an unknown user");

  for (const call of ["POST /register", "POST /confirm_user", "POST /login", "GET /me", "POST /books", "DELETE /books", "POST /logout", "PATCH /me", "POST /me/verify_email", "DELETE /me", "GET /mfa", "POST /mfa/totp/setup", "POST /mfa/totp/verify", "POST /login/challenge", "POST /login/recover", "POST /mfa/totp/disable", "POST /forgot_password", "POST /reset_password", "POST /change_password", "GET /me/sessions", "DELETE /me/sessions/", "DELETE /me/sessions"]) {
    if (!apiCalls.some((c) => c.startsWith(call))) throw new Error(`the page never called ${call}`);
  }

  // The re-authentication prompt, against the API whose window is seconds long: the sign-in
  // it needs to be old was made at the start.
  if (short) {
    const { page3, calls: shortCalls, password: shortPassword, pastWindow } = short;
    page = page3; // what a failure reports
    const away = `away-${Date.now()}@example.com`;
    await page3.fill("#email-form [name=email]", away);
    await page3.fill("#email-form [name=password]", shortPassword);
    // Past already, but for a walk quicker than the window.
    await page3.waitForTimeout(Math.max(0, pastWindow - Date.now()));

    const prompt = page3.locator("#reauth");
    const status3 = page3.locator("#status");
    await page3.click("#email-form button[type=submit]");
    await prompt.waitFor({ state: "visible" });
    await page3.locator("#reauth-hint", { hasText: `within the last ${shortReauth.window} seconds` }).waitFor();
    if ((await page3.locator("main").getAttribute("inert")) === null) throw new Error("the page behind the prompt is not inert");
    await page3.click("#reauth-cancel");
    await prompt.waitFor({ state: "hidden" });
    await status3.filter({ hasText: /Not changed/ }).waitFor();
    if ((await page3.locator("#email-form [name=email]").inputValue()) !== away) throw new Error("cancelling the prompt lost the form");
    step("past the re-authentication window, an e-mail change opens the re-authentication prompt; cancelled, nothing changes");

    await page3.click("#email-form button[type=submit]");
    await prompt.waitFor({ state: "visible" });
    await page3.fill("#reauth-form [name=password]", "Not-The-Password-1!");
    await page3.click("#reauth-form button[type=submit]");
    await page3.locator("#reauth-note", { hasText: /invalid_credentials/ }).waitFor();
    await page3.fill("#reauth-form [name=password]", shortPassword);
    await page3.click("#reauth-form button[type=submit]");
    await status3.filter({ hasText: `A code is on its way to ${away}` }).waitFor();
    await prompt.waitFor({ state: "hidden" });
    const patches = shortCalls.filter((c) => c === "PATCH /me").length;
    if (patches !== 3) throw new Error(`PATCH /me sent ${patches} times, not 3 (twice refused, once again after the sign-in)`);
    await page3.click("nav a[href='#security']");
    const sessions3 = page3.locator("#sessions li[data-id]");
    await sessions3.first().waitFor();
    if ((await sessions3.count()) !== 1 || (await sessions3.first().getAttribute("data-current")) !== "true") {
      throw new Error(`after signing in again, the sessions are: ${await page3.locator("#sessions").innerText()}`);
    }
    await page3.context().close();
    step("the re-authentication prompt: a wrong password refused in it; signed in again, the change goes through, and the session it replaced has ended");
  }

  // An administrator disables a user who has the page open in another browser: the user's
  // next action shows them signed out; enabled again, they sign in.
  if (process.env.ADMIN_USER && process.env.TARGET_USER) {
    const [adminUser, targetUser, usersPassword] = [process.env.ADMIN_USER, process.env.TARGET_USER, process.env.USERS_PASSWORD];
    const signInAs = async (p, name) => {
      await p.goto(`${pageUrl}/?api=${encodeURIComponent(apiUrl)}`);
      await p.fill("#login-form [name=username]", name);
      await p.fill("#login-form [name=password]", usersPassword);
      await p.click("#login-form button[type=submit]");
      await p.locator("[data-view=profile]").waitFor({ state: "visible" });
    };
    const targetContext = await browser.newContext({ viewport: VIEWPORT, userAgent: FIREFOX_ON_WINDOWS });
    const targetPage = await openPage(targetContext, apiUrl, []);
    await signInAs(targetPage, targetUser);
    if (await targetPage.locator("#nav-admin").isVisible()) throw new Error("a user of no group is shown the admin view");
    const adminContext = await browser.newContext({ viewport: VIEWPORT, userAgent: CHROME_ON_LINUX });
    const adminPage = await openPage(adminContext, apiUrl, []);
    await signInAs(adminPage, adminUser);
    await adminPage.click("#nav-admin");
    await adminPage.fill("#admin-search-form [name=email]", targetUser.split("@")[0]);
    await adminPage.click("#admin-search-form button[type=submit]");
    const row = adminPage.locator(`#admin-users li[data-username="${targetUser}"]`);
    await row.waitFor();
    if ((await adminPage.locator("#admin-users li[data-username]").count()) !== 1) throw new Error("the search found more than the user");
    await row.locator("button", { hasText: "Disable" }).click();
    await adminPage.locator("#status", { hasText: `Disabled ${targetUser}` }).waitFor();
    await adminPage.locator(`#admin-users li[data-username="${targetUser}"][data-enabled=false]`).waitFor();
    // The disabled user's open page: its next action shows it signed out.
    await targetPage.click("nav a[href='#security']");
    await targetPage.locator("#status", { hasText: "This session was ended" }).waitFor();
    await targetPage.locator("[data-view=sign-in]").waitFor({ state: "visible" });
    await targetPage.fill("#login-form [name=username]", targetUser);
    await targetPage.fill("#login-form [name=password]", usersPassword);
    await targetPage.click("#login-form button[type=submit]");
    await targetPage.locator("#status", { hasText: /invalid_credentials|incorrect|not/i }).waitFor();
    if (await targetPage.locator("[data-view=profile]").isVisible()) throw new Error("a disabled user signed in");
    await adminPage.locator(`#admin-users li[data-username="${targetUser}"] button`, { hasText: "Enable" }).click();
    await adminPage.locator("#status", { hasText: `Enabled ${targetUser}` }).waitFor();
    await signInAs(targetPage, targetUser);
    await targetContext.close();
    await adminContext.close();
    step("an administrator disables a user: the user's open page is signed out at its next action, and signs in no more until enabled");
  }
} catch (e) {
  problems.push(`flow: ${e.message}`);
  // What the page said last, and what it showed, to tell why.
  const said = await page?.locator("#status").textContent({ timeout: 1000 }).catch(() => null);
  if (said) problems.push(`the status line read: ${said}`);
  if (page && screenshot) await page.screenshot({ path: screenshot.replace(/\.png$/, "-failed.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}

for (const p of problems) console.error(`not ok - ${p}`);
console.log(`${passed} passed, ${problems.length} failed, in ${Math.round((Date.now() - startedAt) / 1000)} s`);
process.exit(problems.length ? 1 : 0);
