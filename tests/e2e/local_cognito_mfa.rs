//! AdminDeleteSoftwareToken, as the user who lost their authenticator and the attacker who
//! holds their password meet it: where the pool's MFA is ON, the next sign-in sets up a new
//! authenticator (MFA_SETUP) and the old one's codes are refused from then on; where it is
//! OPTIONAL, the password alone signs in until a new one is set up. A challenge put before the
//! deletion takes no code at all, not even one of moto's one secret, which anyone can compute.

use std::time::SystemTime;

use integration_tests::{
    LocalApi, Moto, PASSWORD, login, next_totp, register_and_confirm, signed_in, totp,
};
use serde_json::{Value, json};

fn hash(api: &LocalApi, username: &str) -> String {
    let c = &api.created;
    auth::secret_hash(username, &c.client_id, c.client_secret.as_deref().unwrap())
}

fn kind(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["__type"].as_str().unwrap_or_default())
}

/// InitiateAuth with the password, as the login function sends it.
async fn initiate(api: &LocalApi, user: &str) -> (u16, Value) {
    let body = json!({"ClientId": api.created.client_id, "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": {"USERNAME": user, "PASSWORD": PASSWORD, "SECRET_HASH": hash(api, user)}});
    api.cognito_call("InitiateAuth", body).await
}

/// RespondToAuthChallenge to `challenge` (its `ChallengeName` and `Session`), with `code` as the
/// authenticator code if one is given.
async fn respond(
    api: &LocalApi,
    user: &str,
    challenge: &Value,
    code: Option<&str>,
) -> (u16, Value) {
    let mut responses = json!({"USERNAME": user, "SECRET_HASH": hash(api, user)});
    if let Some(code) = code {
        responses["SOFTWARE_TOKEN_MFA_CODE"] = json!(code);
    }
    let body = json!({"ClientId": api.created.client_id, "ChallengeName": challenge["ChallengeName"],
                      "Session": challenge["Session"], "ChallengeResponses": responses});
    api.cognito_call("RespondToAuthChallenge", body).await
}

/// An MFA_SETUP `challenge` answered: an authenticator set up and verified on its sessions; its
/// secret and the tokens.
async fn set_up(api: &LocalApi, user: &str, challenge: &Value) -> (String, Value) {
    assert_eq!(challenge["ChallengeName"], "MFA_SETUP", "{challenge}");
    let body = json!({"Session": challenge["Session"]});
    let (s, associated) = api.cognito_call("AssociateSoftwareToken", body).await;
    assert_eq!(s, 200, "{associated}");
    let secret = associated["SecretCode"].as_str().unwrap().to_owned();
    let body = json!({"Session": associated["Session"], "UserCode": next_totp(api, &secret)});
    let (s, verified) = api.cognito_call("VerifySoftwareToken", body).await;
    assert_eq!(s, 200, "{verified}");
    let done = json!({"ChallengeName": "MFA_SETUP", "Session": verified["Session"]});
    let (s, out) = respond(api, user, &done, None).await;
    assert_eq!(s, 200, "{out}");
    (secret, out["AuthenticationResult"].clone())
}

async fn delete_token(api: &LocalApi, user: &str) -> (u16, Value) {
    let body = json!({"UserPoolId": api.created.pool_id, "Username": user});
    api.cognito_call("AdminDeleteSoftwareToken", body).await
}

async fn mfa_settings(api: &LocalApi, result: &Value) -> Value {
    let me = json!({"AccessToken": result["AccessToken"]});
    let (s, me) = api.cognito_call("GetUser", me).await;
    assert_eq!(s, 200, "{me}");
    me["UserMFASettingList"].clone()
}

