//! Checks of the SAM template (`template.yaml` at the workspace root) against the
//! contract and the stack's least-privilege rules: static ones here, the key, secret
//! and trail policies in `security`, two stacks side by side in `stacks`, every
//! value the template offers started in the real binaries in `bounds`, their init
//! errors in `init_errors`, and the docs' commands in `docs`.
//!
//! The template is written with CloudFormation's short-form tags (`!Ref`,
//! `!Sub`, `!GetAtt`, ...). `saphyr` keeps user-defined tags as
//! `Yaml::Tagged` nodes instead of dropping them, so the loader below turns
//! each one into its long form (`{"Ref": ...}`, `{"Fn::Sub": ...}`) and the
//! tests look at plain JSON, whichever form the template uses.

mod bounds;
mod docs;

mod eval;
mod init_errors;
mod preflight;
mod runtime_api;
mod security;
mod stacks;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{Map, Value, json};

use eval::strings;

static TEMPLATE: LazyLock<Value> = LazyLock::new(|| load_yaml("template.yaml"));

/// The workspace root.
fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is inside the workspace")
        .to_path_buf()
}

/// A YAML file of the workspace (one document), as JSON with the short-form tags expanded.
fn load_yaml(relative: &str) -> Value {
    let path = workspace_root().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    let documents = Yaml::load_from_str(&text)
        .unwrap_or_else(|error| panic!("parsing {}: {error}", path.display()));
    assert_eq!(documents.len(), 1, "{relative} holds one YAML document");
    to_json(&documents[0])
}

/// samconfig.toml's `parameter_overrides`, by environment (`[production.deploy.parameters]`).
fn samconfig_parameter_overrides(config: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut found: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut environment = String::new();
    for line in config.lines() {
        let line = line.trim();
        if let Some(section) = line.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            environment = section.split('.').next().unwrap_or_default().to_owned();
            continue;
        }
        let Some(value) = line.strip_prefix("parameter_overrides") else {
            continue;
        };
        let value = value.trim_start().trim_start_matches('=').trim();
        // A string "A=1 B=2" or a list ["A=1", "B=2"].
        let entries: Vec<String> = if value.starts_with('[') {
            value
                .trim_matches(['[', ']'])
                .split(',')
                .map(|item| item.trim().trim_matches('"').to_owned())
                .filter(|item| !item.is_empty())
                .collect()
        } else {
            value
                .trim_matches('"')
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        };
        let overrides = found.entry(environment.clone()).or_default();
        for entry in entries {
            let (name, value) = entry
                .split_once('=')
                .unwrap_or_else(|| panic!("samconfig.toml: {entry} is not Name=value"));
            overrides.insert(
                name.to_owned(),
                value.trim_matches(['"', '\'', '\\']).to_owned(),
            );
        }
    }
    found
}

// ---------------------------------------------------------------------------
// YAML to JSON, with the short-form intrinsic functions expanded
// ---------------------------------------------------------------------------

fn to_json(node: &Yaml) -> Value {
    match node {
        Yaml::Value(scalar) => scalar_to_json(scalar),
        // Only produced when early parsing is off; keep the text.
        Yaml::Representation(text, _, _) => Value::String(text.to_string()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Mapping(entries) => Value::Object(
            entries
                .iter()
                .map(|(key, value)| (key_to_string(key), to_json(value)))
                .collect(),
        ),
        Yaml::Tagged(tag, inner) => {
            assert_eq!(tag.handle, "!", "unexpected YAML tag {tag:?}");
            intrinsic(&tag.suffix, to_json(inner))
        }
        Yaml::Alias(_) => panic!("YAML aliases are not used in CloudFormation templates"),
        Yaml::BadValue => panic!("the template holds a value YAML cannot represent"),
    }
}

fn scalar_to_json(scalar: &Scalar) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(value) => Value::Bool(*value),
        Scalar::Integer(value) => json!(value),
        Scalar::FloatingPoint(value) => json!(value.0),
        Scalar::String(value) => Value::String(value.to_string()),
    }
}

