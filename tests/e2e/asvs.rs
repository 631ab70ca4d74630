//! OWASP ASVS 5.0, chapters V6 and V7 at level 2 (docs/asvs.md): the requirements met that no
//! other test shows, each test naming the requirements it shows. Over HTTP through the local API
//! with moto behind it where the API decides; read from `template.yaml` and `web/` where the
//! stack's settings or the demo page do.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use integration_tests::{
    LocalApi, Moto, PASSWORD, error_code, json_of, login, next_totp, register_and_confirm,
    signed_in, totp, workspace_root,
};
use serde_json::{Value, json};
use serde_yaml::Value as Yaml;

// ---------------------------------------------------------------------------------------------
// Helpers

fn read(path: &str) -> String {
    let path = workspace_root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn template() -> Yaml {
    serde_yaml::from_str(&read("template.yaml")).expect("template.yaml is YAML")
}

/// Every resource of the template whose `Type` is `kind`, by logical id.
fn resources_of<'a>(t: &'a Yaml, kind: &str) -> Vec<(&'a str, &'a Yaml)> {
    t["Resources"]
        .as_mapping()
        .expect("Resources is a mapping")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str().expect("a resource id"), r))
        .collect()
}

/// The one resource of type `kind`.
fn resource<'a>(t: &'a Yaml, kind: &str) -> &'a Yaml {
    let found = resources_of(t, kind);
    assert_eq!(found.len(), 1, "one {kind}: {found:?}");
    found[0].1
}

/// Every plain string under `value`, through CloudFormation's tags (`!If [cond, a, b]` gives
/// the condition's name and both branches).
fn strings(value: &Yaml) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Yaml::String(s) => {
                out.insert(s.clone());
            }
            Yaml::Sequence(items) => stack.extend(items),
            Yaml::Mapping(m) => stack.extend(m.values()),
            Yaml::Tagged(t) => stack.push(&t.value),
            _ => {}
        }
    }
    out
}

/// The claims of a JWT, unverified: to compare the tokens of two sign-ins.
fn claims(token: &Value) -> Value {
    let payload = token
        .as_str()
        .expect("a token")
        .split('.')
        .nth(1)
        .expect("a JWT has a payload");
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .expect("the payload is base64url");
    serde_json::from_slice(&bytes).expect("the payload is JSON")
}

async fn register(api: &LocalApi, user: &str, password: &str) -> (u16, Value) {
    let body = json!({"username": user, "password": password});
    json_of(api.post("/register", body).await).await
}

async fn change_password(api: &LocalApi, tokens: &Value, from: &str, to: &str) -> (u16, Value) {
    let body = json!({"previous_password": from, "proposed_password": to});
    api.call(
        "POST",
        "/change_password",
        &tokens["access_token"],
        Some(body),
    )
    .await
}

/// Turns the authenticator on for `tokens`' user (the password, then a code of the new secret):
/// the secret.
async fn turn_on_totp(api: &LocalApi, tokens: &Value) -> String {
    let access = &tokens["access_token"];
    let proof = json!({"password": PASSWORD});
    let (s, setup) = api
        .call("POST", "/mfa/totp/setup", access, Some(proof))
        .await;
    assert_eq!(s, 200, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let body = json!({"code": totp(&secret, api.cognito().now()),
                      "setup_token": setup["setup_token"]});
    let (s, b) = api
        .call("POST", "/mfa/totp/verify", access, Some(body))
        .await;
    assert_eq!(s, 200, "{b}");
    secret
}

// ---------------------------------------------------------------------------------------------
// V6.2 Password security

/// 6.2.1: the pool's policy takes passwords of 12 characters and refuses 11, at sign-up and at a
/// change of password alike.
#[tokio::test]
async fn a_password_needs_twelve_characters_at_sign_up_and_at_a_change() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    // Both have upper and lower case, a digit and a symbol: only the length differs.
    let eleven = "Correct-H9!";
    let twelve = "Correct-Ho9!";
    assert_eq!((eleven.len(), twelve.len()), (11, 12));

    let (s, b) = register(&api, "eleven@example.com", eleven).await;
    assert_eq!((s, error_code(&b)), (400, "invalid_password"), "{b}");
    let (s, b) = register(&api, "twelve@example.com", twelve).await;
    assert_eq!(s, 200, "{b}");

    let tokens = signed_in(&api, "changer-of-length@example.com").await;
    let (s, b) = change_password(&api, &tokens, PASSWORD, eleven).await;
    assert_eq!((s, error_code(&b)), (400, "invalid_password"), "{b}");
    let (s, b) = change_password(&api, &tokens, PASSWORD, twelve).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = login(&api, "changer-of-length@example.com", twelve).await;
    assert_eq!(s, 200, "{b}");
}

