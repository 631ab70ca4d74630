//! The functions, found in template.yaml, and the invocations fed to each: the `events/`
//! fixtures of its routes, with user names, tokens and ids rewritten so that every call does
//! the real work (a new account, a valid login, a book that exists).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// One function of the template, with the fixtures of its routes.
pub struct Function {
    /// The template's logical id (`LoginFunction`).
    pub logical_id: String,
    /// The Cargo binary (`login`).
    pub binary: String,
    /// The variables the template sets on it (values resolved by the harness).
    pub env_names: Vec<String>,
    /// (fixture file stem, event), in the order they are fed.
    pub events: Vec<(String, Value)>,
}

/// What the fixtures' users and tokens are replaced with.
pub struct Seed {
    pub username: String,
    pub password: String,
    /// Cognito's internal user name (the `cognito:username` claim).
    pub cognito_username: String,
    /// A refresh token per /refresh, each of a sign-in of its own: an exchange spends it.
    pub refreshes: Vec<String>,
    /// The same user's access token, for /change_password.
    pub access_token: String,
    /// The same user, as the authorizer passes them.
    pub main: Session,
    /// The app client the functions take tokens of (`aud`, `client_id`).
    pub client_id: String,
    /// Accounts with a new e-mail address awaiting its code, one per
    /// `/me/verify_email/resend`: each user may send only so much mail a day.
    pub resends: Vec<Session>,
    /// Registered, unconfirmed accounts for /confirm_user, one per invocation, each with the
    /// code the local mailbox got.
    pub unconfirmed: Vec<(String, String)>,
    /// An unconfirmed account for /resend_code.
    pub resend_user: String,
    /// Accounts with a password-reset code, for /reset_password, one per invocation.
    pub resets: Vec<(String, String)>,
    /// Access tokens of accounts signed in once each, for /logout, one per invocation: a
    /// sign-out ends all of a user's sessions.
    pub sign_outs: Vec<Session>,
    /// Accounts to delete (`DELETE /me`), one per invocation: their access token, `sub` and
    /// internal user name (the claims the authorizer would pass).
    pub deletions: Vec<Session>,
    /// Accounts with a new e-mail address awaiting its code, one per `/me/verify_email`.
    pub verifications: Vec<(Session, String)>,
    /// Accounts an administrator created, each with the NEW_PASSWORD_REQUIRED challenge's
    /// (internal user name, session), one per `/login/challenge`.
    pub challenges: Vec<(String, String)>,
    /// Users with an authenticator secret (base32) to confirm and the set-up's token, one per
    /// `/mfa/totp/verify`.
    pub enrolments: Vec<(Session, String, String)>,
    /// Users with TOTP on, and their secret, one per `/mfa/totp/disable`.
    pub disables: Vec<(Session, String)>,
    /// Users with TOTP on and a recovery code, one per `/login/recover`.
    pub recoveries: Vec<(String, String)>,
    /// Passkey registrations started with the proof (the grant the start records), each with
    /// the software authenticator's credential, one per `/passkeys/register/finish`.
    pub passkey_finishes: Vec<(Session, String, Value)>,
    /// Users with a passkey, and its id, one per `DELETE /passkeys/{id}`.
    pub passkey_deletions: Vec<(Session, String)>,
}

/// A signed-in user, as the authorizer passes them to the function.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub access_token: String,
    pub sub: String,
    pub username: String,
    /// The session the token belongs to, and when it signed in: the boundary refuses a token
    /// without them.
    pub origin_jti: String,
    pub auth_time: String,
}

/// Puts `session`'s access token in the event, and its claims where the authorizer puts them.
fn act_as(ev: &mut Value, session: &Session) {
    let bearer = format!("Bearer {}", session.access_token);
    ev["headers"]["Authorization"] = bearer.clone().into();
    ev["multiValueHeaders"]["Authorization"] = serde_json::json!([bearer]);
    let claims = &mut ev["requestContext"]["authorizer"]["claims"];
    claims["sub"] = session.sub.clone().into();
    claims["username"] = session.username.clone().into();
    claims["origin_jti"] = session.origin_jti.clone().into();
    claims["auth_time"] = session.auth_time.clone().into();
}

