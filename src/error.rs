//! The library's error type: every variant says what is wrong, where, and how to fix it.

use std::fmt;
use std::path::PathBuf;

use crate::filter::FilterError;

/// A place in an input file: the file, the line (CSV) or row (Parquet), and the column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File name as the user gave it (relative to the snapshot directory's parent).
    pub file: String,
    /// 1-based line (CSV) or row (Parquet, counting the header as row 1 so they agree).
    pub line: Option<u64>,
    /// Column name as written in the header.
    pub column: Option<String>,
}

impl Location {
    pub fn file(file: impl Into<String>) -> Location {
        Location {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    pub fn at(file: impl Into<String>, line: u64, column: Option<&str>) -> Location {
        Location {
            file: file.into(),
            line: Some(line),
            column: column.map(str::to_string),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column {column}")?;
        }
        Ok(())
    }
}

/// Everything that stops an analysis. Problems that do not stop it are findings.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The snapshot directory does not exist, is not a directory, or lacks a table.
    #[error("snapshot {path}: {message}")]
    Snapshot { path: PathBuf, message: String },
    /// A malformed value at a known place in an input file.
    #[error("{location}: {message}")]
    Data { location: Location, message: String },
    /// A management scope's recipient filter does not parse or names an unknown property.
    #[error("{location}: recipient filter of management scope '{scope}' is invalid\n{rendered}")]
    Filter {
        location: Location,
        scope: String,
        error: Box<FilterError>,
        rendered: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A Parquet or Arrow library error while reading or writing a file.
    #[error("{path}: {message}")]
    Parquet { path: PathBuf, message: String },
    /// Writing the dataset failed; nothing at `out` was changed.
    #[error("could not write the dataset {out}: {cause}\n  nothing was changed at {out}: a previous dataset there is intact; free space (or fix the cause above) and run again")]
    WriteDataset { out: PathBuf, cause: Box<Error> },
    /// A question (explain, who-can) names something the snapshot or dataset lacks.
    #[error("{0}")]
    Query(String),
    /// The output path names a file where a directory is wanted.
    #[error("{0} is a file; -o takes a directory (give a new folder's name)")]
    OutputNotDirectory(PathBuf),
    /// The output directory exists and is not empty.
    #[error(
        "output directory {0} already exists and is not empty; pass --force to replace it, or choose another -o"
    )]
    OutputExists(PathBuf),
}

impl Error {
    pub fn data(location: Location, message: impl Into<String>) -> Error {
        Error::Data {
            location,
            message: message.into(),
        }
    }

    /// A Parquet or Arrow library error on `path`.
    pub fn parquet(path: &std::path::Path, e: impl fmt::Display) -> Error {
        Error::Parquet {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
