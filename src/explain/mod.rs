//! Why one app can or cannot reach one mailbox: every Entra grant, policy,
//! assignment, scope and filter comparison that decided it, with the wording of
//! the DESIGN §3 rule that applied. Only the app's own scopes are compiled, and
//! only that app is evaluated.

mod cmdlets;
mod load;

pub use cmdlets::AuthorizationRow;
pub use load::resolve_mailbox;

use std::sync::Mutex;
use std::time::Duration;

use roaring::RoaringBitmap;

use crate::directory::{Directory, Recipient};
use crate::filter::{FilterContext, Trace};
use crate::matrix::{describe_app, Grant, Via};
use crate::policy::permissions::{self, PermissionId, CATALOGUE};
use crate::policy::{Assignment, Model, Nesting, Policy, ScopeKind};
use crate::snapshot::Snapshot;

/// A snapshot loaded to answer questions about one app.
pub struct Explainer {
    pub snapshot: Snapshot,
    pub directory: Directory,
    pub model: Model,
    pub app: u32,
    /// The mailbox the explainer was loaded for; `None`: any mailbox.
    pub mailbox: Option<u32>,
    /// The app's grants, evaluated exactly as `analyze` does (for a loaded
    /// mailbox, exact for that mailbox only).
    pub grants: Vec<Grant>,
    /// Time to read the snapshot files, and to answer beyond that.
    pub load_time: Duration,
    pub answer_time: Duration,
    /// Every scope's filter traced for the last mailbox asked about: one filter
    /// context (and its indexes) serves all permissions and assignments.
    traces: Mutex<Option<(u32, Vec<Trace>)>>,
}

impl Explainer {
    /// Checks that the explainer can answer for mailbox `m`.
    fn check_mailbox(&self, m: u32) {
        assert!(
            self.directory.is_exact_for(m),
            "this Explainer was loaded for mailbox {:?}, not {m}",
            self.mailbox
        );
    }

    pub fn app_label(&self) -> String {
        let a = &self.model.apps.apps[self.app as usize];
        describe_app(a.display_name.as_deref(), &a.app_id)
    }

    pub fn mailbox_label(&self, m: u32) -> String {
        format!(
            "{} ({})",
            self.directory.mailbox_address(m),
            self.directory.mailbox_id(m)
        )
    }

    /// The provenance of the app's cell for one permission and mailbox, as `analyze` computes it.
    pub fn via(&self, permission: PermissionId, m: u32) -> Via {
        self.check_mailbox(m);
        self.grants
            .iter()
            .find(|g| g.cells.permission == permission)
            .map_or(Via::NONE, |g| g.cells.via(m))
    }

    /// The permissions the app holds in any way (Entra grant or an assignment's role).
    pub fn relevant_permissions(&self) -> Vec<PermissionId> {
        (0..CATALOGUE.len() as PermissionId)
            .filter(|&p| self.has_entra(p) || !self.assignments_for(p).is_empty())
            .collect()
    }

    fn has_entra(&self, p: PermissionId) -> bool {
        self.model.entra[self.app as usize]
            .iter()
            .any(|g| g.permission == p)
    }

    fn assignments_for(&self, p: PermissionId) -> Vec<&Assignment> {
        self.model.app_assignments[self.app as usize]
            .iter()
            .map(|&i| &self.model.assignments[i])
            .filter(|a| a.permissions.contains(&p))
            .collect()
    }

    fn policies(&self) -> Vec<&Policy> {
        self.model.policies_of(self.app)
    }

    fn nesting(&self) -> Nesting {
        self.model.options.aap_nesting
    }

