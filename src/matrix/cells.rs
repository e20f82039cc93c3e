//! The cells of the matrix: one app and permission over mailboxes, split by the
//! source that grants each cell, and the provenance of one cell.
//!
//! Evaluation produces [`CellSet`]s, the access writer streams them, the reader
//! rebuilds them from a dataset, and diff compares two of them: one type for all.

use roaring::RoaringBitmap;

use crate::policy::permissions::PermissionId;

/// Which sources grant one cell: an Entra grant (after application access
/// policies), an RBAC assignment, both, or neither. Written in `access.parquet`
/// as the `via` bitmask 1 = entra, 2 = rbac, 3 = both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Via(u8);

impl Via {
    /// Not granted.
    pub const NONE: Via = Via(0);
    /// Granted through Entra only.
    pub const ENTRA: Via = Via(1);
    /// Granted through RBAC only.
    pub const RBAC: Via = Via(2);
    /// Granted through both.
    pub const BOTH: Via = Via(3);

    pub fn new(entra: bool, rbac: bool) -> Via {
        Via(u8::from(entra) | (u8::from(rbac) << 1))
    }

    /// The provenance a `via` bitmask of a dataset stands for; `None` outside 0..=3.
    pub fn from_bits(bits: u8) -> Option<Via> {
        (bits <= 3).then_some(Via(bits))
    }

    /// The bitmask as `access.parquet` stores it.
    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn is_granted(self) -> bool {
        self.0 != 0
    }

    pub fn entra(self) -> bool {
        self.0 & 1 != 0
    }

    pub fn rbac(self) -> bool {
        self.0 & 2 != 0
    }

    /// `entra`, `rbac` or `entra+rbac`; `None` when not granted.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Via::ENTRA => Some("entra"),
            Via::RBAC => Some("rbac"),
            Via::BOTH => Some("entra+rbac"),
            _ => None,
        }
    }
}

/// The cells of one app and permission, by provenance, over mailbox indices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellSet {
    pub app: u32,
    pub permission: PermissionId,
    /// Mailboxes reached through the Entra grant (after application access policies).
    pub entra: RoaringBitmap,
    /// Mailboxes reached through RBAC assignments.
    pub rbac: RoaringBitmap,
}

impl CellSet {
    /// Every mailbox reached, by any source.
    pub fn cells(&self) -> RoaringBitmap {
        &self.entra | &self.rbac
    }

    /// The number of cells.
    pub fn len(&self) -> u64 {
        self.entra.union_len(&self.rbac)
    }

    pub fn is_empty(&self) -> bool {
        self.entra.is_empty() && self.rbac.is_empty()
    }

    /// The provenance of one mailbox's cell.
    pub fn via(&self, mailbox: u32) -> Via {
        Via::new(self.entra.contains(mailbox), self.rbac.contains(mailbox))
    }

    /// Calls `f(mailbox, via)` for every cell, in mailbox order.
    pub fn for_each_cell(&self, mut f: impl FnMut(u32, Via)) {
        let mut e = self.entra.iter().peekable();
        let mut r = self.rbac.iter().peekable();
        loop {
            match (e.peek().copied(), r.peek().copied()) {
                (Some(a), Some(b)) if a == b => {
                    f(a, Via::BOTH);
                    e.next();
                    r.next();
                }
                (Some(a), Some(b)) if a < b => {
                    f(a, Via::ENTRA);
                    e.next();
                }
                (Some(a), None) => {
                    f(a, Via::ENTRA);
                    e.next();
                }
                (_, Some(b)) => {
                    f(b, Via::RBAC);
                    r.next();
                }
                (None, None) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_bits_and_names() {
        for (entra, rbac, bits, name) in [
            (false, false, 0, None),
            (true, false, 1, Some("entra")),
            (false, true, 2, Some("rbac")),
            (true, true, 3, Some("entra+rbac")),
        ] {
            let via = Via::new(entra, rbac);
            assert_eq!((via.bits(), via.name()), (bits, name));
            assert_eq!((via.entra(), via.rbac()), (entra, rbac));
            assert_eq!(Via::from_bits(bits), Some(via));
        }
        assert_eq!(Via::from_bits(4), None);
    }

    #[test]
    fn cells_are_visited_in_mailbox_order_with_their_provenance() {
        let set = CellSet {
            app: 0,
            permission: 0,
            entra: [1, 3, 5].into_iter().collect(),
            rbac: [2, 3, 6].into_iter().collect(),
        };
        let mut seen = Vec::new();
        set.for_each_cell(|m, via| seen.push((m, via)));
        assert_eq!(
            seen,
            [
                (1, Via::ENTRA),
                (2, Via::RBAC),
                (3, Via::BOTH),
                (5, Via::ENTRA),
                (6, Via::RBAC)
            ]
        );
        assert_eq!(set.len(), 5);
        assert_eq!(set.via(4), Via::NONE);
    }
}
