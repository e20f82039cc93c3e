//! What a command writes: a directory (a dataset) or a file (the changes of a
//! diff), staged under a temporary name beside the target and renamed into place
//! when complete, so a failure leaves the previous contents or nothing. Every
//! file and directory is created readable by its owner only: the outputs list
//! which applications can read which mailboxes.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Refuses an existing non-empty output directory unless `force` is set, and an
/// output path that is a file.
pub fn check_output(out: &Path, force: bool) -> Result<()> {
    match fs::read_dir(out) {
        Ok(mut entries) => {
            if entries.next().is_some() && !force {
                return Err(Error::OutputExists(out.to_path_buf()));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            Err(Error::OutputNotDirectory(out.to_path_buf()))
        }
        Err(e) => Err(Error::io(out, e)),
    }
}

/// Creates a directory readable by its owner only.
pub fn create_private_dir(path: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(|e| Error::io(path, e))
}

/// Creates a new file readable by its owner only; an existing file is an error.
pub fn create_private_file(path: &Path) -> Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| Error::io(path, e))
}

/// Bytes a [`BlockFile`] gathers before it writes to its file.
const BLOCK_BYTES: usize = 1 << 20;

/// A file behind a buffer of a MiB, for the Parquet writers: they hand over a
/// column chunk at a time, often in pieces of a few KiB, and a write that
/// covers a page of the page cache only in part has the kernel zero the rest
/// of that page first (0.1 s of kernel memset a run on the independent
/// tenant). Parquet flushes after every column chunk, so a write is a column
/// chunk or a MiB.
pub type BlockFile = std::io::BufWriter<File>;

/// A new private file ([`create_private_file`]) as a [`BlockFile`].
pub fn create_block_file(path: &Path) -> Result<BlockFile> {
    Ok(std::io::BufWriter::with_capacity(
        BLOCK_BYTES,
        create_private_file(path)?,
    ))
}

/// The file behind `block`, with what its buffer holds written out.
pub fn into_file(path: &Path, block: BlockFile) -> Result<File> {
    block
        .into_inner()
        .map_err(|e| Error::io(path, e.into_error()))
}

/// Files synced to disk on a thread of their own while the caller goes on
/// writing others. A dataset is a score of files, and each fsync waits on the
/// disk (tens of milliseconds here) with a core idle; queued, the waits
/// overlap the encoding of the next files. [`Syncer::finish`] returns once every
/// queued file is on disk, with the first error.
pub struct Syncer {
    queue: std::sync::mpsc::Sender<(PathBuf, File)>,
    worker: std::thread::JoinHandle<Result<()>>,
}

impl Syncer {
    pub fn start() -> Syncer {
        let (queue, files) = std::sync::mpsc::channel::<(PathBuf, File)>();
        let worker = std::thread::spawn(move || {
            let mut first_error = Ok(());
            for (path, file) in files {
                if let Err(e) = file.sync_all() {
                    if first_error.is_ok() {
                        first_error = Err(Error::io(&path, e));
                    }
                }
            }
            first_error
        });
        Syncer { queue, worker }
    }

    /// Queues a written file to be synced.
    pub fn sync(&self, path: &Path, file: File) {
        // The worker ends only when the queue is dropped, so it is there; were
        // it not, the file is synced here.
        if let Err(std::sync::mpsc::SendError((_, file))) = self.queue.send((path.into(), file)) {
            let _ = file.sync_all();
        }
    }

    /// Waits until every queued file is synced.
    pub fn finish(self) -> Result<()> {
        drop(self.queue);
        self.worker.join().unwrap_or_else(|_| {
            Err(Error::io(
                Path::new("."),
                std::io::Error::other("the sync thread panicked"),
            ))
        })
    }
}

/// Writes `text` to a new owner-only file and syncs it to disk.
pub fn write_private_text(path: &Path, text: &str) -> Result<()> {
    let mut f = create_private_file(path)?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}

/// An output directory being written: files go into a temporary directory
/// `.NAME.tmp-PID` beside the target, which [`StagedDir::commit`] renames onto it.
/// Dropped without a commit, the temporary directory is removed.
#[derive(Debug)]
pub struct StagedDir {
    tmp: PathBuf,
    out: PathBuf,
    committed: bool,
}

