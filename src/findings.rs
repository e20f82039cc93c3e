//! Findings: suspicious but valid input, reported alongside the matrix instead of
//! stopping the analysis. Each has a stable `kind` that reports and tests key on.

use std::fmt;

use crate::error::Location;

/// How much a finding matters to a reviewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Context for the reader; nothing is wrong.
    Info,
    /// The configuration probably does not do what its author meant.
    Warning,
    /// exomatrix could not read part of the configuration as it stands and
    /// made a cautious assumption (stated in the message) that may over-state
    /// access; the result needs a person's review.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding: what kind, how severe, which object, what to know, where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: &'static str,
    pub severity: Severity,
    pub object: String,
    pub message: String,
    pub source: Option<Location>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}] {}: {}",
            self.severity.as_str(),
            self.kind,
            self.object,
            self.message
        )?;
        if let Some(source) = &self.source {
            write!(f, " ({source})")?;
        }
        Ok(())
    }
}

/// The findings of one analysis, in the order they were found.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    items: Vec<Finding>,
}

impl Findings {
    pub fn push(
        &mut self,
        kind: &'static str,
        severity: Severity,
        object: impl Into<String>,
        message: impl Into<String>,
        source: Option<Location>,
    ) {
        self.items.push(Finding {
            kind,
            severity,
            object: object.into(),
            message: message.into(),
            source,
        });
    }

    pub fn warn(
        &mut self,
        kind: &'static str,
        object: impl Into<String>,
        message: impl Into<String>,
        source: Option<Location>,
    ) {
        self.push(kind, Severity::Warning, object, message, source);
    }

    pub fn error(
        &mut self,
        kind: &'static str,
        object: impl Into<String>,
        message: impl Into<String>,
        source: Option<Location>,
    ) {
        self.push(kind, Severity::Error, object, message, source);
    }

    pub fn info(
        &mut self,
        kind: &'static str,
        object: impl Into<String>,
        message: impl Into<String>,
        source: Option<Location>,
    ) {
        self.push(kind, Severity::Info, object, message, source);
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Finding> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Number of findings of a kind.
    pub fn count(&self, kind: &str) -> usize {
        self.items.iter().filter(|f| f.kind == kind).count()
    }

    /// Number of findings of a severity.
    pub fn count_severity(&self, severity: Severity) -> usize {
        self.items.iter().filter(|f| f.severity == severity).count()
    }
}

/// Finding kinds, as constants so producers and tests cannot drift apart.
pub mod kind {
    pub const UNRESOLVED_IDENTITY: &str = "unresolved-identity";
    pub const NOT_A_GROUP: &str = "not-a-group";
    pub const GROUP_IN_ADMINISTRATIVE_UNIT: &str = "group-in-administrative-unit";
    pub const GROUP_NESTING_CYCLE: &str = "group-nesting-cycle";
    pub const FILTER_MATCHES_NOTHING: &str = "filter-matches-nothing";
    pub const FILTER_LINT: &str = "filter-lint";
    pub const MEMBER_OF_GROUP_NOT_DN: &str = "member-of-group-not-dn";
    pub const RBAC_SHADOWED_BY_ENTRA: &str = "rbac-shadowed-by-entra";
    pub const TENANT_WIDE_UNSCOPED: &str = "tenant-wide-unscoped";
    pub const GRANTED_VIA_GRAPH_AND_EXCHANGE: &str = "granted-via-graph-and-exchange";
    pub const IGNORED_ENTRA_GRANTS: &str = "ignored-entra-grants";
    pub const UNKNOWN_PRINCIPAL: &str = "unknown-service-principal";
    pub const POLICY_INVALID: &str = "policy-invalid";
    pub const POLICY_SCOPE_UNRESOLVED: &str = "policy-scope-unresolved";
    pub const POLICY_SCOPE_TYPE: &str = "policy-scope-type";
    pub const UNKNOWN_APPLICATION_ROLE: &str = "unknown-application-role";
    pub const ASSIGNMENT_DISABLED: &str = "assignment-disabled";
    pub const ASSIGNMENT_SCOPE_MISSING: &str = "assignment-scope-missing";
    pub const ASSIGNMENT_SEVERAL_SCOPES: &str = "assignment-several-scopes";
    pub const EXCLUSIVE_SCOPE_IGNORED: &str = "exclusive-scope-ignored";
    pub const AMBIGUOUS_SERVICE_PRINCIPAL: &str = "ambiguous-service-principal";
    pub const ASSIGNMENT_SCOPE_KIND_UNKNOWN: &str = "assignment-scope-kind-unknown";
}
