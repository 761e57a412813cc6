//! The SQL stage: turning catalog entries and row cells into the text of a dump file.

pub mod insert;
pub mod script;
pub mod value;
