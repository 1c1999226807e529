use anyhow::{Context, Result};

/// A database created on the local Postgres server for one test and dropped after it.
pub struct TempPgDatabase {
    pub name: String,
}

const ADMIN_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=postgres";

async fn admin() -> Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(ADMIN_URL, tokio_postgres::NoTls)
        .await
        .context("connect to the local Postgres at 127.0.0.1:5432 as postgres")?;
    tokio::spawn(conn);
    Ok(client)
}

impl TempPgDatabase {
    pub async fn create() -> Result<Self> {
        let name = format!("cfa_test_{}", uuid::Uuid::new_v4().simple());
        admin()
            .await?
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        Ok(Self { name })
    }

    /// The address a component opens, in the URL form Spin takes.
    pub fn url(&self) -> String {
        // Plaintext on loopback; `sslmode` left to its default would try TLS, and the
        // server's certificate names `localhost`, not `127.0.0.1`.
        format!(
            "postgres://postgres@127.0.0.1:5432/{}?sslmode=disable",
            self.name
        )
    }

    async fn connect(&self) -> Result<tokio_postgres::Client> {
        let (client, conn) = tokio_postgres::connect(
            &format!(
                "host=127.0.0.1 port=5432 user=postgres dbname={}",
                self.name
            ),
            tokio_postgres::NoTls,
        )
        .await
        .with_context(|| format!("connect to {}", self.name))?;
        tokio::spawn(conn);
        Ok(client)
    }

    /// Applies the app's Postgres schema, in order.
    pub async fn migrate(&self) -> Result<()> {
        let client = self.connect().await?;
        for (name, sql) in careforall::storage::migrations::POSTGRES {
            client
                .batch_execute(sql)
                .await
                .with_context(|| format!("migration {name}"))?;
        }
        Ok(())
    }

    /// Runs `sql` (no parameters); every value read as text (`::text` casts in the query
    /// where a column is not text).
    pub async fn query_text(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let client = self.connect().await?;
        let rows = client.simple_query(sql).await?;
        Ok(rows
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }

    pub async fn drop_now(self) -> Result<()> {
        admin()
            .await?
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await?;
        Ok(())
    }
}
