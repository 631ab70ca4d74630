//! The way back from a lost user pool: the backup function exports the pool to the bucket (S3 in
//! moto), and `restore` brings the export into a new, empty pool, as an operator would after
//! the pool was replaced or deleted. The books, whose table survived, follow their owners to
//! their new `sub`s.

use aws_sdk_cognitoidentityprovider as cognito;
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{
    LocalApi, Moto, PASSWORD, enrol_totp, json_of, register_and_confirm, signed_in,
};
use serde_json::{Value, json};

const BUCKET: &str = "user-exports";

/// The backup function, composed by its own `app` against the local API's pool and tables, its
/// Cognito calls through the local Cognito.
async fn backup_function(api: &LocalApi) -> backup::State {
    let cognito_endpoint = &api.config.cognito_layer.as_ref().unwrap().endpoint;
    let env = platform::Env::from_pairs([
        ("COGNITO_USER_POOL_ID", api.created.pool_id.as_str()),
        ("COGNITO_CLIENT_ID", api.created.client_id.as_str()),
        ("RECOVERY_CODES_TABLE", api.created.recovery_table.as_str()),
        ("USER_EXPORT_BUCKET", BUCKET),
        (auth::config::ENDPOINT_VAR, cognito_endpoint.as_str()),
    ]);
    backup::app(&env, &api.sdk).await.unwrap()
}

/// What AdminGetUser says of `user` in `pool`: (status, enabled, attributes), or `None`.
async fn user_in(
    idp: &cognito::Client,
    pool: &str,
    user: &str,
) -> Option<(String, bool, Vec<(String, String)>)> {
    let out = idp
        .admin_get_user()
        .user_pool_id(pool)
        .username(user)
        .send()
        .await
        .ok()?;
    let attributes = out
        .user_attributes()
        .iter()
        .map(|a| {
            (
                a.name().to_owned(),
                a.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    Some((
        out.user_status().unwrap().as_str().to_owned(),
        out.enabled(),
        attributes,
    ))
}

fn attribute<'a>(attributes: &'a [(String, String)], name: &str) -> &'a str {
    &attributes.iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn an_export_comes_back_into_an_empty_pool_with_groups_status_and_books_and_no_secret() {
    // Unoptimised, the walk's poll holds every future it awaits (S3's are large) at once: more
    // than a test thread's 2 MB of stack. It runs on a thread of its own with room.
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(export_then_restore());
        })
        .unwrap()
        .join()
        .unwrap();
}

