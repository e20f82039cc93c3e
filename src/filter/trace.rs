//! A filter evaluated for one mailbox, node by node: why it matched or not.

use super::ast::Span;

/// One filter node evaluated for one mailbox, with its result.
#[derive(Debug, Clone, PartialEq)]
pub enum Trace {
    And(Vec<Trace>, bool),
    Or(Vec<Trace>, bool),
    Not(Box<Trace>, bool),
    Leaf(LeafTrace),
}

/// One comparison evaluated for one mailbox.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafTrace {
    /// The comparison's span in the filter text.
    pub span: Span,
    pub property: String,
    /// The mailbox's values of the property (none when blank).
    pub values: Vec<String>,
    pub holds: bool,
}

impl Trace {
    pub fn holds(&self) -> bool {
        match self {
            Trace::And(_, h) | Trace::Or(_, h) | Trace::Not(_, h) => *h,
            Trace::Leaf(l) => l.holds,
        }
    }

    /// The comparisons that decided the result: for a filter that holds, those
    /// that made it hold; for one that does not, those that made it fail.
    pub fn deciding(&self) -> Vec<&LeafTrace> {
        let mut out = Vec::new();
        self.collect_deciding(self.holds(), &mut out);
        out
    }

    fn collect_deciding<'t>(&'t self, want: bool, out: &mut Vec<&'t LeafTrace>) {
        match self {
            // A node whose result is `want`: its children with the result that caused it.
            Trace::And(items, _) | Trace::Or(items, _) => {
                for item in items {
                    if item.holds() == want {
                        item.collect_deciding(want, out);
                    }
                }
            }
            Trace::Not(inner, _) => inner.collect_deciding(!want, out),
            Trace::Leaf(l) => out.push(l),
        }
    }
}
