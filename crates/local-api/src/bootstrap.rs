//! Creates the stack's user pool, app client and books table in a local emulator (moto), from
//! the very properties `template.yaml` gives them, so the local run has the deployed settings.

use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider as cognito;
use aws_sdk_cognitoidentityprovider::types as ct;
use aws_sdk_dynamodb as dynamodb;
use aws_sdk_dynamodb::types as dt;
use serde_yaml::Value;

use crate::template::Template;

/// What was created.
#[derive(Debug, Clone)]
pub struct Created {
    pub pool_id: String,
    pub client_id: String,
    /// The client secret, for tests that call Cognito themselves; the functions get
    /// `client_secret_arn`.
    pub client_secret: Option<String>,
    /// The Secrets Manager secret holding `client_secret`, as the stack stores it.
    pub client_secret_arn: Option<String>,
    pub table: String,
    /// The sessions table: the sign-outs and deletions the API enforces.
    pub sessions_table: String,
    /// The recovery codes table.
    pub recovery_table: String,
    /// The Secrets Manager secret holding the recovery codes' pepper, as the stack's
    /// `RecoveryCodePepper`: random, made anew for each run.
    pub recovery_pepper_arn: String,
    pub limits_table: String,
    /// The audit log, with its stream on.
    pub audit_table: String,
    /// The event bus the events function puts every event on.
    pub event_bus: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("template has no {0} resource")]
    Missing(&'static str),
    #[error("{0}: {1}")]
    Call(&'static str, String),
}

fn call_err<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> BootstrapError {
    move |e| BootstrapError::Call(what, e.to_string())
}

fn find<'a>(t: &'a Template, kind: &str) -> Option<(&'a str, &'a Value)> {
    t.resources.iter().find_map(|(id, r)| {
        (r.get("Type").and_then(Value::as_str) == Some(kind)).then(|| {
            (
                id.as_str().unwrap_or_default(),
                r.get("Properties").unwrap_or(&Value::Null),
            )
        })
    })
}

fn strs(v: Option<&Value>, t: &Template) -> Vec<String> {
    v.and_then(|v| t.select(v))
        .and_then(Value::as_sequence)
        .map(|s| s.iter().filter_map(|x| t.resolve(x)).collect())
        .unwrap_or_default()
}

fn int(v: Option<&Value>) -> Option<i32> {
    v.and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        .and_then(|n| i32::try_from(n).ok())
}

fn boolean(v: Option<&Value>) -> Option<bool> {
    v.and_then(|v| v.as_bool().or_else(|| v.as_str()?.parse().ok()))
}

/// Creates the pool, client and table; `prefix` names them.
pub async fn create(
    t: &Template,
    sdk: &SdkConfig,
    prefix: &str,
) -> Result<Created, BootstrapError> {
    let idp = cognito::Client::new(sdk);
    let (pool_id, client_id, client_secret) = create_pool(t, &idp, prefix).await?;
    // The pool's groups, as the template declares them (the admin API's `admin`).
    for group in t
        .resources
        .values()
        .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::Cognito::UserPoolGroup"))
        .filter_map(|r| {
            r.get("Properties")?
                .get("GroupName")
                .and_then(|v| t.resolve(v))
        })
    {
        idp.create_group()
            .user_pool_id(&pool_id)
            .group_name(group)
            .send()
            .await
            .map_err(|e| BootstrapError::Call("CreateGroup", format!("{e:?}")))?;
    }
    let client_secret_arn = match &client_secret {
        Some(secret) => Some(store_client_secret(sdk, prefix, secret).await?),
        None => None,
    };
    let recovery_pepper_arn = store_recovery_pepper(sdk, prefix).await?;
    let ddb = dynamodb::Client::new(sdk);
    let table = format!("{prefix}-books");
    create_table(t, &ddb, BOOKS_TABLE, &table).await?;
    let sessions_table = format!("{prefix}-sessions");
    create_table(t, &ddb, SESSIONS_TABLE, &sessions_table).await?;
    let recovery_table = format!("{prefix}-recovery-codes");
    create_table(t, &ddb, RECOVERY_CODES_TABLE, &recovery_table).await?;
    let limits_table = format!("{prefix}-limits");
    create_table(t, &ddb, LIMITS_TABLE, &limits_table).await?;
    let audit_table = format!("{prefix}-audit");
    create_table(t, &ddb, AUDIT_TABLE, &audit_table).await?;
    let event_bus = format!("{prefix}-auth-events");
    if !t.resources.contains_key(EVENT_BUS) {
        return Err(BootstrapError::Missing(EVENT_BUS));
    }
    aws_sdk_eventbridge::Client::new(sdk)
        .create_event_bus()
        .name(&event_bus)
        .send()
        .await
        .map_err(|e| BootstrapError::Call("CreateEventBus", format!("{e:?}")))?;
    Ok(Created {
        pool_id,
        client_id,
        client_secret,
        client_secret_arn,
        table,
        sessions_table,
        recovery_table,
        recovery_pepper_arn,
        limits_table,
        audit_table,
        event_bus,
    })
}

