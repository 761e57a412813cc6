//! Splitting a table into key ranges so that one huge table is dumped by every worker.
//!
//! Ranges are half-open on the leading integer column of a primary or unique key. The first
//! range is open below (and takes the NULLs of a nullable unique key), the last open above, so
//! a boundary estimate that is off never loses a row, and every row falls in exactly one range.

use crate::catalog::SplitKey;
use crate::quote::ident;

/// Aim for chunks of about this much table data: big enough that per-chunk query overhead (a
/// millisecond) is noise, small enough that when the last chunks run, the workers that have
/// nothing left wait a fraction of a second at most (a 64 MiB chunk took a second here).
pub const CHUNK_TARGET_BYTES: u64 = 16 << 20;
/// Chunks per worker at most: small thread counts gain nothing from more queries.
pub const CHUNKS_PER_WORKER: usize = 32;
/// More chunks than this only adds queries.
pub const MAX_CHUNKS: u64 = 256;

/// How many chunks a table of this estimated size gets with chunks of `target` bytes.
pub fn chunk_count(estimated_bytes: u64, target: u64) -> usize {
    estimated_bytes.div_ceil(target.max(1)).clamp(1, MAX_CHUNKS) as usize
}

/// WHERE predicates of the chunks of `key` over `[min, max]`; one `None` for a single chunk.
pub fn plan(key: &SplitKey, min: i128, max: i128, chunks: usize) -> Vec<Option<String>> {
    if chunks <= 1 || max <= min {
        return vec![None];
    }
    let span = max - min + 1;
    let mut bounds: Vec<i128> = (1..chunks as i128)
        .map(|i| min + span * i / chunks as i128)
        .collect();
    bounds.dedup();
    bounds.retain(|b| *b > min && *b <= max);
    if bounds.is_empty() {
        return vec![None];
    }
    let col = ident(&key.column);
    let mut out = Vec::with_capacity(bounds.len() + 1);
    let first = if key.nullable {
        format!("({col} < {} OR {col} IS NULL)", bounds[0])
    } else {
        format!("{col} < {}", bounds[0])
    };
    out.push(Some(first));
    for w in bounds.windows(2) {
        out.push(Some(format!("{col} >= {} AND {col} < {}", w[0], w[1])));
    }
    out.push(Some(format!("{col} >= {}", bounds[bounds.len() - 1])));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(nullable: bool) -> SplitKey {
        SplitKey {
            column: "id".into(),
            nullable,
        }
    }

    /// Evaluates the plan's predicates in Rust on every value of a range, NULL included.
    fn owners(preds: &[Option<String>], v: Option<i128>) -> usize {
        preds
            .iter()
            .filter(|p| match (p, v) {
                (None, _) => true,
                (Some(p), None) => p.contains("IS NULL"),
                (Some(p), Some(v)) => p
                    .replace("(", "")
                    .replace(")", "")
                    .split(" OR ")
                    .next()
                    .unwrap()
                    .split(" AND ")
                    .all(|c| {
                        let parts: Vec<&str> = c.split_whitespace().collect();
                        let b: i128 = parts[2].parse().unwrap();
                        match parts[1] {
                            "<" => v < b,
                            ">=" => v >= b,
                            _ => unreachable!(),
                        }
                    }),
            })
            .count()
    }

    #[test]
    fn every_value_lands_in_exactly_one_chunk() {
        for (min, max, n) in [
            (1, 100, 4),
            (-50, 50, 7),
            (0, 3, 8),
            (i64::MIN as i128, i64::MAX as i128, 5),
        ] {
            let preds = plan(&key(true), min, max, n);
            assert!(preds.len() <= n);
            for v in [
                min - 10,
                min,
                min + 1,
                (min + max) / 2,
                max - 1,
                max,
                max + 10,
            ] {
                assert_eq!(owners(&preds, Some(v)), 1, "value {v} in {preds:?}");
            }
            assert_eq!(owners(&preds, None), 1, "NULL in {preds:?}");
        }
    }

    #[test]
    fn unsigned_bigint_extremes_split() {
        let preds = plan(&key(false), 0, u64::MAX as i128, 4);
        assert_eq!(preds.len(), 4);
        assert_eq!(owners(&preds, Some(u64::MAX as i128)), 1);
        assert!(!preds[0].as_ref().unwrap().contains("NULL"));
    }

    #[test]
    fn small_or_empty_ranges_are_one_chunk() {
        assert_eq!(plan(&key(false), 5, 5, 8), vec![None]);
        assert_eq!(plan(&key(false), 1, 100, 1), vec![None]);
        assert_eq!(chunk_count(0, CHUNK_TARGET_BYTES), 1);
        assert_eq!(chunk_count(CHUNK_TARGET_BYTES * 3, CHUNK_TARGET_BYTES), 3);
        assert_eq!(chunk_count(u64::MAX, 1), MAX_CHUNKS as usize);
    }
}
