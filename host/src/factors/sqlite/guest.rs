//! The interface as guests call it: `open` checks the component's `sqlite_databases`
//! (Spin's `AccessDenied`/`NoSuchDatabase`), statements run on the resource.

use super::{SqliteConnection, SqliteInstance};
use crate::bindings::spin::fermyon::spin2_0_0::sqlite::{
    Error, Host, HostConnection, QueryResult, Value,
};
use wasmtime::component::Resource;

impl Host for SqliteInstance {}

impl HostConnection for SqliteInstance {
    async fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<SqliteConnection>, Error>> {
        let _span = self.trace.store_call("spin_sqlite.open", "sqlite", None);
        if !self.component.sqlite_databases.contains(&database) {
            return Ok(Err(Error::AccessDenied));
        }
        let Some(db) = self.databases.get(&database).cloned() else {
            return Ok(Err(Error::NoSuchDatabase));
        };
        match SqliteConnection::open(db).await {
            Ok(conn) => Ok(Ok(self.connections.push(conn)?)),
            Err(e) => Ok(Err(Error::Io(e.to_string()))),
        }
    }

    async fn execute(
        &mut self,
        conn: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        let span = self
            .trace
            .store_call("spin_sqlite.execute", "sqlite", Some(&statement));
        let Ok(conn) = self.connections.get_mut(&conn) else {
            return Ok(Err(Error::InvalidConnection));
        };
        let result = conn
            .execute(statement, parameters)
            .await
            .map_err(|e| Error::Io(e.to_string()));
        if let Err(e) = &result {
            span.set_error(format!("{e:?}"));
        }
        Ok(result)
    }

    async fn drop(&mut self, conn: Resource<SqliteConnection>) -> wasmtime::Result<()> {
        self.connections.delete(conn)?;
        Ok(())
    }
}
