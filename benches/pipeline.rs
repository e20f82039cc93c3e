//! One criterion group per pipeline stage, on a seeded generated tenant.
//!
//! The tenant is `generate`'s large profile scaled down to EXOMATRIX_BENCH_MAILBOXES
//! mailboxes (default 100,000; apps, groups, scopes and assignments scale along), so
//! `cargo bench --bench pipeline` finishes in minutes on two cores.
//! `scripts/bench.sh` measures the full 1M-mailbox profiles end to end.
//!
//! - load: read and parse every table (throughput: input bytes);
//! - filter_compile: build the property indexes and compile every management scope
//!   (throughput: filters);
//! - evaluate: every app × permission bitmap (throughput: apps);
//! - write: the whole dataset, and the access file alone (throughput: cells);
//! - diff: read two datasets back and compare them, BEFORE the tenant and AFTER
//!   a copy without every 10th Entra grant (throughput: cells of both);
//! - explain: load the snapshot and explain one app for one mailbox.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use exomatrix::analysis::{Analysis, AnalysisOptions};
use exomatrix::diff::diff;
use exomatrix::directory::Directory;
use exomatrix::explain::Explainer;
use exomatrix::filter::FilterContext;
use exomatrix::findings::Findings;
use exomatrix::generate::{generate, Format, Profile};
use exomatrix::matrix::access::{write_access, AccessOptions};
use exomatrix::matrix::read::read_dataset;
use exomatrix::matrix::{evaluate, write_dataset};
use exomatrix::policy::PolicyOptions;
use exomatrix::snapshot::Snapshot;

fn profile() -> Profile {
    let mailboxes: u32 = std::env::var("EXOMATRIX_BENCH_MAILBOXES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let scale = |large: u32| ((u64::from(large) * u64::from(mailboxes) / 1_000_000) as u32).max(1);
    let large = Profile::LARGE;
    Profile {
        mailboxes,
        apps: scale(large.apps),
        groups: scale(large.groups),
        admin_units: scale(large.admin_units).max(16),
        // Scopes are per tenant, not per mailbox: keep all of them.
        scopes: large.scopes,
        assignments: scale(large.assignments),
        policies: scale(large.policies),
        entra_grants: scale(large.entra_grants),
        tenant_wide: large.tenant_wide,
        style: large.style,
    }
}

fn stages(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let snapshot_dir = dir.path().join("snapshot");
    let p = profile();
    generate(&snapshot_dir, p, 42, Format::Csv).expect("generate");
    let input_bytes: u64 = std::fs::read_dir(&snapshot_dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();

    let mut g = c.benchmark_group("load");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Bytes(input_bytes));
    g.bench_function(format!("{}_mailboxes_csv", p.mailboxes), |b| {
        b.iter(|| Snapshot::load(&snapshot_dir).expect("load"))
    });
    g.finish();

    let snapshot = Snapshot::load(&snapshot_dir).expect("load");
    let directory = Directory::build(&snapshot, &mut Findings::default()).expect("directory");
    let scope_table = &snapshot.management_scopes;
    let filter_col = scope_table.column(&["RecipientFilter"]).expect("filters");
    let filters: Vec<&str> = (0..scope_table.len())
        .filter_map(|r| filter_col.get(r))
        .collect();

    let mut g = c.benchmark_group("filter_compile");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(filters.len() as u64));
    g.bench_function(format!("{}_scopes_indexes_built", filters.len()), |b| {
        b.iter(|| {
            // A fresh context each time: index building is part of the cost.
            let ctx = FilterContext::new(&snapshot.mailboxes, &directory);
            ctx.compile_all(&filters)
        })
    });
    g.finish();

    let analysis = Analysis::run(&snapshot_dir, AnalysisOptions::default()).expect("analysis");
    let mut g = c.benchmark_group("evaluate");
    g.sample_size(20);
    g.throughput(Throughput::Elements(analysis.model.apps.apps.len() as u64));
    g.bench_function(format!("{}_apps", analysis.model.apps.apps.len()), |b| {
        b.iter(|| evaluate(&analysis.model, &analysis.directory))
    });
    g.finish();

    let cells = analysis.matrix.cells();
    let mut g = c.benchmark_group("write");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    g.throughput(Throughput::Elements(cells));
    g.bench_function(format!("{cells}_cells"), |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("temp dir"),
            |out| {
                write_dataset(
                    &analysis.dataset_parts(&[], None),
                    &out.path().join("dataset"),
                    false,
                )
                .expect("write");
                out
            },
            BatchSize::PerIteration,
        )
    });
    // The access file alone: the part that grows with the cells.
    g.bench_function(format!("{cells}_cells_access_only"), |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("temp dir"),
            |out| {
                write_access(
                    &analysis.matrix.grants,
                    out.path(),
                    AccessOptions::default(),
                )
                .expect("write");
                out
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    // AFTER: the same tenant without every 10th Entra grant.
    let after_dir = dir.path().join("after");
    std::fs::create_dir(&after_dir).expect("after dir");
    for entry in std::fs::read_dir(&snapshot_dir).expect("snapshot") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("table");
        let text = if path.ends_with("app_role_assignments.csv") {
            let kept: Vec<&str> = text
                .lines()
                .enumerate()
                .filter(|(i, _)| *i == 0 || i % 10 != 0)
                .map(|(_, l)| l)
                .collect();
            kept.join("\n") + "\n"
        } else {
            text
        };
        std::fs::write(after_dir.join(path.file_name().expect("name")), text).expect("write");
    }
    let before_ds = dir.path().join("before-ds");
    let after_ds = dir.path().join("after-ds");
    write_dataset(&analysis.dataset_parts(&[], None), &before_ds, false).expect("write before");
    let after = Analysis::run(&after_dir, AnalysisOptions::default()).expect("after");
    write_dataset(&after.dataset_parts(&[], None), &after_ds, false).expect("write after");
    let mut g = c.benchmark_group("diff");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    g.throughput(Throughput::Elements(cells + after.matrix.cells()));
    drop(after);
    g.bench_function("two_datasets", |b| {
        b.iter(|| {
            let d = diff(
                read_dataset(&before_ds).expect("before"),
                read_dataset(&after_ds).expect("after"),
            );
            assert!(d.lost() > 0);
            d
        })
    });
    g.finish();

    let assignments = &snapshot.management_role_assignments;
    let app = assignments
        .column(&["App"])
        .and_then(|c| c.get(0))
        .expect("an assignment")
        .to_string();
    let mailbox = analysis.directory.mailbox_address(42).to_string();
    let mut g = c.benchmark_group("explain");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("load_and_answer_one_app_one_mailbox", |b| {
        b.iter(|| {
            let ex = Explainer::load(
                &snapshot_dir,
                &app,
                Some(&mailbox),
                PolicyOptions::default(),
            )
            .expect("explain");
            let m = ex.mailbox.expect("mailbox");
            ex.relevant_permissions()
                .into_iter()
                .map(|p| ex.explain(p, m))
                .collect::<Vec<_>>()
        })
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
