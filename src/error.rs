//! One error type for the library. Messages name the file and say what to do;
//! they never carry transcript text or patient data.

use std::path::{Path, PathBuf};

/// Everything that can go wrong in medscribe.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The audio could not be used; `message` says why and what to do.
    #[error("{file}: {message}")]
    Audio { file: String, message: String },
    /// A model is missing, corrupt or cannot be converted.
    #[error("{0}")]
    Model(String),
    /// Speech recognition failed.
    #[error("transcription failed: {0}")]
    Stt(String),
    /// The user asked for something that cannot be done (bad flag, bad input text).
    #[error("{0}")]
    Invalid(String),
    /// The operation was cancelled (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
    /// No such record (or not visible to the user asking).
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with the record's current state: a stale revision,
    /// a wrong workflow state, a signed text.
    #[error("{0}")]
    Conflict(String),
    /// The database failed; the message names the operation, never the data.
    #[error("database: {0}")]
    Store(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// An audio error for `path`, naming only the file name.
    pub fn audio(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::Audio {
            file: path.as_ref().display().to_string(),
            message: message.into(),
        }
    }
}

/// Adds the path to `std::io::Result`s.
pub trait IoContext<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
