//! The errors `run` can return.

use std::path::PathBuf;

use crate::store::StoreError;

/// Why the server could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The database could not be opened, created or migrated.
    #[error("cannot open the database {path}: {source}")]
    Database {
        /// The path given (`:memory:` for the in-memory database).
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: StoreError,
    },
    /// The listener failed.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}
