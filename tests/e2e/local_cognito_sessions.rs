//! Attacks on the local Cognito's challenge sessions and authenticator codes, each refused as
//! Cognito refuses it: a session answered for another user or as another challenge, a session
//! answered thirty times at once, guessing codes on one session, and replaying a code that was
//! accepted already. Calls go to the local Cognito on its own protocol, as the SDK sends them.
//!
//! And the refresh sessions of an app client that rotates its refresh tokens, made by the local
//! API's bootstrap from a template of its own and driven through the AWS SDK: a new refresh
//! token at each exchange, the one exchanged good only for the client's grace, revocation of
//! any rotated token ending its family, REFRESH_TOKEN_AUTH refused, the client secret checked.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_cognitoidentityprovider as cognito;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, AuthenticationResultType, ExplicitAuthFlowsType, FeatureType,
    MessageActionType, RefreshTokenRotationType,
};
use integration_tests::{LocalApi, Moto, PASSWORD, sdk_config_for, signed_in, totp};
use local_api::template::Template;
use local_cognito::{LocalCognito, MAX_WRONG_MFA_CODES};
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

/// A pool and an app client as `template.yaml` will give them (a secret, password sign-in, no
/// ALLOW_REFRESH_TOKEN_AUTH, refresh-token rotation with its grace a parameter), in the smallest
/// template the local API reads.
const ROTATING_TEMPLATE: &str = r#"
Parameters:
  RefreshTokenGracePeriod:
    Type: Number
    Default: 10
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
  Function:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: f
    Properties:
      Events:
        Get:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /x
            Method: get
  UserPool:
    Type: AWS::Cognito::UserPool
    Properties:
      UserPoolName: rotating
  UserPoolClient:
    Type: AWS::Cognito::UserPoolClient
    Properties:
      GenerateSecret: true
      ExplicitAuthFlows: [ALLOW_USER_PASSWORD_AUTH]
      RefreshTokenRotation:
        Feature: ENABLED
        RetryGracePeriodSeconds: !Ref RefreshTokenGracePeriod
"#;

/// [`ROTATING_TEMPLATE`]'s pool and client, created in moto by the local API's bootstrap with
/// the grace `grace` (seconds; the template's default when `None`), and the local Cognito in
/// front of moto: `idp` calls it as the functions do, `admin` calls moto.
struct Rotating {
    local: LocalCognito,
    idp: cognito::Client,
    admin: cognito::Client,
    pool_id: String,
    client_id: String,
    secret: String,
    _moto: Moto,
}

impl Rotating {
    async fn start(grace: Option<&str>) -> Self {
        let moto = Moto::start();
        let sdk = moto.sdk_config().await;
        let overrides: HashMap<String, String> = grace
            .map(|g| ("RefreshTokenGracePeriod".to_owned(), g.to_owned()))
            .into_iter()
            .collect();
        let template = Template::parse(ROTATING_TEMPLATE, &overrides).unwrap();
        // Patient: the emulator's first call loads its Cognito, slowly on a loaded machine.
        let admin = cognito::Client::new(&test_support::patient(&sdk));
        let (pool_id, client_id, secret) =
            local_api::bootstrap::create_pool(&template, &admin, "rotating")
                .await
                .expect("the bootstrap creates the pool and client");
        let local = LocalCognito::start(&moto.endpoint, &sdk).await.unwrap();
        let idp = cognito::Client::new(&sdk_config_for(&local.endpoint).await);
        Self {
            local,
            idp,
            admin,
            pool_id,
            client_id,
            secret: secret.expect("the client has a secret"),
            _moto: moto,
        }
    }

    /// Moves the local Cognito's clock on by `secs` seconds.
    fn wait(&self, secs: u64) {
        self.local.layer.advance_clock(Duration::from_secs(secs));
    }

