//! The demo page in a real browser: moto, the local API (allowing only the page's origin) and
//! the page's static server (scripts/serve-web.py, with its Content-Security-Policy) on free
//! loopback ports, then tests/browser/flow.mjs drives Debian's Chromium through the account
//! portal: sign-up, sign-in, profile, security (the authenticator app, passkeys, the sessions
//! of two devices), books, sign-outs. Both are reached as http://localhost:<port>, a domain: a
//! passkey's relying party cannot be an IP address. A second local API, with a re-authentication
//! window of [`SHORT_REAUTH_WINDOW`] seconds, and its own page server, let the walk see the
//! re-authentication prompt without waiting ten minutes. `make test` installs Chromium and the
//! node packages first.

use std::process::Stdio;
use std::time::Duration;

use integration_tests::{LocalApi, Moto, free_port, workspace_root};
use tokio::process::Command;

/// An administrator and the user they disable in the walk.
const ADMIN_USER: &str = "browser-admin@example.com";
const TARGET_USER: &str = "browser-target@example.com";

/// The whole walk takes a minute or so (it waits for fresh TOTP steps); this bounds a hung
/// browser.
const FLOW_TIMEOUT: Duration = Duration::from_secs(240);

/// The second API's `ReauthWindow`: short, so that the walk waits a few seconds past it; long
/// enough that the change sent again right after the new sign-in is within it.
const SHORT_REAUTH_WINDOW: &str = "2";

/// scripts/serve-web.py on `port`, serving web/ with the policy computed from `api`; killed
/// when dropped.
async fn static_server(port: u16, api: &str) -> tokio::process::Child {
    let python = workspace_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make test`",
        python.display()
    );
    let child = Command::new(python)
        .arg("scripts/serve-web.py")
        .args(["--port", &port.to_string(), "--api", api])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start scripts/serve-web.py");
    let addr = format!("127.0.0.1:{port}");
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the static server did not start on {addr}");
}

#[tokio::test]
async fn the_demo_page_walks_the_whole_flow_cross_origin_in_chromium_without_cors_errors() {
    let root = workspace_root();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: `make test` installs Debian's chromium"
    );
    assert!(
        root.join("tests/browser/node_modules/playwright-core")
            .is_dir(),
        "tests/browser/node_modules is missing: `make test` runs npm ci there"
    );

    // The page's port first: the API allows its origin, and the page's policy names the API's.
    let web = format!("http://localhost:{}", free_port());
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |c| c.allow_origin(&web)).await;
    let api_base = api.base.replacen("127.0.0.1", "localhost", 1);
    let web_port: u16 = web.rsplit(':').next().unwrap().parse().unwrap();
    let _web_server = static_server(web_port, &api_base).await;
    assert_ne!(web, api_base, "two origins");

    // The same page against an API whose sensitive changes need a sign-in within seconds.
    let short_web = format!("http://localhost:{}", free_port());
    let short = LocalApi::start_with(&moto, &[("ReauthWindow", SHORT_REAUTH_WINDOW)], |c| {
        c.allow_origin(&short_web)
    })
    .await;
    let short_api = short.base.replacen("127.0.0.1", "localhost", 1);
    let short_port: u16 = short_web.rsplit(':').next().unwrap().parse().unwrap();
    let _short_server = static_server(short_port, &short_api).await;

    // An administrator, and a user they will disable, made through the API (the first
    // administrator is put in the group straight against the pool, as on AWS).
    for user in [ADMIN_USER, TARGET_USER] {
        integration_tests::register_and_confirm(&api, user).await;
    }
    let (s, b) = api
        .cognito_call(
            "AdminAddUserToGroup",
            serde_json::json!({"UserPoolId": api.created.pool_id, "Username": ADMIN_USER, "GroupName": "admin"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    let shot_dir = root.join("target/browser");
    std::fs::create_dir_all(&shot_dir).unwrap();
    let node = Command::new("node")
        .arg("flow.mjs")
        .args([&web, &api_base])
        .arg(shot_dir.join("signed-in.png"))
        .current_dir(root.join("tests/browser"))
        .env("CHROMIUM", &chromium)
        .env("SHORT_REAUTH_PAGE", &short_web)
        .env("SHORT_REAUTH_API", &short_api)
        .env("SHORT_REAUTH_WINDOW", SHORT_REAUTH_WINDOW)
        .env("ADMIN_USER", ADMIN_USER)
        .env("TARGET_USER", TARGET_USER)
        .env("USERS_PASSWORD", integration_tests::PASSWORD)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(FLOW_TIMEOUT, node)
        .await
        .expect("the browser flow finished in time")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The walk's steps (and a skipped part, if any), shown with --nocapture.
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser flow failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    for step in [
        "after logout, the old refresh token is refused",
        "a second device signs in; the first lists both sessions",
        "the second device's next action shows it signed out",
        "signed in again, the change goes through",
        "an administrator disables a user",
    ] {
        assert!(stdout.contains(step), "no step \"{step}\" in:\n{stdout}");
    }
    // The walk skips passwordless sign-in only where the API has no /login/start.
    if api.paths().iter().any(|p| p == "/login/start") {
        assert!(stdout.contains("sign in with the passkey"), "{stdout}");
    }
}