    /// The §3.2 decision for this app and mailbox, and the sentence that says why.
    pub fn aap_decision(&self, m: u32) -> (bool, String) {
        self.check_mailbox(m);
        let policies = self.policies();
        let nesting = self.nesting();
        let names = |ps: &[&Policy]| {
            ps.iter()
                .map(|p| format!("'{}'", p.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let covers = |p: &&&Policy| p.members(nesting).contains(m);
        let restricts: Vec<&Policy> = policies.iter().copied().filter(|p| p.restrict).collect();
        let denies: Vec<&Policy> = policies.iter().copied().filter(|p| !p.restrict).collect();
        let deny_hits: Vec<&Policy> = denies.iter().filter(covers).copied().collect();
        let restrict_hits: Vec<&Policy> = restricts.iter().filter(covers).copied().collect();
        if !deny_hits.is_empty() {
            let although = if restrict_hits.is_empty() {
                String::new()
            } else {
                format!(
                    " although RestrictAccess policy {} matches ({})",
                    names(&restrict_hits),
                    self.policy_membership(restrict_hits[0], m)
                )
            };
            return (
                false,
                format!(
                    "denied by DenyAccess policy {} ({}){although}: Deny beats Restrict",
                    names(&deny_hits),
                    self.policy_membership(deny_hits[0], m)
                ),
            );
        }
        if !restrict_hits.is_empty() {
            return (
                true,
                format!(
                    "allowed by RestrictAccess policy {} ({})",
                    names(&restrict_hits),
                    self.policy_membership(restrict_hits[0], m)
                ),
            );
        }
        if !restricts.is_empty() {
            return (
                false,
                format!(
                    "denied: the app has RestrictAccess policies ({}) and the mailbox is in none of their scopes{}",
                    names(&restricts),
                    self.empty_scope_notes(&restricts)
                ),
            );
        }
        if !denies.is_empty() {
            return (
                true,
                format!(
                    "allowed: the app has only DenyAccess policies ({}) and none covers the mailbox",
                    names(&denies)
                ),
            );
        }
        (
            true,
            "no application access policy applies to the app, so its Entra grants reach every mailbox"
                .to_string(),
        )
    }

    /// Why some listed policies have an empty scope (invalid, unresolved).
    fn empty_scope_notes(&self, policies: &[&Policy]) -> String {
        let notes: Vec<String> = policies
            .iter()
            .filter(|p| p.scope.is_none())
            .map(|p| format!("policy '{}' has an empty scope (IsValid False or its scope '{}' is not in the snapshot)", p.name, p.scope_identity.as_deref().unwrap_or("")))
            .collect();
        if notes.is_empty() {
            String::new()
        } else {
            format!("; {}", notes.join("; "))
        }
    }

    /// How a mailbox is in a policy's scope: the scope itself, or a member of its group.
    fn policy_membership(&self, p: &Policy, m: u32) -> String {
        match p.scope {
            Some(Recipient::Mailbox(_)) => "the mailbox is its scope".to_string(),
            Some(Recipient::Group(g)) => self.group_path(g, m).map_or_else(
                || "the mailbox is in its scope".to_string(),
                |path| format!("the mailbox is a member of {path}"),
            ),
            None => "its scope is empty".to_string(),
        }
    }

    /// `group 'A'` for a direct member, `group 'A' through nested group 'B'` otherwise.
    fn group_path(&self, group: u32, m: u32) -> Option<String> {
        let groups = &self.directory.groups;
        let label = |g: u32| format!("'{}'", groups[g as usize].label);
        // Breadth-first: the shortest chain of nested groups to a direct membership.
        let mut parent: Vec<Option<u32>> = vec![None; groups.len()];
        let mut seen = RoaringBitmap::new();
        let mut queue = std::collections::VecDeque::from([group]);
        seen.insert(group);
        while let Some(g) = queue.pop_front() {
            if groups[g as usize].direct_mailboxes.contains(m) {
                let mut chain = vec![g];
                let mut at = g;
                while let Some(p) = parent[at as usize] {
                    chain.push(p);
                    at = p;
                }
                chain.reverse();
                let mut text = format!("group {}", label(chain[0]));
                if chain.len() > 1 {
                    let nested: Vec<String> = chain[1..].iter().map(|&g| label(g)).collect();
                    text.push_str(&format!(" through nested group {}", nested.join(" > ")));
                }
                return Some(text);
            }
            if self.nesting() == Nesting::Direct && g == group {
                // Direct mode: only the scope group's own members count.
                continue;
            }
            for &h in &groups[g as usize].direct_groups {
                if seen.insert(h) {
                    parent[h as usize] = Some(g);
                    queue.push_back(h);
                }
            }
        }
        None
    }

    /// Whether an assignment's scope covers the mailbox, and why.
    pub fn scope_decision(&self, a: &Assignment, m: u32) -> (bool, Vec<String>) {
        self.check_mailbox(m);
        let groups = &self.directory.groups;
        match &a.scope {
            ScopeKind::Organization => (
                true,
                vec!["no resource scope: the whole organization".to_string()],
            ),
            ScopeKind::Missing(name) => (
                false,
                vec![format!(
                    "{name} is not in the snapshot, so it grants nothing"
                )],
            ),
            ScopeKind::UnknownKind(kind) => (
                true,
                vec![format!(
                    "RecipientWriteScope '{kind}' is a scope kind exomatrix does not know; counted as the whole organization (may over-state access)"
                )],
            ),
            ScopeKind::AdministrativeUnit(u) => {
                let unit = &self.directory.admin_units[*u as usize];
                let inside = unit.members.contains(m);
                (
                    inside,
                    vec![format!(
                        "administrative unit '{}': the mailbox is {}a direct member",
                        unit.label,
                        if inside { "" } else { "not " }
                    )],
                )
            }
            ScopeKind::Group(g) => {
                let group = &groups[*g as usize];
                let inside = group.direct_mailboxes.contains(m);
                let mut why = vec![format!(
                    "group '{}': the mailbox is {}a direct member",
                    group.label,
                    if inside { "" } else { "not " }
                )];
                if !inside && self.directory.transitive_members(*g).contains(m) {
                    why.push(
                        "  it is a member only through a nested group, and RecipientGroupScope counts direct members only"
                            .to_string(),
                    );
                }
                (inside, why)
            }
            ScopeKind::Custom(i) => {
                let scope = &self.model.scopes[*i];
                let trace = self.trace(*i, m);
                let holds = trace.holds();
                debug_assert_eq!(holds, scope.compiled.bitmap.contains(m));
                let mut why = vec![format!(
                    "management scope '{}' {} the mailbox: {}",
                    scope.name,
                    if holds { "matches" } else { "does not match" },
                    scope.filter
                )];
                why.extend(describe_trace(&trace, &scope.filter));
                (holds, why)
            }
        }
    }

    /// Scope `i`'s filter evaluated for mailbox `m`, with every comparison's result.
    fn trace(&self, i: usize, m: u32) -> Trace {
        let mut cache = self.traces.lock().expect("not poisoned");
        if cache.as_ref().is_none_or(|(mailbox, _)| *mailbox != m) {
            let ctx = FilterContext::new(&self.snapshot.mailboxes, &self.directory);
            let traces = self
                .model
                .scopes
                .iter()
                .map(|s| ctx.trace(&s.compiled.plan, m))
                .collect();
            *cache = Some((m, traces));
        }
        cache.as_ref().expect("filled").1[i].clone()
    }

    /// The explanation of one permission for one mailbox.
    pub fn explain(&self, permission: PermissionId, m: u32) -> Explanation {
        let info = permissions::info(permission);
        let mut lines = Vec::new();
        let entra: Vec<_> = self.model.entra[self.app as usize]
            .iter()
            .filter(|g| g.permission == permission)
            .collect();
        match entra.first() {
            None => lines.push(format!("entra: no Entra grant of {}", info.name)),
            Some(g) => {
                let grant = format!("entra: Entra grant of {} ({})", info.name, g.source);
                if info.aap {
                    let (allowed, why) = self.aap_decision(m);
                    lines.push(format!(
                        "{grant}; {} is constrained by application access policies: {why}{}",
                        info.name,
                        if allowed {
                            ""
                        } else {
                            ", so the Entra grant does not reach this mailbox"
                        }
                    ));
                } else {
                    lines.push(format!(
                        "{grant}; {} is not constrained by application access policies, so it reaches every mailbox",
                        info.name
                    ));
                }
            }
        }
        let assignments = self.assignments_for(permission);
        if assignments.is_empty() {
            lines.push(format!(
                "rbac: no role assignment of the app grants {}",
                info.name
            ));
        }
        for a in assignments {
            let head = format!(
                "rbac: assignment '{}' (role {}, {})",
                a.name, a.role, a.source
            );
            if !a.enabled {
                lines.push(format!("{head} is disabled, so it grants nothing"));
                continue;
            }
            let (inside, why) = self.scope_decision(a, m);
            lines.push(format!(
                "{head} {}",
                if inside {
                    "covers the mailbox"
                } else {
                    "does not cover the mailbox"
                }
            ));
            lines.extend(why.into_iter().map(|w| format!("  {w}")));
        }
        if info.aap && self.has_entra(permission) && !self.assignments_for(permission).is_empty() {
            lines.push(
                "note: application access policies narrow only the Entra grant; an RBAC assignment is never narrowed by them"
                    .to_string(),
            );
        }
        Explanation {
            permission,
            via: self.via(permission, m),
            lines,
        }
    }
}

/// One permission explained for one mailbox.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub permission: PermissionId,
    /// The cell's provenance.
    pub via: Via,
    pub lines: Vec<String>,
}

impl Explanation {
    pub fn verdict(&self) -> String {
        match self.via.name() {
            None => "NOT GRANTED".to_string(),
            Some(via) => format!("GRANTED via {via}"),
        }
    }
}

/// The deciding comparisons of a filter for one mailbox, one line each: the
/// comparison, whether it held, and the mailbox's values.
pub fn describe_trace(trace: &Trace, filter: &str) -> Vec<String> {
    trace
        .deciding()
        .into_iter()
        .map(|leaf| {
            let text = filter.get(leaf.span.clone()).unwrap_or(&leaf.property);
            let values = if leaf.values.is_empty() {
                format!("{} is blank", leaf.property)
            } else {
                let quoted: Vec<String> = leaf.values.iter().map(|v| format!("'{v}'")).collect();
                format!("{} is {}", leaf.property, quoted.join(", "))
            };
            format!(
                "  {text} is {} for this mailbox: {values}",
                if leaf.holds { "true" } else { "false" }
            )
        })
        .collect()
}
