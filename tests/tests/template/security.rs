//! The template's security controls, statement by statement, evaluated for a stack with
//! named key administrators, a break-glass role, secret operators and the audit trail
//! (and without them, where that changes who may do what).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::eval::{Stack, aws_principals, statements, strings};
use super::workspace_root;

const ADMIN: &str = "arn:aws:iam::123456789012:role/key-admin";
const BREAK_GLASS: &str = "arn:aws:iam::123456789012:role/break-glass";
const OPERATOR: &str = "arn:aws:iam::123456789012:role/secret-operator";

/// Every action that uses the key (or would let a principal give itself a use).
const KEY_USE: [&str; 9] = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
    "kms:CreateGrant",
    "kms:GenerateMac",
];

fn hardened() -> Stack {
    Stack::new(
        "orange-production",
        &[
            ("KeyAdministratorArns", ADMIN),
            ("BreakGlassRoleArn", BREAK_GLASS),
            ("SecretOperatorArns", OPERATOR),
            ("AuditTrail", "true"),
        ],
    )
}

fn key_statements(stack: &Stack) -> Vec<Value> {
    let key = stack.resource("TokenKey").expect("the key");
    assert!(
        key["Properties"]["BypassPolicyLockoutSafetyCheck"].is_null(),
        "the key policy passes KMS's lockout safety check"
    );
    statements(&key["Properties"]["KeyPolicy"])
}

fn actions(statement: &Value) -> BTreeSet<String> {
    assert!(
        statement["NotAction"].is_null(),
        "no NotAction: {statement}"
    );
    strings(&statement["Action"]).into_iter().collect()
}

/// Whether an allowed action pattern (`kms:Decrypt`, `kms:*`, `kms:Generate*`) covers `action`.
fn covers(pattern: &str, action: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => action.starts_with(prefix),
        None => pattern.eq_ignore_ascii_case(action),
    }
}

fn allowed_to(statements: &[Value], principal: &str) -> BTreeSet<String> {
    statements
        .iter()
        .filter(|s| s["Effect"] == "Allow" && aws_principals(s).iter().any(|p| p == principal))
        .flat_map(actions)
        .collect()
}

fn grants(allowed: &BTreeSet<String>, action: &str) -> bool {
    allowed.iter().any(|pattern| covers(pattern, action))
}

#[test]
fn key_administrators_administer_the_key_and_cannot_use_it() {
    let stack = hardened();
    let statements = key_statements(&stack);
    let admin = allowed_to(&statements, ADMIN);
    for action in [
        "kms:PutKeyPolicy",
        "kms:EnableKeyRotation",
        "kms:UpdateKeyDescription",
        "kms:TagResource",
    ] {
        assert!(grants(&admin, action), "administrators may {action}");
    }
    for action in KEY_USE
        .iter()
        .chain(&["kms:DisableKey", "kms:ScheduleKeyDeletion"])
    {
        assert!(!grants(&admin, action), "administrators may not {action}");
    }
    // Without named administrators the account administers, still without use.
    let plain = Stack::new("orange-staging", &[]);
    let root = allowed_to(&key_statements(&plain), &plain.root());
    assert!(grants(&root, "kms:EnableKeyRotation"));
    for action in KEY_USE
        .iter()
        .chain(&["kms:DisableKey", "kms:ScheduleKeyDeletion"])
    {
        assert!(!grants(&root, action), "the account may not {action}");
    }
}