fn key_to_string(key: &Yaml) -> String {
    match to_json(key) {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

/// `!Ref x` is `{"Ref": x}`, `!Condition x` is `{"Condition": x}`,
/// `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}`, and `!Name x` is
/// `{"Fn::Name": x}` for every other function.
fn intrinsic(name: &str, argument: Value) -> Value {
    match name {
        "Ref" | "Condition" => json!({ name: argument }),
        "GetAtt" => {
            let argument = match argument {
                Value::String(text) => {
                    let (resource, attribute) = text
                        .split_once('.')
                        .unwrap_or_else(|| panic!("!GetAtt {text} has no attribute"));
                    json!([resource, attribute])
                }
                other => other,
            };
            json!({ "Fn::GetAtt": argument })
        }
        other => json!({ format!("Fn::{other}"): argument }),
    }
}

// ---------------------------------------------------------------------------
// Navigation helpers
// ---------------------------------------------------------------------------

fn resources() -> &'static Map<String, Value> {
    TEMPLATE["Resources"]
        .as_object()
        .expect("Resources is a mapping")
}

fn resource(logical_id: &str) -> &'static Value {
    resources()
        .get(logical_id)
        .unwrap_or_else(|| panic!("the template has no resource {logical_id}"))
}

fn resource_of_type(logical_id: &str, kind: &str) -> &'static Value {
    let found = resource(logical_id);
    assert_eq!(found["Type"], kind, "{logical_id} is a {kind}");
    found
}

fn parameter_default(name: &str) -> &'static Value {
    let default = &TEMPLATE["Parameters"][name]["Default"];
    assert!(!default.is_null(), "parameter {name} has a default");
    default
}

fn number(value: &Value) -> i64 {
    match value {
        Value::Number(number) => number.as_i64().expect("a whole number"),
        Value::String(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{text:?} is a whole number")),
        other => panic!("{other} is not a number"),
    }
}

/// Merges `local` over `global` as SAM merges `Globals`: maps recursively,
/// lists concatenated, anything else replaced by the local value.
fn merge(global: &Value, local: &Value) -> Value {
    match (global, local) {
        (Value::Object(global), Value::Object(local))
            if !is_intrinsic(global) && !is_intrinsic(local) =>
        {
            let mut merged = global.clone();
            for (key, value) in local {
                let combined = match global.get(key) {
                    Some(existing) => merge(existing, value),
                    None => value.clone(),
                };
                merged.insert(key.clone(), combined);
            }
            Value::Object(merged)
        }
        (Value::Array(global), Value::Array(local)) => {
            Value::Array(global.iter().chain(local).cloned().collect())
        }
        _ => local.clone(),
    }
}

fn is_intrinsic(object: &Map<String, Value>) -> bool {
    object.len() == 1
        && object
            .keys()
            .all(|key| key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
}

/// The function's properties with `Globals.Function` merged in.
fn function_properties(logical_id: &str) -> Value {
    let function = resource_of_type(logical_id, "AWS::Serverless::Function");
    merge(&TEMPLATE["Globals"]["Function"], &function["Properties"])
}

fn ref_to(value: &Value) -> &str {
    value["Ref"]
        .as_str()
        .unwrap_or_else(|| panic!("{value} is a !Ref"))
}

fn get_att(value: &Value) -> (&str, &str) {
    let parts = value["Fn::GetAtt"]
        .as_array()
        .unwrap_or_else(|| panic!("{value} is a !GetAtt"));
    (
        parts[0].as_str().expect("a logical id"),
        parts[1].as_str().expect("an attribute"),
    )
}

/// The statements of a policy document; a statement behind `!If` counts with both of
/// its branches (less `AWS::NoValue`).
fn statements(document: &Value) -> Vec<&Value> {
    let listed: Vec<&Value> = match &document["Statement"] {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![&document["Statement"]],
        other => panic!("policy document without statements: {other}"),
    };
    listed
        .into_iter()
        .flat_map(|statement| match statement["Fn::If"].as_array() {
            Some(branches) => branches[1..]
                .iter()
                .filter(|branch| branch["Ref"] != "AWS::NoValue")
                .collect(),
            None => vec![statement],
        })
        .collect()
}

/// The policy documents attached to an IAM role: its inline `Policies` and the
/// `AWS::IAM::RolePolicy` resources whose `RoleName` is a `!Ref` to it.
fn role_documents(role_id: &str) -> Vec<&'static Value> {
    let role = resource_of_type(role_id, "AWS::IAM::Role");
    let inline: Vec<&Value> = role["Properties"]["Policies"]
        .as_array()
        .map(|policies| policies.iter().map(|p| &p["PolicyDocument"]).collect())
        .unwrap_or_default();
    let attached = resources()
        .values()
        .filter(|resource| {
            resource["Type"] == "AWS::IAM::RolePolicy"
                && resource["Properties"]["RoleName"]["Ref"] == role_id
        })
        .map(|resource| &resource["Properties"]["PolicyDocument"]);
    inline.into_iter().chain(attached).collect()
}

/// Every statement of the execution role behind a function, which must be an
/// explicit `AWS::IAM::Role` with inline policies only: SAM policy templates
/// or managed policies would hide what the function may do.
fn execution_role_statements(function_id: &str) -> Vec<&'static Value> {
    let function = resource_of_type(function_id, "AWS::Serverless::Function");
    assert!(
        function["Properties"]["Policies"].is_null(),
        "{function_id} takes its permissions from its explicit role, not from SAM Policies"
    );
    let (role_id, attribute) = get_att(&function["Properties"]["Role"]);
    assert_eq!(attribute, "Arn");
    let role = resource_of_type(role_id, "AWS::IAM::Role");
    assert!(
        role["Properties"]["ManagedPolicyArns"].is_null(),
        "{role_id} has no managed policies (not even AWSLambdaBasicExecutionRole, whose logs grant is on *)"
    );
    let documents = role_documents(role_id);
    assert!(!documents.is_empty(), "{role_id} has policies of its own");
    documents.into_iter().flat_map(statements).collect()
}

