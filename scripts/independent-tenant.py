#!/usr/bin/env python3
"""A tenant of DESIGN §6's size and shapes, written without exomatrix's generator.

    scripts/independent-tenant.py OUT_DIR [--mailboxes N] [--seed S]

`exomatrix generate` shapes its tenants one way; a budget checked only on them
can hold for their shapes and no other. This script writes a tenant from the
input contract (DESIGN §2) and the shapes §6 lists, with its own choices
everywhere: column order and extra columns, non-ASCII and apostrophes in names,
proxies in any order and case, identities in every accepted form (GUIDs in
braces and upper case, DNs, addresses, aliases, names, padded and re-cased),
and scope filters composed at random from every comparison shape, with broad
patterns (`*a*`) beside narrow ones, ordering on numbers, dates and text,
`-not` chains, nesting, and a pool of comparisons that many scopes repeat.

Deterministic per seed. Python's `random` only; about 1 GB and two minutes for
the default million mailboxes. `scripts/bench.sh` runs it for PROFILES=independent.
"""

import argparse
import os
import random
import uuid

FIRST = [
    "José", "Zoë", "Łukasz", "Søren", "Đorđe", "Ana", "Mia", "Noah", "Liam", "Emma",
    "Oliver", "Amara", "Chen", "Wei", "Aiko", "Hiroshi", "Fatima", "Omar", "Ines", "Björn",
    "Siobhán", "Seán", "Nadia", "Priya", "Ravi", "Kwame", "Ngozi", "Lucía", "Mateo", "Élodie",
    "François", "Jürgen", "Ayşe", "Mehmet", "Olga", "Dmitri", "Sven", "Ingrid", "Tomás", "Zanele",
]
LAST = [
    "Müller", "O'Brien", "García", "Nguyen", "Kowalczyk", "Ødegård", "Smith", "Johnson",
    "Brown", "Schröder", "Dubois", "Rossi", "Silva", "Kim", "Tanaka", "Yılmaz", "Ivanova",
    "Hansen", "Novák", "Horváth", "Papadopoulos", "Cohen", "Singh", "Okafor", "Mensah",
    "Fernández", "López", "Martin", "Bernard", "Jensen", "Nieminen", "Sato", "Wang", "Li",
    "D'Angelo", "MacDonald", "van der Berg", "de la Cruz", "Al-Farsi", "Ó Súilleabháin",
]
ASCII = str.maketrans({
    "é": "e", "ë": "e", "Ł": "L", "ł": "l", "ø": "o", "Ø": "O", "Đ": "D", "đ": "d", "ö": "o",
    "á": "a", "í": "i", "ç": "c", "ü": "u", "ş": "s", "ğ": "g", "ı": "i", "Ó": "O", "ú": "u",
    "ó": "o", "É": "E", "à": "a", "ñ": "n", "Ö": "O", "Ü": "U", "'": "", " ": "", "-": "",
})
DEPARTMENTS = [f"{d} {s}" for d in ["Sales", "Finance", "R&D", "Legal", "HR", "IT", "Ops",
               "Marketing", "Support", "Procurement", "Audit", "Facilities"]
               for s in ["", "EMEA", "APAC", "Americas", "Global"]]
COUNTRIES = ["Deutschland", "France", "España", "Italia", "United Kingdom", "Ireland",
             "United States", "Canada", "México", "Brasil", "Japan", "日本", "India",
             "South Africa", "Nigeria", "Türkiye", "Polska", "Norge", "Sverige", "Australia"]
CITIES = [f"City {i:03}" for i in range(400)] + ["São Paulo", "Zürich", "Kraków", "Malmö"]
TITLES = [f"{lvl} {role}" for lvl in ["Junior", "Senior", "Lead", "Principal", "Chief", ""]
          for role in ["Engineer", "Analyst", "Manager", "Consultant", "Architect",
                       "Accountant", "Counsel", "Designer"]]