#[test]
fn the_account_can_replace_the_key_policy_but_never_use_the_key() {
    let stack = hardened();
    let root = allowed_to(&key_statements(&stack), &stack.root());
    // KMS's lockout safety check: the creating principal can put a policy again
    // (the account delegates that to IAM), so no BypassPolicyLockoutSafetyCheck.
    assert_eq!(
        root,
        ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}

#[test]
fn only_the_break_glass_role_disables_or_schedules_the_deletion_of_the_key() {
    for (stack, expected) in [
        (hardened(), vec![BREAK_GLASS.to_owned()]),
        (Stack::new("orange-staging", &[]), vec![]),
    ] {
        let statements = key_statements(&stack);
        for action in ["kms:DisableKey", "kms:ScheduleKeyDeletion"] {
            let who: Vec<String> = statements
                .iter()
                .filter(|s| s["Effect"] == "Allow" && actions(s).iter().any(|p| covers(p, action)))
                .flat_map(aws_principals)
                .collect();
            assert_eq!(who, expected, "{action}");
        }
    }
    let key = hardened().resource("TokenKey").expect("the key");
    assert_eq!(
        key["DeletionPolicy"], "Retain",
        "the stack never deletes the key itself"
    );
}

#[test]
fn the_functions_use_the_key_only_through_their_services() {
    let stack = hardened();
    let statements = key_statements(&stack);
    let refresh = stack.arn_of("RefreshRole");
    let get_token = stack.arn_of("GetTokenRole");
    let schedule = stack.arn_of("RefreshScheduleRole");
    let parameter_arn = format!(
        "arn:aws:ssm:{}:{}:parameter/orange-production/oauth/access-token",
        super::eval::REGION,
        super::eval::ACCOUNT
    );
    let mut services = BTreeSet::new();
    for statement in &statements {
        let principals = aws_principals(statement);
        if !principals
            .iter()
            .any(|p| [&refresh, &get_token, &schedule].contains(&p))
        {
            continue;
        }
        let via = statement["Condition"]["StringEquals"]["kms:ViaService"]
            .as_str()
            .unwrap_or_else(|| panic!("a role's key use without kms:ViaService: {statement}"));
        services.insert(via.split('.').next().unwrap_or_default().to_owned());
        if via.starts_with("ssm.") {
            assert_eq!(
                statement["Condition"]["StringEquals"]["kms:EncryptionContext:PARAMETER_ARN"],
                parameter_arn.as_str(),
                "SSM use is bound to the token parameter"
            );
        }
        if via.starts_with("secretsmanager.") {
            assert_eq!(
                principals,
                std::slice::from_ref(&refresh),
                "only refresh decrypts the secret"
            );
            assert_eq!(
                actions(statement),
                BTreeSet::from(["kms:Decrypt".to_owned()])
            );
            assert!(
                statement["Condition"]["StringLike"]["kms:EncryptionContext:SecretARN"]
                    .as_str()
                    .is_some_and(
                        |arn| arn.contains(":secret:orange-production/orange-oauth-client-")
                    ),
                "bound to the stack's secret: {statement}"
            );
        }
        if principals.contains(&get_token) {
            assert_eq!(
                actions(statement),
                BTreeSet::from(["kms:Decrypt".to_owned()])
            );
        }
    }
    assert_eq!(
        services,
        ["secretsmanager", "sqs", "ssm"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    // CloudWatch Logs: its service principal, for the two log groups only.
    let logs: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Principal"]["Service"] == "logs.eu-west-1.amazonaws.com")
        .collect();
    assert_eq!(logs.len(), 1);
    let groups = strings(&logs[0]["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]);
    assert_eq!(groups.len(), 2);
    assert!(
        groups
            .iter()
            .all(|arn| arn.contains(":log-group:/aws/lambda/orange-production/"))
    );
    // Nobody else: every principal of the key policy is one of these.
    let known: BTreeSet<String> = [
        stack.root(),
        ADMIN.into(),
        BREAK_GLASS.into(),
        OPERATOR.into(),
        refresh,
        get_token,
        schedule,
    ]
    .into_iter()
    .collect();
    for statement in &statements {
        for principal in aws_principals(statement) {
            assert!(
                known.contains(&principal),
                "unexpected principal {principal}"
            );
        }
    }
}

#[test]
fn secret_operators_only_encrypt_new_values_through_secrets_manager() {
    let stack = hardened();
    let statements = key_statements(&stack);
    let operator: Vec<&Value> = statements
        .iter()
        .filter(|s| aws_principals(s).contains(&OPERATOR.to_owned()))
        .collect();
    assert_eq!(operator.len(), 1);
    assert_eq!(
        actions(operator[0]),
        ["kms:Encrypt", "kms:GenerateDataKey"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    assert_eq!(
        operator[0]["Condition"]["StringEquals"]["kms:ViaService"],
        "secretsmanager.eu-west-1.amazonaws.com"
    );
    // No operators named: no such statement.
    let plain = Stack::new("orange-staging", &[]);
    assert!(
        key_statements(&plain)
            .iter()
            .all(|s| !aws_principals(s).iter().any(|p| p.is_empty())),
        "an empty operator list adds no principal"
    );
}

#[test]
fn only_the_refresh_role_reads_the_secret_value_and_operators_put_new_ones() {
    let stack = hardened();
    let policy = stack
        .resource("CredentialsSecretPolicy")
        .expect("the secret's resource policy");
    assert_eq!(
        policy["Properties"]["SecretId"],
        stack.name_of("CredentialsSecret")
    );
    assert_eq!(policy["Properties"]["BlockPublicPolicy"], true);
    let statements = statements(&policy["Properties"]["ResourcePolicy"]);
    let deny: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Effect"] == "Deny")
        .collect();
    assert_eq!(deny.len(), 1);
    assert_eq!(deny[0]["Principal"], "*");
    assert_eq!(
        actions(deny[0]),
        BTreeSet::from(["secretsmanager:GetSecretValue".to_owned()])
    );
    assert_eq!(
        deny[0]["Condition"],
        json!({"ArnNotEquals": {"aws:PrincipalArn": stack.arn_of("RefreshRole")}})
    );
    let operator = allowed_to(&statements, OPERATOR);
    assert!(operator.contains("secretsmanager:PutSecretValue"));
    assert!(!grants(&operator, "secretsmanager:GetSecretValue"));
    // get-token's role has nothing on the secret (tested statically in main.rs too),
    // and refresh may see when it last changed without reading it.
    let refresh_policy = stack
        .resource("RefreshRolePolicy")
        .expect("refresh's policy");
    let refresh: BTreeSet<String> = statements_of(&refresh_policy)
        .iter()
        .flat_map(actions)
        .collect();
    assert!(refresh.contains("secretsmanager:DescribeSecret"));
}

fn statements_of(policy: &Value) -> Vec<Value> {
    statements(&policy["Properties"]["PolicyDocument"])
}

#[test]
fn the_audit_trail_records_management_events_and_every_invoke_of_the_two_functions() {
    let stack = hardened();
    let trail = stack.resource("AuditTrailResource").expect("the trail");
    let properties = &trail["Properties"];
    assert_eq!(properties["IsLogging"], true);
    assert_eq!(properties["EnableLogFileValidation"], true);
    assert_eq!(properties["IncludeGlobalServiceEvents"], true);
    assert_eq!(properties["S3BucketName"], stack.name_of("AuditBucket"));
    let selectors = properties["AdvancedEventSelectors"]
        .as_array()
        .expect("advanced selectors");
    let field = |selector: &Value, name: &str| -> Vec<String> {
        selector["FieldSelectors"]
            .as_array()
            .expect("field selectors")
            .iter()
            .filter(|f| f["Field"] == name)
            .flat_map(|f| strings(&f["Equals"]))
            .collect()
    };
    // Management events, all of them (reads included): GetSecretValue, Decrypt,
    // PutParameter, DisableKey, ScheduleKeyDeletion, DeleteLogGroup, ...
    let management: Vec<&Value> = selectors
        .iter()
        .filter(|s| field(s, "eventCategory") == ["Management"])
        .collect();
    assert_eq!(management.len(), 1);
    assert_eq!(
        management[0]["FieldSelectors"].as_array().map(Vec::len),
        Some(1),
        "no filter on management events (read-only ones included)"
    );
    let data: Vec<&Value> = selectors
        .iter()
        .filter(|s| field(s, "eventCategory") == ["Data"])
        .collect();
    assert_eq!(data.len(), 1);
    assert_eq!(field(data[0], "resources.type"), ["AWS::Lambda::Function"]);
    assert_eq!(
        field(data[0], "resources.ARN"),
        [
            stack.arn_of("RefreshFunction"),
            stack.arn_of("GetTokenFunction")
        ]
    );
    // Off: no trail and no bucket.
    let off = Stack::new("orange-staging", &[]);
    for id in ["AuditTrailResource", "AuditBucket", "AuditBucketPolicy"] {
        assert!(off.resource(id).is_none(), "{id} without AuditTrail");
    }
}

#[test]
fn the_audit_bucket_locks_encrypts_and_keeps_every_log_file() {
    let stack = hardened();
    let bucket = stack.resource("AuditBucket").expect("the bucket");
    assert_eq!(bucket["DeletionPolicy"], "Retain");
    let properties = &bucket["Properties"];
    assert_eq!(properties["ObjectLockEnabled"], true);
    let retention = &properties["ObjectLockConfiguration"]["Rule"]["DefaultRetention"];
    assert_eq!(
        properties["ObjectLockConfiguration"]["ObjectLockEnabled"],
        "Enabled"
    );
    assert_eq!(retention["Mode"], "COMPLIANCE");
    assert_eq!(retention["Days"], "2192", "six years by default");
    assert_eq!(properties["VersioningConfiguration"]["Status"], "Enabled");
    assert_eq!(
        properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
            ["SSEAlgorithm"],
        "AES256"
    );
    for flag in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(
            properties["PublicAccessBlockConfiguration"][flag], true,
            "{flag}"
        );
    }
    let policy = stack
        .resource("AuditBucketPolicy")
        .expect("the bucket policy");
    let statements = statements(&policy["Properties"]["PolicyDocument"]);
    let tls: Vec<&Value> = statements
        .iter()
        .filter(|s| {
            s["Effect"] == "Deny" && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
        })
        .collect();
    assert_eq!(tls.len(), 1, "TLS only");
    assert_eq!(tls[0]["Principal"], "*");
    // CloudTrail writes only for this stack's trail.
    let trail_arn = format!(
        "arn:aws:cloudtrail:{}:{}:trail/orange-production-audit",
        super::eval::REGION,
        super::eval::ACCOUNT
    );
    for statement in statements.iter().filter(|s| s["Effect"] == "Allow") {
        assert_eq!(
            statement["Principal"]["Service"],
            "cloudtrail.amazonaws.com"
        );
        assert_eq!(
            statement["Condition"]["StringEquals"]["aws:SourceArn"],
            trail_arn.as_str()
        );
    }
    let trail = stack.resource("AuditTrailResource").expect("the trail");
    assert_eq!(trail["Properties"]["TrailName"], "orange-production-audit");
}

#[test]
fn production_environments_turn_the_audit_trail_on() {
    let config = std::fs::read_to_string(workspace_root().join("samconfig.toml"))
        .expect("reading samconfig.toml");
    let overrides = super::samconfig_parameter_overrides(&config);
    let production = overrides
        .get("production")
        .expect("a [production] environment with parameter_overrides");
    assert_eq!(
        production.get("AuditTrail").map(String::as_str),
        Some("true")
    );
}
