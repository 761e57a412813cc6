//! Criterion benchmarks of the SQL serialisation hot path.
fn main() {}
