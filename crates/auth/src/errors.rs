//! Cognito's typed errors, mapped to the API's answers in one place. The same Cognito error
//! means different things to the callers of different operations, hence [`Op`].

use aws_sdk_cognitoidentityprovider::Error as CognitoError;
use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use platform::ApiError;

use crate::account::Delivery;
use crate::client::Op;

/// Maps a failed call: transport failures through [`platform::sdk::service_error`], Cognito's
/// typed errors by variant, never by message text.
pub(crate) fn map<E>(op: Op, err: SdkError<E, HttpResponse>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    CognitoError: From<E>,
{
    match platform::sdk::service_error(&op, err) {
        Ok(service_err) => map_service_error(op, CognitoError::from(service_err)),
        Err(transport) => transport,
    }
}

/// For the operations anyone may call with any user name (resend a code, forgot password): the
/// refusals that depend on the account (unknown, already confirmed, no verified e-mail,
/// disabled) become [`Delivery::Withheld`], the same answer a real delivery gets; the rest
/// (throttling, an unreachable Cognito) maps as [`map`] does. Cognito's own
/// PreventUserExistenceErrors covers only the unknown user.
pub(crate) fn delivery<T, E>(
    op: Op,
    sent: Result<T, SdkError<E, HttpResponse>>,
) -> Result<Delivery, ApiError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    CognitoError: From<E>,
{
    let Err(err) = sent else {
        return Ok(Delivery::Sent);
    };
    match CognitoError::from(platform::sdk::service_error(&op, err)?) {
        CognitoError::UserNotFoundException(_) => Ok(Delivery::Withheld("UserNotFoundException")),
        CognitoError::InvalidParameterException(_) => {
            Ok(Delivery::Withheld("InvalidParameterException"))
        }
        // A wrong client secret is NotAuthorized too: the log line's note shows it.
        CognitoError::NotAuthorizedException(_) => Ok(Delivery::Withheld("NotAuthorizedException")),
        other => Err(map_service_error(op, other)),
    }
}

/// Maps Cognito's typed error for `op`.
pub fn map_service_error(op: Op, err: CognitoError) -> ApiError {
    use CognitoError as E;
    let message = |default: &str| err.message().unwrap_or(default).to_owned();
    let cause = || format!("{op}: {}", err.code().unwrap_or("unknown error"));
    // Codes anyone may try for any user name: every refusal is one answer, whether the account
    // exists, has a code pending, or has had too many tries (Cognito's LimitExceeded comes for
    // existing accounts only), so that the answer tells nothing about who exists.
    // By variant, and by code as well: an operation whose modelled errors leave one out
    // (GlobalSignOut's UserNotFoundException, for a user deleted behind the API's back) gets it
    // from the SDK unmodelled.
    let code = err.code();
    let refused = matches!(
        err,
        E::NotAuthorizedException(_) | E::UserNotFoundException(_)
    ) || matches!(
        code,
        Some("NotAuthorizedException" | "UserNotFoundException")
    );
    if matches!(op, Op::ConfirmSignUp | Op::ResetPassword)
        && (refused
            || matches!(
                err,
                E::CodeMismatchException(_)
                    | E::ExpiredCodeException(_)
                    | E::LimitExceededException(_)
                    | E::TooManyFailedAttemptsException(_)
            ))
    {
        return ApiError::CodeMismatch;
    }
    if let Some(passkey) = passkey_error(op, &err) {
        return passkey;
    }
    match &err {
        E::UsernameExistsException(_) | E::AliasExistsException(_) => ApiError::UsernameExists,
        E::InvalidPasswordException(_) => {
            ApiError::InvalidPassword(message("the password does not meet the pool's policy"))
        }
        E::InvalidParameterException(_) => {
            ApiError::InvalidParameter(message("a parameter is invalid"))
        }
        E::UserLambdaValidationException(_) => {
            ApiError::InvalidParameter("the request was refused by the pool's validation".into())
        }
        // A wrong authenticator code, or one used already.
        E::CodeMismatchException(_) | E::ExpiredCodeException(_)
            if matches!(op, Op::Challenge | Op::VerifyToken) =>
        {
            ApiError::InvalidCode
        }
        E::EnableSoftwareTokenMfaException(_) => ApiError::InvalidCode,
        E::CodeMismatchException(_) => ApiError::CodeMismatch,
        E::ExpiredCodeException(_) => ApiError::ExpiredCode,
        E::UserNotConfirmedException(_) => ApiError::UserNotConfirmed,
        E::PasswordResetRequiredException(_) => ApiError::PasswordResetRequired,
        // A rotated-out refresh token presented after the client's grace period.
        E::RefreshTokenReuseException(_) => ApiError::RefreshTokenReused,
        _ if refused => match op {
            // One answer for an unknown user and a wrong password: no user enumeration.
            Op::Login => ApiError::InvalidCredentials,
            Op::Refresh => ApiError::InvalidRefreshToken,
            // RespondToAuthChallenge's NotAuthorized: the session expired (after the client's
            // AuthSessionValidity) or was used already.
            Op::Challenge => ApiError::SessionExpired,
            // A password reset's UserNotFound never reaches here (one answer above).
            _ => ApiError::NotAuthorized,
        },
        E::TooManyRequestsException(_) => ApiError::TooManyRequests { retry_after: 1 },
        E::LimitExceededException(_) => ApiError::TooManyRequests { retry_after: 30 },
        E::TooManyFailedAttemptsException(_) => ApiError::TooManyRequests { retry_after: 60 },
        // A group the pool does not have (the admin API's path names it).
        E::ResourceNotFoundException(_) if op == Op::AdminSetGroup => ApiError::NotFound("group"),
        E::ResourceNotFoundException(_)
        | E::InvalidUserPoolConfigurationException(_)
        | E::InvalidEmailRoleAccessPolicyException(_)
        | E::InvalidSmsRoleAccessPolicyException(_)
        | E::InvalidSmsRoleTrustRelationshipException(_) => ApiError::internal(cause()),
        _ => ApiError::unavailable(cause()),
    }
}

/// Cognito's refusals of passwordless sign-in and passkeys, each a stable code a client can act
/// on; `None` for the errors every operation shares.
fn passkey_error(op: Op, err: &CognitoError) -> Option<ApiError> {
    use CognitoError as E;
    let rejected = |code, message| Some(ApiError::Rejected { code, message });
    match err {
        E::WebAuthnOriginNotAllowedException(_) => rejected(
            "passkey_origin_not_allowed",
            "the passkey was made on a page whose origin this API's relying party does not allow",
        ),
        E::WebAuthnRelyingPartyMismatchException(_) => rejected(
            "passkey_relying_party_mismatch",
            "the passkey was made for another relying party (domain)",
        ),
        E::WebAuthnChallengeNotFoundException(_) => rejected(
            "passkey_challenge_expired",
            "the registration has expired or was used already; start it again",
        ),
        E::WebAuthnClientMismatchException(_) => rejected(
            "passkey_client_mismatch",
            "the registration was started by another app client",
        ),
        E::WebAuthnCredentialNotSupportedException(_) => rejected(
            "passkey_not_supported",
            "this authenticator's credential type is not supported",
        ),
        E::WebAuthnNotEnabledException(_)
        | E::WebAuthnConfigurationMissingException(_)
        | E::UnsupportedOperationException(_)
        | E::FeatureUnavailableInTierException(_) => Some(ApiError::FeatureUnavailable(
            "passwordless sign-in or passkeys are not turned on for this user pool and app client (see the README: UserPoolTier, PasskeyRelyingPartyId)",
        )),
        E::LimitExceededException(_) if matches!(op, Op::StartPasskey | Op::CompletePasskey) => {
            Some(ApiError::Conflict {
                code: "too_many_passkeys",
                message: "this account has the most passkeys it may have; delete one first",
            })
        }
        E::InvalidParameterException(_) if op == Op::CompletePasskey => rejected(
            "invalid_credential",
            "the credential is not a valid answer to this registration",
        ),
        E::ResourceNotFoundException(_) if op == Op::DeletePasskey => {
            Some(ApiError::NotFound("passkey"))
        }
        E::NotAuthorizedException(_) | E::InvalidParameterException(_)
            if op == Op::PasskeyAnswer =>
        {
            rejected(
                "invalid_credential",
                "the passkey's answer was refused; sign in again",
            )
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cognitoidentityprovider::types::error::{
        InternalErrorException, NotAuthorizedException, ResourceNotFoundException,
        UserNotFoundException,
    };

    #[test]
    fn one_answer_for_a_wrong_password_and_an_unknown_user_at_login() {
        let wrong = E::NotAuthorizedException(NotAuthorizedException::builder().build());
        let unknown = E::UserNotFoundException(UserNotFoundException::builder().build());
        assert_eq!(
            map_service_error(Op::Login, wrong),
            map_service_error(Op::Login, unknown)
        );
    }

    #[test]
    fn server_errors_carry_the_operation_and_cognitos_code_as_their_cause() {
        let err = map_service_error(
            Op::SignUp,
            E::InternalErrorException(InternalErrorException::builder().build()),
        );
        assert_eq!(err.code(), "service_unavailable");
        let cause = err.cause().unwrap().to_string();
        assert!(cause.starts_with("Cognito SignUp: "), "{cause}");
        let err = map_service_error(
            Op::Login,
            E::ResourceNotFoundException(ResourceNotFoundException::builder().build()),
        );
        assert_eq!(err.code(), "internal_error");
        // But a group the admin API's path names and the pool lacks is the caller's 404.
        let err = map_service_error(
            Op::AdminSetGroup,
            E::ResourceNotFoundException(ResourceNotFoundException::builder().build()),
        );
        assert_eq!((err.status().as_u16(), err.code()), (404, "not_found"));
    }

    #[test]
    fn every_refusal_of_a_code_anyone_may_try_is_one_answer() {
        use aws_sdk_cognitoidentityprovider::types::error::{
            CodeMismatchException, ExpiredCodeException, LimitExceededException,
            TooManyFailedAttemptsException,
        };
        for op in [Op::ConfirmSignUp, Op::ResetPassword] {
            let refusals = [
                E::CodeMismatchException(CodeMismatchException::builder().build()),
                E::ExpiredCodeException(ExpiredCodeException::builder().build()),
                E::LimitExceededException(LimitExceededException::builder().build()),
                E::TooManyFailedAttemptsException(
                    TooManyFailedAttemptsException::builder().build(),
                ),
                E::NotAuthorizedException(NotAuthorizedException::builder().build()),
                E::UserNotFoundException(UserNotFoundException::builder().build()),
            ];
            for refusal in refusals {
                let code = refusal.code().map(str::to_owned);
                assert_eq!(
                    map_service_error(op, refusal),
                    ApiError::CodeMismatch,
                    "{op} {code:?}"
                );
            }
        }
    }

    use CognitoError as E;
}
