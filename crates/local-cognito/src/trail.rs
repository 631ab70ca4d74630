//! The trail: what CloudTrail records of an administrator's operations on the pool's users, as
//! EventBridge delivers it to the default bus (`detail-type` "AWS API Call via CloudTrail",
//! `source` `aws.cognito-idp`). In AWS a rule of the stack's sends these to the operator
//! function (`functions/operator`); locally the local API subscribes to this feed and hands each
//! record to the same handler.
//!
//! Recorded, once the call has succeeded: AdminDeleteUser, AdminDisableUser,
//! AdminUserGlobalSignOut, AdminResetUserPassword and AdminRemoveUserFromGroup. A record holds
//! what Cognito's holds: the pool and the user name (`requestParameters`), the user's `sub`
//! (`additionalEventData`), and who called (`userIdentity`): the IAM user of the call's access
//! key, or the role an access key was registered for with [`Trail::assume_role`] (the local
//! API's functions each call with their own key, as each Lambda has its own role). Never a
//! password, a code or a token: none of these operations takes one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::mailbox::rfc3339;
use crate::ops::Target;
use crate::protocol::Call;

/// The account the local records name (moto's).
pub const ACCOUNT: &str = "123456789012";

/// The operations the trail records.
pub const TRAILED: &[Target] = &[
    Target::AdminDeleteUser,
    Target::AdminDisableUser,
    Target::AdminUserGlobalSignOut,
    Target::AdminResetUserPassword,
    Target::AdminRemoveUserFromGroup,
];

/// The feed of records, and who calls as which role.
#[derive(Debug)]
pub struct Trail {
    feed: broadcast::Sender<Value>,
    /// Access key id → the role its calls are made as.
    roles: Mutex<HashMap<String, String>>,
}

impl Default for Trail {
    fn default() -> Self {
        Self {
            feed: broadcast::channel(256).0,
            roles: Mutex::default(),
        }
    }
}

/// The user a trailed call acted on, read before the call (a deleted user is gone after it).
#[derive(Debug, Clone)]
pub struct Subject {
    pub username: String,
    pub sub: Option<String>,
}

impl Trail {
    /// Calls made with `access_key_id` are recorded as made by the role `role_arn` (its session
    /// named after the role), as a Lambda function's calls are.
    pub fn assume_role(&self, access_key_id: &str, role_arn: &str) {
        let mut roles = self.roles.lock().unwrap_or_else(|e| e.into_inner());
        roles.insert(access_key_id.to_owned(), role_arn.to_owned());
    }

    /// The records to come.
    pub fn subscribe(&self) -> broadcast::Receiver<Value> {
        self.feed.subscribe()
    }

    /// Records `call`, which succeeded at `now`, on `user`.
    pub(crate) fn record(&self, call: &Call, name: &str, user: Option<&Subject>, now: SystemTime) {
        let params = |member: &str| {
            call.json()
                .get(member)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let mut request = serde_json::Map::new();
        if let Some(pool) = params("UserPoolId") {
            request.insert("userPoolId".into(), json!(pool));
        }
        if let Some(username) = params("Username") {
            request.insert("username".into(), json!(username));
        }
        if let Some(group) = params("GroupName") {
            request.insert("groupName".into(), json!(group));
        }
        let time = rfc3339(now);
        // CloudTrail's times are to the second.
        let time = format!("{}Z", &time[..19.min(time.len())]);
        let region = region_of(params("UserPoolId").as_deref());
        let mut detail = json!({
            "eventVersion": "1.09",
            "userIdentity": self.identity(call),
            "eventTime": time,
            "eventSource": "cognito-idp.amazonaws.com",
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": "127.0.0.1",
            "userAgent": header(call, "user-agent").unwrap_or_default(),
            "requestParameters": request,
            "responseElements": null,
            "requestID": uuid::Uuid::new_v4().to_string(),
            "eventID": uuid::Uuid::new_v4().to_string(),
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
        });
        if let Some(sub) = user.and_then(|u| u.sub.as_deref()) {
            detail["additionalEventData"] = json!({"sub": sub});
        }
        let record = json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.cognito-idp",
            "account": ACCOUNT,
            "time": time,
            "region": region,
            "resources": [],
            "detail": detail,
        });
        let _ = self.feed.send(record);
    }

    /// Who made `call`, by the access key of its signature.
    fn identity(&self, call: &Call) -> Value {
        let key = header(call, "authorization")
            .and_then(|auth| {
                let credential = auth.split("Credential=").nth(1)?;
                credential.split('/').next().map(str::to_owned)
            })
            .unwrap_or_else(|| "anonymous".to_owned());
        let role = (self.roles.lock().unwrap_or_else(|e| e.into_inner()))
            .get(&key)
            .cloned();
        match role {
            Some(role_arn) => {
                let role = role_arn.rsplit('/').next().unwrap_or_default().to_owned();
                json!({
                    "type": "AssumedRole",
                    "principalId": format!("AROALOCAL:{role}"),
                    "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{role}"),
                    "accountId": ACCOUNT,
                    "accessKeyId": key,
                    "sessionContext": {
                        "sessionIssuer": {
                            "type": "Role",
                            "principalId": "AROALOCAL",
                            "arn": role_arn,
                            "accountId": ACCOUNT,
                            "userName": role,
                        },
                    },
                })
            }
            None => json!({
                "type": "IAMUser",
                "principalId": format!("AIDA{key}"),
                "arn": format!("arn:aws:iam::{ACCOUNT}:user/{key}"),
                "accountId": ACCOUNT,
                "accessKeyId": key,
                "userName": key,
            }),
        }
    }
}

fn header(call: &Call, name: &str) -> Option<String> {
    call.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The region a pool id names (`us-east-1_AbC`).
fn region_of(pool_id: Option<&str>) -> String {
    pool_id
        .and_then(|p| p.split('_').next())
        .filter(|r| !r.is_empty())
        .unwrap_or("us-east-1")
        .to_owned()
}
