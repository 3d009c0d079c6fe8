//! `scripts/preflight.sh` against a stand-in `aws` (canned answers, no network): it
//! passes an account with room for refresh's reserved concurrency, refuses a new
//! account's quota of 10 with what to do, and prints the role ARN to name in the key
//! and secret policies.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use super::workspace_root;

fn fake_aws(unreserved: u32, total: u32) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "orange-preflight-{}-{unreserved}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let script = format!(
        r#"#!/usr/bin/env bash
case "$*" in
  --version) echo "aws-cli/2.17.0 Python/3.11.9 Linux/6.1 exe/x86_64" ;;
  "sts get-caller-identity"*) echo '{{"UserId":"AROAEXAMPLE:me","Account":"123456789012","Arn":"arn:aws:sts::123456789012:assumed-role/platform-admin/me"}}' ;;
  "lambda get-account-settings"*) echo '{{"AccountLimit":{{"ConcurrentExecutions":{total},"UnreservedConcurrentExecutions":{unreserved}}}}}' ;;
  "iam get-role"*) echo "arn:aws:iam::123456789012:role/ops/platform-admin" ;;
  *) exit 254 ;;
esac
"#
    );
    let path = dir.join("aws");
    std::fs::write(&path, script).expect("writing the stand-in aws");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

fn preflight(unreserved: u32, total: u32) -> String {
    let dir = fake_aws(unreserved, total);
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .arg(workspace_root().join("scripts/preflight.sh"))
        .args([
            "--stack",
            "orange-staging",
            "--region",
            "eu-west-1",
            "--architecture",
            "x86_64",
        ])
        .env("PATH", path)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("running scripts/preflight.sh");
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn preflight_refuses_a_new_accounts_concurrency_quota_and_passes_a_larger_one() {
    let refused = preflight(10, 10);
    assert!(
        refused.contains("FAIL  Lambda concurrency: 10 unreserved of 10"),
        "{refused}"
    );
    assert!(
        refused.contains("Service Quotas"),
        "it says what to do:\n{refused}"
    );
    let passed = preflight(990, 1000);
    assert!(
        passed.contains("ok    Lambda concurrency: 990 unreserved of 1000 (needs >= 11)"),
        "{passed}"
    );
    assert!(passed.contains("ok    AWS CLI v2"), "{passed}");
    assert!(passed.contains("ok    region eu-west-1"), "{passed}");
    // The role's ARN (with its path), not the session's, goes into the policies.
    assert!(
        passed.contains("arn:aws:iam::123456789012:role/ops/platform-admin"),
        "{passed}"
    );
}
