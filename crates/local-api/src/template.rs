//! Reads `template.yaml`: the routes API Gateway serves, which function serves each, whether the
//! Cognito authorizer guards it, and the CORS headers of the preflight mocks and of the gateway's
//! own error responses. The template is the one route table: nothing here repeats it.

use std::collections::HashMap;
use std::path::Path;

use serde_yaml::Value;

/// A route the template declares: `Method` + `Path` of an `Api` event on a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The function's logical id in the template (`LoginFunction`).
    pub function: String,
    /// The Cargo binary that implements it (`login`), from `Metadata.BuildProperties.Binary`.
    pub binary: String,
    /// Upper-case HTTP method, or `ANY`.
    pub method: String,
    /// The resource path, with `{param}` templates (`/books/{id}`).
    pub path: String,
    pub auth: RouteAuth,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAuth {
    Public,
    /// The Cognito user pool authorizer. With scopes, API Gateway wants an access token that
    /// carries one of them; without, an id token.
    Cognito {
        scopes: Vec<String>,
    },
}

/// The template, as the local gateway needs it.
#[derive(Debug, Clone)]
pub struct Template {
    pub routes: Vec<Route>,
    pub stage: String,
    /// Headers of the OPTIONS preflight mocks (`Api.Properties.Cors`).
    pub preflight_headers: Vec<(String, String)>,
    /// Headers API Gateway adds to its own 4xx and 5xx answers (`GatewayResponses`).
    pub gateway_4xx_headers: Vec<(String, String)>,
    pub gateway_5xx_headers: Vec<(String, String)>,
    /// The resources, with parameters resolved where they are plain `!Ref`/`!Sub`.
    pub resources: serde_yaml::Mapping,
    pub parameters: HashMap<String, String>,
    /// The `Conditions`, unevaluated: [`Template::condition`] evaluates one.
    pub conditions: serde_yaml::Mapping,
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template: {0}")]
    Invalid(String),
}

