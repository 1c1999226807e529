use std::fmt;

/// A value bound to or read from a statement. Money never travels as a float, so there
/// is deliberately no floating-point variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    Integer(i64),
    Text(String),
    Blob(Vec<u8>),
    Null,
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Integer(v)
    }
}

impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(v.to_string())
    }
}

impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(v)
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(SqlValue::Null, Into::into)
    }
}

/// Which database sits behind an executor; repositories pick SQL that suits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbError {
    /// A uniqueness or check constraint refused the write.
    Constraint(String),
    /// A stored value did not have the expected type or range.
    Decode(String),
    /// Anything else the database reported (I/O, lock timeout, connection).
    Other(String),
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Constraint(m) => write!(f, "constraint violated: {m}"),
            DbError::Decode(m) => write!(f, "unexpected stored value: {m}"),
            DbError::Other(m) => write!(f, "database error: {m}"),
        }
    }
}

impl std::error::Error for DbError {}

/// One result row with its column names.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    columns: &'a [String],
    values: &'a [SqlValue],
}

impl Row<'_> {
    fn value(&self, column: &str) -> Result<&SqlValue, DbError> {
        self.columns
            .iter()
            .position(|c| c == column)
            .map(|i| &self.values[i])
            .ok_or_else(|| DbError::Decode(format!("no column `{column}` in result")))
    }

    pub fn i64(&self, column: &str) -> Result<i64, DbError> {
        match self.value(column)? {
            SqlValue::Integer(v) => Ok(*v),
            other => Err(DbError::Decode(format!(
                "`{column}` is {other:?}, expected integer"
            ))),
        }
    }

    pub fn u64(&self, column: &str) -> Result<u64, DbError> {
        let v = self.i64(column)?;
        u64::try_from(v).map_err(|_| DbError::Decode(format!("`{column}` is negative ({v})")))
    }

    pub fn text(&self, column: &str) -> Result<String, DbError> {
        match self.value(column)? {
            SqlValue::Text(v) => Ok(v.clone()),
            other => Err(DbError::Decode(format!(
                "`{column}` is {other:?}, expected text"
            ))),
        }
    }

    pub fn opt_i64(&self, column: &str) -> Result<Option<i64>, DbError> {
        match self.value(column)? {
            SqlValue::Null => Ok(None),
            _ => self.i64(column).map(Some),
        }
    }

    pub fn opt_text(&self, column: &str) -> Result<Option<String>, DbError> {
        match self.value(column)? {
            SqlValue::Null => Ok(None),
            _ => self.text(column).map(Some),
        }
    }
}

/// The rows a statement returned (empty for statements that return none).
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<SqlValue>>,
}

impl Rows {
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|values| Row {
            columns: &self.columns,
            values,
        })
    }

    pub fn first(&self) -> Option<Row<'_>> {
        self.iter().next()
    }
}

/// Runs one statement with positional parameters written `?1`, `?2`, ... (the Postgres
/// adapter rewrites them to `$1`, `$2`, ...). The caller says which kind it sends, so
/// each adapter can use the host call made for it: on Spin 4.0.0–4.0.2, a Postgres
/// `query` that yields no rows never returns (DESIGN.md §15).
pub trait SqlExecutor {
    fn backend(&self) -> Backend;
    /// A statement with result rows: a `SELECT`, or a write with `RETURNING`.
    fn query(&self, statement: &str, params: &[SqlValue]) -> Result<Rows, DbError>;
    /// A statement without result rows: transaction control, a write without
    /// `RETURNING`, a pragma or DDL.
    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<(), DbError>;
}

/// `?from, ?from+1, ...` for `n` parameters (an `IN (...)` list).
pub fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Most parameters one statement binds here: under SQLite's limit (32,766 since 3.32)
/// and Postgres's (65,535).
pub const MAX_PARAMS_PER_STATEMENT: usize = 30_000;

/// How many rows of `width` parameters one multi-row statement may carry.
pub fn rows_per_statement(width: usize) -> usize {
    (MAX_PARAMS_PER_STATEMENT / width.max(1)).max(1)
}

/// The placeholders of a multi-row `VALUES` list: `rows` rows of `width` parameters,
/// numbered from `?1`, one `Vec` per row.
pub fn row_placeholders(rows: usize, width: usize) -> impl Iterator<Item = Vec<String>> {
    (0..rows).map(move |r| (1..=width).map(|c| format!("?{}", r * width + c)).collect())
}

/// Rewrites the `?N` placeholders the repositories use into Postgres's `$N`, leaving
/// anything inside string literals alone.
pub fn postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut in_literal = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_literal = !in_literal;
                out.push(c);
            }
            '?' if !in_literal && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{placeholders, postgres_placeholders, row_placeholders};

    #[test]
    fn placeholders_number_from_the_given_index() {
        assert_eq!(placeholders(3, 3), "?3, ?4, ?5");
        let rows: Vec<Vec<String>> = row_placeholders(2, 2).collect();
        assert_eq!(rows, [["?1", "?2"], ["?3", "?4"]]);
    }

    #[test]
    fn rewrites_numbered_placeholders_outside_literals() {
        assert_eq!(
            postgres_placeholders("SELECT ?1, '?2', ?12 FROM t WHERE a = ?2 AND b = '?'"),
            "SELECT $1, '?2', $12 FROM t WHERE a = $2 AND b = '?'"
        );
    }
}