    /// A new sign-in of `user` (created with [`PASSWORD`] the first time) on the client.
    async fn sign_in(&self, user: &str) -> AuthenticationResultType {
        let exists = self
            .admin
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(user);
        if exists.send().await.is_err() {
            let create = self.admin.admin_create_user().user_pool_id(&self.pool_id);
            let create = create
                .username(user)
                .message_action(MessageActionType::Suppress);
            create.send().await.unwrap();
            let set = self
                .admin
                .admin_set_user_password()
                .user_pool_id(&self.pool_id);
            set.username(user)
                .password(PASSWORD)
                .permanent(true)
                .send()
                .await
                .unwrap();
        }
        let hash = auth::secret_hash(user, &self.client_id, &self.secret);
        let out = (self.idp.initiate_auth())
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", user)
            .auth_parameters("PASSWORD", PASSWORD)
            .auth_parameters("SECRET_HASH", hash)
            .send()
            .await
            .unwrap();
        out.authentication_result.expect("tokens")
    }

    /// GetTokensFromRefreshToken on the client, with its secret.
    async fn exchange(
        &self,
        refresh_token: &str,
    ) -> Result<
        AuthenticationResultType,
        cognito::operation::get_tokens_from_refresh_token::GetTokensFromRefreshTokenError,
    > {
        self.exchange_as(&self.client_id, Some(&self.secret), refresh_token)
            .await
    }

    async fn exchange_as(
        &self,
        client_id: &str,
        secret: Option<&str>,
        refresh_token: &str,
    ) -> Result<
        AuthenticationResultType,
        cognito::operation::get_tokens_from_refresh_token::GetTokensFromRefreshTokenError,
    > {
        let out = (self.idp.get_tokens_from_refresh_token())
            .client_id(client_id)
            .set_client_secret(secret.map(str::to_owned))
            .refresh_token(refresh_token)
            .send()
            .await
            .map_err(|e| e.into_service_error())?;
        Ok(out.authentication_result.expect("tokens"))
    }

    /// InitiateAuth REFRESH_TOKEN_AUTH for `user`'s `refresh_token`, with its SECRET_HASH.
    async fn refresh_token_auth(
        &self,
        user: &str,
        refresh_token: &str,
    ) -> Result<AuthenticationResultType, cognito::operation::initiate_auth::InitiateAuthError>
    {
        let hash = auth::secret_hash(user, &self.client_id, &self.secret);
        let out = (self.idp.initiate_auth())
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .auth_parameters("SECRET_HASH", hash)
            .send()
            .await
            .map_err(|e| e.into_service_error())?;
        Ok(out.authentication_result.expect("tokens"))
    }

    /// GetUser on `access_token`, through the local Cognito: whether it is still taken.
    async fn works(&self, access_token: &str) -> bool {
        let user = self.idp.get_user().access_token(access_token).send().await;
        match user {
            Ok(_) => true,
            Err(e) => {
                let e = e.into_service_error();
                assert!(e.is_not_authorized_exception(), "{e:?}");
                false
            }
        }
    }

    /// Changes the client's rotation and ExplicitAuthFlows through the local Cognito.
    async fn reconfigure(&self, rotation: FeatureType, flows: &[&str]) {
        let rotation = RefreshTokenRotationType::builder()
            .feature(rotation)
            .retry_grace_period_seconds(1)
            .build()
            .unwrap();
        let flows = flows
            .iter()
            .map(|f| ExplicitAuthFlowsType::from(*f))
            .collect();
        (self.idp.update_user_pool_client())
            .user_pool_id(&self.pool_id)
            .client_id(&self.client_id)
            .refresh_token_rotation(rotation)
            .set_explicit_auth_flows(Some(flows))
            .send()
            .await
            .unwrap();
    }
}

fn refresh_token(result: &AuthenticationResultType) -> &str {
    result.refresh_token().expect("a refresh token")
}