#[tokio::test]
async fn with_mfa_on_a_deleted_authenticator_is_set_up_anew_and_the_old_one_refused() {
    let moto = Moto::start();
    let api = LocalApi::start_with(&moto, &[("Mfa", "ON")], |_| {}).await;
    let user = "new-phone@example.com";
    register_and_confirm(&api, user).await;
    let (_, first) = initiate(&api, user).await;
    let (old_secret, first_tokens) = set_up(&api, user, &first).await;
    let (_, before) = initiate(&api, user).await;
    assert_eq!(before["ChallengeName"], "SOFTWARE_TOKEN_MFA", "{before}");

    let unknown = delete_token(&api, "nobody@example.com").await;
    assert_eq!(
        kind(&unknown),
        (400, "UserNotFoundException"),
        "{unknown:?}"
    );
    assert_eq!(delete_token(&api, user).await, (200, json!({})));

    // A challenge put before the deletion takes no code: not the old secret's, and not one of
    // moto's one secret, which anyone can compute and moto alone would take.
    let old = next_totp(&api, &old_secret);
    let answer = respond(&api, user, &before, Some(&old)).await;
    assert_eq!(kind(&answer), (400, "CodeMismatchException"), "{answer:?}");
    let admin = aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk_config().await);
    let access = first_tokens["AccessToken"].as_str().unwrap();
    let motos = admin
        .associate_software_token()
        .access_token(access)
        .send()
        .await
        .unwrap();
    let motos = totp(motos.secret_code().unwrap(), SystemTime::now());
    let answer = respond(&api, user, &before, Some(&motos)).await;
    assert_eq!(kind(&answer), (400, "CodeMismatchException"), "{answer:?}");

    let (s, setup) = initiate(&api, user).await;
    assert_eq!(
        (s, &setup["ChallengeName"]),
        (200, &json!("MFA_SETUP")),
        "{setup}"
    );
    assert!(setup.get("AuthenticationResult").is_none(), "{setup}");
    let (new_secret, tokens) = set_up(&api, user, &setup).await;
    assert_ne!(new_secret, old_secret);
    assert_eq!(
        mfa_settings(&api, &tokens).await,
        json!(["SOFTWARE_TOKEN_MFA"])
    );

    let (_, challenge) = initiate(&api, user).await;
    assert_eq!(
        challenge["ChallengeName"], "SOFTWARE_TOKEN_MFA",
        "{challenge}"
    );
    let new = next_totp(&api, &new_secret);
    let old = totp(&old_secret, api.cognito().now());
    if old != new {
        let answer = respond(&api, user, &challenge, Some(&old)).await;
        assert_eq!(kind(&answer), (400, "CodeMismatchException"), "{answer:?}");
    }
    let (s, out) = respond(&api, user, &challenge, Some(&new)).await;
    assert_eq!(s, 200, "{out}");
    assert!(out["AuthenticationResult"]["IdToken"].is_string(), "{out}");
}

#[tokio::test]
async fn with_mfa_optional_a_deleted_authenticator_leaves_the_password_alone_until_a_new_one() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "no-phone@example.com";
    let tokens = signed_in(&api, user).await;
    let (api, tokens) = (&api, &tokens);
    let enrol = || async move {
        let access = &tokens["access_token"];
        let body = json!({"AccessToken": access});
        let (s, b) = api.cognito_call("AssociateSoftwareToken", body).await;
        assert_eq!(s, 200, "{b}");
        let secret = b["SecretCode"].as_str().unwrap().to_owned();
        let verify = json!({"AccessToken": access, "UserCode": next_totp(api, &secret)});
        assert_eq!(api.cognito_call("VerifySoftwareToken", verify).await.0, 200);
        let on = json!({"AccessToken": access,
                        "SoftwareTokenMfaSettings": {"Enabled": true, "PreferredMfa": true}});
        assert_eq!(api.cognito_call("SetUserMFAPreference", on).await.0, 200);
        secret
    };
    let old_secret = enrol().await;
    let (_, challenge) = initiate(api, user).await;
    assert_eq!(
        challenge["ChallengeName"], "SOFTWARE_TOKEN_MFA",
        "{challenge}"
    );

    assert_eq!(delete_token(api, user).await, (200, json!({})));
    let (s, out) = initiate(api, user).await;
    assert_eq!(s, 200, "{out}");
    let result = &out["AuthenticationResult"];
    assert!(result["IdToken"].is_string(), "the password alone: {out}");
    let settings = mfa_settings(api, result).await;
    assert!(
        !settings.to_string().contains("SOFTWARE_TOKEN_MFA"),
        "{settings}"
    );
    let (s, b) = login(api, user, PASSWORD).await;
    assert!(s == 200 && b["id_token"].is_string(), "/login: {b}");
    // The challenge put before the deletion takes no code of the old authenticator.
    let old = next_totp(api, &old_secret);
    let answer = respond(api, user, &challenge, Some(&old)).await;
    assert_eq!(kind(&answer), (400, "CodeMismatchException"), "{answer:?}");

    // A new authenticator, set up signed in, is the one the next sign-in asks for.
    let new_secret = enrol().await;
    let (_, challenge) = initiate(api, user).await;
    assert_eq!(
        challenge["ChallengeName"], "SOFTWARE_TOKEN_MFA",
        "{challenge}"
    );
    let (s, out) = respond(api, user, &challenge, Some(&next_totp(api, &new_secret))).await;
    assert_eq!(s, 200, "{out}");
}
