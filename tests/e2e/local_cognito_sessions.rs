//! Attacks on the local Cognito's challenge sessions and authenticator codes, each refused as
//! Cognito refuses it: a session answered for another user or as another challenge, a session
//! answered thirty times at once, guessing codes on one session, and replaying a code that was
//! accepted already. Calls go to the local Cognito on its own protocol, as the SDK sends them.

use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
use integration_tests::{LocalApi, Moto, PASSWORD, signed_in, totp};
use local_cognito::MAX_WRONG_MFA_CODES;
use serde_json::{Value, json};

const TEMPORARY: &str = "Temporary-Pass-1!";
const NEW_PASSWORD: &str = "Another-Horse-7!";

fn hash(api: &LocalApi, username: &str) -> String {
    let c = &api.created;
    auth::secret_hash(username, &c.client_id, c.client_secret.as_deref().unwrap())
}

fn kind(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["__type"].as_str().unwrap_or_default())
}

/// InitiateAuth with a password, as the login function sends it.
async fn initiate(api: &LocalApi, user: &str, password: &str) -> (u16, Value) {
    let body = json!({"ClientId": api.created.client_id, "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": {"USERNAME": user, "PASSWORD": password, "SECRET_HASH": hash(api, user)}});
    api.cognito_call("InitiateAuth", body).await
}

/// RespondToAuthChallenge naming `username`, with `responses` besides USERNAME and SECRET_HASH.
async fn respond(
    api: &LocalApi,
    challenge: &str,
    session: &Value,
    username: &str,
    mut responses: Value,
) -> (u16, Value) {
    responses["USERNAME"] = json!(username);
    responses["SECRET_HASH"] = json!(hash(api, username));
    let body = json!({"ClientId": api.created.client_id, "ChallengeName": challenge,
                      "Session": session, "ChallengeResponses": responses});
    api.cognito_call("RespondToAuthChallenge", body).await
}

/// An account an administrator created: its first sign-in is NEW_PASSWORD_REQUIRED.
async fn invited(api: &LocalApi, moto: &Moto, user: &str) {
    let admin = aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk_config().await);
    let attribute = |n: &str, v: &str| AttributeType::builder().name(n).value(v).build().unwrap();
    admin
        .admin_create_user()
        .user_pool_id(&api.created.pool_id)
        .username(user)
        .temporary_password(TEMPORARY)
        .message_action(MessageActionType::Suppress)
        .user_attributes(attribute("email", user))
        .user_attributes(attribute("email_verified", "true"))
        .send()
        .await
        .unwrap();
}

/// Turns on the authenticator of `tokens`' user, verifying it with a code at the local
/// Cognito's time; the secret and the code it was verified with.
async fn enrol(api: &LocalApi, tokens: &Value) -> (String, String) {
    let access = &tokens["access_token"];
    let (s, b) = api
        .cognito_call("AssociateSoftwareToken", json!({"AccessToken": access}))
        .await;
    assert_eq!(s, 200, "{b}");
    let secret = b["SecretCode"].as_str().unwrap().to_owned();
    let code = totp(&secret, api.cognito().now());
    let verify = json!({"AccessToken": access, "UserCode": code});
    assert_eq!(api.cognito_call("VerifySoftwareToken", verify).await.0, 200);
    let prefer = json!({"AccessToken": access,
                        "SoftwareTokenMfaSettings": {"Enabled": true, "PreferredMfa": true}});
    assert_eq!(
        api.cognito_call("SetUserMFAPreference", prefer).await.0,
        200
    );
    (secret, code)
}

/// A new sign-in of `user`, its SOFTWARE_TOKEN_MFA challenge answered with `code`.
async fn sign_in_with(api: &LocalApi, user: &str, code: &str) -> (u16, Value) {
    let (_, challenge) = initiate(api, user, PASSWORD).await;
    let code = json!({"SOFTWARE_TOKEN_MFA_CODE": code});
    respond(api, "SOFTWARE_TOKEN_MFA", &challenge["Session"], user, code).await
}

