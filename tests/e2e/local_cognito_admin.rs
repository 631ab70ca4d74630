//! Attacks on password resets, deleted users' tokens and e-mail changes, each refused as
//! Cognito refuses it; and the administrator's calls the API makes (AdminUserGlobalSignOut,
//! AdminUpdateUserAttributes) and the e-mail it sends through SES, as the local Cognito answers
//! them; the refresh's SECRET_HASH over the internal user name.

use integration_tests::{
    LocalApi, Moto, PASSWORD, json_of, login, register_and_confirm, signed_in,
};
use serde_json::{Value, json};

fn hash(api: &LocalApi, username: &str) -> String {
    let c = &api.created;
    auth::secret_hash(username, &c.client_id, c.client_secret.as_deref().unwrap())
}

fn kind(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["__type"].as_str().unwrap_or_default())
}

/// GetTokensFromRefreshToken for `tokens`' refresh token, with the client secret: the template's
/// client rotates its refresh tokens, and exchanges them only this way.
fn refresh_call(api: &LocalApi, tokens: &Value) -> Value {
    json!({"ClientId": api.created.client_id, "RefreshToken": tokens["refresh_token"],
           "ClientSecret": api.created.client_secret})
}

#[tokio::test]
async fn ten_resets_at_once_with_one_code_set_one_password_and_only_the_answered_one() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "reset-race@example.com";
    register_and_confirm(&api, user).await;
    let (s, _) = json_of(
        api.post("/forgot_password", json!({"username": user}))
            .await,
    )
    .await;
    assert_eq!(s, 200);
    let code = api.code_for(user);

    let passwords: Vec<String> = (0..10).map(|i| format!("Racing-Horse-{i}!")).collect();
    let api = &api;
    let resets = futures::future::join_all(passwords.iter().map(|p| {
        let body = json!({"username": user, "confirmation_code": code, "new_password": p});
        async move { json_of(api.post("/reset_password", body).await).await }
    }))
    .await;
    let winners: Vec<usize> = (0..resets.len()).filter(|i| resets[*i].0 == 200).collect();
    assert_eq!(winners.len(), 1, "{resets:?}");
    for (i, p) in passwords.iter().enumerate() {
        let (s, b) = login(api, user, p).await;
        if i == winners[0] {
            assert_eq!(s, 200, "the answered reset's password: {b}");
        } else {
            assert_eq!(resets[i].0, 400, "{:?}", resets[i]);
            assert_eq!(s, 401, "a refused reset's password signs in: {b}");
        }
    }
}

#[tokio::test]
async fn a_user_deleted_behind_the_apis_back_has_every_token_refused_never_a_5xx() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let admin = aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk_config().await);
    let gone = "gone@example.com";
    let gone_tokens = signed_in(&api, gone).await;
    // Straight to moto: the local Cognito never sees it.
    admin
        .admin_delete_user()
        .user_pool_id(&api.created.pool_id)
        .username(gone)
        .send()
        .await
        .unwrap();
    // Through the local Cognito, as an administrator would call it.
    let deleted = "deleted@example.com";
    let deleted_tokens = signed_in(&api, deleted).await;
    let body = json!({"UserPoolId": api.created.pool_id, "Username": deleted});
    assert_eq!(api.cognito_call("AdminDeleteUser", body).await.0, 200);

    for (user, tokens) in [(gone, &gone_tokens), (deleted, &deleted_tokens)] {
        let sign_out = json!({"AccessToken": tokens["access_token"]});
        let answer = api.cognito_call("GlobalSignOut", sign_out).await;
        assert_eq!(
            kind(&answer),
            (400, "NotAuthorizedException"),
            "{user}: {answer:?}"
        );
        let answer = api
            .cognito_call("GetTokensFromRefreshToken", refresh_call(&api, tokens))
            .await;
        assert_eq!(
            kind(&answer),
            (400, "NotAuthorizedException"),
            "{user}: {answer:?}"
        );
    }
}

#[tokio::test]
async fn admin_user_global_sign_out_ends_every_session_of_the_user_as_global_sign_out_does() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "signed-out@example.com";
    let first = signed_in(&api, user).await;
    let (_, second) = login(&api, user, PASSWORD).await;
    let bystander = signed_in(&api, "bystander@example.com").await;

    let body = json!({"UserPoolId": api.created.pool_id, "Username": user});
    let (s, b) = api.cognito_call("AdminUserGlobalSignOut", body).await;
    assert_eq!(s, 200, "{b}");
    for tokens in [&first, &second] {
        let answer = api
            .cognito_call("GetTokensFromRefreshToken", refresh_call(&api, tokens))
            .await;
        assert_eq!(kind(&answer), (400, "NotAuthorizedException"), "{answer:?}");
        let answer =
            (api.cognito_call("GetUser", json!({"AccessToken": tokens["access_token"]}))).await;
        assert_eq!(kind(&answer), (400, "NotAuthorizedException"), "{answer:?}");
    }
    let refresh = refresh_call(&api, &bystander);
    assert_eq!(
        api.cognito_call("GetTokensFromRefreshToken", refresh)
            .await
            .0,
        200,
        "another user's stays"
    );
    assert_eq!(
        login(&api, user, PASSWORD).await.0,
        200,
        "a new sign-in works"
    );
}

