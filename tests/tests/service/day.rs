//! A simulated day at the template's defaults (schedule every 4 minutes, threshold 20,
//! buffer 5, hour-long tokens), with an injectable clock: what callers see through
//! get-token while the refresh schedule runs, with and without Orange outages.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use mock_orange::Fault;
use orange_token::clock::ManualClock;

use crate::harness::{GetTokenHarness, GetTokenOptions, RefreshOptions};

const SCHEDULE_MINUTES: i64 = 4;
const BUFFER_SECONDS: i64 = 5 * 60;

struct Day {
    clock: ManualClock,
    start: DateTime<Utc>,
    service: GetTokenHarness,
}

/// What one simulated minute showed a caller.
#[derive(Debug, PartialEq, Eq)]
enum Served {
    Token { expires_in: i64 },
    Unavailable,
}

impl Day {
    async fn new() -> Self {
        // The simulated clock runs after any time the emulator stamps on a secret created
        // now: refresh sees credentials changed only where a test changes them.
        let start = Utc.with_ymd_and_hms(2100, 11, 26, 0, 0, 0).unwrap();
        let clock = ManualClock::new(start);
        let service = GetTokenHarness::with(GetTokenOptions {
            refresh: RefreshOptions {
                clock: Some(clock.clone()),
                ..RefreshOptions::default()
            },
            ..GetTokenOptions::default()
        })
        .await;
        Self {
            clock,
            start,
            service,
        }
    }

    fn minute(&self) -> i64 {
        (self.clock_now() - self.start).num_minutes()
    }

    fn clock_now(&self) -> DateTime<Utc> {
        use orange_token::clock::Clock;
        self.clock.now()
    }

    /// Runs `minutes` of the day: the schedule fires every 4 minutes (`skew_seconds`
    /// late or early), a caller asks for a token every minute. Answers what it saw.
    async fn run(&self, minutes: i64, skew_seconds: i64) -> Vec<(i64, Served)> {
        let mut seen = Vec::new();
        for _ in 0..minutes {
            if self.minute() % SCHEDULE_MINUTES == 0 {
                self.clock.advance(Duration::seconds(skew_seconds));
                let _ = self.service.refresh.scheduled().await;
                self.clock.advance(Duration::seconds(-skew_seconds));
            }
            let served = match self.service.token(json!({"caller": "sms-sender"})).await {
                Ok(token) => Served::Token {
                    expires_in: token.expires_in,
                },
                Err(error) => {
                    assert_eq!(error.error_type(), "TokenUnavailable", "{error}");
                    Served::Unavailable
                }
            };
            seen.push((self.minute(), served));
            self.clock.advance(Duration::minutes(1));
        }
        seen
    }

    /// How many tokens were issued and stored.
    fn tokens_stored(&self) -> usize {
        self.service
            .refresh
            .audit_events()
            .iter()
            .filter(|event| event["event"] == "TOKEN_STORED")
            .count()
    }
}

fn assert_every_answer_had_the_buffer(seen: &[(i64, Served)]) {
    for (minute, served) in seen {
        match served {
            Served::Token { expires_in } => assert!(
                *expires_in >= BUFFER_SECONDS,
                "minute {minute}: a token with {expires_in} s left was served"
            ),
            Served::Unavailable => panic!("minute {minute}: no token was served"),
        }
    }
}

#[tokio::test]
async fn a_day_of_scheduled_runs_requests_one_token_per_renewal_and_never_serves_an_old_one() {
    for skew_seconds in [0, 5, -5] {
        let day = Day::new().await;

        let seen = day.run(24 * 60, skew_seconds).await;

        assert_every_answer_had_the_buffer(&seen);
        // Tokens at minutes 0, 44, 88, ... (renewed at the first run with less than 20
        // minutes left): 33 in a day, each requested exactly once.
        assert_eq!(day.service.token_requests(), 33, "skew {skew_seconds} s");
        assert_eq!(day.tokens_stored(), 33);
        assert_eq!(
            day.service.refresh_invocations(),
            0,
            "get-token never had to renew on its own"
        );
        // A warm instance reads SSM only when its token nears the buffer.
        assert!(
            day.service.store_loads() <= 33 + 1,
            "{}",
            day.service.store_loads()
        );
    }
}

#[tokio::test]
async fn an_outage_shorter_than_threshold_minus_buffer_minus_one_period_is_invisible() {
    let day = Day::new().await;
    // The token of minute 0 reaches the threshold at minute 40; the run of minute 44
    // would renew it. Orange goes down at minute 41, the worst moment, for 11 minutes
    // (20 - 5 - 4): the runs of minutes 44, 48 fail, the run of minute 52 succeeds.
    day.run(41, 0).await;
    day.service
        .refresh
        .mock
        .set_sticky_fault(Some(Fault::Status { status: 503 }));
    let during = day.run(11, 0).await;
    day.service.refresh.mock.set_sticky_fault(None);
    let after = day.run(60, 0).await;

    assert_every_answer_had_the_buffer(&during);
    assert_every_answer_had_the_buffer(&after);
    assert_eq!(day.tokens_stored(), 3, "minutes 0, 52 and 96");
}

#[tokio::test]
async fn a_longer_outage_turns_into_token_unavailable_only_when_the_last_token_is_too_old() {
    let day = Day::new().await;
    day.run(41, 0).await;
    day.service
        .refresh
        .mock
        .set_sticky_fault(Some(Fault::Status { status: 503 }));
    let during = day.run(30, 0).await; // minutes 41 to 70
    day.service.refresh.mock.set_sticky_fault(None);
    let after = day.run(10, 0).await; // minutes 71 to 80

    // The token of minute 0 expires at minute 60: it is served until minute 55, when it
    // has exactly the buffer left, and never after.
    for (minute, served) in &during {
        if *minute <= 55 {
            assert!(
                matches!(served, Served::Token { expires_in } if *expires_in >= BUFFER_SECONDS),
                "minute {minute}: {served:?}"
            );
        } else {
            assert_eq!(*served, Served::Unavailable, "minute {minute}");
        }
    }
    // The first run after the outage (minute 72) renews; the caller of minute 71 still
    // waits on get-token's own renewal, which succeeds as Orange is back.
    assert_every_answer_had_the_buffer(&after);
    let unavailable: Vec<_> = day
        .service
        .audit_events_named("TOKEN_UNAVAILABLE")
        .into_iter()
        .map(|event| event["caller"].clone())
        .collect();
    assert_eq!(unavailable.len(), 15, "minutes 56 to 70");
    assert!(unavailable.iter().all(|caller| caller == "sms-sender"));
}
