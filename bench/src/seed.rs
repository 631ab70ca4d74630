//! The users the fixtures need, made in moto through the SDK (as a client app would): one
//! confirmed user with a password and a refresh token, and unconfirmed ones to confirm.

use auth::{AppClient, CognitoOp, CognitoState, Cors};
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::AuthFlowType;

use crate::events::Seed;

const PASSWORD: &str = "Correct-Horse-9!";

pub async fn seed(
    sdk: &aws_config::SdkConfig,
    created: &local_api::bootstrap::Created,
    unconfirmed: usize,
) -> Seed {
    let app = AppClient::new(&created.client_id, created.client_secret.clone());
    let state = CognitoState::new(Client::new(sdk), app, Cors::default());
    let username = "bench-user@example.com";
    sign_up(&state, username).await;
    state
        .cognito
        .confirm_sign_up()
        .client_id(&state.app.client_id)
        .set_secret_hash(state.app.secret_hash(username))
        .username(username)
        .confirmation_code("123456")
        .send()
        .await
        .expect("confirm the bench user");
    let tokens = state
        .initiate_auth(
            CognitoOp::Login,
            AuthFlowType::UserPasswordAuth,
            username,
            &[("USERNAME", username), ("PASSWORD", PASSWORD)],
        )
        .await
        .expect("sign the bench user in");
    let cognito_username = auth::cognito::unverified_claim(&tokens.id_token, "cognito:username")
        .expect("cognito:username in the id token");

    let mut names = Vec::with_capacity(unconfirmed);
    for n in 0..unconfirmed {
        let name = format!("bench-unconfirmed-{n}@example.com");
        sign_up(&state, &name).await;
        names.push(name);
    }
    Seed {
        username: username.into(),
        password: PASSWORD.into(),
        cognito_username,
        refresh_token: tokens.refresh_token.expect("a refresh token"),
        access_token: tokens.access_token,
        unconfirmed: names,
    }
}

async fn sign_up(state: &CognitoState, username: &str) {
    state
        .cognito
        .sign_up()
        .client_id(&state.app.client_id)
        .set_secret_hash(state.app.secret_hash(username))
        .username(username)
        .password(PASSWORD)
        .send()
        .await
        .unwrap_or_else(|e| panic!("sign up {username}: {e:?}"));
}
