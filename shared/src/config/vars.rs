//! Reading one variable: where values come from, and the shapes they take (optional,
//! required, a whole number in a range, minutes, a boolean).

use std::time::Duration;

use super::ConfigError;

/// Where configuration values come from: the process environment in production,
/// a map in tests.
pub trait VarSource {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl VarSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<F: Fn(&str) -> Option<String>> VarSource for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// The variable's value, trimmed; `None` when unset or blank.
pub(super) fn optional(vars: &impl VarSource, name: &str) -> Option<String> {
    vars.var(name)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// The variable's value, trimmed; [`ConfigError::Missing`] when unset or blank.
pub(super) fn required(
    vars: &impl VarSource,
    variable: &'static str,
) -> Result<String, ConfigError> {
    optional(vars, variable).ok_or(ConfigError::Missing { variable })
}

pub(super) fn whole_number(
    vars: &impl VarSource,
    variable: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let Some(value) = optional(vars, variable) else {
        return Ok(default);
    };
    match value.parse::<u64>() {
        Ok(number) if range.contains(&number) => Ok(number),
        _ => Err(ConfigError::Invalid {
            variable,
            reason: format!(
                "expected a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        }),
    }
}

pub(super) fn minutes(
    vars: &impl VarSource,
    variable: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    whole_number(vars, variable, default, range).map(|m| Duration::from_secs(m * 60))
}

pub(super) fn boolean(
    vars: &impl VarSource,
    variable: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match optional(vars, variable) {
        None => Ok(default),
        Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
        Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(ConfigError::Invalid {
            variable,
            reason: "expected true or false".to_owned(),
        }),
    }
}