/// The next 30-second step on the local Cognito's clock: a code that no earlier sign-in used.
fn next_step(api: &LocalApi) {
    api.cognito()
        .advance_clock(std::time::Duration::from_secs(30));
}

#[tokio::test]
async fn my_own_session_cannot_answer_for_another_user_nor_as_another_challenge() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let victim = "victim@example.com";
    signed_in(&api, victim).await;
    let attacker = "attacker@example.com";
    invited(&api, &moto, attacker).await;

    let (s, mine) = initiate(&api, attacker, TEMPORARY).await;
    assert_eq!(
        (s, mine["ChallengeName"].as_str()),
        (200, Some("NEW_PASSWORD_REQUIRED")),
        "{mine}"
    );
    let session = &mine["Session"];
    let new_password = json!({"NEW_PASSWORD": NEW_PASSWORD});
    let stolen = respond(
        &api,
        "NEW_PASSWORD_REQUIRED",
        session,
        victim,
        new_password.clone(),
    )
    .await;
    assert_eq!(kind(&stolen), (400, "NotAuthorizedException"), "{stolen:?}");
    let code = json!({"SOFTWARE_TOKEN_MFA_CODE": "123456"});
    let wrong_challenge = respond(&api, "SOFTWARE_TOKEN_MFA", session, attacker, code).await;
    assert_eq!(kind(&wrong_challenge), (400, "NotAuthorizedException"));
    let setup = respond(&api, "MFA_SETUP", session, attacker, json!({})).await;
    assert_eq!(kind(&setup), (400, "NotAuthorizedException"));

    // The victim's password is theirs still, and nothing was signed in as them.
    assert_eq!(initiate(&api, victim, PASSWORD).await.0, 200);
    assert_eq!(kind(&initiate(&api, victim, NEW_PASSWORD).await).0, 400);
    // The refusals spent nothing: the session answers its own user's own challenge.
    let (s, b) = respond(
        &api,
        "NEW_PASSWORD_REQUIRED",
        session,
        attacker,
        new_password,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(b["AuthenticationResult"]["AccessToken"].is_string(), "{b}");
}

#[tokio::test]
async fn thirty_right_answers_at_once_to_one_session_sign_in_once_and_the_rest_are_refused() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "racer@example.com";
    let tokens = signed_in(&api, user).await;
    let (secret, _) = enrol(&api, &tokens).await;
    next_step(&api);

    let (s, challenge) = initiate(&api, user, PASSWORD).await;
    assert_eq!(
        challenge["ChallengeName"], "SOFTWARE_TOKEN_MFA",
        "{s} {challenge}"
    );
    let username = challenge["ChallengeParameters"]["USER_ID_FOR_SRP"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = json!({"SOFTWARE_TOKEN_MFA_CODE": totp(&secret, api.cognito().now())});
    let answers = futures::future::join_all((0..30).map(|_| {
        respond(
            &api,
            "SOFTWARE_TOKEN_MFA",
            &challenge["Session"],
            &username,
            code.clone(),
        )
    }))
    .await;
    let signed: Vec<_> = answers.iter().filter(|a| a.0 == 200).collect();
    assert_eq!(signed.len(), 1, "{answers:?}");
    for refused in answers.iter().filter(|a| a.0 != 200) {
        assert_eq!(
            kind(refused),
            (400, "NotAuthorizedException"),
            "{refused:?}"
        );
    }
}

