//! Every value the template lets an operator choose is one the functions accept: each
//! function's real binary is started with the variables the template gives it, at
//! every bound (`MinValue`, `MaxValue`, each of `AllowedValues`) of every parameter
//! behind them, and must get past its configuration to ask the Runtime API for its
//! first invocation. Just outside the refresh threshold's range, it must refuse to
//! start: the template's range and the function's are one range.

use serde_json::Value;

use super::eval::Stack;
use super::runtime_api::{Init, start};
use super::{TEMPLATE, function_properties};

const FUNCTIONS: [(&str, &str); 2] = [
    ("RefreshFunction", "refresh"),
    ("GetTokenFunction", "get-token"),
];

/// The variables Lambda gives the function in this deployment: its `Environment`, and
/// the log settings Lambda derives from `LoggingConfig`.
fn variables(stack: &Stack, function_id: &str) -> Vec<(String, String)> {
    let mut variables = stack.environment(function_id);
    let logging = stack
        .eval(&TEMPLATE["Globals"]["Function"]["LoggingConfig"])
        .expect("LoggingConfig");
    variables.push((
        "AWS_LAMBDA_LOG_FORMAT".into(),
        logging["LogFormat"].as_str().expect("a log format").into(),
    ));
    variables.push((
        "AWS_LAMBDA_LOG_LEVEL".into(),
        logging["ApplicationLogLevel"]
            .as_str()
            .expect("a log level")
            .into(),
    ));
    variables
}

/// The bounds of a parameter: its `MinValue` and `MaxValue`, or each `AllowedValues`.
fn bounds(parameter: &str) -> Vec<String> {
    let declaration = &TEMPLATE["Parameters"][parameter];
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if let Some(allowed) = declaration["AllowedValues"].as_array() {
        return allowed.iter().map(text).collect();
    }
    ["MinValue", "MaxValue"]
        .iter()
        .filter(|key| !declaration[**key].is_null())
        .map(|key| text(&declaration[*key]))
        .collect()
}

/// The parameters behind a function's variables and log settings (`!Ref`s), with the
/// variable each one feeds.
fn parameters_of(function_id: &str) -> Vec<(String, String)> {
    let properties = function_properties(function_id);
    let mut found = Vec::new();
    for (variable, value) in properties["Environment"]["Variables"]
        .as_object()
        .expect("environment variables")
    {
        if let Some(name) = value["Ref"].as_str()
            && TEMPLATE["Parameters"].get(name).is_some()
        {
            found.push((name.to_owned(), variable.clone()));
        }
    }
    if let Some(name) = properties["LoggingConfig"]["ApplicationLogLevel"]["Ref"].as_str() {
        found.push((name.to_owned(), "AWS_LAMBDA_LOG_LEVEL".to_owned()));
    }
    found
}

fn assert_starts(bin: &'static str, case: &str, variables: &[(String, String)]) {
    match start(bin, variables) {
        Init::Ready => {}
        Init::Exited { output } => {
            panic!("{bin} exited on a value the template offers ({case}):\n{output}")
        }
        failed => panic!("{bin} refused a value the template offers ({case}): {failed:?}"),
    }
}

#[test]
fn every_bound_of_every_parameter_a_function_gets_is_accepted_by_the_real_binary() {
    let mut checked = 0;
    for (function_id, bin) in FUNCTIONS {
        let parameters = parameters_of(function_id);
        assert!(!parameters.is_empty(), "{function_id} gets parameters");
        // The defaults, then each bound of each parameter with the others at their defaults.
        let mut cases: Vec<(String, Vec<(String, String)>)> = vec![("defaults".into(), vec![])];
        for (parameter, variable) in &parameters {
            for bound in bounds(parameter) {
                cases.push((
                    format!("{parameter}={bound} ({variable})"),
                    vec![(parameter.clone(), bound)],
                ));
            }
        }
        // Values that are not bounds but change what the function is given.
        for (parameter, value) in [
            ("TokenParameterName", "/sms-sender/oauth/access-token"),
            ("OrangeOAuthScope", "sms"),
            (
                "ExistingCredentialsSecretArn",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orange/credentials-AbC123",
            ),
        ] {
            cases.push((
                format!("{parameter}={value}"),
                vec![(parameter.into(), value.into())],
            ));
        }
        for (case, overrides) in cases {
            let overrides: Vec<(&str, &str)> = overrides
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_str()))
                .collect();
            let stack = Stack::new("orange-bounds", &overrides);
            assert_starts(bin, &case, &variables(&stack, function_id));
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} starts");
}

/// Just outside the template's range of `parameter`, refresh refuses to start, naming
/// `variable`: the template's range and the function's are one range.
fn assert_refresh_refuses_outside(parameter: &str, variable: &str) {
    let stack = Stack::new("orange-bounds", &[]);
    let base = variables(&stack, "RefreshFunction");
    let declaration = &TEMPLATE["Parameters"][parameter];
    let (min, max) = (
        declaration["MinValue"].as_i64().expect("a MinValue"),
        declaration["MaxValue"].as_i64().expect("a MaxValue"),
    );
    for outside in [min - 1, max + 1] {
        let mut variables = base.clone();
        for (key, value) in &mut variables {
            if key == variable {
                *value = outside.to_string();
            }
        }
        match start("refresh", &variables) {
            Init::Failed {
                error_type_header,
                body,
                ..
            } => {
                assert_eq!(error_type_header.as_deref(), Some("Configuration"));
                assert_eq!(body["errorType"], "Configuration");
                let message = body["errorMessage"].as_str().expect("a message");
                assert!(message.contains(variable), "{outside}: {message}");
            }
            other => panic!(
                "refresh accepted {variable}={outside}, outside the template's {min} to {max}: {other:?}"
            ),
        }
    }
}

#[test]
fn the_refresh_threshold_has_one_range_in_the_template_and_the_function() {
    assert_refresh_refuses_outside("RefreshThresholdMinutes", "OAUTH_REFRESH_THRESHOLD_MINUTES");
}

#[test]
fn the_force_interval_has_one_range_in_the_template_and_the_function() {
    assert_refresh_refuses_outside(
        "MinForceIntervalSeconds",
        "OAUTH_MIN_FORCE_INTERVAL_SECONDS",
    );
}
