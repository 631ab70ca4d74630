//! A software authenticator for the tests: what a browser and a platform authenticator give a
//! relying party, built here by hand so that the tests can also forge every part of it. One
//! P-256 key per authenticator (ES256), attestation `none`, a signature counter that grows with
//! each assertion.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value as Cbor;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// User present.
pub const UP: u8 = 0x01;
/// User verified.
pub const UV: u8 = 0x04;
/// Attested credential data included.
const AT: u8 = 0x40;

/// How a credential is made: the tests change a part to forge it.
#[derive(Debug, Clone)]
pub struct Made {
    pub origin: String,
    /// The relying party whose ID hash the authenticator data carries.
    pub rp_id: String,
    pub flags: u8,
    /// The challenge answered; `None`: the one the options give.
    pub challenge: Option<String>,
}

impl Made {
    /// As a browser on `origin` makes it for `rp_id`, with the user present and verified.
    pub fn by(origin: &str, rp_id: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            rp_id: rp_id.to_owned(),
            flags: UP | UV,
            challenge: None,
        }
    }
}

/// One authenticator holding one credential.
pub struct Authenticator {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    pub counter: u32,
    user_handle: Option<String>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn client_data(kind: &str, options: &Value, made: &Made) -> Vec<u8> {
    let challenge = made
        .challenge
        .clone()
        .or_else(|| options["challenge"].as_str().map(str::to_owned))
        .expect("the options carry a challenge");
    json!({"type": kind, "challenge": challenge, "origin": made.origin, "crossOrigin": false})
        .to_string()
        .into_bytes()
}

impl Default for Authenticator {
    fn default() -> Self {
        Self::new()
    }
}

impl Authenticator {
    /// A new authenticator, its key and credential id from the OS CSPRNG.
    pub fn new() -> Self {
        let key = loop {
            let bytes = platform::random::bytes::<32>().expect("OS randomness");
            if let Ok(key) = SigningKey::from_slice(&bytes) {
                break key;
            }
        };
        let credential_id = platform::random::bytes::<16>()
            .expect("OS randomness")
            .to_vec();
        Self {
            key,
            credential_id,
            counter: 0,
            user_handle: None,
        }
    }

    /// The same credential id, with a key of its own: what a forger without the key has.
    pub fn forger_of(other: &Authenticator) -> Self {
        Self {
            credential_id: other.credential_id.clone(),
            counter: other.counter,
            ..Self::new()
        }
    }

    pub fn id(&self) -> String {
        b64(&self.credential_id)
    }

    fn auth_data(&self, rp_id: &str, flags: u8, attested: bool) -> Vec<u8> {
        let mut data = Sha256::digest(rp_id.as_bytes()).to_vec();
        data.push(if attested { flags | AT } else { flags });
        data.extend(self.counter.to_be_bytes());
        if attested {
            data.extend([0u8; 16]);
            let len = u16::try_from(self.credential_id.len()).expect("a short id");
            data.extend(len.to_be_bytes());
            data.extend(&self.credential_id);
            let point = self.key.verifying_key().to_encoded_point(false);
            let cose = Cbor::Map(vec![
                (Cbor::Integer(1.into()), Cbor::Integer(2.into())),
                (Cbor::Integer(3.into()), Cbor::Integer((-7).into())),
                (Cbor::Integer((-1).into()), Cbor::Integer(1.into())),
                (
                    Cbor::Integer((-2).into()),
                    Cbor::Bytes(point.x().expect("x").to_vec()),
                ),
                (
                    Cbor::Integer((-3).into()),
                    Cbor::Bytes(point.y().expect("y").to_vec()),
                ),
            ]);
            ciborium::into_writer(&cose, &mut data).expect("CBOR");
        }
        data
    }

    /// `navigator.credentials.create({publicKey: options})`'s answer, as JSON.
    pub fn register(&mut self, options: &Value, made: &Made) -> Value {
        self.user_handle = options["user"]["id"].as_str().map(str::to_owned);
        let client_data = client_data("webauthn.create", options, made);
        let auth_data = self.auth_data(&made.rp_id, made.flags, true);
        let attestation = Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(Vec::new())),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]);
        let mut attestation_object = Vec::new();
        ciborium::into_writer(&attestation, &mut attestation_object).expect("CBOR");
        json!({
            "id": self.id(),
            "rawId": self.id(),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "attestationObject": b64(&attestation_object),
                "transports": ["internal"],
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
    }

    /// `navigator.credentials.get({publicKey: options})`'s answer, as JSON: the counter moves on.
    pub fn assert(&mut self, options: &Value, made: &Made) -> Value {
        self.counter += 1;
        let client_data = client_data("webauthn.get", options, made);
        let auth_data = self.auth_data(&made.rp_id, made.flags, false);
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature: DerSignature = self.key.sign(&signed);
        json!({
            "id": self.id(),
            "rawId": self.id(),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(signature.as_bytes()),
                "userHandle": self.user_handle,
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        })
    }
}