impl Template {
    /// Reads the template at `path`. `overrides` replace parameter defaults, as
    /// `sam deploy --parameter-overrides` would.
    pub fn load(path: &Path, overrides: &HashMap<String, String>) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TemplateError::Read(path.display().to_string(), e))?;
        Self::parse(&text, overrides)
    }

    pub fn parse(text: &str, overrides: &HashMap<String, String>) -> Result<Self, TemplateError> {
        let doc: Value = serde_yaml::from_str(text)?;
        let mut parameters = HashMap::new();
        if let Some(params) = doc.get("Parameters").and_then(Value::as_mapping) {
            for (name, spec) in params {
                let Some(name) = name.as_str() else { continue };
                if let Some(default) = spec.get("Default").and_then(scalar) {
                    parameters.insert(name.to_owned(), default);
                }
            }
        }
        parameters.extend(overrides.clone());
        let conditions = doc
            .get("Conditions")
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default();
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .cloned()
            .ok_or_else(|| TemplateError::Invalid("no Resources".into()))?;

        let (api_id, api) = resources
            .iter()
            .find(|(_, r)| type_of(r) == Some("AWS::Serverless::Api"))
            .ok_or_else(|| TemplateError::Invalid("no AWS::Serverless::Api resource".into()))?;
        let api_id = api_id.as_str().unwrap_or_default().to_owned();
        let api_props = api.get("Properties").cloned().unwrap_or(Value::Null);
        let resolve = |v: &Value| resolve_string(v, &parameters);

        let stage = api_props
            .get("StageName")
            .and_then(resolve)
            .unwrap_or_else(|| "Prod".into());
        let default_authorizer = api_props
            .get("Auth")
            .and_then(|a| a.get("DefaultAuthorizer"))
            .and_then(resolve);
        let preflight_headers = cors_headers(api_props.get("Cors"), &parameters);
        let gateway_headers = |kind: &str| {
            api_props
                .get("GatewayResponses")
                .and_then(|g| g.get(kind))
                .and_then(|r| r.get("ResponseParameters"))
                .and_then(|p| p.get("Headers"))
                .and_then(Value::as_mapping)
                .map(|headers| {
                    headers
                        .iter()
                        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), unquote(&resolve(v)?))))
                        .collect()
                })
                .unwrap_or_default()
        };

        let mut routes = Vec::new();
        for (id, resource) in &resources {
            if type_of(resource) != Some("AWS::Serverless::Function") {
                continue;
            }
            let function = id.as_str().unwrap_or_default().to_owned();
            let binary = resource
                .get("Metadata")
                .and_then(|m| m.get("BuildProperties"))
                .and_then(|b| b.get("Binary"))
                .and_then(resolve)
                .ok_or_else(|| {
                    TemplateError::Invalid(format!("{function} has no BuildProperties.Binary"))
                })?;
            let events = resource
                .get("Properties")
                .and_then(|p| p.get("Events"))
                .and_then(Value::as_mapping);
            for event in events.into_iter().flat_map(|e| e.values()) {
                if type_of(event) != Some("Api") {
                    continue;
                }
                let props = event.get("Properties").cloned().unwrap_or(Value::Null);
                if let Some(rest_api) = props.get("RestApiId")
                    && ref_target(rest_api).as_deref() != Some(api_id.as_str())
                {
                    continue;
                }
                let path = props.get("Path").and_then(resolve).ok_or_else(|| {
                    TemplateError::Invalid(format!("{function}: an Api event without Path"))
                })?;
                let method = props
                    .get("Method")
                    .and_then(resolve)
                    .map(|m| m.to_uppercase())
                    .map(|m| {
                        if m == "ANY" || m == "X-AMAZON-APIGATEWAY-ANY-METHOD" {
                            "ANY".into()
                        } else {
                            m
                        }
                    })
                    .ok_or_else(|| {
                        TemplateError::Invalid(format!("{function} {path}: no Method"))
                    })?;
                let auth = props.get("Auth");
                let authorizer = auth
                    .and_then(|a| a.get("Authorizer"))
                    .and_then(resolve)
                    .or_else(|| default_authorizer.clone());
                let auth = match authorizer.as_deref() {
                    None | Some("NONE") => RouteAuth::Public,
                    Some(_) => RouteAuth::Cognito {
                        scopes: auth
                            .and_then(|a| a.get("AuthorizationScopes"))
                            .and_then(Value::as_sequence)
                            .map(|s| s.iter().filter_map(resolve).collect())
                            .unwrap_or_default(),
                    },
                };
                routes.push(Route {
                    function: function.clone(),
                    binary: binary.clone(),
                    method,
                    path,
                    auth,
                });
            }
        }
        if routes.is_empty() {
            return Err(TemplateError::Invalid("no Api routes".into()));
        }
        Ok(Self {
            routes,
            stage,
            preflight_headers,
            gateway_4xx_headers: gateway_headers("DEFAULT_4XX"),
            gateway_5xx_headers: gateway_headers("DEFAULT_5XX"),
            resources,
            parameters,
            conditions,
        })
    }

    /// The condition `name` of `Conditions`, evaluated with the parameters as
    /// CloudFormation evaluates it (`Equals`, `Not`, `And`, `Or`, `Condition`); `None` when it
    /// is not there or uses anything else.
    pub fn condition(&self, name: &str) -> Option<bool> {
        self.holds(self.conditions.get(name)?)
    }

    fn holds(&self, v: &Value) -> Option<bool> {
        let (function, args) = intrinsic(v)?;
        let list = || args.as_sequence();
        match function.as_str() {
            "Equals" => {
                let [a, b] = list()?.as_slice() else {
                    return None;
                };
                Some(self.resolve(a)? == self.resolve(b)?)
            }
            "Not" => Some(!self.holds(list()?.first()?)?),
            "And" => list()?
                .iter()
                .try_fold(true, |all, c| Some(all && self.holds(c)?)),
            "Or" => list()?
                .iter()
                .try_fold(false, |any, c| Some(any || self.holds(c)?)),
            "Condition" => self.condition(args.as_str()?),
            _ => None,
        }
    }

    /// The environment variable `name` the template gives the function built from `binary`,
    /// its `!If`s chosen and its `!Ref`s resolved; `None` when it gives none.
    pub fn function_variable(&self, binary: &str, name: &str) -> Option<String> {
        let function = self.resources.values().find(|r| {
            r.get("Metadata")
                .and_then(|m| m.get("BuildProperties"))
                .and_then(|b| b.get("Binary"))
                .and_then(Value::as_str)
                == Some(binary)
        })?;
        let value = function
            .get("Properties")?
            .get("Environment")?
            .get("Variables")?
            .get(name)?;
        self.resolve(self.select(value)?)
    }

    /// `value` with every `!If` it is chosen through resolved: the branch the condition picks,
    /// or `None` for `AWS::NoValue` (and for a condition that cannot be evaluated).
    pub fn select<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        if ref_target(value).as_deref() == Some("AWS::NoValue") {
            return None;
        }
        match intrinsic(value) {
            Some((name, args)) if name == "If" => {
                let [condition, then, otherwise] = args.as_sequence()?.as_slice() else {
                    return None;
                };
                let chosen = if self.condition(condition.as_str()?)? {
                    then
                } else {
                    otherwise
                };
                self.select(chosen)
            }
            _ => Some(value),
        }
    }

    /// The binaries that serve at least one route.
    pub fn binaries(&self) -> std::collections::BTreeSet<&str> {
        self.routes.iter().map(|r| r.binary.as_str()).collect()
    }

    /// A resource's `Properties`, by logical id.
    pub fn properties(&self, logical_id: &str) -> Option<&Value> {
        self.resources.get(logical_id)?.get("Properties")
    }

    /// Resolves a scalar of the template (`!Ref Param`, `!Sub "..${Param}.."` or a plain value).
    pub fn resolve(&self, value: &Value) -> Option<String> {
        resolve_string(value, &self.parameters)
    }
}