TYPES = ["UserMailbox"] * 85 + ["SharedMailbox"] * 10 + ["RoomMailbox"] * 3 + ["EquipmentMailbox"] * 2
DOMAINS = ["contoso.com", "fabrikam.com", "northwind.example", "adatum.com"]
TAGS = ["gdpr", "hipaa", "pci", "sox", "vip", "legal-hold", "exec", "contractor", "byod", "emea"]
TENANT = "contoso.onmicrosoft.com"
ORG_DN = "OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=EURPR05A012,DC=prod,DC=outlook,DC=com"

COLUMNS = [
    "Name", "Alias", "DisplayName", "UserPrincipalName", "PrimarySmtpAddress", "EmailAddresses",
    "ExternalDirectoryObjectId", "Guid", "DistinguishedName", "RecipientTypeDetails",
    "Department", "Title", "Company", "Office", "City", "StateOrProvince", "CountryOrRegion",
    "PostalCode", "Phone", "MobilePhone", "WhenCreated", "WhenChanged",
    "HiddenFromAddressListsEnabled", "IsDirSynced", "ArchiveStatus",
    "CustomAttribute1", "CustomAttribute2", "CustomAttribute3", "CustomAttribute4",
    "CustomAttribute5", "CustomAttribute6", "CustomAttribute7", "CustomAttribute8",
    "CustomAttribute10", "CustomAttribute15", "ExtensionCustomAttribute1",
    "ExtensionCustomAttribute3",
]


def quote(v):
    return '"' + v.replace('"', '""') + '"'


def writer(out, name, header):
    f = open(os.path.join(out, name + ".csv"), "w", encoding="utf-8-sig", newline="")
    f.write("#TYPE Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox\r\n")
    f.write(",".join(quote(h) for h in header) + "\r\n")
    return f


def row(f, values):
    f.write(",".join(quote(v) for v in values) + "\r\n")


def guid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def us_date(rng, first_year, last_year):
    y = rng.randint(first_year, last_year)
    m, d = rng.randint(1, 12), rng.randint(1, 28)
    h, mi, s = rng.randint(1, 12), rng.randint(0, 59), rng.randint(0, 59)
    return f"{m}/{d}/{y} {h}:{mi:02}:{s:02} {rng.choice(['AM', 'PM'])}"


def recase(rng, text):
    """The same identity as an administrator might type it."""
    r = rng.random()
    if r < 0.3:
        return text.upper()
    if r < 0.6:
        return text.lower()
    if r < 0.7:
        return "  " + text + " "
    return text


def identity(rng, obj):
    """One of the accepted identity forms of a mailbox or group, re-cased."""
    form = rng.random()
    if form < 0.25:
        g = obj["edoid"] if rng.random() < 0.5 else obj["guid"]
        g = g.upper() if rng.random() < 0.3 else g
        return "{" + g + "}" if rng.random() < 0.2 else g
    if form < 0.45:
        return recase(rng, obj["dn"])
    if form < 0.65:
        return recase(rng, obj["psa"])
    if form < 0.75:
        return recase(rng, "smtp:" + obj["proxy"])
    if form < 0.9:
        return recase(rng, obj["alias"])
    return obj["name"]


