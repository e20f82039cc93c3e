//! OPATH recipient filters, compiled to roaring bitmaps over mailbox indices.
//!
//! ```text
//! expr    := or
//! or      := and ( "-or" and )*
//! and     := unary ( "-and" unary )*
//! unary   := "-not" unary | "(" expr ")" | compare
//! compare := Property op value
//! op      := -eq -ne -like -notlike -lt -gt -le -ge
//! value   := 'single quoted' ('' escapes a quote) | "double quoted" ("" escapes)
//!          | number | $true | $false | $null
//! ```
//!
//! Text → [`lexer`] tokens → [`parser`] AST with spans → [`compile`] plan with
//! resolved properties → each comparison a [`leaf`] test, answered with every
//! other comparison of its property in one pass over the values ([`scan`]) →
//! bitmap algebra. Keywords, property names and values compare
//! case-insensitively.

pub mod ast;
pub mod compile;
pub mod error;
pub mod leaf;
pub mod lexer;
mod order;
pub mod parser;
pub mod plan;
pub mod scan;
pub mod suggest;
pub mod trace;
pub mod value;

pub use compile::{Compiled, FilterContext, MailboxRows, Planned};
pub use error::{render, FilterError, FilterErrorKind};
pub use parser::{parse, MAX_NESTING};
pub use plan::{Leaf, Note, Plan, Property};
pub use trace::{LeafTrace, Trace};