#[tokio::test]
async fn an_mfa_setup_session_answers_only_as_mfa_setup_and_each_step_ends_the_last_session() {
    let moto = Moto::start();
    let api = LocalApi::start_with(&moto, &[("Mfa", "ON")], |_| {}).await;
    let user = "compelled@example.com";
    integration_tests::register_and_confirm(&api, user).await;
    let (_, challenge) = initiate(&api, user, PASSWORD).await;
    assert_eq!(challenge["ChallengeName"], "MFA_SETUP", "{challenge}");
    let first = &challenge["Session"];

    let code = json!({"SOFTWARE_TOKEN_MFA_CODE": "123456"});
    let as_totp = respond(&api, "SOFTWARE_TOKEN_MFA", first, user, code).await;
    assert_eq!(
        kind(&as_totp),
        (400, "NotAuthorizedException"),
        "{as_totp:?}"
    );

    let associate =
        |session: &Value| api.cognito_call("AssociateSoftwareToken", json!({"Session": session}));
    let (s, associated) = associate(first).await;
    assert_eq!(s, 200, "{associated}");
    let second = &associated["Session"];
    assert_ne!(second, first, "a new session");
    assert_eq!(
        kind(&associate(first).await),
        (400, "NotAuthorizedException"),
        "ended"
    );

    let secret = associated["SecretCode"].as_str().unwrap();
    let verify = json!({"Session": second, "UserCode": totp(secret, api.cognito().now())});
    let (s, verified) = api.cognito_call("VerifySoftwareToken", verify).await;
    assert_eq!(s, 200, "{verified}");
    let third = &verified["Session"];
    let early = respond(&api, "MFA_SETUP", second, user, json!({})).await;
    assert_eq!(
        kind(&early),
        (400, "NotAuthorizedException"),
        "the session it ended"
    );
    let (s, done) = respond(&api, "MFA_SETUP", third, user, json!({})).await;
    assert_eq!(s, 200, "{done}");
    assert!(
        done["AuthenticationResult"]["IdToken"].is_string(),
        "{done}"
    );
}

#[tokio::test]
async fn guessing_authenticator_codes_ends_the_session_after_three_wrong_ones() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "guesser@example.com";
    let tokens = signed_in(&api, user).await;
    let (secret, _) = enrol(&api, &tokens).await;
    next_step(&api);

    let (_, challenge) = initiate(&api, user, PASSWORD).await;
    let session = &challenge["Session"];
    let right = totp(&secret, api.cognito().now());
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..MAX_WRONG_MFA_CODES {
        let code = json!({"SOFTWARE_TOKEN_MFA_CODE": wrong});
        let guess = respond(&api, "SOFTWARE_TOKEN_MFA", session, user, code).await;
        assert_eq!(kind(&guess), (400, "CodeMismatchException"), "{guess:?}");
    }
    let code = json!({"SOFTWARE_TOKEN_MFA_CODE": right});
    let late = respond(&api, "SOFTWARE_TOKEN_MFA", session, user, code.clone()).await;
    assert_eq!(
        kind(&late),
        (400, "NotAuthorizedException"),
        "the session is over"
    );

    // A new sign-in takes the right code.
    let (_, challenge) = initiate(&api, user, PASSWORD).await;
    let (s, b) = respond(
        &api,
        "SOFTWARE_TOKEN_MFA",
        &challenge["Session"],
        user,
        code,
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn an_authenticator_code_accepted_once_never_signs_in_again() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let user = "replayer@example.com";
    let tokens = signed_in(&api, user).await;
    let (secret, enrolled_with) = enrol(&api, &tokens).await;
    // The code VerifySoftwareToken took, replayed at the sign-in.
    let replayed = sign_in_with(&api, user, &enrolled_with).await;
    assert_eq!(
        kind(&replayed),
        (400, "ExpiredCodeException"),
        "{replayed:?}"
    );

    next_step(&api);
    let code = totp(&secret, api.cognito().now());
    let (s, b) = sign_in_with(&api, user, &code).await;
    assert_eq!(s, 200, "{b}");
    // The same code, within its own 30 seconds, on a new sign-in.
    let replayed = sign_in_with(&api, user, &code).await;
    assert_eq!(
        kind(&replayed),
        (400, "ExpiredCodeException"),
        "{replayed:?}"
    );
    // Nor the code of the step before the one used.
    let (s, _) = sign_in_with(&api, user, &enrolled_with).await;
    assert_eq!(s, 400);

    next_step(&api);
    let (s, b) = sign_in_with(&api, user, &totp(&secret, api.cognito().now())).await;
    assert_eq!(s, 200, "the next step's code: {b}");
}