impl StagedDir {
    /// Starts writing `out` (made absolute): cleans up after killed runs, refuses
    /// an occupied `out` without `force`, and creates the temporary directory.
    pub fn begin(out: &Path, force: bool) -> Result<StagedDir> {
        let out = absolute(out)?;
        let parent = out
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let name = file_name(&out, "dataset");
        // `-o fleet/tenant=contoso` into a fleet folder that does not exist yet.
        fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        recover_interrupted(&parent, &name, &out)?;
        check_output(&out, force)?;
        let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        }
        create_private_dir(&tmp)?;
        Ok(StagedDir {
            tmp,
            out,
            committed: false,
        })
    }

    /// Where the files are written now.
    pub fn dir(&self) -> &Path {
        &self.tmp
    }

    /// Where they will be once committed.
    pub fn target(&self) -> &Path {
        &self.out
    }

    /// Moves the written directory onto the target; an existing target is moved
    /// aside first and removed after.
    pub fn commit(mut self) -> Result<PathBuf> {
        replace_dir(&self.tmp, &self.out)?;
        self.committed = true;
        Ok(self.out.clone())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Writes one owner-only file atomically: `write` fills a temporary file
/// `.NAME.tmp-PID` beside `path`, which is renamed onto `path` when it succeeds
/// and removed when it fails.
pub fn write_file_atomically<T>(path: &Path, write: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}",
        file_name(path, "output"),
        std::process::id()
    ));
    let result = write(&tmp).and_then(|value| {
        fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        Ok(value)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn file_name(path: &Path, default: &str) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| default.into())
}

fn absolute(path: &Path) -> Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    Ok(cwd.join(path))
}

/// Cleans up after an earlier run of a process that no longer exists: its
/// half-written `.NAME.tmp-PID` directory is removed, and a previous output it
/// had moved aside (`.NAME.old-PID`, killed between the two renames) is put back
/// when `out` is missing. Only on systems with `/proc`, where a dead PID can be told.
fn recover_interrupted(parent: &Path, name: &str, out: &Path) -> Result<()> {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return Ok(());
    }
    let Ok(entries) = fs::read_dir(parent) else {
        return Ok(());
    };
    let tmp_prefix = format!(".{name}.tmp-");
    let old_prefix = format!(".{name}.old-");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let (pid, old) = if let Some(pid) = file_name.strip_prefix(&tmp_prefix) {
            (pid, false)
        } else if let Some(pid) = file_name.strip_prefix(&old_prefix) {
            (pid, true)
        } else {
            continue;
        };
        if pid.parse::<u32>().is_err() || proc.join(pid).exists() {
            continue; // not ours, or its process is still running
        }
        let path = entry.path();
        if old && !out.exists() {
            fs::rename(&path, out).map_err(|e| Error::io(&path, e))?;
        } else {
            fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

/// Moves `tmp` to `out`; an existing `out` is moved aside first and removed after.
fn replace_dir(tmp: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        let aside = out.with_file_name(format!(
            ".{}.old-{}",
            file_name(out, "dataset"),
            std::process::id()
        ));
        fs::rename(out, &aside).map_err(|e| Error::io(out, e))?;
        if let Err(e) = fs::rename(tmp, out) {
            let _ = fs::rename(&aside, out);
            return Err(Error::io(out, e));
        }
        fs::remove_dir_all(&aside).map_err(|e| Error::io(&aside, e))?;
    } else {
        fs::rename(tmp, out).map_err(|e| Error::io(out, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syncer_finishes_once_every_queued_file_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let syncer = Syncer::start();
        for i in 0..5 {
            let path = dir.path().join(format!("f{i}"));
            let mut file = create_private_file(&path).unwrap();
            file.write_all(format!("file {i}").as_bytes()).unwrap();
            syncer.sync(&path, file);
        }
        syncer.finish().unwrap();
        for i in 0..5 {
            let text = fs::read_to_string(dir.path().join(format!("f{i}"))).unwrap();
            assert_eq!(text, format!("file {i}"));
        }
    }
}
