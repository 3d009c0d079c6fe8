//! The report rendered from a fixture: every target a row, every figure of the notes
//! filled in.

use super::*;
use crate::lambda::{Checkpoint, ColdStarts, MemoryRun};

fn summary(p50_ns: f64) -> Summary {
    let mut samples = vec![p50_ns; 99];
    samples.push(p50_ns * 2.0);
    Summary::of(&mut samples).unwrap()
}

fn function(name: &str, growth_kib: i64) -> FunctionResults {
    let cold = ColdStarts {
        init_ms: vec![2.0, 2.5, 3.0],
        first_answer_ms: vec![5.0, 6.0, 7.0],
        init_cpu_ms: vec![1.9; 3],
        first_answer_cpu_ms: vec![2.4; 3],
    };
    let checkpoint = |invocations, kib| Checkpoint {
        invocations,
        vm_hwm_kib: kib,
        vm_rss_kib: kib,
    };
    FunctionResults {
        name: name.to_owned(),
        cold_without_root_certificates: (name == "get-token").then(|| cold.clone()),
        cold,
        memory: MemoryRun {
            invocations: 10_000,
            checkpoints: vec![
                checkpoint(1, 8_000),
                checkpoint(1_000, 8_100),
                checkpoint(10_000, 8_100 + growth_kib as u64),
            ],
            peak_kib: 8_100 + growth_kib as u64,
            growth_after_warmup_kib: growth_kib,
            warmup_invocations: 1_000,
            warm_invocation: summary(150_000.0),
        },
    }
}

fn results(refresh_growth_kib: i64) -> Results {
    let interval = |ns: f64| Estimate {
        point_estimate: ns,
        confidence_interval: Interval {
            confidence_level: 0.95,
            lower_bound: ns * 0.9,
            upper_bound: ns * 1.1,
        },
    };
    let tail = |stdout: &str| WarmHitTail {
        summary: summary(2_000.0),
        stdout: stdout.to_owned(),
        store_reads: 1,
        refresh_invokes: 0,
    };
    Results {
        machine: Machine::default(),
        build_seconds: Some(250),
        criterion: BENCHMARKS
            .iter()
            .map(|b| {
                (
                    b,
                    Estimates {
                        mean: interval(60.0),
                        median: interval(61.0),
                    },
                )
            })
            .collect(),
        tail: tail("character device"),
        tail_pipe: Some(tail("pipe")),
        lambda: LambdaResults {
            arch: "x86_64".to_owned(),
            functions: vec![
                function("get-token", 0),
                function("refresh", refresh_growth_kib),
            ],
            emulator_read_median_ms: 2.2,
        },
        sizes: vec![Size {
            arch: "x86_64",
            function: "get-token",
            bootstrap: 6_600_000,
            zip: 2_650_000,
        }],
        load_test: Some("test result: ok. 2 passed".to_owned()),
        typescript: Some(TypeScriptResults {
            batch: 1000,
            node: "v20".to_owned(),
            typescript_cached_hit: summary(80.0),
            original_design_hit: summary(5_000.0),
        }),
        python: None,
    }
}

#[test]
fn every_target_is_a_row_and_every_figure_is_filled_in() {
    let report = render(&results(32));
    assert!(
        report.contains("Every target is met in this run."),
        "{report}"
    );
    assert!(report.contains("| caller library, cached hit"), "{report}");
    assert!(report.contains("61 ns (55 ns – 67 ns)"), "{report}");
    assert!(
        report.contains("+32 KiB: 16 MiB after ≈ 2.3 million invocations"),
        "{report}"
    );
    assert!(
        report.contains("expiresAt.minus({ minutes: 5 })"),
        "{report}"
    );
    assert!(report.contains("27.8 days"), "{report}");
    assert!(!report.contains(sections::MISSING), "{report}");
    let unfilled = report.split('{').skip(1).filter(|rest| {
        rest.split_once('}').is_some_and(|(name, _)| {
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        })
    });
    assert_eq!(unfilled.count(), 0, "{report}");
}

#[test]
fn a_leak_misses_the_growth_target() {
    // 170 bytes per invocation over 9,000 invocations.
    let report = render(&results(1_500));
    assert!(
        report.contains("Missed in this run: refresh memory growth"),
        "{report}"
    );
}
