//! What the deployed firewall lets through on the credential and book routes (its core rule
//! set's body rules only count there: tests/e2e/template.rs reads the overrides) works end to
//! end: a password holding `<script>` or `../`, and a 12 KB book, which the managed rules as
//! AWS ships them would block.

use integration_tests::{LocalApi, Moto, json_of, login};
use serde_json::json;

/// What the core rule set's body rules match: markup, a path up the tree, a URL by address.
const SCRIPTED: &str = "Pa55<script>alert(1)</script>../../etc/passwd";
const TRAVERSING: &str = "../../../Windows/win.ini<Script>9a http://169.254.169.254/";

#[tokio::test]
async fn passwords_with_markup_or_paths_and_a_twelve_kilobyte_book_work_end_to_end() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "odd-password@example.com";

    let (s, b) = json_of(
        api.post("/register", json!({"username": user, "password": SCRIPTED}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let code = api.code_for(user);
    let body = json!({"username": user, "confirmation_code": code});
    let (s, b) = json_of(api.post("/confirm_user", body).await).await;
    assert_eq!(s, 200, "{b}");
    let (s, tokens) = login(&api, user, SCRIPTED).await;
    assert_eq!(s, 200, "{tokens}");

    let access = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    let change = json!({"previous_password": SCRIPTED, "proposed_password": TRAVERSING});
    let (s, b) = json_of(api.post_auth("/change_password", change, &access).await).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(login(&api, user, SCRIPTED).await.0, 401);
    let (s, tokens) = login(&api, user, TRAVERSING).await;
    assert_eq!(s, 200, "{tokens}");

    // 4,000 characters of three bytes each: over the core rule set's 8 KB, under the API's 16.
    let description = "€".repeat(4000);
    let book = json!({
        "id": "big-book",
        "name": "A <script> in the title",
        "author": "../ Anonymous",
        "price": "9.99",
        "description": description,
    });
    let size = book.to_string().len();
    assert!((12_000..16 * 1024).contains(&size), "{size} bytes");
    let id_token = format!("Bearer {}", tokens["id_token"].as_str().unwrap());
    let (s, b) = json_of(api.post_auth("/books", book, &id_token).await).await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = json_of(api.get("/books/big-book").await).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["description"], description.as_str());
    assert_eq!(b["name"], "A <script> in the title");
}
