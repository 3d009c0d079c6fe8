//! The runbook's and the caller guide's commands use names the template has: stack
//! outputs (`OutputKey=='...'`), export names (`${STACK}-...`), parameters
//! (`--parameter-overrides Name=...`, and samconfig.toml's `parameter_overrides`),
//! logical ids (`--logical-resource-id ...`).

use std::collections::BTreeSet;

use super::{TEMPLATE, samconfig_parameter_overrides, workspace_root};

const DOCS: [&str; 3] = ["docs/deploy.md", "docs/caller.md", "docs/security.md"];

/// The names a document uses, by kind.
#[derive(Debug, Default)]
struct Used {
    outputs: BTreeSet<String>,
    exports: BTreeSet<String>,
    parameters: BTreeSet<String>,
    resources: BTreeSet<String>,
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}

fn scan(text: &str) -> Used {
    let mut used = Used::default();
    // Shell continuation lines joined, so that an option's values are on its line.
    let joined = text.replace("\\\n", " ");
    for line in joined.lines() {
        for marker in ["OutputKey=='", "OutputKey==`", "OutputKey=="] {
            for (index, _) in line.match_indices(marker) {
                let name = identifier(&line[index + marker.len()..]);
                if !name.is_empty() {
                    used.outputs.insert(name);
                }
            }
        }
        for marker in ["${STACK}-", "$STACK-"] {
            for (index, _) in line.match_indices(marker) {
                let name = identifier(&line[index + marker.len()..]);
                if name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                    used.exports.insert(name);
                }
            }
        }
        if let Some(index) = line.find("--parameter-overrides") {
            for word in line[index + "--parameter-overrides".len()..].split_whitespace() {
                if word.starts_with("--") {
                    break;
                }
                let word = word.trim_start_matches(['"', '\'']);
                if let Some((name, _)) = word.split_once('=') {
                    used.parameters.insert(identifier(name));
                }
            }
        }
        if let Some(index) = line.find("--logical-resource-id") {
            let rest = line[index + "--logical-resource-id".len()..].trim_start();
            used.resources.insert(identifier(rest));
        }
    }
    used
}

fn export_names() -> BTreeSet<String> {
    TEMPLATE["Outputs"]
        .as_object()
        .expect("Outputs")
        .values()
        .filter_map(|output| output["Export"]["Name"]["Fn::Sub"].as_str())
        .filter_map(|name| name.strip_prefix("${AWS::StackName}-"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_name_the_docs_use_exists_in_the_template() {
    let outputs = TEMPLATE["Outputs"].as_object().expect("Outputs");
    let parameters = TEMPLATE["Parameters"].as_object().expect("Parameters");
    let resources = TEMPLATE["Resources"].as_object().expect("Resources");
    let exports = export_names();
    let mut seen = 0;
    for doc in DOCS {
        let path = workspace_root().join(doc);
        let Ok(text) = std::fs::read_to_string(&path) else {
            panic!("{doc} is missing");
        };
        let used = scan(&text);
        for name in &used.outputs {
            assert!(
                outputs.contains_key(name),
                "{doc}: output {name} is not in template.yaml"
            );
        }
        for name in &used.exports {
            assert!(
                exports.contains(name),
                "{doc}: export ${{STACK}}-{name} is not in template.yaml ({exports:?})"
            );
        }
        for name in &used.parameters {
            assert!(
                parameters.contains_key(name),
                "{doc}: parameter {name} is not in template.yaml"
            );
        }
        for name in &used.resources {
            assert!(
                resources.contains_key(name),
                "{doc}: resource {name} is not in template.yaml"
            );
        }
        seen +=
            used.outputs.len() + used.exports.len() + used.parameters.len() + used.resources.len();
    }
    assert!(
        seen >= 10,
        "the docs name only {seen} template items: is the scan broken?"
    );
    let config = std::fs::read_to_string(workspace_root().join("samconfig.toml"))
        .expect("reading samconfig.toml");
    for (environment, overrides) in samconfig_parameter_overrides(&config) {
        for name in overrides.keys() {
            assert!(
                parameters.contains_key(name),
                "samconfig.toml [{environment}]: parameter {name} is not in template.yaml"
            );
        }
    }
}

#[test]
fn the_runbook_uses_the_template_s_outputs_and_exports() {
    let text = std::fs::read_to_string(workspace_root().join("docs/deploy.md"))
        .expect("reading docs/deploy.md");
    let used = scan(&text);
    for output in [
        "GetTokenFunctionName",
        "CredentialsSecretArn",
        "RefreshFunctionName",
    ] {
        assert!(
            used.outputs.contains(output),
            "docs/deploy.md reads output {output}"
        );
    }
    assert!(
        used.exports.contains("GetTokenInvokePolicyArn"),
        "docs/deploy.md shows the export callers import"
    );
    assert!(
        text.contains("GET_TOKEN_FUNCTION_NAME"),
        "callers find get-token by GET_TOKEN_FUNCTION_NAME"
    );
}

#[test]
fn callers_find_get_token_by_the_outputs_and_exports_the_caller_guide_names() {
    // docs/caller.md (written beside the caller libraries) relies on these.
    let outputs = TEMPLATE["Outputs"].as_object().expect("Outputs");
    for output in ["GetTokenFunctionName", "GetTokenInvokePolicyArn"] {
        assert_eq!(
            outputs[output]["Export"]["Name"]["Fn::Sub"],
            format!("${{AWS::StackName}}-{output}"),
            "{output} is exported as ${{STACK}}-{output}"
        );
    }
}

#[test]
fn every_test_docs_security_md_names_exists() {
    let text = std::fs::read_to_string(workspace_root().join("docs/security.md"))
        .expect("reading docs/security.md");
    let mut named = 0;
    for quoted in text.split('`').skip(1).step_by(2) {
        let Some((binary, path)) = quoted.split_once("::") else {
            continue;
        };
        // A unit test, named by its source file: `shared/src/event.rs::name`.
        if binary.ends_with(".rs") && !path.contains("::") {
            let source = std::fs::read_to_string(workspace_root().join(binary))
                .unwrap_or_else(|error| panic!("{quoted}: reading {binary}: {error}"));
            assert!(
                source.contains(&format!("fn {path}(")),
                "docs/security.md names {quoted}, which {binary} does not define"
            );
            named += 1;
            continue;
        }
        if !["template", "service", "storm", "e2e"].contains(&binary) {
            continue;
        }
        let function = path.rsplit("::").next().expect("a function name");
        if function.is_empty()
            || !function
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        let module = path.rsplit_once("::").map(|(module, _)| module);
        let directory = workspace_root().join("tests/tests").join(binary);
        let file = match module {
            Some(module) => directory.join(format!("{}.rs", module.replace("::", "/"))),
            None => directory.join("main.rs"),
        };
        let source = std::fs::read_to_string(&file)
            .unwrap_or_else(|error| panic!("{quoted}: reading {}: {error}", file.display()));
        assert!(
            source.contains(&format!("fn {function}(")),
            "docs/security.md names {quoted}, which {} does not define",
            file.display()
        );
        named += 1;
    }
    assert!(named >= 15, "docs/security.md names only {named} tests");
}