def mailboxes(out, n, rng):
    f = writer(out, "mailboxes", COLUMNS)
    objs = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        base = f"{first}.{last}".translate(ASCII).lower()
        alias = f"{base}{i}"
        name = f"{first} {last} {i:06}" if rng.random() < 0.7 else alias
        display = f"{last}, {first}" + (f" ({rng.choice(DEPARTMENTS).strip()})" if rng.random() < 0.4 else "")
        dom = rng.choice(DOMAINS)
        psa = f"{alias}@{dom}"
        upn = f"{alias}@{TENANT}" if rng.random() < 0.3 else psa
        proxy = f"{alias}@{TENANT}"
        proxies = [f"SMTP:{psa}", f"smtp:{proxy}"]
        for _ in range(rng.randint(0, 3)):
            proxies.append(f"{rng.choice(['smtp', 'Smtp'])}:{base}.{rng.randint(1, 99999)}@{rng.choice(DOMAINS)}")
        if rng.random() < 0.5:
            proxies.append(f"X500:/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn={rng.getrandbits(128):032x}-{alias[:20]}")
        if rng.random() < 0.3:
            proxies.append(f"SIP:{psa}")
        if rng.random() < 0.2:
            proxies.append(f"SPO:SPO_{guid(rng)}@SPO_{guid(rng)}")
        rng.shuffle(proxies)
        edoid, gid = guid(rng), guid(rng)
        dn = f"CN={alias},{ORG_DN}"
        rtd = rng.choice(TYPES)
        dept = rng.choice(DEPARTMENTS) if rng.random() < 0.9 else ""
        tags = ";".join(rng.sample(TAGS, rng.randint(0, 3))) if rng.random() < 0.6 else ""
        tags3 = ";".join(f"proj-{rng.randint(1, 5000)}" for _ in range(rng.randint(1, 4))) if rng.random() < 0.3 else ""
        values = [
            name, alias, display, upn, psa, ";".join(proxies), edoid, gid, dn, rtd,
            dept, rng.choice(TITLES), rng.choice(["Contoso Ltd", "Contoso GmbH", "Contoso S.A.", "Fabrikam Inc", ""]),
            f"Bldg {rng.randint(1, 300)}" if rng.random() < 0.8 else "", rng.choice(CITIES),
            f"ST{rng.randint(1, 60):02}" if rng.random() < 0.7 else "", rng.choice(COUNTRIES),
            f"{rng.randint(1000, 99999):05}", f"+1 555 {rng.randint(0, 9999999):07}",
            f"+44 7{rng.randint(0, 999999999):09}" if rng.random() < 0.5 else "",
            us_date(rng, 2008, 2026), f"{rng.randint(2020, 2026)}-{rng.randint(1, 12):02}-{rng.randint(1, 28):02}T{rng.randint(0, 23):02}:{rng.randint(0, 59):02}:00Z",
            rng.choice(["False"] * 9 + ["True"]), rng.choice(["True", "False"]), rng.choice(["None", "Active"]),
            f"EMP{i:08}", f"CC-{rng.randint(1, 2000):04}", "" if rng.random() < 0.97 else "flag",
            str(rng.randint(0, 10_000_000)), f"{rng.randint(1995, 2026)}-{rng.randint(1, 12):02}-{rng.randint(1, 28):02}",
            rng.choice(["A", "B", "C", ""]), "", "" if rng.random() < 0.99 else guid(rng),
            rng.choice(["tier0", "tier1", "tier2", "", "", ""]), "" if rng.random() < 0.995 else "legacy",
            tags, tags3,
        ]
        row(f, values)
        objs.append({"edoid": edoid, "guid": gid, "dn": dn, "psa": psa, "proxy": proxy,
                     "alias": alias, "name": name})
    f.close()
    return objs