fn actions(statement: &Value) -> Vec<String> {
    assert!(
        statement["NotAction"].is_null(),
        "no NotAction: {statement}"
    );
    strings(&statement["Action"])
}

fn env_names(function_id: &str) -> BTreeSet<String> {
    function_properties(function_id)["Environment"]["Variables"]
        .as_object()
        .unwrap_or_else(|| panic!("{function_id} has environment variables"))
        .keys()
        .cloned()
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

// ---------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------

#[test]
fn the_template_is_a_sam_template() {
    assert_eq!(TEMPLATE["Transform"], "AWS::Serverless-2016-10-31");
    assert!(
        TEMPLATE["Globals"]["Function"].is_object(),
        "a Globals block for the functions"
    );
}

#[test]
fn get_token_is_granted_nothing_on_secrets_manager() {
    let statements = execution_role_statements("GetTokenFunction");
    let granted: BTreeSet<String> = statements.iter().flat_map(|s| actions(s)).collect();
    for action in &granted {
        let lower = action.to_ascii_lowercase();
        assert!(
            !lower.starts_with("secretsmanager:") && lower != "*",
            "get-token may not {action}"
        );
    }
    for statement in &statements {
        assert!(
            !statement.to_string().contains("secretsmanager."),
            "get-token may not use a key through Secrets Manager: {statement}"
        );
    }
    // And nothing beyond what it needs.
    assert_eq!(
        granted,
        set(&[
            "kms:Decrypt",
            "lambda:InvokeFunction",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "ssm:GetParameter",
        ])
    );
    for statement in &statements {
        let actions = actions(statement);
        if actions.contains(&"lambda:InvokeFunction".to_owned()) {
            assert_eq!(get_att(&statement["Resource"]), ("RefreshFunction", "Arn"));
        }
        if actions.contains(&"kms:Decrypt".to_owned()) {
            assert_eq!(
                statement["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Sub"],
                "ssm.${AWS::Region}.amazonaws.com",
                "get-token decrypts through SSM only"
            );
        }
    }
    assert!(!env_names("GetTokenFunction").contains("ORANGE_CREDENTIALS_SECRET_ID"));
}

#[test]
fn refresh_alone_reads_the_credentials_secret() {
    let statements = execution_role_statements("RefreshFunction");
    let secret_reads: Vec<_> = statements
        .iter()
        .filter(|s| actions(s).iter().any(|a| a.starts_with("secretsmanager:")))
        .collect();
    assert_eq!(secret_reads.len(), 1);
    // DescribeSecret: when the secret last changed, never its value.
    assert_eq!(
        actions(secret_reads[0]),
        [
            "secretsmanager:GetSecretValue",
            "secretsmanager:DescribeSecret"
        ]
    );
    assert_eq!(
        secret_reads[0]["Resource"],
        json!({"Fn::If": ["CreateCredentialsSecret", {"Ref": "CredentialsSecret"}, {"Ref": "ExistingCredentialsSecretArn"}]})
    );
    let parameter_arn =
        "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${Name}";
    for statement in &statements {
        if actions(statement).iter().any(|a| a.starts_with("ssm:")) {
            assert_eq!(statement["Resource"]["Fn::Sub"][0], parameter_arn);
            assert_eq!(
                statement["Resource"]["Fn::Sub"][1]["Name"],
                token_parameter_name()
            );
        }
        if actions(statement).iter().any(|a| a.starts_with("kms:")) {
            assert_eq!(get_att(&statement["Resource"]), ("TokenKey", "Arn"));
            assert!(
                !statement["Condition"]["StringEquals"]["kms:ViaService"].is_null(),
                "every key grant goes through one service: {statement}"
            );
        }
    }
}

/// Statements whose `Resource` must name what they grant. Key policies are
/// the one exception AWS imposes: in a key policy `"Resource": "*"` means
/// "this key" and no other value is accepted.
#[test]
fn every_iam_statement_names_its_resources() {
    let mut checked = 0;
    for (logical_id, resource) in resources() {
        let properties = &resource["Properties"];
        let documents: Vec<&Value> = match resource["Type"].as_str().unwrap_or_default() {
            "AWS::IAM::Role" => properties["Policies"]
                .as_array()
                .map(|policies| policies.iter().map(|p| &p["PolicyDocument"]).collect())
                .unwrap_or_default(),
            "AWS::IAM::RolePolicy"
            | "AWS::IAM::ManagedPolicy"
            | "AWS::IAM::Policy"
            | "AWS::SQS::QueuePolicy"
            | "AWS::SNS::TopicPolicy" => {
                vec![&properties["PolicyDocument"]]
            }
            "AWS::Serverless::Function" => {
                assert!(
                    properties["Policies"].is_null(),
                    "{logical_id}: permissions live in explicit roles"
                );
                vec![]
            }
            "AWS::KMS::Key" => {
                for statement in statements(&properties["KeyPolicy"]) {
                    assert_eq!(
                        statement["Resource"], "*",
                        "{logical_id}: key policies name the key as *"
                    );
                }
                vec![]
            }
            _ => vec![],
        };
        for document in documents {
            for statement in statements(document) {
                assert!(
                    statement["NotResource"].is_null(),
                    "{logical_id}: no NotResource"
                );
                let resource = &statement["Resource"];
                assert!(
                    !resource.is_null(),
                    "{logical_id}: a Resource in {statement}"
                );
                assert_named(logical_id, resource);
                for action in actions(statement) {
                    assert!(
                        action != "*" && !action.ends_with(":*"),
                        "{logical_id}: {action} is a wildcard action"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 15, "only {checked} IAM statements found");
}

/// No `*` anywhere in a resource: a literal ARN, a `!Sub` template, both
/// branches of an `!If`; `!Ref`/`!GetAtt` name one resource of the stack,
/// and a `!Ref`'d parameter must constrain its value.
fn assert_named(logical_id: &str, resource: &Value) {
    match resource {
        Value::String(text) => assert!(
            !text.contains('*'),
            "{logical_id}: {text} is a wildcard resource"
        ),
        Value::Array(items) => {
            assert!(!items.is_empty(), "{logical_id}: an empty Resource list");
            items.iter().for_each(|item| assert_named(logical_id, item));
        }
        Value::Object(object) if object.contains_key("Ref") => {
            let name = ref_to(resource);
            if let Some(parameter) = TEMPLATE["Parameters"].get(name) {
                assert!(
                    parameter["AllowedPattern"].is_string(),
                    "{logical_id}: parameter {name} used as a Resource needs an AllowedPattern"
                );
            } else {
                assert!(resources().contains_key(name), "{logical_id}: !Ref {name}");
            }
        }
        Value::Object(object) if object.contains_key("Fn::GetAtt") => {
            let (target, _) = get_att(resource);
            assert!(
                resources().contains_key(target),
                "{logical_id}: !GetAtt {target}"
            );
        }
        Value::Object(object) if object.contains_key("Fn::Sub") => match &object["Fn::Sub"] {
            Value::String(template) => assert_named(logical_id, &Value::String(template.clone())),
            Value::Array(parts) => assert_named(logical_id, &parts[0]),
            other => panic!("{logical_id}: odd !Sub {other}"),
        },
        Value::Object(object) if object.contains_key("Fn::If") => {
            let branches = object["Fn::If"].as_array().expect("!If takes a list");
            assert_named(logical_id, &branches[1]);
            assert_named(logical_id, &branches[2]);
        }
        other => panic!("{logical_id}: cannot tell what {other} names"),
    }
}

#[test]
fn refresh_runs_alone_on_a_schedule_with_a_dead_letter_queue() {
    let properties = function_properties("RefreshFunction");
    assert_eq!(properties["ReservedConcurrentExecutions"], 1);

    let schedules: Vec<&Value> = properties["Events"]
        .as_object()
        .expect("refresh has Events")
        .values()
        .filter(|event| matches!(event["Type"].as_str(), Some("ScheduleV2" | "Schedule")))
        .collect();
    assert_eq!(schedules.len(), 1, "refresh has one schedule");
    let schedule = &schedules[0]["Properties"];
    assert_eq!(
        schedule["ScheduleExpression"]["Fn::Sub"],
        "rate(${RefreshScheduleRateMinutes} minutes)"
    );
    if schedules[0]["Type"] == "ScheduleV2" {
        // Scheduler's default payload is not an event the contract accepts: a
        // normal run, named "schedule" in the audit log.
        let input: Value = serde_json::from_str(schedule["Input"].as_str().expect("an Input"))
            .expect("the Input is JSON");
        assert_eq!(input, json!({"caller": "schedule"}));
        assert_eq!(
            schedule["OmitName"], true,
            "two stacks can share an account"
        );
    }

    // Failed asynchronous (scheduled) runs end in an encrypted queue.
    let invoke = &properties["EventInvokeConfig"];
    let retries = number(&invoke["MaximumRetryAttempts"]);
    assert!((0..=2).contains(&retries));
    assert!(!invoke["MaximumEventAgeInSeconds"].is_null());
    let (queue_id, _) = get_att(&invoke["DestinationConfig"]["OnFailure"]["Destination"]);
    let queue = resource_of_type(queue_id, "AWS::SQS::Queue");
    assert_eq!(
        get_att(&queue["Properties"]["KmsMasterKeyId"]),
        ("TokenKey", "Arn")
    );
    assert_eq!(get_att(&schedule["DeadLetterConfig"]["Arn"]).0, queue_id);
}

#[test]
fn both_functions_are_rust_on_al2023_arm64_by_default_with_json_logs() {
    let architecture = &TEMPLATE["Parameters"]["Architecture"];
    assert_eq!(architecture["Default"], "arm64");
    assert_eq!(architecture["AllowedValues"], json!(["arm64", "x86_64"]));
    for (function_id, binary, timeout) in [
        ("RefreshFunction", "refresh", 30),
        ("GetTokenFunction", "get-token", 40),
    ] {
        let metadata = &resource(function_id)["Metadata"];
        assert_eq!(metadata["BuildMethod"], "rust-cargolambda", "{function_id}");
        assert_eq!(
            metadata["BuildProperties"]["Binary"], binary,
            "{function_id}"
        );

        let properties = function_properties(function_id);
        assert_eq!(
            properties["CodeUri"], ".",
            "{function_id} builds from the workspace root"
        );
        assert_eq!(properties["Runtime"], "provided.al2023", "{function_id}");
        assert_eq!(
            properties["Architectures"],
            json!([{"Ref": "Architecture"}]),
            "{function_id}"
        );
        assert_eq!(properties["Handler"], "bootstrap", "{function_id}");
        assert_eq!(properties["MemorySize"], 128, "{function_id}");
        assert_eq!(properties["Timeout"], timeout, "{function_id}");
        let logging = &properties["LoggingConfig"];
        assert_eq!(logging["LogFormat"], "JSON", "{function_id}");
        // Audit events are INFO and EMF metric lines count as INFO: a higher
        // application level would drop both.
        let levels = match &logging["ApplicationLogLevel"] {
            Value::String(level) => vec![level.clone()],
            reference => strings(&TEMPLATE["Parameters"][ref_to(reference)]["AllowedValues"]),
        };
        for level in levels {
            assert!(
                ["TRACE", "DEBUG", "INFO"].contains(&level.as_str()),
                "{function_id}: application log level {level} would drop the audit events and metrics"
            );
        }
        assert!(!logging["SystemLogLevel"].is_null(), "{function_id}");
    }
}

#[test]
fn environment_variables_are_the_contracts() {
    assert_eq!(
        env_names("RefreshFunction"),
        set(&[
            "ORANGE_TOKEN_ENDPOINT",
            "ORANGE_OAUTH_SCOPE",
            "ORANGE_CREDENTIALS_SECRET_ID",
            "TOKEN_PARAMETER_NAME",
            "TOKEN_KMS_KEY_ID",
            "OAUTH_REFRESH_THRESHOLD_MINUTES",
            "OAUTH_MIN_FORCE_INTERVAL_SECONDS",
            "OAUTH_EXPIRY_BUFFER_MINUTES",
            "ORANGE_HTTP_TIMEOUT_SECONDS",
        ])
    );
    assert_eq!(
        env_names("GetTokenFunction"),
        set(&[
            "TOKEN_PARAMETER_NAME",
            "OAUTH_EXPIRY_BUFFER_MINUTES",
            "OAUTH_CACHE_ENABLED",
            "REFRESH_FUNCTION_NAME",
        ])
    );

    let refresh = &function_properties("RefreshFunction")["Environment"]["Variables"];
    let get_token = &function_properties("GetTokenFunction")["Environment"]["Variables"];
    assert_eq!(
        ref_to(&refresh["ORANGE_TOKEN_ENDPOINT"]),
        "OrangeTokenEndpoint"
    );
    assert_eq!(
        parameter_default("OrangeTokenEndpoint"),
        "https://api.orange.com/oauth/v3/token"
    );
    assert_eq!(ref_to(&refresh["ORANGE_OAUTH_SCOPE"]), "OrangeOAuthScope");
    assert_eq!(
        parameter_default("OrangeOAuthScope"),
        "",
        "no scope unless configured"
    );
    assert_eq!(get_att(&refresh["TOKEN_KMS_KEY_ID"]), ("TokenKey", "Arn"));
    assert_eq!(refresh["ORANGE_HTTP_TIMEOUT_SECONDS"], "10");
    assert_eq!(get_token["OAUTH_CACHE_ENABLED"], "true");
    assert_eq!(
        ref_to(&get_token["REFRESH_FUNCTION_NAME"]),
        "RefreshFunction"
    );
    assert_eq!(
        ref_to(&refresh["OAUTH_MIN_FORCE_INTERVAL_SECONDS"]),
        "MinForceIntervalSeconds"
    );
    let interval = &TEMPLATE["Parameters"]["MinForceIntervalSeconds"];
    assert_eq!(
        (
            number(&interval["Default"]),
            number(&interval["MinValue"]),
            number(&interval["MaxValue"])
        ),
        (60, 0, 600)
    );
    for variables in [refresh, get_token] {
        assert_eq!(variables["TOKEN_PARAMETER_NAME"], token_parameter_name());
    }
    // By default the parameter is named after the stack; an operator can name it.
    assert_eq!(parameter_default("TokenParameterName"), "");
    for function_id in ["RefreshFunction", "GetTokenFunction"] {
        let named = |stack: &eval::Stack| {
            stack.resource(function_id).expect("the function")["Properties"]["Environment"]
                ["Variables"]["TOKEN_PARAMETER_NAME"]
                .clone()
        };
        assert_eq!(
            named(&eval::Stack::new("orange-staging", &[])),
            "/orange-staging/oauth/access-token"
        );
        assert_eq!(
            named(&eval::Stack::new(
                "orange-staging",
                &[("TokenParameterName", "/sms/token")]
            )),
            "/sms/token"
        );
    }
}

/// The template's expression for the token parameter's name.
fn token_parameter_name() -> Value {
    json!({"Fn::If": [
        "DerivedTokenParameterName",
        {"Fn::Sub": "/${AWS::StackName}/oauth/access-token"},
        {"Ref": "TokenParameterName"}
    ]})
}

/// The contract: the defaults leave at least three scheduled refresh attempts
/// between the threshold and the buffer.
#[test]
fn default_timings_leave_three_scheduled_attempts() {
    let refresh = &function_properties("RefreshFunction")["Environment"]["Variables"];
    let get_token = &function_properties("GetTokenFunction")["Environment"]["Variables"];
    let threshold_parameter = ref_to(&refresh["OAUTH_REFRESH_THRESHOLD_MINUTES"]);
    let buffer_parameter = ref_to(&get_token["OAUTH_EXPIRY_BUFFER_MINUTES"]);
    // refresh refuses tokens that would not outlive the same buffer.
    assert_eq!(
        ref_to(
            &function_properties("RefreshFunction")["Environment"]["Variables"]["OAUTH_EXPIRY_BUFFER_MINUTES"]
        ),
        buffer_parameter
    );

    let threshold = number(parameter_default(threshold_parameter));
    let buffer = number(parameter_default(buffer_parameter));
    let rate = number(parameter_default("RefreshScheduleRateMinutes"));
    assert_eq!((threshold, buffer, rate), (20, 5, 4));
    assert!(
        (threshold - buffer) / rate >= 3,
        "({threshold} - {buffer}) / {rate} leaves fewer than three attempts"
    );
    // Even the slowest schedule the stack accepts keeps the rule with these defaults.
    let slowest = number(&TEMPLATE["Parameters"]["RefreshScheduleRateMinutes"]["MaxValue"]);
    assert!((threshold - buffer) / slowest >= 3, "rate up to {slowest}");
}

#[test]
fn log_groups_are_kept_and_encrypted_with_the_stack_key() {
    let key = resource_of_type("TokenKey", "AWS::KMS::Key");
    assert_eq!(key["Properties"]["EnableKeyRotation"], true);
    // Six years of audit logs (2192 days, a value CloudWatch Logs accepts).
    assert_eq!(number(parameter_default("LogRetentionDays")), 2192);
    let stack = eval::Stack::new("orange-staging", &[]);
    let key_policy = &stack.resource("TokenKey").expect("the key")["Properties"]["KeyPolicy"];
    let logs_arns: Vec<String> = eval::statements(key_policy)
        .iter()
        .flat_map(|statement| {
            eval::optional_strings(
                &statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"],
            )
        })
        .collect();
    for function_id in ["RefreshFunction", "GetTokenFunction"] {
        let properties = function_properties(function_id);
        let group_id = ref_to(&properties["LoggingConfig"]["LogGroup"]);
        let group = &resource_of_type(group_id, "AWS::Logs::LogGroup");
        assert_eq!(
            group["DeletionPolicy"], "RetainExceptOnCreate",
            "{group_id}"
        );
        let group = &group["Properties"];
        assert_eq!(
            ref_to(&group["RetentionInDays"]),
            "LogRetentionDays",
            "{group_id}"
        );
        assert_eq!(
            get_att(&group["KmsKeyId"]),
            ("TokenKey", "Arn"),
            "{group_id}"
        );
        // The key policy lets CloudWatch Logs use the key for exactly this group.
        let name = stack.resource(group_id).expect("the log group")["Properties"]["LogGroupName"]
            .as_str()
            .expect("a log group name")
            .to_owned();
        assert!(
            name.starts_with("/aws/lambda/orange-staging/"),
            "{name} is under the stack's prefix"
        );
        let arn = format!(
            "arn:aws:logs:{}:{}:log-group:{name}",
            eval::REGION,
            eval::ACCOUNT
        );
        assert!(
            logs_arns.contains(&arn),
            "the key policy does not allow CloudWatch Logs for {name}: {logs_arns:?}"
        );
    }
}

#[test]
fn callers_get_a_policy_that_invokes_get_token_only() {
    let policy = resource_of_type("GetTokenInvokePolicy", "AWS::IAM::ManagedPolicy");
    let statements = statements(&policy["Properties"]["PolicyDocument"]);
    assert_eq!(statements.len(), 1);
    assert_eq!(actions(statements[0]), ["lambda:InvokeFunction"]);
    assert_eq!(
        get_att(&statements[0]["Resource"]),
        ("GetTokenFunction", "Arn")
    );

    let outputs = TEMPLATE["Outputs"].as_object().expect("Outputs");
    assert_eq!(
        ref_to(&outputs["GetTokenInvokePolicyArn"]["Value"]),
        "GetTokenInvokePolicy"
    );
    for name in [
        "RefreshFunctionName",
        "RefreshFunctionArn",
        "GetTokenFunctionName",
        "GetTokenFunctionArn",
        "TokenParameterName",
        "CredentialsSecretArn",
        "KmsKeyArn",
    ] {
        assert!(outputs.contains_key(name), "output {name}");
    }
}

#[test]
fn the_dashboard_shows_the_service_and_every_alarm() {
    let stack = eval::Stack::new("orange-staging", &[]);
    let dashboard = stack.resource("Dashboard").expect("a dashboard");
    let body: Value = serde_json::from_str(
        dashboard["Properties"]["DashboardBody"]
            .as_str()
            .expect("a body"),
    )
    .expect("the dashboard body is JSON");
    let text = body.to_string();
    for metric in [
        "TokenRemainingLifetime",
        "RefreshSuccess",
        "RefreshFailure",
        "TokenRequests",
        "TokenServed",
        "TokenUnavailable",
        "Duration",
        "Errors",
        "Throttles",
    ] {
        assert!(
            text.contains(&format!("\"{metric}\"")),
            "the dashboard shows {metric}"
        );
    }
    let shown: BTreeSet<String> = body["widgets"]
        .as_array()
        .expect("widgets")
        .iter()
        .filter(|widget| widget["type"] == "alarm")
        .flat_map(|widget| strings(&widget["properties"]["alarms"]))
        .collect();
    let alarms: BTreeSet<String> = resources()
        .iter()
        .filter(|(_, resource)| resource["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(id, _)| stack.arn_of(id))
        .collect();
    assert_eq!(
        shown, alarms,
        "the dashboard's alarm widget shows every alarm"
    );
}

#[test]
fn the_token_request_storm_and_refresh_errors_are_alarmed() {
    let storm = &resource_of_type("TokenRequestStormAlarm", "AWS::CloudWatch::Alarm")["Properties"];
    assert_eq!(storm["Namespace"], "OrangeTokenService");
    assert_eq!(storm["MetricName"], "TokenRequests");
    assert_eq!(ref_to(&storm["Dimensions"][0]["Value"]), "RefreshFunction");
    assert_eq!(storm["Statistic"], "Sum");
    assert_eq!(number(&storm["Period"]), 3600);
    assert_eq!(number(&storm["Threshold"]), 30);
    assert_eq!(storm["ComparisonOperator"], "GreaterThanThreshold");
    let errors = &resource_of_type("RefreshErrorsAlarm", "AWS::CloudWatch::Alarm")["Properties"];
    assert_eq!(errors["Namespace"], "AWS/Lambda");
    assert_eq!(errors["MetricName"], "Errors");
    assert_eq!(ref_to(&errors["Dimensions"][0]["Value"]), "RefreshFunction");
    // Every alarm says what missing data means.
    for (id, resource) in resources() {
        if resource["Type"] == "AWS::CloudWatch::Alarm" {
            assert!(
                resource["Properties"]["TreatMissingData"].is_string(),
                "{id} sets TreatMissingData"
            );
        }
    }
}

#[test]
fn get_token_is_probed_so_its_alarms_have_data_before_any_caller() {
    let properties = function_properties("GetTokenFunction");
    let probe = &properties["Events"]["HealthProbe"];
    assert_eq!(probe["Type"], "ScheduleV2");
    let input: Value =
        serde_json::from_str(probe["Properties"]["Input"].as_str().expect("an Input"))
            .expect("JSON");
    assert_eq!(input, json!({"action": "status", "caller": "health-probe"}));
    let health =
        &resource_of_type("HealthCheckUnhealthyAlarm", "AWS::CloudWatch::Alarm")["Properties"];
    assert_eq!(health["TreatMissingData"], "breaching");
    // A period always holds a probe: at most 5 minutes apart, 10-minute periods.
    let slowest = number(&TEMPLATE["Parameters"]["HealthProbeRateMinutes"]["MaxValue"]);
    let period = number(&health["Metrics"][0]["MetricStat"]["Period"]);
    assert!(
        period >= 2 * slowest * 60,
        "period {period} s, probe every {slowest} min"
    );
}

#[test]
fn an_email_gets_a_topic_of_the_stacks_own_unless_one_is_given() {
    let with_email = eval::Stack::new("orange-staging", &[("AlarmEmail", "ops@example.com")]);
    assert!(with_email.resource("AlarmTopic").is_some());
    let subscription = with_email
        .resource("AlarmEmailSubscription")
        .expect("a subscription");
    assert_eq!(
        subscription["Properties"]["TopicArn"],
        with_email.name_of("AlarmTopic")
    );
    let alarm = with_email.resource("RefreshErrorsAlarm").expect("an alarm");
    assert_eq!(
        alarm["Properties"]["AlarmActions"],
        json!([with_email.name_of("AlarmTopic")])
    );
    let topic = "arn:aws:sns:eu-west-1:123456789012:ops";
    let with_both = eval::Stack::new(
        "orange-staging",
        &[("AlarmEmail", "ops@example.com"), ("AlarmTopicArn", topic)],
    );
    assert!(with_both.resource("AlarmTopic").is_none());
    assert_eq!(
        with_both
            .resource("AlarmEmailSubscription")
            .expect("a subscription")["Properties"]["TopicArn"],
        topic
    );
    let neither = eval::Stack::new("orange-staging", &[]);
    assert!(neither.resource("AlarmTopic").is_none());
    assert!(
        neither.resource("RefreshErrorsAlarm").expect("an alarm")["Properties"]["AlarmActions"]
            .is_null()
    );
}

/// `rate(1 minutes)` is not a valid schedule expression (it would need "minute"): every
/// rate the template builds from a parameter starts at 2.
#[test]
fn every_schedule_rate_parameter_makes_a_valid_expression() {
    let mut checked = 0;
    for function_id in ["RefreshFunction", "GetTokenFunction"] {
        let properties = function_properties(function_id);
        for event in properties["Events"].as_object().expect("Events").values() {
            let Some(expression) = event["Properties"]["ScheduleExpression"]["Fn::Sub"].as_str()
            else {
                continue;
            };
            let parameter = expression
                .strip_prefix("rate(${")
                .and_then(|rest| rest.strip_suffix("} minutes)"))
                .unwrap_or_else(|| {
                    panic!("{function_id}: {expression} is rate(${{Parameter}} minutes)")
                });
            let min = number(&TEMPLATE["Parameters"][parameter]["MinValue"]);
            assert!(min >= 2, "{parameter} allows rate({min} minutes)");
            checked += 1;
        }
    }
    assert_eq!(checked, 2, "the refresh schedule and the health probe");
}
