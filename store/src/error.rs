use crate::{KeyValue, Revision};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Every way a store operation can fail. Callers match on these; the apiserver maps them to
/// `metav1.Status` reasons (NotFound, AlreadyExists, Conflict, Expired, ...).
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("key {key:?} not found")]
    NotFound { key: String },

    #[error("key {key:?} already exists")]
    AlreadyExists { key: String },

    /// A compare-and-swap did not match. `current` is the key's version now (so a caller can
    /// retry without another read); `None` when the key no longer exists.
    #[error("key {key:?} was modified: expected mod_revision {expected}, found {}", current.as_ref().map_or(0, |kv| kv.mod_revision))]
    Conflict { key: String, expected: Revision, current: Option<Box<KeyValue>> },

    /// The requested revision is older than the compacted one.
    #[error("required revision {requested} has been compacted (compacted revision {compacted})")]
    Compacted { requested: Revision, compacted: Revision },

    #[error("required revision {requested} is a future revision (current revision {current})")]
    FutureRevision { requested: Revision, current: Revision },

    #[error("request of {size} bytes is too large (limit {limit} bytes)")]
    TooLarge { size: usize, limit: usize },

    /// The backend cannot serve now (I/O failure, etcd unreachable, store closed).
    #[error("store unavailable: {0}")]
    Unavailable(String),

    /// The data directory is damaged or not an rkube store: refuse to start rather than lose data.
    #[error("store data is damaged: {0}")]
    Corrupt(String),

    #[error("invalid store request: {0}")]
    InvalidArgument(String),
}
