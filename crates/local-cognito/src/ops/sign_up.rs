//! SignUp: the pool's required attributes checked, the SECRET_HASH checked, moto creates the
//! user, and the layer sends the confirmation code to the e-mail address given.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::codes::Purpose;
use crate::protocol::{Attribute, Call, Error, code_delivery};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    #[serde(flatten)]
    by: super::ByName,
    #[serde(default)]
    user_attributes: Vec<Attribute>,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let app = req.by.client(layer).await?;
    let given = |name: &str| req.user_attributes.iter().find(|a| a.name == name);
    if let Some(missing) = app.required.iter().find(|r| given(r).is_none()) {
        return Err(Error::invalid_parameter(format!(
            "Attributes did not conform to the schema: {missing}: The attribute is required"
        )));
    }
    let mut out = layer.moto.call(call).await?;
    if let Some(email) = given("email").and_then(|a| a.value.as_deref()) {
        super::send_code(
            layer,
            &app,
            &req.by.username,
            Purpose::SignUp,
            "sign_up",
            email,
        )?;
        out["UserConfirmed"] = json!(false);
        out["CodeDeliveryDetails"] = code_delivery(email);
    }
    Ok(out)
}