fn type_of(resource: &Value) -> Option<&str> {
    resource.get("Type").and_then(Value::as_str)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A function call `!Name args` or `{Fn::Name: args}`: its name and arguments.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_owned(),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next()?;
            let name = k.as_str()?;
            Some((name.strip_prefix("Fn::").unwrap_or(name).to_owned(), v))
        }
        _ => None,
    }
}

/// The target of a `!Ref X` or `{Ref: X}`.
fn ref_target(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == "Ref" => scalar(&t.value),
        Value::Mapping(m) => m.get("Ref").and_then(scalar),
        _ => None,
    }
}

/// Resolves the scalar forms of CloudFormation values the gateway needs. Anything else
/// (`!GetAtt`, `!If`, …) resolves to `None`.
pub fn resolve_string(v: &Value, params: &HashMap<String, String>) -> Option<String> {
    if let Some(target) = ref_target(v) {
        return params.get(&target).cloned();
    }
    let sub = match v {
        Value::Tagged(t) if t.tag == "Sub" => t.value.as_str(),
        Value::Mapping(m) => m.get("Fn::Sub").and_then(Value::as_str),
        _ => return scalar(v),
    }?;
    let mut out = String::new();
    let mut rest = sub;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        out.push_str(params.get(&rest[start + 2..end])?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// API Gateway header values are quoted literals: `'*'`.
fn unquote(s: &str) -> String {
    s.strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or(s)
        .to_owned()
}

/// The preflight headers SAM's CORS mock answers with.
fn cors_headers(cors: Option<&Value>, params: &HashMap<String, String>) -> Vec<(String, String)> {
    let Some(cors) = cors else { return Vec::new() };
    let get = |key: &str| {
        cors.get(key)
            .and_then(|v| resolve_string(v, params))
            .map(|v| unquote(&v))
    };
    if let Some(origin) = resolve_string(cors, params) {
        // The short form: `Cors: "'origin'"`.
        return vec![
            ("Access-Control-Allow-Origin".into(), unquote(&origin)),
            (
                "Access-Control-Allow-Methods".into(),
                platform::cors::ALLOW_METHODS.into(),
            ),
        ];
    }
    let mut headers = Vec::new();
    for (key, header) in [
        ("AllowOrigin", "Access-Control-Allow-Origin"),
        ("AllowMethods", "Access-Control-Allow-Methods"),
        ("AllowHeaders", "Access-Control-Allow-Headers"),
        ("MaxAge", "Access-Control-Max-Age"),
        ("AllowCredentials", "Access-Control-Allow-Credentials"),
    ] {
        if let Some(value) = get(key) {
            headers.push((header.to_owned(), value));
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Transform: AWS::Serverless-2016-10-31
Parameters:
  StageName: { Type: String, Default: Prod }
  AllowedOrigin: { Type: String, Default: "*" }
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref StageName
      Cors:
        AllowOrigin: !Sub "'${AllowedOrigin}'"
        AllowMethods: "'OPTIONS,GET,POST'"
        AllowHeaders: "'Content-Type,Authorization'"
      Auth:
        DefaultAuthorizer: CognitoAuthorizer
        AddDefaultAuthorizerToCorsPreflight: false
        Authorizers:
          CognitoAuthorizer:
            UserPoolArn: !GetAtt UserPool.Arn
      GatewayResponses:
        DEFAULT_4XX:
          ResponseParameters:
            Headers:
              Access-Control-Allow-Origin: !Sub "'${AllowedOrigin}'"
  LoginFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildMethod: rust-cargolambda, BuildProperties: { Binary: login } }
    Properties:
      Events:
        Login:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: /login, Method: post, Auth: { Authorizer: NONE } }
  BooksFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildMethod: rust-cargolambda, BuildProperties: { Binary: books } }
    Properties:
      Events:
        Create:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: /books, Method: post }
        Logout:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /books/{id}
            Method: delete
            Auth: { Authorizer: CognitoAuthorizer, AuthorizationScopes: [aws.cognito.signin.user.admin] }
        Queue:
          Type: SQS
          Properties: { Queue: !GetAtt Q.Arn }
"#;

    #[test]
    fn routes_come_from_api_events_with_their_binary_and_authorizer() {
        let t = Template::parse(TEMPLATE, &HashMap::new()).unwrap();
        let mut routes: Vec<_> = t
            .routes
            .iter()
            .map(|r| {
                (
                    r.binary.as_str(),
                    r.method.as_str(),
                    r.path.as_str(),
                    r.auth.clone(),
                )
            })
            .collect();
        routes.sort_by_key(|r| (r.2, r.1));
        assert_eq!(
            routes,
            vec![
                (
                    "books",
                    "POST",
                    "/books",
                    RouteAuth::Cognito { scopes: vec![] }
                ),
                (
                    "books",
                    "DELETE",
                    "/books/{id}",
                    RouteAuth::Cognito {
                        scopes: vec!["aws.cognito.signin.user.admin".into()]
                    }
                ),
                ("login", "POST", "/login", RouteAuth::Public),
            ]
        );
        assert_eq!(t.stage, "Prod");
    }

    #[test]
    fn cors_values_are_resolved_and_unquoted_with_overrides() {
        let overrides = HashMap::from([("AllowedOrigin".to_owned(), "http://app.test".to_owned())]);
        let t = Template::parse(TEMPLATE, &overrides).unwrap();
        assert!(t.preflight_headers.contains(&(
            "Access-Control-Allow-Origin".into(),
            "http://app.test".into()
        )));
        assert!(t.preflight_headers.contains(&(
            "Access-Control-Allow-Methods".into(),
            "OPTIONS,GET,POST".into()
        )));
        assert_eq!(
            t.gateway_4xx_headers,
            vec![(
                "Access-Control-Allow-Origin".into(),
                "http://app.test".into()
            )]
        );
        assert!(t.gateway_5xx_headers.is_empty());
    }

    #[test]
    fn sub_and_ref_resolve_and_unknown_parameters_do_not() {
        let params = HashMap::from([("A".to_owned(), "x".to_owned())]);
        let sub: Value = serde_yaml::from_str("!Sub 'pre-${A}-post'").unwrap();
        assert_eq!(resolve_string(&sub, &params).as_deref(), Some("pre-x-post"));
        let missing: Value = serde_yaml::from_str("!Sub '${B}'").unwrap();
        assert_eq!(resolve_string(&missing, &params), None);
        let long: Value = serde_yaml::from_str("{Ref: A}").unwrap();
        assert_eq!(resolve_string(&long, &params).as_deref(), Some("x"));
        let getatt: Value = serde_yaml::from_str("!GetAtt X.Arn").unwrap();
        assert_eq!(resolve_string(&getatt, &params), None);
    }
}