/// The functions of `template`, each with the `events/` fixtures whose route is one of its.
pub fn discover(t: &local_api::template::Template, events_dir: &Path) -> Vec<Function> {
    let fixtures: Vec<(String, Value)> = std::fs::read_dir(events_dir)
        .expect("events/ is readable")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| {
            let stem = e.path().file_stem()?.to_string_lossy().into_owned();
            let text = std::fs::read_to_string(e.path()).ok()?;
            Some((stem, serde_json::from_str(&text).ok()?))
        })
        .collect();

    let mut by_fn: BTreeMap<String, Function> = BTreeMap::new();
    for r in &t.routes {
        let f = by_fn.entry(r.function.clone()).or_insert_with(|| Function {
            logical_id: r.function.clone(),
            binary: r.binary.clone(),
            env_names: env_names(t, &r.function),
            events: Vec::new(),
        });
        for (stem, ev) in &fixtures {
            let resource = ev["resource"].as_str().unwrap_or_default();
            let method = ev["httpMethod"].as_str().unwrap_or_default();
            if resource == r.path
                && (r.method == method || r.method == "ANY")
                && !f.events.iter().any(|(s, _)| s == stem)
            {
                f.events.push((stem.clone(), ev.clone()));
            }
        }
    }
    let mut functions: Vec<Function> = by_fn
        .into_values()
        .filter(|f| !f.events.is_empty())
        .collect();
    for f in &mut functions {
        f.events
            .sort_by_key(|(stem, ev)| (method_rank(ev), stem.clone()));
    }
    functions
}

/// Writes first, so that the reads and deletes after them find something.
fn method_rank(ev: &Value) -> u8 {
    match ev["httpMethod"].as_str() {
        Some("POST") => 0,
        Some("GET") => 1,
        Some("PUT" | "PATCH") => 2,
        Some("DELETE") => 4,
        _ => 3,
    }
}