/// Stores the app client's secret in Secrets Manager, as the stack's `ClientSecret` resource
/// does; returns the secret's ARN.
pub async fn store_client_secret(
    sdk: &SdkConfig,
    prefix: &str,
    secret: &str,
) -> Result<String, BootstrapError> {
    let name = format!("{prefix}-client-secret");
    store_secret(sdk, &name, "The Cognito app client's secret", secret).await
}

/// Stores a new recovery codes' pepper in Secrets Manager, as the stack's `RecoveryCodePepper`
/// does (64 letters and digits from the OS CSPRNG); returns the secret's ARN.
pub async fn store_recovery_pepper(
    sdk: &SdkConfig,
    prefix: &str,
) -> Result<String, BootstrapError> {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let pepper = platform::random::string(ALNUM, 64)
        .map_err(|e| BootstrapError::Call("the OS CSPRNG", e.to_string()))?;
    let name = format!("{prefix}-recovery-code-pepper");
    store_secret(
        sdk,
        &name,
        "The key the recovery codes are hashed under",
        &pepper,
    )
    .await
}

/// CreateSecret: `value` under `name`; returns the secret's ARN.
async fn store_secret(
    sdk: &SdkConfig,
    name: &str,
    description: &str,
    value: &str,
) -> Result<String, BootstrapError> {
    let out = aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(name)
        .description(description)
        .secret_string(value)
        .send()
        .await
        .map_err(|e| BootstrapError::Call("CreateSecret", format!("{e:?}")))?;
    out.arn().map(str::to_owned).ok_or(BootstrapError::Missing(
        "secret ARN in CreateSecret's answer",
    ))
}

