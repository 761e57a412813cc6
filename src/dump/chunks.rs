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
pub(crate) const CHUNKS_PER_WORKER: usize = 32;
/// More chunks than this only adds queries.
pub(crate) const MAX_CHUNKS: u64 = 256;

/// How many chunks a table of this estimated size gets with chunks of `target` bytes.
pub(crate) fn chunk_count(estimated_bytes: u64, target: u64) -> usize {
    estimated_bytes.div_ceil(target.max(1)).clamp(1, MAX_CHUNKS) as usize
}

/// The rows of one chunk of a table: those whose split column is in `[lower, upper)`. A
/// missing bound is an open end; the range open below also takes the NULLs of a nullable key.
/// Both open is the whole table, read without a WHERE clause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyRange {
    /// Inclusive.
    lower: Option<i128>,
    /// Exclusive.
    upper: Option<i128>,
}

impl KeyRange {
    /// The whole table: the one chunk of a table that is not split.
    pub(crate) const WHOLE: KeyRange = KeyRange {
        lower: None,
        upper: None,
    };

    /// The WHERE predicate that selects this range of `key`'s column; None for the whole table.
    pub(crate) fn predicate(&self, key: &SplitKey) -> Option<String> {
        let col = ident(&key.column);
        match (self.lower, self.upper) {
            (None, None) => None,
            (None, Some(upper)) if key.nullable => {
                Some(format!("({col} < {upper} OR {col} IS NULL)"))
            }
            (None, Some(upper)) => Some(format!("{col} < {upper}")),
            (Some(lower), Some(upper)) => Some(format!("{col} >= {lower} AND {col} < {upper}")),
            (Some(lower), None) => Some(format!("{col} >= {lower}")),
        }
    }
}

/// Whether `ranges`, in order, partition every value of the column (NULL included): the first
/// open below, the last open above, and each range starting at the bound the one before it
/// ends at. The predicates compare the column with the same integer literal on both sides of
/// a bound (`< b` then `>= b`), so every row satisfies exactly one of them whatever the
/// values are: this is what proves a chunked table's rows complete and unrepeated, checked
/// before any range is read, instead of a `COUNT(*)` that scanned the table a second time.
pub(crate) fn is_partition(ranges: &[KeyRange]) -> bool {
    let (Some(first), Some(last)) = (ranges.first(), ranges.last()) else {
        return false;
    };
    first.lower.is_none()
        && last.upper.is_none()
        && ranges.windows(2).all(|w| match (w[0].upper, w[1].lower) {
            (Some(end), Some(start)) => end == start && w[1].upper.is_none_or(|u| start < u),
            _ => false,
        })
}

/// The key ranges of up to `chunks` chunks over `[min, max]`, in key order; one
/// [`KeyRange::WHOLE`] for a single chunk.
pub(crate) fn plan(min: i128, max: i128, chunks: usize) -> Vec<KeyRange> {
    if chunks <= 1 || max <= min {
        return vec![KeyRange::WHOLE];
    }
    let span = max - min + 1;
    let mut bounds: Vec<i128> = (1..chunks as i128)
        .map(|i| min + span * i / chunks as i128)
        .collect();
    bounds.dedup();
    bounds.retain(|b| *b > min && *b <= max);
    if bounds.is_empty() {
        return vec![KeyRange::WHOLE];
    }
    let mut out = Vec::with_capacity(bounds.len() + 1);
    out.push(KeyRange {
        lower: None,
        upper: Some(bounds[0]),
    });
    for w in bounds.windows(2) {
        out.push(KeyRange {
            lower: Some(w[0]),
            upper: Some(w[1]),
        });
    }
    out.push(KeyRange {
        lower: Some(bounds[bounds.len() - 1]),
        upper: None,
    });
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

    /// How many of the ranges hold `v` (None: NULL) of a nullable key.
    fn owners(ranges: &[KeyRange], v: Option<i128>) -> usize {
        ranges
            .iter()
            .filter(|r| match v {
                None => r.lower.is_none(),
                Some(v) => r.lower.is_none_or(|l| v >= l) && r.upper.is_none_or(|u| v < u),
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
            let preds = plan(min, max, n);
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
            assert!(is_partition(&preds), "{preds:?}");
        }
    }

    #[test]
    fn only_ranges_that_cover_every_value_once_are_a_partition() {
        let r = |lower, upper| KeyRange { lower, upper };
        assert!(is_partition(&[KeyRange::WHOLE]));
        assert!(is_partition(&[r(None, Some(5)), r(Some(5), None)]));
        assert!(is_partition(&[
            r(None, Some(5)),
            r(Some(5), Some(9)),
            r(Some(9), None)
        ]));
        // Nothing, a gap, an overlap, a closed end, an empty or reversed middle range.
        assert!(!is_partition(&[]));
        assert!(!is_partition(&[r(None, Some(5)), r(Some(6), None)]));
        assert!(!is_partition(&[r(None, Some(5)), r(Some(4), None)]));
        assert!(!is_partition(&[r(Some(0), Some(5)), r(Some(5), None)]));
        assert!(!is_partition(&[r(None, Some(5)), r(Some(5), Some(9))]));
        assert!(!is_partition(&[
            r(None, Some(5)),
            r(Some(5), Some(5)),
            r(Some(5), None)
        ]));
        assert!(!is_partition(&[
            r(None, Some(9)),
            r(Some(9), Some(5)),
            r(Some(5), None)
        ]));
        assert!(!is_partition(&[r(None, None), r(None, None)]));
    }

    #[test]
    fn unsigned_bigint_extremes_split() {
        let preds = plan(0, u64::MAX as i128, 4);
        assert_eq!(preds.len(), 4);
        assert_eq!(owners(&preds, Some(u64::MAX as i128)), 1);
        assert!(!preds[0].predicate(&key(false)).unwrap().contains("NULL"));
    }

    #[test]
    fn small_or_empty_ranges_are_one_chunk() {
        assert_eq!(plan(5, 5, 8), vec![KeyRange::WHOLE]);
        assert_eq!(plan(1, 100, 1), vec![KeyRange::WHOLE]);
        assert_eq!(chunk_count(0, CHUNK_TARGET_BYTES), 1);
        assert_eq!(chunk_count(CHUNK_TARGET_BYTES * 3, CHUNK_TARGET_BYTES), 3);
        assert_eq!(chunk_count(u64::MAX, 1), MAX_CHUNKS as usize);
    }

    #[test]
    fn ranges_render_as_the_predicates_the_row_query_sends() {
        let ranges = plan(1, 100, 4);
        let sql = |nullable| -> Vec<Option<String>> {
            ranges.iter().map(|r| r.predicate(&key(nullable))).collect()
        };
        assert_eq!(
            sql(true),
            [
                Some("(`id` < 26 OR `id` IS NULL)".to_owned()),
                Some("`id` >= 26 AND `id` < 51".to_owned()),
                Some("`id` >= 51 AND `id` < 76".to_owned()),
                Some("`id` >= 76".to_owned()),
            ]
        );
        assert_eq!(sql(false)[0].as_deref(), Some("`id` < 26"));
        assert_eq!(KeyRange::WHOLE.predicate(&key(true)), None);
    }
}
