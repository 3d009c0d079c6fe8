//! The functions' `tracing` subscriber: `lambda_runtime`'s default one without
//! `EnvFilter`, whose regular-expression engine was about 200 KiB of each deployable.

use std::str::FromStr;

use tracing_subscriber::filter::{LevelFilter, Targets};

/// Sets up `tracing` as `lambda_runtime::tracing::init_default_subscriber` does: to
/// standard output, no target, time or colours (Lambda adds its own time), JSON when
/// `AWS_LAMBDA_LOG_FORMAT` is `JSON`, at the level of `AWS_LAMBDA_LOG_LEVEL` (the
/// template's log level), else of `RUST_LOG` (a level, or `target=level` directives),
/// else `INFO`.
pub fn init_tracing() {
    let filter = log_filter(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
    );
    let subscriber = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_writer(std::io::stdout);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    // A subscriber already set (a test's) is left in place.
    let _ = if json {
        tracing::subscriber::set_global_default(tracing_subscriber::layer::SubscriberExt::with(
            subscriber.json().finish(),
            filter,
        ))
    } else {
        tracing::subscriber::set_global_default(tracing_subscriber::layer::SubscriberExt::with(
            subscriber.finish(),
            filter,
        ))
    };
}

/// The filter for a Lambda log level (`TRACE` to `FATAL`) or, without one, `RUST_LOG`.
fn log_filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> Targets {
    let level = |name: &str| match name.trim().to_ascii_uppercase().as_str() {
        // Lambda's FATAL is tracing's ERROR; tracing has no level above it.
        "FATAL" => Some(LevelFilter::ERROR),
        other => LevelFilter::from_str(other).ok(),
    };
    if let Some(level) = lambda_level.and_then(level) {
        return Targets::new().with_default(level);
    }
    rust_log
        .and_then(|directives| Targets::from_str(directives).ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_level_comes_from_lambda_then_rust_log_then_info() {
        use tracing::Level;
        let enabled = |filter: &Targets, level: Level| filter.would_enable("get_token", &level);

        let lambda = log_filter(Some("WARN"), Some("trace"));
        assert!(enabled(&lambda, Level::WARN) && !enabled(&lambda, Level::INFO));
        let fatal = log_filter(Some("FATAL"), None);
        assert!(enabled(&fatal, Level::ERROR) && !enabled(&fatal, Level::WARN));
        let debug = log_filter(None, Some("debug"));
        assert!(enabled(&debug, Level::DEBUG) && !enabled(&debug, Level::TRACE));
        let per_target = log_filter(None, Some("info,get_token=trace"));
        assert!(enabled(&per_target, Level::TRACE));
        assert!(!per_target.would_enable("hyper", &Level::DEBUG));
        let default = log_filter(Some("nonsense"), None);
        assert!(enabled(&default, Level::INFO) && !enabled(&default, Level::DEBUG));
    }
}