/// Creates the template's user pool and app client; returns the pool id, client id and secret.
pub async fn create_pool(
    t: &Template,
    idp: &cognito::Client,
    prefix: &str,
) -> Result<(String, String, Option<String>), BootstrapError> {
    let (_, p) = find(t, "AWS::Cognito::UserPool")
        .ok_or(BootstrapError::Missing("AWS::Cognito::UserPool"))?;
    let mut pool = idp.create_user_pool().pool_name(format!("{prefix}-users"));
    if let Some(cs) = boolean(
        p.get("UsernameConfiguration")
            .and_then(|u| u.get("CaseSensitive")),
    ) {
        pool = pool.username_configuration(
            ct::UsernameConfigurationType::builder()
                .case_sensitive(cs)
                .build()
                .map_err(call_err("UsernameConfiguration"))?,
        );
    }
    for a in strs(p.get("AutoVerifiedAttributes"), t) {
        pool = pool.auto_verified_attributes(ct::VerifiedAttributeType::from(a.as_str()));
    }
    for a in strs(p.get("UsernameAttributes"), t) {
        pool = pool.username_attributes(ct::UsernameAttributeType::from(a.as_str()));
    }
    for a in strs(p.get("AliasAttributes"), t) {
        pool = pool.alias_attributes(ct::AliasAttributeType::from(a.as_str()));
    }
    for s in p
        .get("Schema")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        pool = pool.schema(
            ct::SchemaAttributeType::builder()
                .set_name(s.get("Name").and_then(|v| t.resolve(v)))
                .set_attribute_data_type(
                    s.get("AttributeDataType")
                        .and_then(|v| t.resolve(v))
                        .map(|d| ct::AttributeDataType::from(d.as_str())),
                )
                .set_required(boolean(s.get("Required")))
                .set_mutable(boolean(s.get("Mutable")))
                .build(),
        );
    }
    let verify_first = strs(
        p.get("UserAttributeUpdateSettings")
            .and_then(|u| u.get("AttributesRequireVerificationBeforeUpdate")),
        t,
    );
    if !verify_first.is_empty() {
        pool = pool.user_attribute_update_settings(
            ct::UserAttributeUpdateSettingsType::builder()
                .set_attributes_require_verification_before_update(Some(
                    verify_first
                        .iter()
                        .map(|a| ct::VerifiedAttributeType::from(a.as_str()))
                        .collect(),
                ))
                .build(),
        );
    }
    if let Some(tier) = p.get("UserPoolTier").and_then(|v| t.resolve(t.select(v)?)) {
        pool = pool.user_pool_tier(ct::UserPoolTierType::from(tier.as_str()));
    }
    if let Some(mfa) = p.get("MfaConfiguration").and_then(|v| t.resolve(v)) {
        pool = pool.mfa_configuration(ct::UserPoolMfaType::from(mfa.as_str()));
    }
    let first_factors = strs(
        p.get("Policies")
            .and_then(|x| x.get("SignInPolicy"))
            .and_then(|x| x.get("AllowedFirstAuthFactors")),
        t,
    );
    let sign_in_policy = (!first_factors.is_empty()).then(|| {
        ct::SignInPolicyType::builder()
            .set_allowed_first_auth_factors(Some(
                first_factors
                    .iter()
                    .map(|f| ct::AuthFactorType::from(f.as_str()))
                    .collect(),
            ))
            .build()
    });
    if let Some(pp) = p.get("Policies").and_then(|x| x.get("PasswordPolicy")) {
        pool = pool.policies(
            ct::UserPoolPolicyType::builder()
                .set_sign_in_policy(sign_in_policy)
                .password_policy(
                    ct::PasswordPolicyType::builder()
                        .set_minimum_length(int(pp.get("MinimumLength")))
                        .set_require_uppercase(boolean(pp.get("RequireUppercase")))
                        .set_require_lowercase(boolean(pp.get("RequireLowercase")))
                        .set_require_numbers(boolean(pp.get("RequireNumbers")))
                        .set_require_symbols(boolean(pp.get("RequireSymbols")))
                        .set_temporary_password_validity_days(int(
                            pp.get("TemporaryPasswordValidityDays")
                        ))
                        .build(),
                )
                .build(),
        );
    }
    let out = pool
        .send()
        .await
        .map_err(|e| BootstrapError::Call("CreateUserPool", format!("{e:?}")))?;
    let pool_id = out
        .user_pool()
        .and_then(|p| p.id())
        .unwrap_or_default()
        .to_owned();

    let (_, c) = find(t, "AWS::Cognito::UserPoolClient")
        .ok_or(BootstrapError::Missing("AWS::Cognito::UserPoolClient"))?;
    let mut client = idp
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name(format!("{prefix}-app"))
        .set_generate_secret(boolean(c.get("GenerateSecret")))
        .set_access_token_validity(int(c.get("AccessTokenValidity")))
        .set_id_token_validity(int(c.get("IdTokenValidity")))
        .set_refresh_token_validity(int(c.get("RefreshTokenValidity")))
        .set_enable_token_revocation(boolean(c.get("EnableTokenRevocation")))
        .set_auth_session_validity(int(c.get("AuthSessionValidity")));
    // Cognito lets a client read every attribute unless ReadAttributes says otherwise; moto puts
    // in the id token only those it lists, so list the pool's (and email_verified) here.
    let readable = strs(c.get("ReadAttributes"), t);
    if readable.is_empty() {
        for s in p
            .get("Schema")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            if let Some(name) = s.get("Name").and_then(|v| t.resolve(v)) {
                if name == "email" {
                    client = client.read_attributes("email_verified");
                }
                client = client.read_attributes(name);
            }
        }
    } else {
        client = client.set_read_attributes(Some(readable));
    }
    let writable = strs(c.get("WriteAttributes"), t);
    if !writable.is_empty() {
        client = client.set_write_attributes(Some(writable));
    }
    for f in strs(c.get("ExplicitAuthFlows"), t) {
        client = client.explicit_auth_flows(ct::ExplicitAuthFlowsType::from(f.as_str()));
    }
    if let Some(p) = c
        .get("PreventUserExistenceErrors")
        .and_then(|v| t.resolve(v))
    {
        client = client
            .prevent_user_existence_errors(ct::PreventUserExistenceErrorTypes::from(p.as_str()));
    }
    // Refresh-token rotation (`Feature`, `RetryGracePeriodSeconds`, either maybe a `!Ref`):
    // moto keeps it and ignores it; the local Cognito reads it back from moto and rotates.
    if let Some(r) = c.get("RefreshTokenRotation").and_then(|v| t.select(v)) {
        let resolved = |k: &str| r.get(k).and_then(|v| t.resolve(t.select(v)?));
        if let Some(feature) = resolved("Feature") {
            let grace = match resolved("RetryGracePeriodSeconds") {
                Some(g) => Some(g.parse::<i32>().map_err(|_| {
                    BootstrapError::Call(
                        "RefreshTokenRotation",
                        format!("RetryGracePeriodSeconds {g:?} is not a whole number"),
                    )
                })?),
                None => None,
            };
            client = client.refresh_token_rotation(
                ct::RefreshTokenRotationType::builder()
                    .feature(ct::FeatureType::from(feature.as_str()))
                    .set_retry_grace_period_seconds(grace)
                    .build()
                    .map_err(call_err("RefreshTokenRotation"))?,
            );
        }
    }
    if let Some(u) = c.get("TokenValidityUnits") {
        let unit = |k: &str| {
            u.get(k)
                .and_then(|v| t.resolve(v))
                .map(|s| ct::TimeUnitsType::from(s.as_str()))
        };
        client = client.token_validity_units(
            ct::TokenValidityUnitsType::builder()
                .set_access_token(unit("AccessToken"))
                .set_id_token(unit("IdToken"))
                .set_refresh_token(unit("RefreshToken"))
                .build(),
        );
    }
    let out = client
        .send()
        .await
        .map_err(|e| BootstrapError::Call("CreateUserPoolClient", format!("{e:?}")))?;
    let app = out
        .user_pool_client()
        .ok_or(BootstrapError::Missing("user pool client in answer"))?;
    Ok((
        pool_id,
        app.client_id().unwrap_or_default().to_owned(),
        app.client_secret().map(str::to_owned),
    ))
}