/// The `origin_jti` of a token moto issued.
fn origin_jti(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    claims["origin_jti"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_bootstrap_gives_the_client_the_templates_rotation_with_its_grace_parameter() {
    for (grace, expected) in [(None, 10), (Some("1"), 1)] {
        let r = Rotating::start(grace).await;
        let described = (r.admin.describe_user_pool_client())
            .user_pool_id(&r.pool_id)
            .client_id(&r.client_id)
            .send()
            .await
            .unwrap();
        let client = described.user_pool_client.unwrap();
        let rotation = client.refresh_token_rotation().expect("a rotation");
        assert_eq!(rotation.feature(), &FeatureType::Enabled);
        assert_eq!(rotation.retry_grace_period_seconds(), Some(expected));
    }
}

#[tokio::test]
async fn each_exchange_rotates_and_the_old_token_works_only_within_the_grace() {
    let r = Rotating::start(Some("1")).await;
    let signed_in = r.sign_in("alice").await;
    let first = refresh_token(&signed_in);
    let jti = origin_jti(signed_in.access_token().unwrap());

    let one = r.exchange(first).await.unwrap();
    let next = refresh_token(&one);
    assert_ne!(next, first);
    assert!(r.works(one.access_token().unwrap()).await);
    assert!(one.id_token().is_some());
    // The family is the same: the emulator keeps its origin_jti across rotations.
    assert_eq!(origin_jti(one.access_token().unwrap()), jti);

    // Within the grace the first token is good again, for a client's retry: another new token.
    let retry = r.exchange(first).await.unwrap();
    let other = refresh_token(&retry);
    assert!(other != next && other != first);
    // The new tokens rotate in their turn.
    let two = r.exchange(next).await.unwrap();
    let last = refresh_token(&two).to_owned();
    assert!(![first, next, other].contains(&last.as_str()));

    r.wait(2);
    for spent in [first, next] {
        let reused = r.exchange(spent).await.unwrap_err();
        assert!(reused.is_refresh_token_reuse_exception(), "{reused:?}");
    }
    // Those never exchanged are good, past anyone's grace.
    for fresh in [other, last.as_str()] {
        assert!(r.exchange(fresh).await.is_ok());
    }
}

#[tokio::test]
async fn with_no_grace_of_exchanges_sent_at_once_one_is_answered() {
    let r = Rotating::start(Some("0")).await;
    let signed_in = r.sign_in("alice").await;
    let token = refresh_token(&signed_in);
    let answers = futures::future::join_all((0..10).map(|_| r.exchange(token))).await;
    let (answered, refused): (Vec<_>, Vec<_>) = answers.into_iter().partition(Result::is_ok);
    assert_eq!(answered.len(), 1, "{refused:?}");
    for refusal in refused {
        assert!(refusal.unwrap_err().is_refresh_token_reuse_exception());
    }
}

#[tokio::test]
async fn revoking_a_rotated_token_ends_its_family_and_every_sign_out_reaches_rotated_tokens() {
    let r = Rotating::start(Some("1")).await;
    let mine = r.sign_in("alice").await;
    let other_session = r.sign_in("alice").await;
    let first = refresh_token(&mine);
    let one = r.exchange(first).await.unwrap();
    let two = r.exchange(refresh_token(&one)).await.unwrap();

    // RevokeToken with the middle token of the family.
    (r.idp.revoke_token())
        .client_id(&r.client_id)
        .client_secret(&r.secret)
        .token(refresh_token(&one))
        .send()
        .await
        .unwrap();
    for token in [first, refresh_token(&one), refresh_token(&two)] {
        let refused = r.exchange(token).await.unwrap_err();
        assert!(refused.is_not_authorized_exception(), "{refused:?}");
    }
    assert!(!r.works(two.access_token().unwrap()).await);
    // The user's other session is another family, untouched.
    let kept = r.exchange(refresh_token(&other_session)).await.unwrap();
    assert!(r.works(kept.access_token().unwrap()).await);

    // GlobalSignOut ends the rotated tokens of every family of the user.
    (r.idp.global_sign_out())
        .access_token(kept.access_token().unwrap())
        .send()
        .await
        .unwrap();
    let refused = r.exchange(refresh_token(&kept)).await.unwrap_err();
    assert!(refused.is_not_authorized_exception(), "{refused:?}");

    // And so do AdminUserGlobalSignOut and AdminDeleteUser, through the local Cognito.
    for user in ["bob", "carol"] {
        let session = r.sign_in(user).await;
        let rotated = r.exchange(refresh_token(&session)).await.unwrap();
        if user == "bob" {
            let out = r.idp.admin_user_global_sign_out().user_pool_id(&r.pool_id);
            out.username(user).send().await.unwrap();
        } else {
            let delete = r.idp.admin_delete_user().user_pool_id(&r.pool_id);
            delete.username(user).send().await.unwrap();
        }
        let refused = r.exchange(refresh_token(&rotated)).await.unwrap_err();
        assert!(refused.is_not_authorized_exception(), "{user}: {refused:?}");
    }

    // A user deleted straight in moto, behind the layer's back: refused, never a 5xx.
    let session = r.sign_in("dave").await;
    let rotated = r.exchange(refresh_token(&session)).await.unwrap();
    let delete = r.admin.admin_delete_user().user_pool_id(&r.pool_id);
    delete.username("dave").send().await.unwrap();
    let refused = r.exchange(refresh_token(&rotated)).await.unwrap_err();
    assert!(refused.is_not_authorized_exception(), "{refused:?}");
}

#[tokio::test]
async fn refresh_token_auth_is_refused_where_the_client_rotates_or_does_not_allow_it() {
    let r = Rotating::start(Some("1")).await;
    let signed_in = r.sign_in("alice").await;
    let first = refresh_token(&signed_in);
    let refused = r.refresh_token_auth("alice", first).await.unwrap_err();
    assert!(refused.is_unsupported_operation_exception(), "{refused:?}");
    let rotated = r.exchange(first).await.unwrap();

    // Rotation alone refuses it, ALLOW_REFRESH_TOKEN_AUTH or not.
    let flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"];
    r.reconfigure(FeatureType::Enabled, &flows).await;
    let refused = (r.refresh_token_auth("alice", refresh_token(&rotated)).await).unwrap_err();
    assert!(refused.is_unsupported_operation_exception(), "{refused:?}");

    // Rotation off and the flow allowed: REFRESH_TOKEN_AUTH takes any token of the family,
    // the one the local Cognito issued at the rotation too; GetTokensFromRefreshToken answers
    // id and access tokens only.
    r.reconfigure(FeatureType::Disabled, &flows).await;
    let refreshed = (r.refresh_token_auth("alice", refresh_token(&rotated)).await).unwrap();
    assert!(r.works(refreshed.access_token().unwrap()).await);
    let exchanged = r.exchange(refresh_token(&rotated)).await.unwrap();
    assert_eq!(exchanged.refresh_token(), None);
    assert!(r.works(exchanged.access_token().unwrap()).await);

    // Rotation off and the flow left out of ExplicitAuthFlows: refused.
    r.reconfigure(FeatureType::Disabled, &["ALLOW_USER_PASSWORD_AUTH"])
        .await;
    let refused = r.refresh_token_auth("alice", first).await.unwrap_err();
    assert!(refused.is_unsupported_operation_exception(), "{refused:?}");
}

#[tokio::test]
async fn a_wrong_or_missing_client_secret_or_another_clients_id_is_refused_and_spends_nothing() {
    let r = Rotating::start(Some("0")).await;
    let signed_in = r.sign_in("alice").await;
    let token = refresh_token(&signed_in);
    for secret in [None, Some("wrong"), Some("")] {
        let refused = r
            .exchange_as(&r.client_id, secret, token)
            .await
            .unwrap_err();
        assert!(
            refused.is_not_authorized_exception(),
            "{secret:?}: {refused:?}"
        );
    }
    let another = (r.idp.create_user_pool_client())
        .user_pool_id(&r.pool_id)
        .client_name("another")
        .generate_secret(true)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    let (id, secret) = (another.client_id().unwrap(), another.client_secret());
    let refused = r.exchange_as(id, secret, token).await.unwrap_err();
    assert!(refused.is_not_authorized_exception(), "{refused:?}");
    let made_up = r.exchange("made-up-refresh-token").await.unwrap_err();
    assert!(made_up.is_not_authorized_exception(), "{made_up:?}");
    // None of the refusals spent the token, whose grace is 0.
    assert!(r.exchange(token).await.is_ok());
}
