//! `bench`: the measurements under a local Lambda Runtime API, and the report.
//! `scripts/bench.sh` runs them, after `cargo bench -p bench` (the in-process benchmarks).
//!
//! ```text
//! bench lambda --lambda-dir DIR --out FILE [--runs N] [--invocations N]
//!     (needs AWS_ENDPOINT_URL: the local AWS emulator, on loopback)
//! bench report --results DIR --lambda-root DIR --out docs/performance.md [--build-seconds S]
//! ```

use std::collections::HashMap;
use std::path::PathBuf;

const USAGE: &str = "usage: bench lambda --lambda-dir DIR --out FILE [--runs N] [--invocations N] | \
bench report --results DIR --lambda-root DIR --out FILE [--build-seconds S]";

fn main() {
    if let Err(error) = run() {
        eprintln!("bench: {error}");
        std::process::exit(1);
    }
}

/// `COMMAND --name value ...`
struct Args {
    command: String,
    options: HashMap<String, String>,
}

impl Args {
    fn parse() -> Result<Self, String> {
        let mut args = std::env::args().skip(1);
        let command = args.next().ok_or(USAGE)?;
        let mut options = HashMap::new();
        while let Some(arg) = args.next() {
            let name = arg
                .strip_prefix("--")
                .ok_or(format!("unexpected argument {arg:?}\n{USAGE}"))?;
            let value = args.next().ok_or(format!("--{name} needs a value"))?;
            options.insert(name.to_owned(), value);
        }
        Ok(Self { command, options })
    }

    fn path(&self, name: &str) -> Result<PathBuf, String> {
        self.options
            .get(name)
            .map(PathBuf::from)
            .ok_or(format!("--{name} is required\n{USAGE}"))
    }

    fn number(&self, name: &str) -> Result<Option<usize>, String> {
        self.options
            .get(name)
            .map(|value| {
                value
                    .parse()
                    .map_err(|_| format!("--{name} must be a whole number"))
            })
            .transpose()
    }
}

fn write(path: &PathBuf, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn run() -> Result<(), String> {
    let args = Args::parse()?;
    match args.command.as_str() {
        "lambda" => {
            let runs = args.number("runs")?.unwrap_or(20);
            let invocations = args.number("invocations")?.unwrap_or(10_000);
            let results = bench::functions::measure(&args.path("lambda-dir")?, runs, invocations)?;
            let json = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
            write(&args.path("out")?, &json)
        }
        "report" => {
            let build_seconds = args.number("build-seconds")?;
            let results = bench::report::Results::read(
                &args.path("results")?,
                &args.path("lambda-root")?,
                build_seconds,
            )?;
            let markdown = bench::report::render(&results);
            write(&args.path("out")?, &markdown)?;
            println!("{markdown}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}
