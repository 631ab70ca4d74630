// The demo page in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core),
// loaded from one origin against the API on another:
//   register → confirm → login → /me → a 401 answered by one refresh → create a book → list →
//   delete → logout, and then the old refresh token is refused; a change of e-mail address (the
//   password again; the old address alerted); two-factor sign-in: enrol (the password again),
//   sign in with a code, with a recovery code, enrol again, replace the authenticator (the
//   password and the current code), turn it off; delete the account.
// Fails on any console error mentioning CORS, on any page error, and on any failed request.
//
// Usage: node flow.mjs <page-url> <api-url> [screenshot.png]
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
const problems = [];
let passed = 0;

function step(name) {
  passed += 1;
  console.log(`ok ${passed} - ${name}`);
}

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

try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("console", (msg) => {
    const text = msg.text();
    if (/cors|access-control/i.test(text)) problems.push(`CORS console message: ${text}`);
    else if (msg.type() === "error" && !/status of (400|401|403)/.test(text)) {
      // The browser logs every 4xx; the flow provokes 401s (a bad token, a revoked one, a
      // deleted account's sign-in), 400s (a wrong code, an address change without the
      // password) and a 403 (enrolling without /mfa/totp/setup's grant) on purpose.
      problems.push(`console error: ${text}`);
    }
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("requestfailed", (req) =>
    problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`),
  );
  const apiCalls = [];
  page.on("request", (req) => {
    if (req.url().startsWith(apiUrl)) apiCalls.push(`${req.method()} ${new URL(req.url()).pathname}`);
  });

  await page.goto(`${pageUrl}/?api=${encodeURIComponent(apiUrl)}`);
  await page.locator("#api-base", { hasText: apiUrl }).waitFor();
  step("the page loads from its own origin and names the API");

  const user = `browser-${Date.now()}@example.com`;
  const password = "Correct-Horse-9!";
  const statusLine = page.locator("#status");

  await page.fill("#register-form [name=username]", user);
  await page.fill("#register-form [name=password]", password);
  await page.click("#register-form button");
  await statusLine.filter({ hasText: /code|confirm/i }).waitFor();
  step("register");

  // The code Cognito would have e-mailed, from the page's local mailbox pane, as a person
  // would read it there: a wrong one first, which the local Cognito refuses as Cognito does.
  const mail = page.locator(`#mail li[data-username="${user}"][data-kind=sign_up] .code`);
  await mail.first().waitFor();
  const code = (await mail.first().textContent()).trim();
  if (!/^[0-9]{6}$/.test(code)) throw new Error(`the mailbox shows ${code}, not a 6-digit code`);
  await page.fill("#confirm-form [name=confirmation_code]", code === "000000" ? "000001" : "000000");
  await page.click("#confirm-form button");
  await statusLine.filter({ hasText: /code_mismatch/ }).waitFor();
  await mail.first().click();
  await page.click("#confirm-form button");
  await statusLine.filter({ hasText: /confirmed/i }).waitFor();
  step("confirm");

  await page.fill("#login-form [name=password]", password);
  await page.click("#login-form button");
  await page.locator("#me [data-field=username]", { hasText: user }).waitFor();
  await page.locator("#me [data-field=e-mail]", { hasText: user }).waitFor();
  await page.locator("#me [data-field=verified]", { hasText: "yes" }).waitFor();
  step("login, and /me shows the signed-in user, their e-mail address verified");

  // A token the authorizer refuses: the page refreshes once and retries.
  await page.evaluate(() => sessionStorage.setItem("id_token", "not-a-token"));
  await page.click("#reload");
  await statusLine.filter({ hasText: "Reloaded." }).waitFor();
  const idToken = await page.evaluate(() => sessionStorage.getItem("id_token"));
  if (!idToken || idToken === "not-a-token") throw new Error("the page did not refresh its token");
  if (!apiCalls.includes("POST /refresh")) throw new Error("no call to /refresh was made");
  step("a 401 is answered by one refresh and a retry");

  const title = `A Wizard of Earthsea ${Date.now()}`;
  await page.fill("#book-form [name=name]", title);
  await page.fill("#book-form [name=author]", "Ursula K. Le Guin");
  await page.click("#book-form button");
  const row = page.locator("#books li", { hasText: title });
  await row.waitFor();
  step("create a book, and the list shows it");

  if (screenshot) {
    await page.screenshot({ path: screenshot, fullPage: true });
    step(`screenshot of the signed-in page: ${screenshot}`);
  }

  await row.locator("button.delete").click();
  await row.waitFor({ state: "detached" });
  step("delete the book, and the list no longer shows it");

  const refreshToken = await page.evaluate(() => sessionStorage.getItem("refresh_token"));
  const username = await page.evaluate(() => sessionStorage.getItem("username"));
  await page.click("#logout");
  await page.locator("#signed-out").waitFor({ state: "visible" });
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

  // Sign-in times are whole seconds: a sign-in in the second of a sign-out everywhere counts as
  // before it.
  await page.waitForTimeout(1100);
  const signInWithPassword = async () => {
    await page.fill("#login-form [name=username]", user);
    await page.fill("#login-form [name=password]", password);
    await page.click("#login-form button");
  };
  const signIn = async () => {
    await signInWithPassword();
    await page.locator("#signed-in").waitFor({ state: "visible" });
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
  await page.click("#email-form button");
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
  await page.click("#logout-here");
  await page.locator("#signed-out").waitFor({ state: "visible" });
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

  // Two-factor sign-in, codes computed from the key as an authenticator app computes them.
  await signIn();
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
  await page.locator("#totp-setup .qr img").waitFor();
  const secret = (await page.locator("#totp-setup [data-field=secret]").textContent()).trim();
  await page.fill("#totp-verify-form [name=code]", await totpNow(secret));
  await page.click("#totp-verify-form button");
  await page.locator("#recovery-codes li").nth(9).waitFor();
  const recoveryCodes = await page.locator("#recovery-codes li").allTextContents();
  await page.locator("#mfa-status", { hasText: "On: 10 recovery codes left." }).waitFor();
  step("enrol an authenticator from its QR code, with the password (not with the access token alone); ten recovery codes shown once");

  await page.click("#logout-here");
  await page.locator("#signed-out").waitFor({ state: "visible" });
  await signInWithPassword();
  await page.locator("#challenge-form").waitFor({ state: "visible" });
  await page.fill("#challenge-form [name=code]", await totp(secret));
  await page.click("#challenge-form button");
  await page.locator("#signed-in").waitFor({ state: "visible" });
  step("sign out, and sign in again with the password and the authenticator's code");

  await page.click("#logout-here");
  await page.locator("#signed-out").waitFor({ state: "visible" });
  await page.fill("#recover-form [name=username]", user);
  await page.fill("#recover-form [name=password]", password);
  await page.fill("#recover-form [name=recovery_code]", recoveryCodes[0]);
  await page.click("#recover-form button");
  await page.locator("#signed-in").waitFor({ state: "visible" });
  await statusLine.filter({ hasText: /turn it on again/ }).waitFor();
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

  // Off with the password and one of the new recovery codes (no wait for a fresh TOTP step).
  await page.fill("#totp-disable-form [name=password]", password);
  await page.fill("#totp-disable-form [name=recovery_code]", replacedCodes[0]);
  await page.click("#totp-disable-form button");
  await page.locator("#mfa-status", { hasText: "Off." }).waitFor();
  step("turn two-factor sign-in off with the password and a recovery code");

  page.once("dialog", (dialog) => dialog.accept());
  await page.fill("#delete-form [name=password]", password);
  await page.click("#delete-form button");
  await statusLine.filter({ hasText: /account deleted/i }).waitFor();
  await page.locator("#signed-out").waitFor({ state: "visible" });
  await page.fill("#login-form [name=username]", user);
  await page.fill("#login-form [name=password]", password);
  await page.click("#login-form button");
  await statusLine.filter({ hasText: /invalid_credentials/ }).waitFor();
  step("delete the account; signing in again fails as for an unknown user");

  for (const call of ["POST /register", "POST /confirm_user", "POST /login", "GET /me", "POST /books", "DELETE /books", "POST /logout", "PATCH /me", "POST /me/verify_email", "DELETE /me", "GET /mfa", "POST /mfa/totp/setup", "POST /mfa/totp/verify", "POST /login/challenge", "POST /login/recover", "POST /mfa/totp/disable"]) {
    if (!apiCalls.some((c) => c.startsWith(call))) throw new Error(`the page never called ${call}`);
  }
} catch (e) {
  problems.push(`flow: ${e.message}`);
} finally {
  await browser.close();
}

for (const p of problems) console.error(`not ok - ${p}`);
console.log(`${passed} passed, ${problems.length} failed`);
process.exit(problems.length ? 1 : 0);