fn env_names(t: &local_api::template::Template, logical_id: &str) -> Vec<String> {
    t.properties(logical_id)
        .and_then(|p| {
            p.get("Environment")?
                .get("Variables")?
                .as_mapping()
                .cloned()
        })
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl Function {
    /// How many times the fixture `stem` is fed in `runs` cold starts of `per_run` invocations.
    pub fn uses(&self, stem: &str, runs: usize, per_run: usize) -> usize {
        let per_run = (0..per_run)
            .filter(|n| self.events[n % self.events.len()].0 == stem)
            .count();
        runs * per_run
    }

    /// The `n`-th invocation of run `run`: the fixtures in turn, made real with `seed`.
    pub fn event(&self, seed: &mut Seed, run: usize, n: usize) -> Value {
        let (_, template) = &self.events[n % self.events.len()];
        let round = n / self.events.len();
        let mut ev = template.clone();
        let route = ev["resource"].as_str().unwrap_or_default().to_owned();
        // The fixture's session, which no sign-in recorded: replaced below by a seeded one.
        let fixture_session = ev["requestContext"]["authorizer"]["claims"]["origin_jti"].clone();
        let mut body: Option<Value> = ev["body"]
            .as_str()
            .and_then(|b| serde_json::from_str(b).ok());
        match (route.as_str(), body.as_mut()) {
            ("/register", Some(b)) => {
                b["username"] = format!("bench-{run}-{n}@example.com").into();
                b["password"] = seed.password.clone().into();
                if b.get("email").is_some() {
                    b["email"] = b["username"].clone();
                }
            }
            ("/confirm_user", Some(b)) => {
                let (username, code) = seed.unconfirmed.pop().unwrap_or_default();
                b["username"] = username.into();
                b["confirmation_code"] = code.into();
            }
            ("/resend_code", Some(b)) => {
                b["username"] = seed.resend_user.clone().into();
            }
            ("/login/recover", Some(b)) => {
                let (username, code) = seed.recoveries.pop().unwrap_or_default();
                b["username"] = username.into();
                b["password"] = seed.password.clone().into();
                b["recovery_code"] = code.into();
            }
            ("/login/challenge", Some(b)) => {
                let (username, session) = seed.challenges.pop().unwrap_or_default();
                b["username"] = username.into();
                b["session"] = session.into();
                b["challenge"] = "NEW_PASSWORD_REQUIRED".into();
                b["new_password"] = seed.password.clone().into();
            }
            ("/reset_password", Some(b)) => {
                let (username, code) = seed.resets.pop().unwrap_or_default();
                b["username"] = username.into();
                b["confirmation_code"] = code.into();
                b["new_password"] = seed.password.clone().into();
            }
            ("/login", Some(b)) => {
                b["username"] = seed.username.clone().into();
                b["password"] = seed.password.clone().into();
            }
            ("/refresh", Some(b)) => {
                b["username"] = seed.cognito_username.clone().into();
                b["refresh_token"] = seed.refreshes.pop().unwrap_or_default().into();
            }
            ("/forgot_password", Some(b)) => {
                b["username"] = seed.username.clone().into();
            }
            // To the same password: every invocation finds the one it expects.
            ("/change_password", Some(b)) => {
                b["previous_password"] = seed.password.clone().into();
                b["proposed_password"] = seed.password.clone().into();
                // The main user's other sessions serve the other routes.
                b["keep_other_sessions"] = true.into();
                let bearer = format!("Bearer {}", seed.access_token);
                ev["headers"]["Authorization"] = bearer.clone().into();
                ev["multiValueHeaders"]["Authorization"] = serde_json::json!([bearer]);
            }
            _ => {}
        }
        let method = ev["httpMethod"].as_str().unwrap_or_default().to_owned();
        match (method.as_str(), route.as_str(), body.as_mut()) {
            ("DELETE", "/me", Some(b)) => {
                act_as(&mut ev, &seed.deletions.pop().unwrap_or_default());
                b["password"] = seed.password.clone().into();
            }
            ("POST", "/me/verify_email", Some(b)) => {
                let (session, code) = seed.verifications.pop().unwrap_or_default();
                act_as(&mut ev, &session);
                b["code"] = code.into();
            }
            // A profile change, a new code, a new authenticator secret, the MFA settings: the
            // same user every time.
            ("POST", "/me/verify_email/resend", _) => {
                act_as(&mut ev, &seed.resends.pop().unwrap_or_default());
            }
            ("PATCH", "/me", _)
            | ("POST", "/mfa/totp/setup", _)
            | ("GET", "/mfa", _)
            | ("GET", "/passkeys", _) => {
                act_as(&mut ev, &seed.main.clone());
            }
            // The proof is the main user's password; a sign-in by e-mailed code is theirs too.
            ("POST", "/passkeys/register/start", Some(b)) => {
                act_as(&mut ev, &seed.main.clone());
                b["password"] = seed.password.clone().into();
            }
            ("POST", "/login/start", Some(b)) => {
                b["username"] = seed.username.clone().into();
            }
            ("POST", "/passkeys/register/finish", Some(b)) => {
                let (session, token, credential) = seed.passkey_finishes.pop().unwrap_or_default();
                act_as(&mut ev, &session);
                b["registration_token"] = token.into();
                b["credential"] = credential;
            }
            ("DELETE", "/passkeys/{id}", _) => {
                let (session, id) = seed.passkey_deletions.pop().unwrap_or_default();
                act_as(&mut ev, &session);
                ev["pathParameters"]["id"] = id.clone().into();
                ev["path"] = format!("/passkeys/{id}").into();
                ev["requestContext"]["path"] = format!("/Prod/passkeys/{id}").into();
            }
            // Codes of the authenticator, as it shows them at the invocation.
            ("POST", "/mfa/totp/verify", Some(b)) => {
                let (session, secret, setup_token) = seed.enrolments.pop().unwrap_or_default();
                act_as(&mut ev, &session);
                b["setup_token"] = setup_token.into();
                b["code"] = local_cognito::totp::totp(&secret, std::time::SystemTime::now()).into();
            }
            ("POST", "/mfa/totp/disable", Some(b)) => {
                let (session, secret) = seed.disables.pop().unwrap_or_default();
                act_as(&mut ev, &session);
                b["password"] = seed.password.clone().into();
                b["code"] = local_cognito::totp::totp(&secret, std::time::SystemTime::now()).into();
            }
            _ => {}
        }
        // A sign-out, and ending every other session, each of a user of its own: the main user's
        // other sessions serve the other routes.
        if route == "/logout" || (route == "/me/sessions" && ev["httpMethod"] == "DELETE") {
            act_as(&mut ev, &seed.sign_outs.pop().unwrap_or_default());
        }
        // Every other caller is the main user, in a session the seed recorded (the books and
        // `GET /me` take the id token's claims: the header is not read there).
        let claims = &mut ev["requestContext"]["authorizer"]["claims"];
        if claims.is_object() && claims["origin_jti"] == fixture_session {
            let main = &seed.main;
            claims["sub"] = main.sub.clone().into();
            claims["origin_jti"] = main.origin_jti.clone().into();
            claims["auth_time"] = main.auth_time.clone().into();
            if claims.get("cognito:username").is_some() {
                claims["cognito:username"] = main.username.clone().into();
            }
            if claims.get("username").is_some() {
                claims["username"] = main.username.clone().into();
            }
        }
        // Tokens of the bench's own app client, as the functions take them.
        let claims = &mut ev["requestContext"]["authorizer"]["claims"];
        if claims.is_object() {
            let audience = if claims["token_use"] == "id" {
                "aud"
            } else {
                "client_id"
            };
            claims[audience] = seed.client_id.clone().into();
        }
        // One book per round of the books fixtures: created, read, listed, replaced, deleted.
        let books = route.starts_with("/books");
        if books && (route.contains("{id}") || body.as_ref().is_some_and(|b| b.get("id").is_some()))
        {
            let id = format!("bench-{run}-{round}");
            if let Some(b) = body.as_mut().filter(|b| b.get("id").is_some()) {
                b["id"] = id.clone().into();
            }
            if route.contains("{id}") {
                ev["pathParameters"]["id"] = id.clone().into();
                let path = route.replace("{id}", &id);
                ev["path"] = path.clone().into();
                ev["requestContext"]["path"] = format!("/Prod{path}").into();
            }
        }
        if let Some(b) = body {
            ev["body"] = b.to_string().into();
        }
        ev["requestContext"]["requestId"] = format!("bench-{run}-{n}").into();
        ev
    }
}