/// Gives the pool `pool_id` the template's passkey relying party (`WebAuthnRelyingPartyID`),
/// which Cognito's API sets with the MFA configuration, through `idp`: the local Cognito, since
/// moto keeps no relying party. Nothing when the template names none.
pub async fn configure_passkeys(
    t: &Template,
    idp: &cognito::Client,
    pool_id: &str,
) -> Result<(), BootstrapError> {
    let (_, p) = find(t, "AWS::Cognito::UserPool")
        .ok_or(BootstrapError::Missing("AWS::Cognito::UserPool"))?;
    let relying_party = p
        .get("WebAuthnRelyingPartyID")
        .and_then(|v| t.resolve(t.select(v)?))
        .filter(|id| !id.is_empty());
    if let Some(id) = relying_party {
        let verification = p
            .get("WebAuthnUserVerification")
            .and_then(|v| t.resolve(t.select(v)?))
            .unwrap_or_else(|| "preferred".into());
        idp.set_user_pool_mfa_config()
            .user_pool_id(pool_id)
            .set_mfa_configuration(
                p.get("MfaConfiguration")
                    .and_then(|v| t.resolve(v))
                    .map(|m| ct::UserPoolMfaType::from(m.as_str())),
            )
            .software_token_mfa_configuration(
                ct::SoftwareTokenMfaConfigType::builder()
                    .enabled(true)
                    .build(),
            )
            .web_authn_configuration(
                ct::WebAuthnConfigurationType::builder()
                    .relying_party_id(id)
                    .user_verification(ct::UserVerificationType::from(verification.as_str()))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| BootstrapError::Call("SetUserPoolMfaConfig", format!("{e:?}")))?;
    }
    Ok(())
}

