//! The users the fixtures need, made in moto through the Cognito client the functions use (as a
//! client app would): one confirmed user with a password and a refresh token, and unconfirmed
//! ones to confirm.

use auth::{Caller, Cognito, CognitoConfig};
use platform::Env;

use crate::events::Seed;

const PASSWORD: &str = "Correct-Horse-9!";

pub async fn seed(
    sdk: &aws_config::SdkConfig,
    created: &local_api::bootstrap::Created,
    unconfirmed: usize,
) -> Seed {
    let mut env = Env::from_pairs([("COGNITO_CLIENT_ID", created.client_id.as_str())]);
    if let Some(arn) = &created.client_secret_arn {
        env = env.with(auth::config::SECRET_ARN_VAR, arn);
    }
    let config = CognitoConfig::from_env(&env).expect("the bench app client's configuration");
    let cognito = Cognito::new(sdk, config)
        .await
        .expect("the bench app client's secret is readable");
    let username = "bench-user@example.com";
    sign_up(&cognito, username).await;
    cognito
        .confirm_sign_up(&Caller::default(), username, "123456")
        .await
        .expect("confirm the bench user");
    let tokens = cognito
        .password_sign_in(&Caller::default(), username, PASSWORD)
        .await
        .expect("sign the bench user in");

    let mut names = Vec::with_capacity(unconfirmed);
    for n in 0..unconfirmed {
        let name = format!("bench-unconfirmed-{n}@example.com");
        sign_up(&cognito, &name).await;
        names.push(name);
    }
    Seed {
        username: username.into(),
        password: PASSWORD.into(),
        cognito_username: tokens.username.expect("the internal user name"),
        refresh_token: tokens.refresh_token.expect("a refresh token"),
        access_token: tokens.access_token,
        unconfirmed: names,
    }
}

async fn sign_up(cognito: &Cognito, username: &str) {
    cognito
        .sign_up(&Caller::default(), username, PASSWORD, None)
        .await
        .unwrap_or_else(|e| panic!("sign up {username}: {e:?}"));
}
