//! A missing or malformed variable stops a function at init with an init error of
//! type `Configuration` posted to the Runtime API (header and body), naming the
//! variable and never a secret: an invoker sees `Configuration`, not a bare exit.

use super::eval::Stack;
use super::runtime_api::{Init, start};

fn deployed(function_id: &str) -> Vec<(String, String)> {
    Stack::new("orange-init", &[]).environment(function_id)
}

fn without(mut variables: Vec<(String, String)>, name: &str) -> Vec<(String, String)> {
    variables.retain(|(key, _)| key != name);
    variables
}

fn with(mut variables: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    variables.retain(|(key, _)| key != name);
    variables.push((name.to_owned(), value.to_owned()));
    variables
}

/// The init error's message, after checking that it is a `Configuration` one, in the
/// header and in the body, and that the process stopped with a failure.
fn configuration_error(bin: &'static str, variables: &[(String, String)]) -> (String, String) {
    match start(bin, variables) {
        Init::Failed {
            error_type_header,
            body,
            output,
            exit_success,
        } => {
            assert_eq!(error_type_header.as_deref(), Some("Configuration"), "{bin}");
            assert_eq!(body["errorType"], "Configuration", "{bin}: {body}");
            assert!(!exit_success, "{bin} stops with a failure status");
            (
                body["errorMessage"]
                    .as_str()
                    .expect("an errorMessage")
                    .to_owned(),
                output,
            )
        }
        other => panic!("{bin} did not report a Configuration init error: {other:?}"),
    }
}

#[test]
fn get_token_without_its_refresh_function_reports_a_configuration_init_error() {
    let variables = without(deployed("GetTokenFunction"), "REFRESH_FUNCTION_NAME");
    let (message, _) = configuration_error("get-token", &variables);
    assert!(message.contains("REFRESH_FUNCTION_NAME"), "{message}");
}

#[test]
fn refresh_without_its_secret_reports_a_configuration_init_error() {
    let variables = without(deployed("RefreshFunction"), "ORANGE_CREDENTIALS_SECRET_ID");
    let (message, _) = configuration_error("refresh", &variables);
    assert!(
        message.contains("ORANGE_CREDENTIALS_SECRET_ID"),
        "{message}"
    );
}

#[test]
fn a_malformed_variable_is_named_in_the_init_error() {
    let variables = with(
        deployed("GetTokenFunction"),
        "OAUTH_CACHE_ENABLED",
        "sometimes",
    );
    let (message, _) = configuration_error("get-token", &variables);
    assert!(message.contains("OAUTH_CACHE_ENABLED"), "{message}");
    let variables = with(
        deployed("RefreshFunction"),
        "OAUTH_REFRESH_THRESHOLD_MINUTES",
        "soon",
    );
    let (message, _) = configuration_error("refresh", &variables);
    assert!(
        message.contains("OAUTH_REFRESH_THRESHOLD_MINUTES"),
        "{message}"
    );
}

#[test]
fn an_init_error_never_prints_a_secret_from_the_variable() {
    let secret = "s3cr3t-in-the-url-7f1e";
    let variables = with(
        deployed("RefreshFunction"),
        "ORANGE_TOKEN_ENDPOINT",
        &format!("https://client:{secret}@api.orange.com/oauth/v3/token"),
    );
    let (message, output) = configuration_error("refresh", &variables);
    assert!(message.contains("ORANGE_TOKEN_ENDPOINT"), "{message}");
    assert!(
        !message.contains(secret),
        "the init error holds the secret: {message}"
    );
    assert!(
        !output.contains(secret),
        "the function's output holds the secret: {output}"
    );
}
