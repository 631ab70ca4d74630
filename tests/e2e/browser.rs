//! The demo page in a real browser: moto, the local API (allowing only the page's origin) and a
//! static server for web/ on free loopback ports, then tests/browser/flow.mjs drives Debian's
//! Chromium through register → confirm → login → /me → books → logout. `make test` installs
//! Chromium and the node packages first.

use std::process::Stdio;
use std::time::Duration;

use integration_tests::{LocalApi, Moto, free_port, workspace_root};
use tokio::process::Command;

/// The whole walk takes seconds; this bounds a hung browser.
const FLOW_TIMEOUT: Duration = Duration::from_secs(180);

/// Python's static file server from the venv, serving web/; killed when dropped.
async fn static_server() -> (tokio::process::Child, String) {
    let python = workspace_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make test`",
        python.display()
    );
    let port = free_port();
    let child = Command::new(python)
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            "--directory",
            "web",
        ])
        .arg(port.to_string())
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start python -m http.server");
    let addr = format!("127.0.0.1:{port}");
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            return (child, format!("http://{addr}"));
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

    let moto = Moto::start();
    let (_web_server, web) = static_server().await;
    let web_origin = web.clone();
    let api = LocalApi::start(&moto, |c| c.allow_origin(&web_origin)).await;
    assert_ne!(web, api.base, "two origins");

    let shot_dir = root.join("target/browser");
    std::fs::create_dir_all(&shot_dir).unwrap();
    let node = Command::new("node")
        .arg("flow.mjs")
        .args([&web, &api.base])
        .arg(shot_dir.join("signed-in.png"))
        .current_dir(root.join("tests/browser"))
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(FLOW_TIMEOUT, node)
        .await
        .expect("the browser flow finished in time")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser flow failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("after logout, the old refresh token is refused"),
        "{stdout}"
    );
}
