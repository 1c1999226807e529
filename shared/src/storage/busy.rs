//! Waiting for SQLite's write lock in the component rather than in SQLite's busy handler.
//!
//! The busy handler behind rusqlite's 5 s timeout sleeps 1, 2, 5, 10 … 100 ms between
//! tries, while a write transaction holds the lock for well under a millisecond: under a
//! burst, waiting writers sleep long after the lock is free again and the lock sits idle.
//! A writer that asks again after tens of microseconds, growing to a few milliseconds,
//! takes it as soon as it is free. Jitter keeps the waiters from asking in step.

use std::time::Duration;

/// How long a writer waits for the lock in all, as rusqlite's default busy timeout does.
pub const BUSY_WAIT_LIMIT: Duration = Duration::from_secs(5);

const FIRST_WAIT: Duration = Duration::from_micros(50);
const LONGEST_WAIT: Duration = Duration::from_millis(4);

/// The waits between tries for one statement: each a random share (between half and
/// all) of a step that doubles from 50 µs to 4 ms, until [`BUSY_WAIT_LIMIT`] is spent.
pub struct Backoff {
    step: Duration,
    waited: Duration,
    random: u64,
}

impl Backoff {
    /// `seed` only spreads the waits of concurrent writers; any value will do.
    pub fn new(seed: u64) -> Self {
        Self {
            step: FIRST_WAIT,
            waited: Duration::ZERO,
            // xorshift needs a state other than zero.
            random: seed | 1,
        }
    }

    /// The next wait, or `None` once the limit is spent (the caller then reports the lock
    /// as held).
    pub fn next_wait(&mut self) -> Option<Duration> {
        if self.waited >= BUSY_WAIT_LIMIT {
            return None;
        }
        let step = self.step.as_nanos() as u64;
        let wait = Duration::from_nanos(step / 2 + self.next_random() % (step / 2 + 1));
        let wait = wait.min(BUSY_WAIT_LIMIT - self.waited);
        self.waited += wait;
        self.step = (self.step * 2).min(LONGEST_WAIT);
        Some(wait)
    }

    fn next_random(&mut self) -> u64 {
        let mut x = self.random;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.random = x;
        x
    }
}

/// Whether SQLite refused a statement because another connection holds the lock
/// (`SQLITE_BUSY`). Spin reports SQLite errors as text only (`io(string)`), so the text
/// is all there is to go by.
pub fn is_busy(message: &str) -> bool {
    message.contains("database is locked")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_from_microseconds_to_a_few_milliseconds() {
        let mut backoff = Backoff::new(7);
        let waits: Vec<Duration> = (0..10).map(|_| backoff.next_wait().unwrap()).collect();
        assert!(waits[0] >= Duration::from_micros(25) && waits[0] <= FIRST_WAIT);
        assert!(waits[1] >= Duration::from_micros(50) && waits[1] <= FIRST_WAIT * 2);
        for wait in &waits[7..] {
            assert!(
                *wait >= LONGEST_WAIT / 2 && *wait <= LONGEST_WAIT,
                "{wait:?}"
            );
        }
    }

    #[test]
    fn gives_up_after_the_limit_having_waited_exactly_that_long() {
        let mut backoff = Backoff::new(0);
        let mut total = Duration::ZERO;
        let mut tries = 0;
        while let Some(wait) = backoff.next_wait() {
            total += wait;
            tries += 1;
            assert!(tries < 10_000, "never gave up");
        }
        assert_eq!(total, BUSY_WAIT_LIMIT);
        assert!(backoff.next_wait().is_none());
    }

    #[test]
    fn concurrent_writers_do_not_wait_in_step() {
        let mut a = Backoff::new(1);
        let mut b = Backoff::new(2);
        let differ = (0..8).filter(|_| a.next_wait() != b.next_wait()).count();
        assert!(differ >= 6, "{differ} of 8 waits differ");
    }

    #[test]
    fn knows_sqlite_busy_by_its_message() {
        assert!(is_busy("database is locked"));
        assert!(is_busy("Io(\"database is locked\")"));
        assert!(!is_busy("UNIQUE constraint failed: pledges.id"));
    }
}