#[tokio::test]
async fn a_new_address_an_administrator_writes_waits_for_its_code_and_the_client_cannot_write_it() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "mover@example.com";
    let tokens = signed_in(&api, user).await;
    let access = &tokens["access_token"];
    let email_of = || async {
        let (_, me) = api
            .cognito_call("GetUser", json!({"AccessToken": access}))
            .await;
        let attribute = |name: &str| {
            me["UserAttributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["Name"] == name)
                .map(|a| a["Value"].as_str().unwrap().to_owned())
        };
        (attribute("email"), attribute("email_verified"))
    };

    // The app client writes no e-mail address (WriteAttributes), whoever holds the token.
    let attrs = json!([{"Name": "email", "Value": "thief@example.com"}]);
    let body = json!({"AccessToken": access, "UserAttributes": attrs});
    let answer = api.cognito_call("UpdateUserAttributes", body).await;
    assert_eq!(kind(&answer), (400, "NotAuthorizedException"), "{answer:?}");

    let moved = "moved@example.com";
    let attrs = json!([{"Name": "email", "Value": moved}]);
    let body =
        json!({"UserPoolId": api.created.pool_id, "Username": user, "UserAttributes": attrs});
    let (s, b) = api.cognito_call("AdminUpdateUserAttributes", body).await;
    assert_eq!((s, &b), (200, &json!({})));
    assert_eq!(
        email_of().await,
        (Some(user.into()), Some("true".into())),
        "the old one stays"
    );
    let mail = api.cognito().mailbox().messages(Some(user));
    assert_eq!((mail[0].kind, mail[0].to.as_str()), ("verify_email", moved));

    let verify =
        |code: &str| json!({"AccessToken": access, "AttributeName": "email", "Code": code});
    let wrong = if mail[0].code == "000000" {
        "000001"
    } else {
        "000000"
    };
    let answer = api.cognito_call("VerifyUserAttribute", verify(wrong)).await;
    assert_eq!(kind(&answer), (400, "CodeMismatchException"));
    assert_eq!(email_of().await.0.as_deref(), Some(user));
    let (s, b) = api
        .cognito_call("VerifyUserAttribute", verify(&mail[0].code))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(email_of().await, (Some(moved.into()), Some("true".into())));
}

#[tokio::test]
async fn an_alert_sent_through_ses_lands_in_the_mailbox_as_kind_alert() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let endpoint = &api.config.cognito_layer.as_ref().unwrap().endpoint;
    let to = "alerted@example.com";
    let mail = json!({
        "FromEmailAddress": "no-reply@example.com",
        "Destination": {"ToAddresses": [to]},
        "Content": {"Simple": {"Subject": {"Data": "Your e-mail address was changed"},
                               "Body": {"Text": {"Data": "If this was not you, reset your password."}}}},
    });
    let res = reqwest::Client::new()
        .post(format!("{endpoint}/v2/email/outbound-emails"))
        .header("content-type", "application/json")
        .body(mail.to_string())
        .send()
        .await
        .unwrap();
    let (s, b) = json_of(res).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["MessageId"].is_string(), "{b}");

    let alerts = api.cognito().mailbox().alerts(Some(to));
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].subject.as_deref(),
        Some("Your e-mail address was changed")
    );
    let (s, listed) = json_of(api.get("/_local/mailbox").await).await;
    assert_eq!(s, 200);
    assert_eq!(listed[0]["kind"], "alert", "{listed}");
    assert_eq!(listed[0]["to"], to);
    assert_eq!(
        listed[0]["body"],
        "If this was not you, reset your password."
    );
}

/// A user signed up under a mixed-case name signs in under it, and the sign-in's refresh token
/// is exchanged (GetTokensFromRefreshToken, with the client secret and no user name at all).
#[tokio::test]
async fn a_mixed_case_user_signs_in_and_refreshes_with_the_client_secret() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let client = api.created.client_id.clone();
    let stored = "Mixed.Case@example.com";
    let attrs = json!([{"Name": "email", "Value": stored}]);
    let body = json!({"ClientId": client, "Username": stored, "Password": PASSWORD,
                      "UserAttributes": attrs, "SecretHash": hash(&api, stored)});
    assert_eq!(api.cognito_call("SignUp", body).await.0, 200);
    let code = api.code_for(stored);
    let body = json!({"ClientId": client, "Username": stored, "ConfirmationCode": code,
                      "SecretHash": hash(&api, stored)});
    assert_eq!(api.cognito_call("ConfirmSignUp", body).await.0, 200);
    let body = json!({"ClientId": client, "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": {"USERNAME": stored, "PASSWORD": PASSWORD, "SECRET_HASH": hash(&api, stored)}});
    let (s, out) = api.cognito_call("InitiateAuth", body).await;
    assert_eq!(s, 200, "{out}");
    let refresh = out["AuthenticationResult"]["RefreshToken"].clone();
    let secret = api.created.client_secret.clone();
    let body = json!({"ClientId": client, "RefreshToken": refresh, "ClientSecret": "wrong"});
    let (s, b) = api.cognito_call("GetTokensFromRefreshToken", body).await;
    assert_eq!(
        (s, b["__type"].as_str()),
        (400, Some("NotAuthorizedException")),
        "{b}"
    );
    let body = json!({"ClientId": client, "RefreshToken": refresh, "ClientSecret": secret});
    let (s, b) = api.cognito_call("GetTokensFromRefreshToken", body).await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b["AuthenticationResult"]["RefreshToken"].is_string(),
        "rotated: {b}"
    );
}