async fn export_then_restore() {
    let moto = Moto::start();
    let api = LocalApi::start(&moto, |_| {}).await;
    let idp = cognito::Client::new(&api.sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&api.sdk);
    let pool = api.created.pool_id.clone();

    // alice has a book and TOTP on (recovery codes); bob is an admin; carol is disabled; dave
    // never confirmed.
    let alice = signed_in(&api, "alice@example.com").await;
    let book = json!({"id": "dune", "name": "Dune", "author": "Frank Herbert", "price": "9.99"});
    let (s, b) = api
        .call("POST", "/books", &alice["id_token"], Some(book))
        .await;
    assert_eq!(s, 201, "{b}");
    let recovery = tables::RecoveryCodes::new(dynamodb.clone(), api.created.recovery_table.clone())
        .peppered(test_support::pepper());
    let codes = recovery.replace("alice@example.com").await.unwrap();
    register_and_confirm(&api, "bob@example.com").await;
    let add = json!({"UserPoolId": pool, "Username": "bob@example.com", "GroupName": "admin"});
    assert_eq!(api.cognito_call("AdminAddUserToGroup", add).await.0, 200);
    register_and_confirm(&api, "carol@example.com").await;
    let disable = json!({"UserPoolId": pool, "Username": "carol@example.com"});
    assert_eq!(api.cognito_call("AdminDisableUser", disable).await.0, 200);
    let dave = json!({"username": "dave@example.com", "password": PASSWORD});
    assert_eq!(json_of(api.post("/register", dave).await).await.0, 200);
    let old_sub = |user: &str| {
        let idp = idp.clone();
        let (pool, user) = (pool.clone(), user.to_owned());
        async move {
            let (_, _, attributes) = user_in(&idp, &pool, &user).await.unwrap();
            attribute(&attributes, "sub").to_owned()
        }
    };
    let alice_old_sub = old_sub("alice@example.com").await;

    // The scheduled export.
    let function = backup_function(&api).await;
    function
        .s3
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let exported = backup::handle(&function, json!({"detail-type": "Scheduled Event"}))
        .await
        .unwrap();
    assert_eq!((exported.users, exported.parts), (4, 1), "{exported:?}");
    let (manifest, users) = backup::restore::read_export(&function.s3, BUCKET, &exported.prefix)
        .await
        .unwrap();
    assert_eq!(manifest.pool_id, pool);
    assert!(manifest.groups.contains(&"admin".to_owned()));
    let by_name = |name: &str| users.iter().find(|u| u.username == name).unwrap().clone();
    let a = by_name("alice@example.com");
    assert_eq!(
        (a.sub.as_str(), a.totp_enabled),
        (alice_old_sub.as_str(), true)
    );
    assert_eq!(
        (a.email.as_deref(), a.email_verified),
        (Some("alice@example.com"), true)
    );
    assert_eq!(by_name("bob@example.com").groups, ["admin"]);
    assert!(!by_name("carol@example.com").enabled);
    assert_eq!(by_name("dave@example.com").status, "UNCONFIRMED");
    // Never a secret: not the password, not a recovery code, nor their salt and hashes.
    let part = function
        .s3
        .get_object()
        .bucket(BUCKET)
        .key(&manifest.parts[0])
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let text = String::from_utf8(part.to_vec()).unwrap();
    assert_eq!(text.lines().count(), 4);
    for secret in codes
        .iter()
        .map(String::as_str)
        .chain([PASSWORD, "salt", "codes"])
    {
        assert!(!text.contains(secret), "the export holds {secret}");
    }
    for line in text.lines() {
        let fields: Value = serde_json::from_str(line).unwrap();
        let keys: Vec<&String> = fields.as_object().unwrap().keys().collect();
        for key in keys {
            assert!(
                [
                    "username",
                    "sub",
                    "status",
                    "enabled",
                    "email",
                    "email_verified",
                    "name",
                    "created_at",
                    "groups",
                    "totp_enabled"
                ]
                .contains(&key.as_str()),
                "{key}"
            );
        }
    }

    // The pool is lost; the stack's new one is empty (with the template's groups).
    let template = integration_tests::template();
    let (new_pool, new_client, new_secret) =
        local_api::bootstrap::create_pool(&template, &idp, "restored")
            .await
            .unwrap();
    let new_secret = new_secret.unwrap();
    idp.create_group()
        .user_pool_id(&new_pool)
        .group_name("admin")
        .send()
        .await
        .unwrap();
    let cognito_endpoint = &api.config.cognito_layer.as_ref().unwrap().endpoint;
    let env = platform::Env::from_pairs([
        ("COGNITO_CLIENT_ID", new_client.as_str()),
        (auth::config::ENDPOINT_VAR, cognito_endpoint.as_str()),
    ]);
    let restorer = auth::Cognito::connect(
        &api.sdk,
        &platform::sdk::SdkSettings::from_env(&env),
        auth::config::CognitoConfig::from_env(&env).unwrap(),
    )
    .await
    .unwrap();
    // While the restore runs, sign-ups are open: someone takes bob's name with an address of
    // their own. The restore must not give them bob's groups.
    idp.admin_create_user()
        .user_pool_id(&new_pool)
        .username("bob@example.com")
        .user_attributes(
            cognito::types::AttributeType::builder()
                .name("email")
                .value("mallory@example.com")
                .build()
                .unwrap(),
        )
        .message_action(cognito::types::MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    let books = tables::Books::new(dynamodb.clone(), api.created.table.clone());
    let target = backup::restore::Target {
        cognito: &restorer,
        pool_id: &new_pool,
        books: &books,
        recovery: &recovery,
        per_second: 50,
    };
    let restored = backup::restore::restore(&target, &manifest, &users)
        .await
        .unwrap();
    assert_eq!(
        (
            restored.created,
            restored.existing,
            restored.conflicts,
            restored.skipped_unconfirmed,
            restored.disabled,
            restored.memberships,
            restored.codes_forgotten,
            restored.books_moved
        ),
        (2, 0, 1, 1, 1, 0, 2, 1),
        "{restored:?}"
    );

    // Each user is back, confirmed with a password nobody knows, as they were otherwise.
    let (status, enabled, attributes) =
        user_in(&idp, &new_pool, "alice@example.com").await.unwrap();
    assert_eq!((status.as_str(), enabled), ("CONFIRMED", true));
    assert_eq!(attribute(&attributes, "email"), "alice@example.com");
    assert_eq!(attribute(&attributes, "email_verified"), "true");
    let alice_new_sub = attribute(&attributes, "sub").to_owned();
    assert_ne!(alice_new_sub, alice_old_sub, "Cognito gives a new sub");
    let (_, enabled, _) = user_in(&idp, &new_pool, "carol@example.com").await.unwrap();
    assert!(!enabled, "carol stays disabled");
    assert!(user_in(&idp, &new_pool, "dave@example.com").await.is_none());
    let groups = idp
        .admin_list_groups_for_user()
        .user_pool_id(&new_pool)
        .username("bob@example.com")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = groups
        .groups()
        .iter()
        .filter_map(|g| g.group_name())
        .collect();
    assert!(
        names.is_empty(),
        "the name's new holder got bob's groups: {names:?}"
    );
    // The old password does not sign in to the new pool: the first sign-in is a reset. (Once a
    // password is set, as a reset sets it, the same sign-in goes through.)
    let sign_in = |user: &'static str, password: &'static str| {
        idp.admin_initiate_auth()
            .user_pool_id(&new_pool)
            .client_id(&new_client)
            .auth_flow(cognito::types::AuthFlowType::AdminUserPasswordAuth)
            .auth_parameters("USERNAME", user)
            .auth_parameters("PASSWORD", password)
            .auth_parameters(
                "SECRET_HASH",
                auth::secret_hash(user, &new_client, &new_secret),
            )
            .send()
    };
    assert!(
        sign_in("alice@example.com", PASSWORD).await.is_err(),
        "the old password still signs in"
    );
    idp.admin_set_user_password()
        .user_pool_id(&new_pool)
        .username("alice@example.com")
        .password("Reset-By-Mail-7!")
        .permanent(true)
        .send()
        .await
        .unwrap();
    let signed = sign_in("alice@example.com", "Reset-By-Mail-7!").await;
    assert!(signed.is_ok(), "{signed:?}");

    // alice's book is hers under her new sub; her recovery codes went with her authenticator.
    let item = dynamodb
        .get_item()
        .table_name(&api.created.table)
        .key("id", AttributeValue::S("dune".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["created_by"], AttributeValue::S(alice_new_sub));
    assert_eq!(recovery.remaining("alice@example.com").await.unwrap(), 0);

    // Back in, alice sets up an authenticator again and gets new recovery codes.
    let hash = auth::secret_hash("alice@example.com", &new_client, &new_secret);
    let sign_in = json!({"ClientId": new_client, "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": {"USERNAME": "alice@example.com", "PASSWORD": "Reset-By-Mail-7!",
                           "SECRET_HASH": hash}});
    let (s, b) = api.cognito_call("InitiateAuth", sign_in).await;
    assert_eq!(s, 200, "{b}");
    enrol_totp(&api, &b["AuthenticationResult"]["AccessToken"]).await;
    let new_codes = recovery.replace("alice@example.com").await.unwrap();

    // Run again (after a failure, or after a CSV import): nothing is made twice, and the codes
    // alice has since are hers still (carol's, with no authenticator, are forgotten again).
    let again = backup::restore::restore(&target, &manifest, &users)
        .await
        .unwrap();
    assert_eq!(
        (
            again.created,
            again.existing,
            again.conflicts,
            again.codes_forgotten,
            again.books_moved
        ),
        (0, 2, 1, 1, 0),
        "{again:?}"
    );
    assert_eq!(
        recovery.remaining("alice@example.com").await.unwrap(),
        new_codes.len()
    );
    // Never over the export's own pool.
    let live = backup::restore::Target {
        pool_id: &pool,
        ..target
    };
    assert!(
        backup::restore::restore(&live, &manifest, &users)
            .await
            .is_err()
    );
}
