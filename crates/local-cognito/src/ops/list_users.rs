//! ListUsers: moto lists the users, with the `Filter`'s `cognito:user_status` read as Cognito
//! reads it. Cognito compares that status without regard to case
//! (<https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html>:
//! "cognito:user_status (called Status in the Console) (case-insensitive)"), with `=` and
//! `^=`; moto compares it as given, so `"unconfirmed"` matched no one. Every status is upper
//! case, so the layer hands moto the value in upper case. Any other filter reaches moto as it
//! came.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::protocol::{Call, Error};

/// The status's name in a filter.
const STATUS: &str = "cognito:user_status";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    /// Required, as Cognito requires it; moto reads it.
    #[allow(dead_code)]
    user_pool_id: String,
    filter: Option<String>,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    match req.filter.as_deref().and_then(status_in_upper_case) {
        Some(filter) => {
            let call = call.rewritten(|json| json["Filter"] = json!(filter));
            layer.moto.call(&call).await
        }
        None => layer.moto.call(call).await,
    }
}

/// `filter` (`AttributeName Filter-Type "AttributeValue"`) with its value in upper case, when
/// it is a condition on [`STATUS`] with `=` or `^=`; `None` for any other.
fn status_in_upper_case(filter: &str) -> Option<String> {
    let (head, quoted) = filter.split_once('"')?;
    let condition = head.trim_end();
    let name = (condition.strip_suffix("^="))
        .or_else(|| condition.strip_suffix('='))?
        .trim();
    (name == STATUS).then(|| format!("{head}\"{}", quoted.to_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_is_matched_without_regard_to_case_and_other_filters_pass_as_they_came() {
        let upper = |f: &str| status_in_upper_case(f);
        assert_eq!(
            upper(r#"cognito:user_status = "unconfirmed""#).as_deref(),
            Some(r#"cognito:user_status = "UNCONFIRMED""#)
        );
        assert_eq!(
            upper(r#"cognito:user_status ^= "Uncon""#).as_deref(),
            Some(r#"cognito:user_status ^= "UNCON""#)
        );
        assert_eq!(
            upper(r#"cognito:user_status="Confirmed""#).as_deref(),
            Some(r#"cognito:user_status="CONFIRMED""#)
        );
        for other in [
            r#"username ^= "Alice""#,
            r#"email = "Bob@Example.com""#,
            r#"status = "Enabled""#,
            "cognito:user_status",
            "",
        ] {
            assert_eq!(upper(other), None, "{other}");
        }
    }
}
