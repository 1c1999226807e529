//! What a guest's statement means for the writer queue and for reusing its connection,
//! read from its leading keywords (comments and whitespace skipped).

use crate::factors::sql_words::leading_words;

/// Connection state a statement leaves behind that a fresh connection would not have,
/// from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Residue {
    /// Nothing beyond the data.
    None,
    /// `PRAGMA synchronous` or `PRAGMA busy_timeout`: reset before the connection is reused.
    ResettablePragma,
    /// Any other pragma, or a TEMP object: the connection is closed, not reused.
    Unresettable,
}

/// `BEGIN IMMEDIATE` or `BEGIN EXCLUSIVE`: a transaction that takes the write lock at
/// once (SQLite counts transaction control as read-only, so its text tells).
pub fn begins_write_transaction(sql: &str) -> bool {
    let words = leading_words(sql, 2);
    matches!(words.as_slice(), [begin, mode] if begin == "BEGIN" && (mode == "IMMEDIATE" || mode == "EXCLUSIVE"))
}

pub fn residue(sql: &str) -> Residue {
    let words = leading_words(sql, 2);
    match words.as_slice() {
        [pragma, name, ..] if pragma == "PRAGMA" => {
            let name = name.rsplit('.').next().unwrap_or(name);
            if name == "SYNCHRONOUS" || name == "BUSY_TIMEOUT" {
                Residue::ResettablePragma
            } else {
                Residue::Unresettable
            }
        }
        [pragma] if pragma == "PRAGMA" => Residue::Unresettable,
        [create, temp, ..] if create == "CREATE" && (temp == "TEMP" || temp == "TEMPORARY") => {
            Residue::Unresettable
        }
        _ => Residue::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_transactions_are_named_by_their_mode() {
        assert!(begins_write_transaction("BEGIN IMMEDIATE"));
        assert!(begins_write_transaction(
            "  -- lock now\n begin exclusive transaction"
        ));
        assert!(begins_write_transaction("/* x */BEGIN immediate;"));
        assert!(!begins_write_transaction("BEGIN"));
        assert!(!begins_write_transaction("BEGIN DEFERRED"));
        assert!(!begins_write_transaction("SELECT 'BEGIN IMMEDIATE'"));
        assert!(!begins_write_transaction(""));
    }

    #[test]
    fn pragmas_and_temp_objects_leave_residue() {
        assert_eq!(
            residue("PRAGMA synchronous = NORMAL"),
            Residue::ResettablePragma
        );
        assert_eq!(
            residue("pragma main.busy_timeout=5000"),
            Residue::ResettablePragma
        );
        assert_eq!(residue("PRAGMA foreign_keys = OFF"), Residue::Unresettable);
        assert_eq!(residue("PRAGMA"), Residue::Unresettable);
        assert_eq!(residue("CREATE TEMP TABLE t (x)"), Residue::Unresettable);
        assert_eq!(
            residue("create temporary view v as select 1"),
            Residue::Unresettable
        );
        assert_eq!(residue("CREATE TABLE t (x)"), Residue::None);
        assert_eq!(residue("INSERT INTO t VALUES ('PRAGMA x')"), Residue::None);
    }
}
