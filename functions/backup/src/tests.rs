//! The export against mocked Cognito, DynamoDB and S3: what it writes, in which order, and what
//! a failure leaves. tests/e2e/restore.rs walks the export and the restore against moto.

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use aws_sdk_cognitoidentityprovider::operation::list_groups::ListGroupsOutput;
use aws_sdk_cognitoidentityprovider::operation::list_users::ListUsersOutput;
use aws_sdk_cognitoidentityprovider::operation::list_users_in_group::ListUsersInGroupOutput;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, GroupType, UserStatusType, UserType};
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_s3::operation::put_object::{PutObjectError, PutObjectOutput};
use aws_smithy_mocks::{RuleMode, mock, mock_client};

use super::*;

/// An object the export wrote: its key and its body.
type Written = (String, Vec<u8>);

fn user(name: &str, sub: &str) -> UserType {
    let attribute = |n: &str, v: &str| AttributeType::builder().name(n).value(v).build().unwrap();
    UserType::builder()
        .username(name)
        .attributes(attribute("sub", sub))
        .attributes(attribute("email", name))
        .attributes(attribute("email_verified", "true"))
        .user_status(UserStatusType::Confirmed)
        .enabled(true)
        .build()
}

/// The pool: an `admin` group with bob; alice and bob over two pages of ListUsers; alice has
/// recovery codes.
fn cognito() -> auth::Cognito {
    let groups = mock!(aws_sdk_cognitoidentityprovider::Client::list_groups).then_output(|| {
        ListGroupsOutput::builder()
            .groups(GroupType::builder().group_name("admin").build())
            .build()
    });
    let members =
        mock!(aws_sdk_cognitoidentityprovider::Client::list_users_in_group).then_output(|| {
            ListUsersInGroupOutput::builder()
                .users(user("bob@example.com", "sub-b"))
                .build()
        });
    let first = mock!(aws_sdk_cognitoidentityprovider::Client::list_users)
        .match_requests(|r| r.pagination_token().is_none())
        .then_output(|| {
            ListUsersOutput::builder()
                .users(user("alice@example.com", "sub-a"))
                .pagination_token("page-2")
                .build()
        });
    let second = mock!(aws_sdk_cognitoidentityprovider::Client::list_users)
        .match_requests(|r| r.pagination_token() == Some("page-2"))
        .then_output(|| {
            ListUsersOutput::builder()
                .users(user("bob@example.com", "sub-b"))
                .build()
        });
    test_support::cognito(&[&groups, &members, &first, &second])
}

fn recovery() -> RecoveryCodes {
    let scan = mock!(aws_sdk_dynamodb::Client::scan)
        .match_requests(|r| r.projection_expression() == Some("username"))
        .then_output(|| {
            ScanOutput::builder()
                .items(std::collections::HashMap::from([(
                    "username".to_owned(),
                    aws_sdk_dynamodb::types::AttributeValue::S("alice@example.com".into()),
                )]))
                .build()
        });
    RecoveryCodes::new(test_support::dynamodb_client(&[&scan]), "codes".into())
}

fn state(s3: aws_sdk_s3::Client) -> State {
    State {
        cognito: cognito(),
        pool_id: "us-east-1_pool".into(),
        recovery: recovery(),
        s3,
        bucket: "exports".into(),
        now: || UNIX_EPOCH + Duration::from_secs(1_767_225_600),
    }
}

#[tokio::test]
async fn every_user_is_one_line_with_groups_and_totp_and_the_manifest_comes_last() {
    let written: Arc<Mutex<Vec<Written>>> = Arc::default();
    let record = written.clone();
    let put = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(move |r| {
            let body = r.body().bytes().unwrap_or_default().to_vec();
            record
                .lock()
                .unwrap()
                .push((r.key().unwrap_or_default().to_owned(), body));
            true
        })
        .then_output(|| PutObjectOutput::builder().build());
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put]);
    let exported = export(&state(s3)).await.unwrap();
    assert_eq!(
        exported,
        Exported {
            prefix: "exports/2026-01-01T00:00:00.000Z/".into(),
            users: 2,
            parts: 1
        }
    );
    let written = written.lock().unwrap();
    let keys: Vec<&str> = written.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "exports/2026-01-01T00:00:00.000Z/users-00001.jsonl",
            "exports/2026-01-01T00:00:00.000Z/manifest.json"
        ],
        "the manifest last: an export without one did not finish"
    );
    let users: Vec<ExportedUser> = std::str::from_utf8(&written[0].1)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(users.len(), 2);
    assert_eq!(
        (users[0].sub.as_str(), users[0].totp_enabled),
        ("sub-a", true)
    );
    assert!(users[0].groups.is_empty());
    assert_eq!(users[1].groups, ["admin"]);
    assert!(!users[1].totp_enabled);
    let manifest: Manifest = serde_json::from_slice(&written[1].1).unwrap();
    assert_eq!((manifest.version, manifest.users), (VERSION, 2));
    assert_eq!(manifest.parts, [keys[0]]);
    assert_eq!(manifest.groups, ["admin"]);
}

#[tokio::test]
async fn a_bucket_that_refuses_the_part_leaves_no_manifest_and_fails_the_run() {
    let refused = mock!(aws_sdk_s3::Client::put_object)
        .then_error(|| PutObjectError::unhandled("AccessDenied"));
    let s3 = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&refused]);
    let err = export(&state(s3)).await.unwrap_err();
    assert_eq!(err.status(), 503, "{err:?}");
    assert_eq!(refused.num_calls(), 1, "no manifest after a failed part");
}
