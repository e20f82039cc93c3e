//! One criterion group per filter shape of DESIGN §6, each compiling 200 management
//! scope filters of that shape at once over a million distinct values.
//!
//! The tenant is `generate`'s varied profile with EXOMATRIX_BENCH_MAILBOXES mailboxes
//! (default 1,000,000: the columns compared hold a million distinct values) and few
//! apps, so that only the filters cost. Each iteration builds a fresh
//! [`FilterContext`], so the per-property scans are part of the figure; the
//! throughput is filters per second.
//!
//! Shapes: `-eq` on an address, a prefix, a suffix and an infix `-like`, a
//! multi-star `-like` on the multi-valued EmailAddresses, an ordering comparison on
//! a date, and `MemberOfGroup -eq` by distinguished name.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use exomatrix::directory::Directory;
use exomatrix::filter::FilterContext;
use exomatrix::findings::Findings;
use exomatrix::generate::{generate, Format, Profile};
use exomatrix::snapshot::Snapshot;

const FILTERS: usize = 200;

/// A filter shape: its name, and the `k`-th filter of that shape.
type Shape = (&'static str, Box<dyn Fn(usize) -> String>);

fn shapes(c: &mut Criterion) {
    let mailboxes: u32 = std::env::var("EXOMATRIX_BENCH_MAILBOXES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let snapshot_dir = dir.path().join("snapshot");
    let profile = Profile {
        mailboxes,
        apps: 10,
        scopes: 10,
        assignments: 10,
        policies: 2,
        entra_grants: 10,
        tenant_wide: 1,
        ..Profile::VARIED
    };
    generate(&snapshot_dir, profile, 42, Format::Csv).expect("generate");
    let snapshot = Snapshot::load(&snapshot_dir).expect("load");
    let directory = Directory::build(&snapshot, &mut Findings::default()).expect("directory");
    let groups = profile.groups as usize;
    let n = mailboxes as usize;

    // Values spread over the whole tenant, so every filter matches something.
    let at = move |k: usize| k * n / FILTERS;
    let shapes: [Shape; 7] = [
        (
            "eq",
            Box::new(move |k| format!("PrimarySmtpAddress -eq 'u{:07}@contoso.com'", at(k))),
        ),
        (
            "prefix",
            Box::new(move |k| format!("Alias -like 'u{:05}*'", at(k) / 100)),
        ),
        (
            "suffix",
            Box::new(move |k| {
                format!(
                    "PrimarySmtpAddress -like '*{:04}@contoso.com'",
                    at(k) % 10_000
                )
            }),
        ),
        (
            "infix",
            Box::new(move |k| format!("DistinguishedName -like '*=u{:05}*'", at(k) / 100)),
        ),
        (
            "multi_valued_multi_star",
            Box::new(move |k| {
                format!(
                    "EmailAddresses -like 'smtp:*{:03}*@fabrikam.com'",
                    k % 1_000
                )
            }),
        ),
        (
            "ordering",
            Box::new(move |k| format!("WhenCreated -lt '{}/1/20{}'", 1 + k % 12, 15 + k % 10)),
        ),
        (
            "member_of_group",
            Box::new(move |k| {
                format!(
                    "MemberOfGroup -eq 'CN=grp-{:05},OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=NAMPR01A001,DC=prod,DC=outlook,DC=com'",
                    k * groups / FILTERS
                )
            }),
        ),
    ];

    for (name, filter) in &shapes {
        let texts: Vec<String> = (0..FILTERS).map(filter).collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        // A filter that fails to compile or matches nothing would measure nothing.
        let ctx = FilterContext::new(&snapshot.mailboxes, &directory);
        let compiled = ctx.compile_all(&texts);
        let matched: u64 = compiled
            .iter()
            .map(|c| c.as_ref().expect("bench filters compile").bitmap.len())
            .sum();
        assert!(matched > 0, "the {name} filters match no mailbox");

        let mut g = c.benchmark_group(format!("filter_{name}"));
        g.sample_size(10).measurement_time(Duration::from_secs(5));
        g.throughput(Throughput::Elements(FILTERS as u64));
        g.bench_function(
            format!("{FILTERS}_filters_over_{mailboxes}_mailboxes"),
            |b| b.iter(|| FilterContext::new(&snapshot.mailboxes, &directory).compile_all(&texts)),
        );
        g.finish();
    }
}

criterion_group!(benches, shapes);
criterion_main!(benches);
