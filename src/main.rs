use std::process::ExitCode;

use clap::Parser;
use exomatrix::cli::{self, Cli, ExitStatus};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (v2 and v3 headers alike);
/// libmimalloc-sys does not name it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// `mi_option_allow_thp` in mimalloc v3's `mi_option_e`, which libmimalloc-sys
/// builds by default.
#[cfg(target_os = "linux")]
const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

fn main() -> ExitCode {
    // A run allocates and frees gigabytes in waves (CSV chunks, builders, bitmaps).
    // Two mimalloc defaults cost a third of the varied large tenant's run in the
    // kernel (perf: clear_page_erms under do_huge_pmd_anonymous_page):
    // - purging hands freed memory back after 10 ms, and the next wave faults it in
    //   again, zeroed. The process is short-lived and its peak is what it is, so
    //   freed memory is kept for reuse; peak RSS is unchanged (BENCHMARKS.md).
    // - large OS pages make every first touch zero 2 MiB and, with the kernel's
    //   `defrag=madvise`, sometimes stall in compaction (system time 5 s in one run,
    //   14 s in the next).
    // - transparent huge pages (mimalloc v3 madvises its arenas for them) fault in
    //   2 MiB where a few KiB are touched: peak RSS 3.9 GiB against 3.0 GiB
    //   without them on the varied tenant, at the same speed (BENCHMARKS.md).
    //   mimalloc reads this option before main, so the process opts out itself.
    // An MIMALLOC_* variable in the environment still decides, as mimalloc documents.
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        disable_transparent_huge_pages();
    }
    for (name, option, value) in [
        ("MIMALLOC_PURGE_DELAY", MI_OPTION_PURGE_DELAY, -1),
        (
            "MIMALLOC_ALLOW_LARGE_OS_PAGES",
            libmimalloc_sys::mi_option_large_os_pages,
            0,
        ),
    ] {
        if std::env::var_os(name).is_none() {
            // SAFETY: sets a plain integer option, which mimalloc reads when it
            // next needs it.
            unsafe { libmimalloc_sys::mi_option_set(option, value) };
        }
    }
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            // A closed pipe (e.g. `| head`) is not an error.
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitStatus::Success.into();
            }
            eprintln!("error: {err:#}");
            ExitStatus::Error.into()
        }
    }
}

#[cfg(target_os = "linux")]
fn disable_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments and changes only this
    // process's page-fault policy; the option write is a plain integer store.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn disable_transparent_huge_pages() {}