/// 6.2.8 and 6.2.9: a password of 64 characters signs up, signs in and replaces itself, and
/// only exactly as it was set: never another case, a normalised form, a shorter prefix, or
/// with white space added or taken away.
#[tokio::test]
async fn a_password_of_sixty_four_characters_is_taken_and_checked_exactly_as_sent() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "long-password@example.com";
    // Two spaces inside, a full-width letter and a ligature (which NFKC would rewrite), both
    // cases, a digit and symbols; padded to 64 characters.
    let base = "\u{FF23}orrect  horse \u{FB01}ne Battery-9! staple ";
    let password = format!("{base}{}", "k".repeat(64 - base.chars().count()));
    assert_eq!(password.chars().count(), 64);

    let (s, b) = register(&api, user, &password).await;
    assert_eq!(s, 200, "{b}");
    let code = api.code_for(b["username"].as_str().unwrap());
    let body = json!({"username": user, "confirmation_code": code});
    assert_eq!(json_of(api.post("/confirm_user", body).await).await.0, 200);

    let prefix = |n: usize| password.chars().take(n).collect::<String>();
    let variants = [
        ("lower case", password.to_lowercase()),
        ("upper case", password.to_uppercase()),
        (
            "NFKC",
            password.replace('\u{FF23}', "C").replace('\u{FB01}', "fi"),
        ),
        ("63 characters", prefix(63)),
        ("the first 32", prefix(32)),
        ("a space more at the end", format!("{password} ")),
        ("a space more at the start", format!(" {password}")),
        ("spaces collapsed", password.replace("  ", " ")),
    ];
    for (case, variant) in &variants {
        assert_ne!(variant, &password, "{case}");
        let (s, b) = login(&api, user, variant).await;
        assert_eq!(
            (s, error_code(&b)),
            (401, "invalid_credentials"),
            "{case}: {b}"
        );
    }
    let (s, tokens) = login(&api, user, &password).await;
    assert_eq!(s, 200, "{tokens}");

    // Replaced by another as long: the new one signs in, the old one no more.
    let other: String = password.chars().rev().collect();
    let other = other.trim().to_owned() + "Q";
    assert!(other.chars().count() >= 64);
    let (s, b) = change_password(&api, &tokens, &password, &other).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(login(&api, user, &other).await.0, 200);
    assert_eq!(login(&api, user, &password).await.0, 401);
}

