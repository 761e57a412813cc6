//! The SQL stage: turning catalog entries and row cells into the text of a dump file.

pub mod ident;
pub mod insert;
pub mod rewrite;
pub mod script;
pub mod value;
