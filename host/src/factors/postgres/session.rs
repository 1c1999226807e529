//! Whether a pooled connection may carry a guest's transaction out of its request.
//!
//! A guest can end without closing what it opened: killed by the deadline between
//! `BEGIN` and `COMMIT`, trapped, or dropped with a statement still in flight. Handed to
//! the next request as it is, that connection's `BEGIN` would be a warning and its
//! `COMMIT` would commit the dead request's rows (and its row locks would leak with it).
//! So the connection remembers whether its session may be inside a transaction, and one
//! that may be is rolled back before the pool sees it again.

use crate::factors::sql_words::leading_words;

/// What a statement does to the session's transaction, read from its leading words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// `BEGIN`, `START TRANSACTION`, `COMMIT AND CHAIN`, `ROLLBACK AND CHAIN`.
    Opens,
    /// `COMMIT`, `END`, `ROLLBACK`, `ABORT`, `PREPARE TRANSACTION`: back to autocommit
    /// once it succeeds.
    Closes,
    /// Anything else, `ROLLBACK TO SAVEPOINT` included: no change.
    Neither,
}

fn effect(sql: &str) -> Effect {
    // Most statements are queries and writes: decided by their first word, and only
    // transaction control is read further.
    let first = leading_words(sql, 1);
    if !matches!(
        first.first().map(String::as_str),
        Some("BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "PREPARE")
    ) {
        return Effect::Neither;
    }
    let words = leading_words(sql, 4);
    let word = |i: usize| words.get(i).map(String::as_str);
    let chained = words.iter().skip(1).any(|w| w == "CHAIN");
    match word(0) {
        Some("BEGIN") | Some("START") => Effect::Opens,
        Some("COMMIT") | Some("END") | Some("ROLLBACK") | Some("ABORT") => {
            if chained {
                Effect::Opens
            } else if word(0) == Some("ROLLBACK") && words.iter().any(|w| w == "TO") {
                Effect::Neither
            } else if word(1) == Some("PREPARED") {
                // `COMMIT PREPARED 'id'` finishes another session's prepared transaction.
                Effect::Neither
            } else {
                Effect::Closes
            }
        }
        Some("PREPARE") if word(1) == Some("TRANSACTION") => Effect::Closes,
        _ => Effect::Neither,
    }
}

/// The transaction state of one pooled session as far as the host can know it.
#[derive(Debug, Default)]
pub struct Session {
    in_transaction: bool,
    in_flight: bool,
}

impl Session {
    /// Call before sending `sql`; a statement whose answer never arrives leaves the
    /// session unknown, which counts as inside a transaction.
    pub fn sending(&mut self, sql: &str) -> Statement {
        let effect = effect(sql);
        if effect == Effect::Opens {
            self.in_transaction = true;
        }
        self.in_flight = true;
        Statement(effect)
    }

    /// Call once the server has answered the statement `sending` returned.
    pub fn answered(&mut self, statement: Statement, succeeded: bool) {
        self.in_flight = false;
        if statement.0 == Effect::Closes && succeeded {
            self.in_transaction = false;
        }
    }

    /// Whether the connection must be rolled back before another request may use it.
    pub fn needs_rollback(&self) -> bool {
        self.in_transaction || self.in_flight
    }
}

/// A statement on its way to the server (see [`Session::sending`]).
#[must_use]
pub struct Statement(Effect);

#[cfg(test)]
mod tests {
    use super::*;

    fn run(session: &mut Session, sql: &str, succeeded: bool) {
        let statement = session.sending(sql);
        session.answered(statement, succeeded);
    }

    #[test]
    fn autocommit_statements_leave_the_session_clean() {
        let mut s = Session::default();
        for sql in [
            "SELECT 1",
            "INSERT INTO t VALUES (1)",
            "CREATE TABLE t (x int)",
        ] {
            run(&mut s, sql, true);
        }
        assert!(!s.needs_rollback());
    }

    #[test]
    fn an_unfinished_transaction_is_rolled_back() {
        let mut s = Session::default();
        run(&mut s, "  /* lock */ begin", true);
        run(&mut s, "INSERT INTO t VALUES (1)", true);
        assert!(s.needs_rollback());
        run(&mut s, "COMMIT", true);
        assert!(!s.needs_rollback());
        run(
            &mut s,
            "START TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            true,
        );
        assert!(s.needs_rollback());
    }

    #[test]
    fn only_a_successful_end_closes_the_transaction() {
        let mut s = Session::default();
        run(&mut s, "BEGIN", true);
        run(&mut s, "COMMIT", false);
        assert!(s.needs_rollback());
        run(&mut s, "ROLLBACK", true);
        assert!(!s.needs_rollback());
    }

    #[test]
    fn savepoints_and_chains_keep_the_transaction_open() {
        let mut s = Session::default();
        run(&mut s, "BEGIN", true);
        run(&mut s, "ROLLBACK TO SAVEPOINT a", true);
        assert!(s.needs_rollback());
        run(&mut s, "COMMIT AND CHAIN", true);
        assert!(s.needs_rollback());
        run(&mut s, "end transaction", true);
        assert!(!s.needs_rollback());
    }

    #[test]
    fn a_statement_without_an_answer_leaves_the_session_unknown() {
        let mut s = Session::default();
        let _in_flight = s.sending("SELECT pg_sleep(10)");
        assert!(s.needs_rollback());
    }
}
