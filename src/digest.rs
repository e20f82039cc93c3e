//! SHA-256 digests of the input files, for the manifest.
//!
//! Hashing a large tenant's 0.9 GB of CSV costs about 0.6 s of CPU, and the
//! manifest needs the digests only at the very end. So a mapped file is hashed
//! on a thread of its own that runs only on an idle core (`SCHED_IDLE`): the
//! analysis keeps both cores busy most of the time, and the hashing runs in
//! the moments when it does not (serial steps between stages). Whatever is
//! left when the manifest asks is finished then, with the cores free.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

/// The SHA-256 of a file's bytes, lower-case hex: computed already, or being
/// computed in the background.
#[derive(Clone)]
pub struct Digest(Arc<State>);

struct State {
    hex: OnceLock<String>,
    worker: Mutex<Option<JoinHandle<String>>>,
}

impl Digest {
    /// The digest of `bytes`, computed now.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(Arc::new(State {
            hex: OnceLock::from(sha256_hex(bytes)),
            worker: Mutex::new(None),
        }))
    }

    /// The digest of `bytes`, computed on a background thread of the lowest
    /// priority (or now, should no thread start).
    pub fn in_background<B>(bytes: Arc<B>) -> Digest
    where
        B: AsRef<[u8]> + Send + Sync + ?Sized + 'static,
    {
        let worker = std::thread::Builder::new()
            .name("exomatrix-sha256".into())
            .spawn({
                let bytes = bytes.clone();
                move || {
                    lower_this_threads_priority();
                    sha256_hex((*bytes).as_ref())
                }
            });
        match worker {
            Ok(worker) => Digest(Arc::new(State {
                hex: OnceLock::new(),
                worker: Mutex::new(Some(worker)),
            })),
            Err(_) => Digest::of((*bytes).as_ref()),
        }
    }

    /// The digest, waiting for the background thread when it is still at work.
    pub fn hex(&self) -> &str {
        self.0.hex.get_or_init(|| {
            let worker = self.0.worker.lock().map(|mut w| w.take()).ok().flatten();
            worker
                .expect("a digest is computed now or has a worker")
                .join()
                .expect("hashing bytes in memory does not panic")
        })
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.hex.get() {
            Some(hex) => f.write_str(hex),
            None => f.write_str("<being computed>"),
        }
    }
}

/// SHA-256 of `bytes` as lower-case hex.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `SCHED_IDLE` for the calling thread (Linux schedules threads one by one):
/// it runs only on a core nothing else wants, and the scheduler counts a core
/// that runs only it as idle, so a woken worker goes there and takes it over.
/// Nice 19, the fallback, was not enough: measured on 2 cores, the hashing
/// kept a whole core for 0.4 s while both rayon workers shared the other.
#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: plain arguments (0: the calling thread); the calls change only
    // this thread's scheduling, and a failure leaves it as it was.
    unsafe {
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 19);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_and_immediate_digests_agree_with_the_known_value() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(Digest::of(b"abc").hex(), abc);
        let background = Digest::in_background(Arc::new(b"abc".to_vec()));
        let copy = background.clone();
        assert_eq!(background.hex(), abc);
        assert_eq!(copy.hex(), abc);
        assert_eq!(format!("{copy:?}"), abc);
    }
}