/// The template's books table.
pub const BOOKS_TABLE: &str = "BooksTable";
/// The template's sessions table.
pub const SESSIONS_TABLE: &str = "SessionsTable";
/// The template's recovery codes table.
pub const RECOVERY_CODES_TABLE: &str = "RecoveryCodesTable";
/// The template's limits table (attempt counters and one-time grants).
pub const LIMITS_TABLE: &str = "LimitsTable";
/// The template's audit table (the auth events), whose stream the local run reads.
pub const AUDIT_TABLE: &str = "AuditTable";
/// The template's event bus.
pub const EVENT_BUS: &str = "EventBus";

/// Creates the template's DynamoDB table `logical_id`, named `name`.
pub async fn create_table(
    t: &Template,
    ddb: &dynamodb::Client,
    logical_id: &'static str,
    name: &str,
) -> Result<(), BootstrapError> {
    let p = t
        .resources
        .get(logical_id)
        .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::DynamoDB::Table"))
        .and_then(|r| r.get("Properties"))
        .ok_or(BootstrapError::Missing(logical_id))?;
    let key_schema = |v: Option<&Value>| -> Vec<dt::KeySchemaElement> {
        v.and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|k| {
                dt::KeySchemaElement::builder()
                    .set_attribute_name(k.get("AttributeName").and_then(|v| t.resolve(v)))
                    .set_key_type(
                        k.get("KeyType")
                            .and_then(|v| t.resolve(v))
                            .map(|s| dt::KeyType::from(s.as_str())),
                    )
                    .build()
                    .ok()
            })
            .collect()
    };
    let mut table = ddb
        .create_table()
        .table_name(name)
        .billing_mode(dt::BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(p.get("KeySchema"))));
    for a in p
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        table = table.attribute_definitions(
            dt::AttributeDefinition::builder()
                .set_attribute_name(a.get("AttributeName").and_then(|v| t.resolve(v)))
                .set_attribute_type(
                    a.get("AttributeType")
                        .and_then(|v| t.resolve(v))
                        .map(|s| dt::ScalarAttributeType::from(s.as_str())),
                )
                .build()
                .map_err(call_err("AttributeDefinitions"))?,
        );
    }
    for g in p
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let projection = g.get("Projection");
        table = table.global_secondary_indexes(
            dt::GlobalSecondaryIndex::builder()
                .set_index_name(g.get("IndexName").and_then(|v| t.resolve(v)))
                .set_key_schema(Some(key_schema(g.get("KeySchema"))))
                .projection(
                    dt::Projection::builder()
                        .set_projection_type(
                            projection
                                .and_then(|p| p.get("ProjectionType"))
                                .and_then(|v| t.resolve(v))
                                .map(|s| dt::ProjectionType::from(s.as_str())),
                        )
                        .set_non_key_attributes(
                            Some(strs(projection.and_then(|p| p.get("NonKeyAttributes")), t))
                                .filter(|v| !v.is_empty()),
                        )
                        .build(),
                )
                .build()
                .map_err(call_err("GlobalSecondaryIndexes"))?,
        );
    }
    if let Some(view) = p
        .get("StreamSpecification")
        .and_then(|spec| spec.get("StreamViewType"))
        .and_then(|v| t.resolve(v))
    {
        table = table.stream_specification(
            dt::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(dt::StreamViewType::from(view.as_str()))
                .build()
                .map_err(call_err("StreamSpecification"))?,
        );
    }
    table
        .send()
        .await
        .map_err(|e| BootstrapError::Call("CreateTable", format!("{e:?}")))?;
    Ok(())
}
