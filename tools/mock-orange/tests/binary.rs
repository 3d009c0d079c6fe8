//! The `mock-orange` binary: flags, readiness line, logging, SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

#[tokio::test]
async fn binary_serves_logs_safely_and_stops_on_sigterm() {
    let secret = "bin-secret-6f1e";
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-orange"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--client-id",
            "bin-client",
            "--expires-in",
            "90",
            "--rate-limit",
            "100/60",
        ])
        .env("MOCK_ORANGE_CLIENT_SECRET", secret)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("mock-orange listening on ")
        .unwrap_or_else(|| panic!("unexpected banner: {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/oauth/v3/token"));
    let base = url.trim_end_matches("/oauth/v3/token").to_string();

    let client = reqwest::Client::new();
    let authorization = format!("Basic {}", STANDARD.encode(format!("bin-client:{secret}")));
    let answer: serde_json::Value = client
        .post(&url)
        .header("Authorization", &authorization)
        .header("Accept", "application/json")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["expires_in"], 90);
    let token = answer["access_token"].as_str().unwrap().to_string();

    let queued = client
        .post(format!("{base}/_mock/faults"))
        .body(r#"{"kind":"status","status":503}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status(), 200);
    let faulted = client
        .post(&url)
        .header("Authorization", &authorization)
        .header("Accept", "application/json")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(faulted.status(), 503);
    let stats: serde_json::Value = client
        .get(format!("{base}/_mock/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["token_requests"], 2);
    assert_eq!(stats["issued_token_ids"][0], mock_orange::token_id(&token));

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let Some(exit) = exited else {
        let _ = child.kill();
        panic!("mock-orange did not stop on SIGTERM");
    };
    assert!(exit.success(), "{exit:?}");

    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("POST /oauth/v3/token -> 200"), "{stderr}");
    assert!(
        stderr.contains("POST /oauth/v3/token -> 503 fault=status"),
        "{stderr}"
    );
    assert!(!stderr.contains(secret), "{stderr}");
    assert!(!stderr.contains(&token), "{stderr}");
    assert!(!stderr.contains(&authorization), "{stderr}");
    assert!(!stderr.contains(&STANDARD.encode(format!("bin-client:{secret}"))));
}

#[test]
fn binary_refuses_a_non_loopback_address() {
    let output = Command::new(env!("CARGO_BIN_EXE_mock-orange"))
        .args(["--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("loopback"));
}
