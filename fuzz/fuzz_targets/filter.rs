//! OPATH parser and compiler on arbitrary text, against a small fixed mailbox
//! table. A filter that compiles must give the same mailboxes as bitmap and row
//! by row; one that does not must render its error without panicking.
#![no_main]

use std::sync::OnceLock;

use exomatrix::directory::Directory;
use exomatrix::filter::FilterContext;
use exomatrix::snapshot::Snapshot;
use exomatrix::Findings;
use libfuzzer_sys::fuzz_target;

const MAILBOXES: &str = "\
ExternalDirectoryObjectId,PrimarySmtpAddress,Alias,Department,CustomAttribute1,WhenCreated,EmailAddresses,ExtensionCustomAttribute1
00000000-0000-4000-8000-000000000000,ann@contoso.com,ann,Sales,10,2019-01-01,SMTP:ann@contoso.com;smtp:a@x.com,a;b
00000000-0000-4000-8000-000000000001,bob@contoso.com,bob,sales ,9.5,1/2/2018 1:00:00 PM,X500:/o=x,
00000000-0000-4000-8000-000000000002,cy@contoso.com,cy,,-3,,,é
00000000-0000-4000-8000-000000000003,dee@contoso.com,o'neil,R&D,012332,2020-05-05T10:00:00Z,smtp:dee@fabrikam.com, c ;;d
";
const GROUPS: &str = "DistinguishedName,Name\n\"CN=Fin,DC=x\",Fin\n\"CN=Sub,DC=x\",Sub\n";
const MEMBERS: &str = "Group,Member\nFin,ann@contoso.com\nFin,Sub\nSub,bob@contoso.com\n";
const AUS: &str = "Id,DisplayName,DistinguishedName\n11111111-0000-4000-8000-000000000000,Oslo,\"CN=Oslo,CN=AU\"\n";
const AU_MEMBERS: &str = "AdministrativeUnit,Member\nOslo,dee@contoso.com\n";

struct Fixture {
    snapshot: Snapshot,
    directory: Directory,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let snapshot = Snapshot::from_csv(&[
            ("mailboxes", MAILBOXES.as_bytes()),
            ("groups", GROUPS.as_bytes()),
            ("group_members", MEMBERS.as_bytes()),
            ("administrative_units", AUS.as_bytes()),
            ("administrative_unit_members", AU_MEMBERS.as_bytes()),
        ])
        .expect("fixture loads");
        let directory = Directory::build(&snapshot, &mut Findings::default()).expect("fixture");
        Fixture {
            snapshot,
            directory,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let f = fixture();
    let ctx = FilterContext::new(&f.snapshot.mailboxes, &f.directory);
    match ctx.compile(text) {
        Ok(compiled) => {
            for row in 0..f.directory.count {
                assert_eq!(
                    compiled.bitmap.contains(row),
                    ctx.eval_row(&compiled.plan, row),
                    "bitmap and row evaluation disagree on row {row}"
                );
            }
        }
        Err(e) => {
            let rendered = e.render(text);
            assert!(!rendered.is_empty());
        }
    }
});