def groups(out, n_groups, boxes, rng):
    f = writer(out, "groups", ["DistinguishedName", "ExternalDirectoryObjectId", "Guid",
                               "PrimarySmtpAddress", "EmailAddresses", "Alias", "Name", "DisplayName",
                               "RecipientTypeDetails"])
    objs = []
    for g in range(n_groups):
        alias = f"team-{g:05}-{rng.choice(['all', 'leads', 'ops', 'dl'])}"
        o = {"edoid": guid(rng), "guid": guid(rng), "dn": f"CN={alias},{ORG_DN}",
             "psa": f"{alias}@{rng.choice(DOMAINS)}", "proxy": f"{alias}@{TENANT}",
             "alias": alias, "name": f"Team {g:05} ({rng.choice(DEPARTMENTS).strip()})"}
        proxies = f"SMTP:{o['psa']};smtp:{o['proxy']}"
        row(f, [o["dn"], o["edoid"], o["guid"], o["psa"], proxies, alias, o["name"], o["name"],
                rng.choice(["MailUniversalSecurityGroup", "MailUniversalDistributionGroup", "GroupMailbox"])])
        objs.append(o)
    f.close()
    f = writer(out, "group_members", ["Group", "Member"])
    # Levels 0..3: a group may contain groups of the next level (depth up to 4).
    level = [g * 4 // n_groups for g in range(n_groups)]
    by_level = [[g for g in range(n_groups) if level[g] == lv] for lv in range(4)]
    for g in range(n_groups):
        container = identity(rng, objs[g])
        size = int(rng.paretovariate(1.2) * 20)
        size = min(size, 20_000)
        for _ in range(size):
            row(f, [container, identity(rng, boxes[rng.randrange(len(boxes))])])
        if level[g] < 3 and rng.random() < 0.5:
            for child in rng.sample(by_level[level[g] + 1], rng.randint(1, 3)):
                row(f, [container, identity(rng, objs[child])])
    f.close()
    return objs


def admin_units(out, n_units, boxes, rng):
    f = writer(out, "administrative_units", ["Id", "DisplayName", "DistinguishedName"])
    units = []
    for u in range(n_units):
        uid = guid(rng)
        dn = f"CN={uid},CN=AdministrativeUnits,{ORG_DN}"
        row(f, [uid, f"AU {rng.choice(COUNTRIES)} {u}", dn])
        units.append((uid, dn))
    f.close()
    f = writer(out, "administrative_unit_members", ["AdministrativeUnit", "Member"])
    for uid, _ in units:
        start = rng.randrange(len(boxes))
        for k in range(rng.randint(100, 8000)):
            row(f, [uid, identity(rng, boxes[(start + k * 7) % len(boxes)])])
    f.close()
    return units


def q(text):
    """A literal inside single quotes: a quote in it is doubled."""
    return text.replace("'", "''")


def leaf_pool(rng, groups_, units, boxes, size):
    """Distinct comparisons of every shape; scopes draw from the pool, so many repeat."""
    sample = [boxes[rng.randrange(len(boxes))] for _ in range(400)]
    shapes = []
    for _ in range(size):
        b = rng.choice(sample)
        alias, name = b["alias"], b["name"]
        k = rng.randrange(24)
        if k == 0:
            shapes.append(f"Department -eq '{rng.choice(DEPARTMENTS).strip()}'")
        elif k == 1:
            shapes.append(f"CountryOrRegion -ne '{rng.choice(COUNTRIES)}'")
        elif k == 2:
            shapes.append(f"Alias -like '{alias[:rng.randint(2, 6)]}*'")
        elif k == 3:
            shapes.append(f"Name -like '{q(name[:rng.randint(1, 4)])}*'")
        elif k == 4:
            shapes.append(f"UserPrincipalName -like '*{alias[-3:]}@{rng.choice(DOMAINS + [TENANT])}'")
        elif k == 5:
            shapes.append(f"DisplayName -like '*{q(rng.choice(LAST)[:4])}*'")
        elif k == 6:
            shapes.append(f"Name -like '*{rng.choice('aeiouns')}*'")  # broad: most rows match
        elif k == 7:
            shapes.append(f"Alias -like '{alias[0]}*{alias[-2:]}'")
        elif k == 8:
            shapes.append(f"PrimarySmtpAddress -like '*{alias[2:5]}*@{rng.choice(DOMAINS)}'")
        elif k == 9:
            shapes.append(f"EmailAddresses -like 'smtp:*{rng.randint(1, 99)}@{rng.choice(DOMAINS)}'")
        elif k == 10:
            shapes.append(f"EmailAddresses -eq 'smtp:{b['proxy']}'")
        elif k == 11:
            shapes.append(f"CustomAttribute4 -{rng.choice(['gt', 'lt', 'ge', 'le'])} {rng.randint(0, 10_000_000)}")
        elif k == 12:
            shapes.append(f"WhenCreated -{rng.choice(['gt', 'lt'])} '{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(2008, 2026)}'")
        elif k == 13:
            shapes.append(f"CustomAttribute5 -ge '{rng.randint(1995, 2026)}-{rng.randint(1, 12):02}-01'")
        elif k == 14:
            shapes.append(f"Name -{rng.choice(['gt', 'lt', 'ge', 'le'])} '{q(name[:rng.randint(1, 5)])}'")
        elif k == 15:
            shapes.append(f"PostalCode -le '{rng.randint(1000, 99999):05}'")
        elif k == 16:
            shapes.append(f"ExtensionCustomAttribute1 -eq '{rng.choice(TAGS)}'")
        elif k == 17:
            shapes.append(f"ExtensionCustomAttribute3 -like 'proj-{rng.randint(1, 500)}*'")
        elif k == 18:
            shapes.append(f"MemberOfGroup -eq '{rng.choice(groups_)['dn']}'")
        elif k == 19:
            shapes.append(f"CustomAttribute3 -{rng.choice(['eq', 'ne'])} $null")
        elif k == 20:
            shapes.append(f"RecipientTypeDetails -eq '{rng.choice(TYPES)}'")
        elif k == 21:
            shapes.append(f"CustomAttribute1 -like '*{rng.randint(0, 99999):05}*'")
        elif k == 22:
            shapes.append(f"Title -notlike '*{rng.choice(['Senior', 'Lead', 'Chief'])}*'")
        else:
            shapes.append(f"AdministrativeUnits -eq '{rng.choice(units)[1]}'")
    return shapes


def expression(rng, pool, narrow, depth=0):
    """A random filter of the pool's comparisons. At the top, a narrow
    comparison is and-ed in most of the time: real scopes select a department,
    a country or a team, and §6's tenant grants a few hundred million cells."""
    if depth >= 3 or (depth > 0 and rng.random() < 0.35):
        leaf = rng.choice(pool)
        return f"-not ({leaf})" if rng.random() < 0.15 else leaf
    parts = [expression(rng, pool, narrow, depth + 1) for _ in range(rng.randint(2, 4))]
    text = f" -{rng.choice(['and', 'or'])} ".join(parts)
    text = f"({text})"
    if depth == 0 and rng.random() < 0.97:
        return f"{rng.choice(narrow)} -and {text}"
    return f"-not {text}" if rng.random() < 0.1 else text


def policy_tables(out, rng, groups_, units, boxes, n_apps, n_scopes, n_assign, n_grants, n_aap):
    apps = [(guid(rng), guid(rng), f"Connector {a:05} {rng.choice(['Sync', 'Backup', 'CRM', 'HR', 'Archive'])}")
            for a in range(n_apps)]
    f = writer(out, "service_principals", ["AppId", "ObjectId", "DisplayName"])
    for app in apps:
        row(f, list(app))
    f.close()

    pool = leaf_pool(rng, groups_, units, boxes, 700)
    narrow = [f"Alias -like '{boxes[rng.randrange(len(boxes))]['alias'][:rng.randint(3, 6)]}*'" for _ in range(60)]
    narrow += [f"MemberOfGroup -eq '{rng.choice(groups_)['dn']}'" for _ in range(60)]
    narrow += [f"CustomAttribute2 -eq 'CC-{rng.randint(1, 2000):04}'" for _ in range(60)]
    narrow += [f"(Department -eq '{rng.choice(DEPARTMENTS).strip()}' -and City -eq '{rng.choice(CITIES)}')" for _ in range(60)]
    f = writer(out, "management_scopes", ["Name", "RecipientFilter", "Exclusive"])
    scopes = []
    for s in range(n_scopes):
        name = f"scope-{s:04}-{rng.choice(['eu', 'us', 'apac', 'all'])}"
        scopes.append(name)
        row(f, [name, expression(rng, pool, narrow), rng.choice(["False"] * 19 + ["True"])])
    f.close()

    roles = ["Application Mail.Read", "Application Mail.ReadWrite", "Application Mail.Send",
             "Application Calendars.Read", "Application Contacts.ReadWrite",
             "Application MailboxSettings.Read", "Application EWS.AccessAsApp",
             "Application Mail Full Access", "Application Exchange Full Access",
             "Application MailboxItem.Read", "Application SMTP.SendAsApp"]
    f = writer(out, "management_role_assignments", ["Name", "Role", "RoleAssignee", "RoleAssigneeType",
                                                    "RecipientWriteScope", "CustomResourceScope", "Enabled"])
    for a in range(n_assign):
        app = rng.choice(apps)
        kind = rng.random()
        if kind < 0.75:
            scope = ("CustomRecipientScope", rng.choice(scopes))
        elif kind < 0.87:
            scope = ("Group", rng.choice([groups_[rng.randrange(len(groups_))]["dn"], groups_[rng.randrange(len(groups_))]["guid"]]))
        elif kind < 0.995:
            scope = ("AdministrativeUnit", rng.choice(units)[0])
        else:
            scope = ("Organization", "")
        who = rng.choice([app[0], app[1], app[2]])
        row(f, [f"ra-{a:05}", rng.choice(roles), who, "ServicePrincipal", scope[0], scope[1],
                rng.choice(["True"] * 9 + ["False"])])
    f.close()

    graph = "00000003-0000-0000-c000-000000000000"
    # Most application permissions in a tenant are not about mailboxes; the
    # mail ones mostly belong to the apps the access policies restrict.
    other = ["User.Read.All", "Directory.Read.All", "Group.Read.All", "Sites.Read.All",
             "Files.Read.All", "AuditLog.Read.All", "Reports.Read.All", "Team.ReadBasic.All"]
    mail = ["Mail.Read", "Mail.ReadWrite", "Mail.Send", "Calendars.Read", "Contacts.Read",
            "MailboxSettings.ReadWrite", "Mail.ReadBasic.All"]
    restricted = apps[:300]
    f = writer(out, "app_role_assignments", ["PrincipalId", "ResourceAppId", "ResourceDisplayName", "Permission"])
    for g in range(n_grants):
        if g % 200 == 0:
            app, perm = rng.choice(apps), rng.choice(mail)
        elif g % 50 < 5:
            app, perm = rng.choice(restricted), rng.choice(mail)
        else:
            app, perm = rng.choice(apps), rng.choice(other)
        row(f, [app[1], graph, "Microsoft Graph", perm])
    f.close()

    f = writer(out, "application_access_policies", ["Identity", "AppId", "AccessRight", "ScopeIdentityRaw", "Description"])
    for p in range(n_aap):
        app = restricted[p % len(restricted)]
        g = groups_[rng.randrange(len(groups_))]
        sid = f"S-1-5-21-{rng.randint(10**9, 2 * 10**9)}-{rng.randint(10**9, 2 * 10**9)}-{rng.randint(10**8, 10**9)}-{rng.randint(1000, 99999)}"
        row(f, [f"{TENANT}\\{app[0]}:{p}", app[0], rng.choice(["RestrictAccess"] * 9 + ["DenyAccess"]),
                f"{sid};{g['guid']}", f"policy {p}"])
    f.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--mailboxes", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    boxes = mailboxes(args.out, args.mailboxes, rng)
    scale = args.mailboxes / 1_000_000
    groups_ = groups(args.out, max(10, int(20_000 * scale)), boxes, rng)
    units = admin_units(args.out, 200, boxes, rng)
    policy_tables(args.out, rng, groups_, units, boxes, n_apps=10_000, n_scopes=2_000,
                  n_assign=15_000, n_grants=30_000, n_aap=300)


if __name__ == "__main__":
    main()