/// 6.2.6 and 6.2.7, and 7.4.4, on the demo page: every password field is masked and tells the
/// browser's password manager what it holds, nothing stops pasting, and the sign-out button
/// sits in the page's header, shown whenever someone is signed in, whatever the view.
#[test]
fn the_demo_page_masks_passwords_leaves_pasting_alone_and_always_offers_sign_out() {
    let html = read("web/index.html");
    let script = read("web/app.js");
    let input = regex::Regex::new(r"<input\b[^>]*>").unwrap();
    let attr = |tag: &str, name: &str| {
        regex::Regex::new(&format!(r#"\b{name}="([^"]*)""#))
            .unwrap()
            .captures(tag)
            .map(|c| c[1].to_owned())
    };
    let mut fields = 0;
    for tag in input.find_iter(&html).map(|m| m.as_str()) {
        let Some(name) = attr(tag, "name") else {
            continue;
        };
        if !name.contains("password") {
            continue;
        }
        fields += 1;
        assert_eq!(attr(tag, "type").as_deref(), Some("password"), "{tag}");
        let autocomplete = attr(tag, "autocomplete").unwrap_or_default();
        assert!(
            ["current-password", "new-password"].contains(&autocomplete.as_str()),
            "{tag}"
        );
    }
    assert!(fields >= 8, "the page's password fields: {fields}");

    let lower = format!("{html}\n{script}").to_lowercase();
    for stopper in [
        "onpaste",
        "oncopy",
        "ondrop",
        "\"paste\"",
        "'paste'",
        "`paste`",
    ] {
        assert!(!lower.contains(stopper), "the page handles {stopper}");
    }

    let header = html
        .split("<header")
        .nth(1)
        .and_then(|rest| rest.split("</header>").next())
        .expect("the page has a header");
    assert!(header.contains(r#"id="logout-here""#), "{header}");
    assert!(header.contains(r#"<div id="account" hidden>"#), "{header}");
    assert!(
        script.contains(r##"$("#account").hidden = side !== "in";"##),
        "the header's account box shows whenever someone is signed in"
    );
}

// ---------------------------------------------------------------------------------------------
// V6.3 General authentication security

/// 6.3.2: no account comes with the stack: the template declares no user and puts nobody in a
/// group (its one group, the admin API's `admin`, starts empty), a freshly made pool holds
/// nobody, and the usual default names sign in as nobody.
#[tokio::test]
async fn no_account_exists_until_someone_signs_up() {
    let t = template();
    for kind in [
        "AWS::Cognito::UserPoolUser",
        "AWS::Cognito::UserPoolUserToGroupAttachment",
    ] {
        assert!(resources_of(&t, kind).is_empty(), "{kind} in template.yaml");
    }
    let groups = resources_of(&t, "AWS::Cognito::UserPoolGroup");
    assert_eq!(groups.len(), 1, "the admin API's group alone");

    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let admin = aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk_config().await);
    let users = admin
        .list_users()
        .user_pool_id(&api.created.pool_id)
        .send()
        .await
        .unwrap();
    assert!(users.users().is_empty(), "{:?}", users.users());
    for name in ["admin", "root", "sa", "administrator", "test"] {
        for password in [PASSWORD, "Password123!", name] {
            let (s, b) = login(&api, name, password).await;
            assert_eq!(
                (s, error_code(&b)),
                (401, "invalid_credentials"),
                "{name}: {b}"
            );
        }
    }
}

/// 6.3.4, 6.4.2, 6.6.1, 6.8.1 and 6.8.3: the app client signs users in only the documented
/// ways (the password, choice-based sign-in where the plan has it, refresh tokens): no SRP, no
/// custom challenge, no administrator's sign-in (`ALLOW_USER_SRP_AUTH`, `ALLOW_CUSTOM_AUTH`,
/// `ALLOW_ADMIN_USER_PASSWORD_AUTH`), no hosted pages or OAuth flows, no identity provider but
/// the pool itself; the only second factor is an authenticator app, never SMS; no attribute
/// but the address, so no password hint or secret question.
#[test]
fn the_app_client_signs_in_only_the_documented_ways_with_the_pool_alone() {
    let t = template();
    let client = &resource(&t, "AWS::Cognito::UserPoolClient")["Properties"];
    let flows: BTreeSet<String> = strings(&client["ExplicitAuthFlows"])
        .into_iter()
        .filter(|s| s.starts_with("ALLOW_"))
        .collect();
    let documented = [
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_AUTH",
    ];
    assert!(flows.contains("ALLOW_USER_PASSWORD_AUTH"), "{flows:?}");
    for flow in &flows {
        assert!(documented.contains(&flow.as_str()), "undocumented: {flow}");
    }
    assert_eq!(
        client["SupportedIdentityProviders"],
        serde_yaml::from_str::<Yaml>("[COGNITO]").unwrap()
    );
    for key in [
        "AllowedOAuthFlows",
        "AllowedOAuthFlowsUserPoolClient",
        "AllowedOAuthScopes",
        "CallbackURLs",
        "LogoutURLs",
        "DefaultRedirectURI",
    ] {
        assert!(client.get(key).is_none(), "the app client sets {key}");
    }
    for kind in [
        "AWS::Cognito::UserPoolDomain",
        "AWS::Cognito::UserPoolIdentityProvider",
        "AWS::Cognito::IdentityPool",
        "AWS::Cognito::ManagedLoginBranding",
    ] {
        assert!(resources_of(&t, kind).is_empty(), "{kind} in template.yaml");
    }

    let pool = &resource(&t, "AWS::Cognito::UserPool")["Properties"];
    assert_eq!(
        pool["EnabledMfas"],
        serde_yaml::from_str::<Yaml>("[SOFTWARE_TOKEN_MFA]").unwrap()
    );
    assert!(pool.get("SmsConfiguration").is_none());
    // 6.4.2 too: the account holds an address and a name, no hint or secret question.
    let attributes: Vec<&str> = pool["Schema"]
        .as_sequence()
        .expect("the pool's Schema")
        .iter()
        .map(|a| a["Name"].as_str().expect("an attribute's name"))
        .collect();
    assert_eq!(attributes, ["email"]);
}

/// 6.3.3, as a level-2 deployment runs (`Mfa=ON`): no way in takes a single factor. The
/// password leads on to setting up an authenticator; the passwordless ways in, which take one
/// factor, are off.
#[tokio::test]
async fn with_mfa_on_no_way_in_takes_a_single_factor() {
    let moto = Moto::start();
    let api = LocalApi::start_with(&moto, &[("Mfa", "ON")], |_| {}).await;
    let user = "two-factors-only@example.com";
    register_and_confirm(&api, user).await;
    let no_tokens = |b: &Value| {
        for kind in ["id_token", "access_token", "refresh_token"] {
            assert!(b.get(kind).is_none(), "{kind}: {b}");
        }
    };
    let (s, b) = login(&api, user, PASSWORD).await;
    assert_eq!(
        (s, b["challenge"].as_str()),
        (200, Some("MFA_SETUP")),
        "{b}"
    );
    no_tokens(&b);

    for body in [
        json!({"username": user}),
        json!({"username": user, "method": "email_otp"}),
        json!({"username": user, "method": "passkey"}),
        json!({"username": user, "method": "password", "password": PASSWORD}),
    ] {
        let (s, b) = json_of(api.post("/login/start", body.clone()).await).await;
        assert_eq!(
            (s, error_code(&b)),
            (501, "feature_unavailable"),
            "{body}: {b}"
        );
    }
    for (challenge, answer) in [
        ("SELECT_CHALLENGE", json!({"method": "email_otp"})),
        ("EMAIL_OTP", json!({"code": "12345678"})),
        (
            "WEB_AUTHN",
            json!({"credential": {"id": "AAAA", "type": "public-key", "response": {}}}),
        ),
        ("PASSWORD", json!({"password": PASSWORD})),
    ] {
        let mut body = json!({"username": user, "session": "a-session", "challenge": challenge});
        body.as_object_mut()
            .unwrap()
            .extend(answer.as_object().unwrap().clone());
        let (s, b) = json_of(api.post("/login/challenge", body).await).await;
        assert_eq!(
            (s, error_code(&b)),
            (501, "feature_unavailable"),
            "{challenge}: {b}"
        );
    }
}

/// 6.4.3: a forgotten password reset with the e-mailed code leaves the authenticator on: the
/// new password alone signs in nobody, at `/login` or through choice-based sign-in, until the
/// authenticator's code is given.
#[tokio::test]
async fn a_password_reset_leaves_the_second_factor_in_place() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "reset-with-totp@example.com";
    let tokens = signed_in(&api, user).await;
    let secret = turn_on_totp(&api, &tokens).await;

    let (s, _) = json_of(
        api.post("/forgot_password", json!({"username": user}))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let new_password = "Another-Horse-7!";
    let body = json!({"username": user, "confirmation_code": api.code_for(user),
                      "new_password": new_password});
    let (s, b) = json_of(api.post("/reset_password", body).await).await;
    assert_eq!(s, 200, "{b}");
    // A sign-in in the second of the reset counts as before it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let (s, challenge) = login(&api, user, new_password).await;
    assert_eq!(
        (s, challenge["challenge"].as_str()),
        (200, Some("SOFTWARE_TOKEN_MFA")),
        "{challenge}"
    );
    assert!(challenge.get("access_token").is_none(), "{challenge}");
    let start = json!({"username": user, "method": "password", "password": new_password});
    let (s, b) = json_of(api.post("/login/start", start).await).await;
    assert_eq!(
        (s, b["challenge"].as_str()),
        (200, Some("SOFTWARE_TOKEN_MFA")),
        "{b}"
    );
    assert!(b.get("access_token").is_none(), "{b}");

    let answer = json!({"username": challenge["username"], "session": challenge["session"],
                        "challenge": "SOFTWARE_TOKEN_MFA", "code": next_totp(&api, &secret)});
    let (s, signed) = json_of(api.post("/login/challenge", answer).await).await;
    assert_eq!(s, 200, "{signed}");
    let (s, status) = api.call("GET", "/mfa", &signed["access_token"], None).await;
    assert_eq!(
        (s, &status["totp_enabled"]),
        (200, &json!(true)),
        "{status}"
    );
}

// ---------------------------------------------------------------------------------------------
// V7 Session management

/// 7.2.2: sessions are tokens made at each sign-in, never a fixed key: two sign-ins of one user
/// get different id, access and refresh tokens, of two different sessions (`origin_jti`).
#[tokio::test]
async fn each_sign_in_gets_tokens_of_a_session_of_its_own() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "twice@example.com";
    register_and_confirm(&api, user).await;
    let (_, first) = login(&api, user, PASSWORD).await;
    let (_, second) = login(&api, user, PASSWORD).await;
    for kind in ["id_token", "access_token", "refresh_token"] {
        assert!(first[kind].is_string(), "{first}");
        assert_ne!(first[kind], second[kind], "{kind}");
    }
    for kind in ["id_token", "access_token"] {
        let (a, b) = (claims(&first[kind]), claims(&second[kind]));
        assert!(a["origin_jti"].is_string(), "{a}");
        assert_ne!(a["origin_jti"], b["origin_jti"], "{kind}");
        assert_eq!(a["sub"], b["sub"], "{kind}");
    }
    // Each works on its own.
    for tokens in [&first, &second] {
        let (s, b) = api.call("GET", "/me", &tokens["id_token"], None).await;
        assert_eq!(s, 200, "{b}");
    }
}

/// 7.3.2: a session lasts at most 30 days from its sign-in (the app client's
/// `RefreshTokenValidity`, which Cognito counts from the sign-in, refreshes or not), its access
/// and id tokens an hour, and a sign-in's challenge three minutes.
#[tokio::test]
async fn a_session_lasts_at_most_thirty_days_from_its_sign_in() {
    let t = template();
    let client = &resource(&t, "AWS::Cognito::UserPoolClient")["Properties"];
    let expected: Yaml = serde_yaml::from_str(
        "{RefreshTokenValidity: 30, AccessTokenValidity: 60, IdTokenValidity: 60,
          AuthSessionValidity: 3, EnableTokenRevocation: true,
          TokenValidityUnits: {AccessToken: minutes, IdToken: minutes, RefreshToken: days}}",
    )
    .unwrap();
    for (key, value) in expected.as_mapping().unwrap() {
        let key = key.as_str().unwrap();
        assert_eq!(&client[key], value, "{key}");
    }

    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let tokens = signed_in(&api, "lifetime@example.com").await;
    assert_eq!(tokens["expires_in"], 3600, "{tokens}");
    let access = claims(&tokens["access_token"]);
    let lifetime = access["exp"].as_i64().unwrap() - access["auth_time"].as_i64().unwrap();
    assert!((3590..=3610).contains(&lifetime), "{access}");
}
