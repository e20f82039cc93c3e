use std::process::ExitCode;

use clap::Parser;
use exomatrix::cli::{self, Cli, ExitStatus};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (v2 and v3 headers alike);
/// libmimalloc-sys does not name it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

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
    // An MIMALLOC_* variable in the environment still decides, as mimalloc documents.
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
