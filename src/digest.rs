//! SHA-256 digests of the input files, for the manifest.
//!
//! Hashing a large tenant's 0.9 GB of CSV costs about 0.6 s of CPU, and the
//! manifest needs the digests only at the very end. So a mapped file is hashed
//! on a thread of its own that runs only on an idle core (`SCHED_IDLE`): the
//! analysis keeps both cores busy most of the time, and the hashing runs in
//! the moments when it does not (serial steps between stages). Whatever is
//! left when the manifest asks is finished then, with the cores free.

use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

/// The SHA-256 of a file's bytes, lower-case hex: computed already, or being
/// computed in the background.
#[derive(Clone)]
pub struct Digest(Arc<State>);

struct State {
    hex: OnceLock<String>,
    worker: Mutex<Option<JoinHandle<String>>>,
    /// The worker's thread id once it runs (0 before): whoever waits for the
    /// digest gives the worker a normal priority first, so that other
    /// processes keeping every core busy cannot starve it.
    worker_tid: Arc<AtomicI32>,
}

impl Digest {
    /// The digest of `bytes`, computed now.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(Arc::new(State {
            hex: OnceLock::from(sha256_hex(bytes)),
            worker: Mutex::new(None),
            worker_tid: Default::default(),
        }))
    }

    /// The digest of `bytes`, computed on a background thread of the lowest
    /// priority (or now, should no thread start).
    pub fn in_background<B>(bytes: Arc<B>) -> Digest
    where
        B: AsRef<[u8]> + Send + Sync + ?Sized + 'static,
    {
        let worker_tid: Arc<AtomicI32> = Default::default();
        let worker = std::thread::Builder::new()
            .name("exomatrix-sha256".into())
            .spawn({
                let bytes = bytes.clone();
                let tid = worker_tid.clone();
                move || {
                    lower_this_threads_priority(&tid);
                    sha256_hex((*bytes).as_ref())
                }
            });
        match worker {
            Ok(worker) => Digest(Arc::new(State {
                hex: OnceLock::new(),
                worker: Mutex::new(Some(worker)),
                worker_tid,
            })),
            Err(_) => Digest::of((*bytes).as_ref()),
        }
    }

    /// The digest, waiting for the background thread when it is still at work.
    pub fn hex(&self) -> &str {
        self.0.hex.get_or_init(|| {
            let worker = self.0.worker.lock().map(|mut w| w.take()).ok().flatten();
            let worker = worker.expect("a digest is computed now or has a worker");
            if !worker.is_finished() {
                restore_priority(&self.0.worker_tid);
            }
            worker
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
fn lower_this_threads_priority(tid: &AtomicI32) {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: plain arguments (0: the calling thread); the calls change only
    // this thread's scheduling, and a failure leaves it as it was.
    unsafe {
        tid.store(libc::gettid(), Ordering::Release);
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 19);
        }
    }
}

/// Gives the worker of thread id `tid` (0: not started yet, nothing to do)
/// the normal policy and priority back. Raising a nice value may be refused
/// to an unprivileged process; the worker then finishes as it was.
#[cfg(target_os = "linux")]
fn restore_priority(tid: &AtomicI32) {
    let tid = tid.load(Ordering::Acquire);
    if tid == 0 {
        return;
    }
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: plain arguments naming this process's own worker thread, which
    // has not finished (checked by the caller); only its scheduling changes.
    unsafe {
        libc::sched_setscheduler(tid, libc::SCHED_OTHER, &param);
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority(_: &AtomicI32) {}

#[cfg(not(target_os = "linux"))]
fn restore_priority(_: &AtomicI32) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worker lowers itself to `SCHED_IDLE`, and whoever waits for it
    /// gives it the normal policy back (a thread kept alive by the test, so
    /// that it cannot finish first).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_waited_for_worker_gets_its_priority_back() {
        let tid = Arc::new(AtomicI32::new(0));
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::spawn({
            let tid = tid.clone();
            move || {
                lower_this_threads_priority(&tid);
                let _ = stopped.recv();
            }
        });
        let policy = |tid: i32| unsafe { libc::sched_getscheduler(tid) };
        let id = loop {
            match tid.load(Ordering::Acquire) {
                0 => std::thread::yield_now(),
                id => break id,
            }
        };
        // Wait until the worker has set its policy (it stores its id first).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while policy(id) != libc::SCHED_IDLE && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        if policy(id) == libc::SCHED_IDLE {
            restore_priority(&tid);
            assert_eq!(policy(id), libc::SCHED_OTHER);
        } else {
            eprintln!("SCHED_IDLE refused here; the nice 19 fallback is in use");
        }
        stop.send(()).unwrap();
        worker.join().unwrap();
    }

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
