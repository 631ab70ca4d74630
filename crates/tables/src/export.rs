//! What only the user export (functions/backup) reads, kept apart from the calls the API's
//! functions make (the template test holds each function's permissions to those).

use aws_sdk_dynamodb::types::AttributeValue;
use platform::ApiError;

use crate::RecoveryCodes;
use crate::error::failure;

impl RecoveryCodes {
    /// Every user name that has codes: the users with TOTP on, for the user export. Reads the
    /// key alone, never a salt or a hash (a Scan, every page).
    pub async fn usernames(&self) -> Result<Vec<String>, ApiError> {
        let items = self
            .client
            .scan()
            .table_name(&self.table)
            .projection_expression("username")
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| failure("DynamoDB Scan (recovery codes)", e))?;
        Ok(items
            .into_iter()
            .filter_map(|mut item| match item.remove("username") {
                Some(AttributeValue::S(name)) => Some(name),
                _ => None,
            })
            .collect())
    }
}
