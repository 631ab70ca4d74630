//! AdminDeleteSoftwareToken (an administrator's, with IAM, by user name; Cognito has it since
//! August 2026, moto 5.2.5 not at all): the user's TOTP secret is gone, pending and active, and
//! so is any preference for TOTP. Cognito: "After this operation, the user can no longer sign
//! in with TOTP MFA, and can register a new TOTP factor with AssociateSoftwareToken ... When
//! your user pool requires MFA and the user has no other factor available, Amazon Cognito
//! returns an MFA_SETUP challenge at the next sign-in."
//!
//! moto is told TOTP is off (AdminSetUserMFAPreference), which is all a pool whose MFA is
//! OPTIONAL needs; where it is ON, moto goes on challenging any user whose token it ever
//! verified, so the layer marks the user as having no authenticator ([`mfa::delete`]) and the
//! next sign-in turns moto's challenge into MFA_SETUP (`initiate_auth`).

use aws_sdk_cognitoidentityprovider::types::SoftwareTokenMfaSettingsType;
use serde_json::{Value, json};

use crate::protocol::{Call, Error, ErrorType};
use crate::{Layer, mfa};

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: super::AdminByName = call.request()?;
    let Some(user) = req.user(layer).await? else {
        return Err(Error::new(ErrorType::UserNotFound, "User does not exist."));
    };
    let totp_off = SoftwareTokenMfaSettingsType::builder()
        .enabled(false)
        .preferred_mfa(false)
        .build();
    layer
        .moto
        .admin
        .admin_set_user_mfa_preference()
        .user_pool_id(&req.user_pool_id)
        .username(&user.username)
        .software_token_mfa_settings(totp_off)
        .send()
        .await
        .map_err(Error::admin)?;
    mfa::delete(layer, &req.user_pool_id, &user.username);
    Ok(json!({}))
}
