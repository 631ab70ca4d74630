//! `POST /login`: signs in with user name and password (InitiateAuth, USER_PASSWORD_AUTH).
//! When Cognito puts a challenge instead (the user's authenticator code, or a new password for
//! an account an administrator created), `/login` answers it with the session to answer it in,
//! and `POST /login/challenge` answers it (RespondToAuthChallenge).

use auth::{Answer, Caller, SignIn};
use platform::{ApiError, JsonObject, Reply, Request, Route, route};

pub use auth::Cognito as State;

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[
    route!(POST "/login" => login),
    route!(POST "/login/challenge" => challenge),
];

/// The longest session taken: Cognito's are under 1 KB.
const MAX_SESSION_CHARS: usize = 4096;

/// The tokens, with a message, or the challenge (no tokens), as one 200 answer.
fn signed_in(outcome: SignIn) -> Result<Reply, ApiError> {
    match outcome {
        SignIn::Tokens(mut tokens) => {
            tokens.message = Some("Signed in.");
            Reply::ok(&tokens)
        }
        SignIn::Challenge(challenge) => Reply::ok(&challenge),
    }
}

#[tracing::instrument(name = "login", skip_all)]
async fn login(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    let username = auth::normalize_username(body.string("username")?)?;
    let password = auth::password(&body, "password")?;
    signed_in(
        state
            .password_sign_in(&Caller::of(req), &username, password)
            .await?,
    )
}

/// `{"username","session","challenge"}` as `/login` gave them, and the answer: `code` for
/// SOFTWARE_TOKEN_MFA, `new_password` for NEW_PASSWORD_REQUIRED.
#[tracing::instrument(name = "login_challenge", skip_all)]
async fn challenge(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let body = JsonObject::from_request(req)?;
    body.deny_unknown_fields(&["username", "session", "challenge", "code", "new_password"])?;
    // The internal user name `/login` answered, held to the same rule as every user name.
    let username = auth::normalize_username(body.string("username")?)?;
    let username = username.as_str();
    let session = body.string("session")?.trim();
    platform::body::check_len("session", session, MAX_SESSION_CHARS)?;
    let challenge = body.string("challenge")?.trim();
    let answer = match challenge {
        "SOFTWARE_TOKEN_MFA" => Answer::Code(auth::code(&body)?),
        "NEW_PASSWORD_REQUIRED" => Answer::NewPassword(auth::password(&body, "new_password")?),
        _ => {
            return Err(ApiError::InvalidField {
                field: "challenge",
                reason: format!("must be one of {}", auth::ANSWERABLE_CHALLENGES.join(", ")),
            });
        }
    };
    signed_in(
        state
            .answer_challenge(&Caller::of(req), challenge, username, session, answer)
            .await?,
    )
}

#[cfg(test)]
mod tests;
