//! The command line as a user meets it: exit codes, stdout, stderr and the files
//! left behind. One binary, one fixture: a temporary working directory with copies
//! of the sample tenant. `analyze.rs` covers analyze and generate, on the sample
//! and on one broken copy of it per failure mode; `queries.rs` covers diff,
//! who-can and explain.

mod analyze;
mod fleet;
mod plan;
mod queries;
mod report;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_exomatrix");

pub(crate) fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// A temporary working directory holding a copy of the sample tenant as `snap/`.
pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("snap");
        std::fs::create_dir(&snap).unwrap();
        for entry in std::fs::read_dir(sample_dir()).unwrap() {
            let entry = entry.unwrap();
            if entry.path().extension().is_some_and(|e| e == "csv") {
                std::fs::copy(entry.path(), snap.join(entry.file_name())).unwrap();
            }
        }
        Fixture { dir }
    }

    /// The sample tenant as `before/` and a copy as `after/`, for comparisons.
    pub(crate) fn sides() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        for side in ["before", "after"] {
            std::fs::create_dir(dir.path().join(side)).unwrap();
            for entry in std::fs::read_dir(sample_dir()).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), dir.path().join(side).join(entry.file_name())).unwrap();
            }
        }
        Fixture { dir }
    }

    /// Replaces exactly one occurrence of `from` in a file of `after/`.
    pub(crate) fn edit_after(&self, file: &str, from: &str, to: &str) {
        self.edit(&format!("after/{file}"), from, to);
    }

    /// Analyzes `snapshot` into the dataset `out`, which must succeed.
    pub(crate) fn analyze_ok(&self, snapshot: &str, out: &str) {
        let o = self.run(&["analyze", snapshot, "-o", out, "-q"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub(crate) fn read(&self, rel: &str) -> String {
        String::from_utf8(std::fs::read(self.path(rel)).unwrap()).unwrap()
    }

    pub(crate) fn write(&self, rel: &str, text: impl AsRef<[u8]>) {
        std::fs::write(self.path(rel), text).unwrap();
    }

    /// Replaces exactly one occurrence of `from` in a file.
    pub(crate) fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert_eq!(
            text.matches(from).count(),
            1,
            "{from:?} must occur once in {rel}"
        );
        self.write(rel, text.replace(from, to));
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    pub(crate) fn analyze(&self) -> Output {
        self.run(&["analyze", "snap", "-o", "out"])
    }
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs analyze on the fixture and expects exit 2, exactly `message` on stderr, and no output.
pub(crate) fn assert_fails(f: &Fixture, message: &str) {
    let o = f.analyze();
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(&o));
    assert_eq!(stderr(&o), format!("error: {message}\n"));
    assert!(stdout(&o).is_empty());
    assert!(
        !f.path("out").exists(),
        "no output directory may be left behind"
    );
    let leftovers: Vec<_> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        ["snap"],
        "no temporary directory may be left behind"
    );
}
