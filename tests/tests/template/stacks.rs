//! Two stacks of the template side by side in one account and region share no named
//! resource: every name the stack gives (alias, secret, log groups, token parameter,
//! alarms, dashboard, trail, exports) differs between them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::eval::Stack;

/// Properties that name an account-wide (or region-wide) resource.
const NAME_PROPERTIES: [&str; 10] = [
    "AliasName",
    "Name",
    "LogGroupName",
    "AlarmName",
    "DashboardName",
    "TrailName",
    "QueueName",
    "TopicName",
    "BucketName",
    "RoleName",
];

/// Every name a stack gives: resource properties above (by `resource.property`), the
/// token parameter it hands the functions, and its export names.
fn names(stack: &Stack) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for (id, resource) in stack.resources() {
        let properties = &resource["Properties"];
        for property in NAME_PROPERTIES {
            // RoleName of a RolePolicy names the stack's own role, not a new name.
            if property == "RoleName" && resource["Type"] == "AWS::IAM::RolePolicy" {
                continue;
            }
            if let Some(name) = properties[property].as_str() {
                found.insert(format!("{id}.{property}"), name.to_owned());
            }
        }
        if let Some(variables) = properties["Environment"]["Variables"].as_object()
            && let Some(Value::String(name)) = variables.get("TOKEN_PARAMETER_NAME")
        {
            found.insert(format!("{id}.TOKEN_PARAMETER_NAME"), name.clone());
        }
    }
    for (id, output) in stack.outputs() {
        if let Some(name) = output["Export"]["Name"].as_str() {
            found.insert(format!("export {id}"), name.to_owned());
        }
    }
    found
}

#[test]
fn two_stacks_deploy_side_by_side_with_no_name_in_common() {
    let options = [("AuditTrail", "true"), ("AlarmEmail", "ops@example.com")];
    let staging = names(&Stack::new("orange-staging", &options));
    let production = names(&Stack::new("orange-production", &options));
    assert_eq!(
        staging.keys().collect::<Vec<_>>(),
        production.keys().collect::<Vec<_>>()
    );
    for expected in [
        "TokenKeyAlias.AliasName",
        "CredentialsSecret.Name",
        "RefreshLogGroup.LogGroupName",
        "GetTokenLogGroup.LogGroupName",
        "RefreshFunction.TOKEN_PARAMETER_NAME",
        "Dashboard.DashboardName",
        "AuditTrailResource.TrailName",
        "export GetTokenFunctionName",
        "export GetTokenInvokePolicyArn",
    ] {
        assert!(staging.contains_key(expected), "{expected} is named");
    }
    let production_names: Vec<&String> = production.values().collect();
    for (what, name) in &staging {
        assert!(
            !production_names.contains(&name),
            "{what} is {name} in both stacks"
        );
    }
}

#[test]
fn a_stack_created_again_under_its_old_name_gets_new_log_groups() {
    // The log groups are kept when a stack is deleted (audit logs); the stack created
    // again under the same name has a new stack id, so its groups get new names
    // instead of failing on the kept ones, under the same prefix.
    let first = names(&Stack::with_id(
        "orange-staging",
        "1b2c3d4e-0000-4000-8000-000000000000",
        &[],
    ));
    let again = names(&Stack::with_id(
        "orange-staging",
        "9f8e7d6c-0000-4000-8000-000000000000",
        &[],
    ));
    for group in [
        "RefreshLogGroup.LogGroupName",
        "GetTokenLogGroup.LogGroupName",
    ] {
        assert_ne!(first[group], again[group], "{group}");
        for name in [&first[group], &again[group]] {
            assert!(name.starts_with("/aws/lambda/orange-staging/"), "{name}");
        }
    }
    assert_eq!(
        first["RefreshLogGroup.LogGroupName"],
        "/aws/lambda/orange-staging/refresh-1b2c3d4e"
    );
    // What is not kept is named as before.
    assert_eq!(
        first["TokenKeyAlias.AliasName"],
        again["TokenKeyAlias.AliasName"]
    );
}
