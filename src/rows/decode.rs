//! Binary-protocol row packets decoded in place: each cell is read from the packet bytes and
//! written as SQL at once, with no allocation per row or cell.
//!
//! The layouts follow the protocol's binary result set rows (a 0x00 header, a NULL bitmap
//! offset by two bits, then each non-NULL value by its column type); the values are handed to
//! [`push_binary`] exactly as mysql_async's `Value` would carry them, so both row paths write
//! the same bytes.

use mysql_async::consts::{ColumnFlags, ColumnType};

use crate::connect::wire::{Malformed, Reader};
use crate::sql::insert::InsertBuilder;
use crate::sql::value::{BinaryCell, CellNote, push_binary};

/// How one column's non-NULL value is laid out in a binary row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Length-encoded bytes: character and binary strings, DECIMAL, BIT, ENUM, SET, JSON,
    /// GEOMETRY.
    Bytes,
    /// Little-endian integer of this many bytes (1, 2, 4, 8).
    Int {
        bytes: u8,
        unsigned: bool,
    },
    Float,
    Double,
    /// DATE, DATETIME, TIMESTAMP: a length byte, then 0, 4, 7 or 11 bytes.
    Date,
    /// TIME: a length byte, then 0, 8 or 12 bytes.
    Time,
    /// A column of type NULL: no bytes; the bitmap always says NULL.
    Null,
}

impl Layout {
    /// The layout of a column of this type, as the server announced it.
    pub fn of(column_type: ColumnType, flags: ColumnFlags) -> Result<Layout, Malformed> {
        use ColumnType::*;
        let unsigned = flags.contains(ColumnFlags::UNSIGNED_FLAG);
        Ok(match column_type {
            MYSQL_TYPE_STRING
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_SET
            | MYSQL_TYPE_ENUM
            | MYSQL_TYPE_DECIMAL
            | MYSQL_TYPE_NEWDECIMAL
            | MYSQL_TYPE_BIT
            | MYSQL_TYPE_GEOMETRY
            | MYSQL_TYPE_JSON
            | MYSQL_TYPE_VECTOR => Layout::Bytes,
            MYSQL_TYPE_TINY => Layout::Int { bytes: 1, unsigned },
            MYSQL_TYPE_SHORT | MYSQL_TYPE_YEAR => Layout::Int { bytes: 2, unsigned },
            MYSQL_TYPE_LONG | MYSQL_TYPE_INT24 => Layout::Int { bytes: 4, unsigned },
            MYSQL_TYPE_LONGLONG => Layout::Int { bytes: 8, unsigned },
            MYSQL_TYPE_FLOAT => Layout::Float,
            MYSQL_TYPE_DOUBLE => Layout::Double,
            MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE | MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIMESTAMP => {
                Layout::Date
            }
            MYSQL_TYPE_TIME => Layout::Time,
            MYSQL_TYPE_NULL => Layout::Null,
            other => {
                return Err(Malformed(format!(
                    "column type {other:?} is not sent in binary rows"
                )));
            }
        })
    }
}

/// Appends the row in `payload` (one binary-protocol row packet) to the open statement of
/// `builder`. Returns the length of the row's `(…)` tuple, which ends `out`.
pub fn push_row(
    builder: &mut InsertBuilder,
    out: &mut Vec<u8>,
    layouts: &[Layout],
    payload: &[u8],
) -> Result<usize, Malformed> {
    let bitmap_len = (layouts.len() + 7 + 2) / 8;
    if payload.first() != Some(&0) || payload.len() < 1 + bitmap_len {
        return Err(Malformed(format!(
            "a row packet of {} bytes has no row header and NULL bitmap",
            payload.len()
        )));
    }
    if builder.columns() != layouts.len() {
        return Err(Malformed(format!(
            "{} columns announced but {} expected",
            layouts.len(),
            builder.columns()
        )));
    }
    let bitmap = &payload[1..1 + bitmap_len];
    let mut reader = Reader {
        buf: payload,
        pos: 1 + bitmap_len,
    };
    let mut column = 0;
    let mut failed: Option<Malformed> = None;
    let len = builder.push_cells(out, |out, kind| {
        let i = column;
        column += 1;
        let bit = i + 2;
        if bitmap[bit / 8] & (1 << (bit % 8)) != 0 {
            return push_binary(out, kind, BinaryCell::Null);
        }
        match cell(&mut reader, layouts[i]) {
            Ok(cell) => push_binary(out, kind, cell),
            Err(e) => {
                failed.get_or_insert(e);
                CellNote::Written
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if reader.pos != payload.len() {
        return Err(Malformed(format!(
            "{} bytes left over after the last column of a row",
            payload.len() - reader.pos
        )));
    }
    Ok(len)
}

/// One cell of `layout` at the reader's position.
#[inline(always)]
fn cell<'a>(r: &mut Reader<'a>, layout: Layout) -> Result<BinaryCell<'a>, Malformed> {
    Ok(match layout {
        Layout::Bytes => {
            let len = r.lenenc()?;
            let len =
                usize::try_from(len).map_err(|_| Malformed(format!("a value of {len} bytes")))?;
            BinaryCell::Bytes(r.take(len)?)
        }
        // mysql_common reads signed integers as Int and unsigned ones as Int or UInt by
        // width; the digits written are the same either way.
        Layout::Int { bytes: 1, unsigned } => {
            let b = r.u8()?;
            if unsigned {
                BinaryCell::Int(i64::from(b))
            } else {
                BinaryCell::Int(i64::from(b as i8))
            }
        }
        Layout::Int { bytes: 2, unsigned } => {
            let a = r.array()?;
            if unsigned {
                BinaryCell::Int(i64::from(u16::from_le_bytes(a)))
            } else {
                BinaryCell::Int(i64::from(i16::from_le_bytes(a)))
            }
        }
        Layout::Int { bytes: 4, unsigned } => {
            let a = r.array()?;
            if unsigned {
                BinaryCell::Int(i64::from(u32::from_le_bytes(a)))
            } else {
                BinaryCell::Int(i64::from(i32::from_le_bytes(a)))
            }
        }
        Layout::Int { unsigned, .. } => {
            let a = r.array()?;
            if unsigned {
                BinaryCell::UInt(u64::from_le_bytes(a))
            } else {
                BinaryCell::Int(i64::from_le_bytes(a))
            }
        }
        Layout::Float => BinaryCell::Float(f32::from_le_bytes(r.array()?)),
        Layout::Double => BinaryCell::Double(f64::from_le_bytes(r.array()?)),
        Layout::Date => {
            // Fields by length as mysql_common reads them: 4 date, 7 with time, 11 with
            // microseconds.
            let len = usize::from(r.u8()?);
            let v = r.take(len)?;
            let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut us) = (0, 0, 0, 0, 0, 0, 0);
            if len >= 4 {
                y = u16::from_le_bytes([v[0], v[1]]);
                mo = v[2];
                d = v[3];
            }
            if len >= 7 {
                h = v[4];
                mi = v[5];
                s = v[6];
            }
            if len == 11 {
                us = u32::from_le_bytes([v[7], v[8], v[9], v[10]]);
            }
            BinaryCell::Date(y, mo, d, h, mi, s, us)
        }
        Layout::Time => {
            let len = usize::from(r.u8()?);
            let v = r.take(len)?;
            let (mut neg, mut days, mut h, mut mi, mut s, mut us) = (false, 0, 0, 0, 0, 0);
            if len >= 8 {
                neg = v[0] == 1;
                days = u32::from_le_bytes([v[1], v[2], v[3], v[4]]);
                h = v[5];
                mi = v[6];
                s = v[7];
            }
            if len == 12 {
                us = u32::from_le_bytes([v[8], v[9], v[10], v[11]]);
            }
            BinaryCell::Time(neg, days, h, mi, s, us)
        }
        Layout::Null => BinaryCell::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::value::CellKind;
    use mysql_async::Value;

    /// One binary row: header, NULL bitmap (offset 2), then the given non-NULL value bytes.
    fn row(nulls: &[bool], values: &[&[u8]]) -> Vec<u8> {
        let mut p = vec![0u8];
        let mut bitmap = vec![0u8; (nulls.len() + 9) / 8];
        for (i, null) in nulls.iter().enumerate() {
            if *null {
                bitmap[(i + 2) / 8] |= 1 << ((i + 2) % 8);
            }
        }
        p.extend_from_slice(&bitmap);
        for v in values {
            p.extend_from_slice(v);
        }
        p
    }

    /// The tuple the in-place path writes for `payload`.
    fn tuple(kinds: &[CellKind], layouts: &[Layout], payload: &[u8]) -> Result<String, Malformed> {
        let mut b = InsertBuilder::new("`t`", "`a`", kinds.to_vec(), 1 << 20);
        let mut out = Vec::new();
        let len = push_row(&mut b, &mut out, layouts, payload)?;
        Ok(String::from_utf8(out[out.len() - len..].to_vec()).unwrap())
    }

    /// The tuple the mysql_async path writes for the same values.
    fn via_values(kinds: &[CellKind], values: &[Value]) -> String {
        let mut b = InsertBuilder::new("`t`", "`a`", kinds.to_vec(), 1 << 20);
        let mut out = Vec::new();
        let len = b.push_values(&mut out, |i| &values[i]);
        String::from_utf8(out[out.len() - len..].to_vec()).unwrap()
    }

    fn lenenc(v: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match v.len() {
            n @ 0..=250 => out.push(n as u8),
            n @ 251..=0xffff => {
                out.push(0xfc);
                out.extend_from_slice(&(n as u16).to_le_bytes());
            }
            n @ 0x10000..=0xff_ffff => {
                out.push(0xfd);
                out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
            }
            n => {
                out.push(0xfe);
                out.extend_from_slice(&(n as u64).to_le_bytes());
            }
        }
        out.extend_from_slice(v);
        out
    }

    fn int(bytes: u8, unsigned: bool) -> Layout {
        Layout::Int { bytes, unsigned }
    }

    #[test]
    fn every_integer_width_and_sign() {
        let kinds = [CellKind::Exact; 8];
        let layouts = [
            int(1, false),
            int(1, true),
            int(2, false),
            int(2, true),
            int(4, false),
            int(4, true),
            int(8, false),
            int(8, true),
        ];
        let p = row(
            &[false; 8],
            &[
                &[0x80],
                &[0xff],
                &i16::MIN.to_le_bytes(),
                &u16::MAX.to_le_bytes(),
                &i32::MIN.to_le_bytes(),
                &u32::MAX.to_le_bytes(),
                &i64::MIN.to_le_bytes(),
                &u64::MAX.to_le_bytes(),
            ],
        );
        let expected = "(-128,255,-32768,65535,-2147483648,4294967295,\
                        -9223372036854775808,18446744073709551615)";
        assert_eq!(tuple(&kinds, &layouts, &p).unwrap(), expected);
        let values = [
            Value::Int(-128),
            Value::UInt(255),
            Value::Int(-32768),
            Value::UInt(65535),
            Value::Int(i64::from(i32::MIN)),
            Value::UInt(u64::from(u32::MAX)),
            Value::Int(i64::MIN),
            Value::UInt(u64::MAX),
        ];
        assert_eq!(via_values(&kinds, &values), expected);
    }

    #[test]
    fn floats_doubles_and_non_numbers() {
        let kinds = [CellKind::Float; 3];
        let layouts = [Layout::Float, Layout::Double, Layout::Double];
        let p = row(
            &[false; 3],
            &[
                &0.010516252_f32.to_le_bytes(),
                &5e-324_f64.to_le_bytes(),
                &f64::NAN.to_le_bytes(),
            ],
        );
        let values = [
            Value::Float(0.010516252),
            Value::Double(5e-324),
            Value::Double(f64::NAN),
        ];
        let got = tuple(&kinds, &layouts, &p).unwrap();
        assert_eq!(got, "(0.010516252368688583,5e-324,NULL)");
        assert_eq!(got, via_values(&kinds, &values));
    }

    #[test]
    fn dates_of_every_length() {
        let kinds = [
            CellKind::Date,
            CellKind::DateTime(0),
            CellKind::DateTime(3),
            CellKind::DateTime(6),
            CellKind::Date,
        ];
        let layouts = [Layout::Date; 5];
        let mut dt = vec![7u8];
        dt.extend_from_slice(&2001u16.to_le_bytes());
        dt.extend_from_slice(&[1, 2, 3, 4, 5]);
        let mut dtu = vec![11u8];
        dtu.extend_from_slice(&2001u16.to_le_bytes());
        dtu.extend_from_slice(&[1, 2, 3, 4, 5]);
        dtu.extend_from_slice(&678_000u32.to_le_bytes());
        let mut d = vec![4u8];
        d.extend_from_slice(&2020u16.to_le_bytes());
        d.extend_from_slice(&[2, 31]);
        let p = row(&[false; 5], &[&[0], &[0], &dtu, &dtu, &d]);
        let got = tuple(&kinds, &layouts, &p).unwrap();
        assert_eq!(
            got,
            "('0000-00-00','0000-00-00 00:00:00','2001-01-02 03:04:05.678',\
             '2001-01-02 03:04:05.678000','2020-02-31')"
        );
        let values = [
            Value::Date(0, 0, 0, 0, 0, 0, 0),
            Value::Date(0, 0, 0, 0, 0, 0, 0),
            Value::Date(2001, 1, 2, 3, 4, 5, 678_000),
            Value::Date(2001, 1, 2, 3, 4, 5, 678_000),
            Value::Date(2020, 2, 31, 0, 0, 0, 0),
        ];
        assert_eq!(got, via_values(&kinds, &values));
        let p = row(&[false], &[&dt]);
        assert_eq!(
            tuple(&[CellKind::DateTime(0)], &[Layout::Date], &p).unwrap(),
            "('2001-01-02 03:04:05')"
        );
    }

    #[test]
    fn times_negative_long_and_fractional() {
        let kinds = [CellKind::Time(0), CellKind::Time(6), CellKind::Time(2)];
        let layouts = [Layout::Time; 3];
        let mut neg = vec![12u8, 1];
        neg.extend_from_slice(&34u32.to_le_bytes());
        neg.extend_from_slice(&[22, 59, 59]);
        neg.extend_from_slice(&0u32.to_le_bytes());
        let mut pos = vec![8u8, 0];
        pos.extend_from_slice(&0u32.to_le_bytes());
        pos.extend_from_slice(&[1, 2, 3]);
        let p = row(&[false; 3], &[&[0], &neg, &pos]);
        let got = tuple(&kinds, &layouts, &p).unwrap();
        assert_eq!(got, "('00:00:00','-838:59:59.000000','01:02:03.00')");
        let values = [
            Value::Time(false, 0, 0, 0, 0, 0),
            Value::Time(true, 34, 22, 59, 59, 0),
            Value::Time(false, 0, 1, 2, 3, 0),
        ];
        assert_eq!(got, via_values(&kinds, &values));
    }

    #[test]
    fn bytes_by_kind_with_every_length_prefix() {
        let kinds = [
            CellKind::Exact,
            CellKind::Quoted,
            CellKind::Hex,
            CellKind::Introduced("sjis"),
            CellKind::Quoted,
            CellKind::Hex,
        ];
        let layouts = [Layout::Bytes; 6];
        let mid = vec![b'x'; 300];
        let big = vec![0xabu8; 70_000];
        let p = row(
            &[false; 6],
            &[
                &lenenc(b"-12.50"),
                &lenenc(b"it's\n"),
                &lenenc(&[0, 0xff]),
                &lenenc(&[0x95, 0x5c]),
                &lenenc(&mid),
                &lenenc(&big),
            ],
        );
        let got = tuple(&kinds, &layouts, &p).unwrap();
        let values = [
            Value::Bytes(b"-12.50".to_vec()),
            Value::Bytes(b"it's\n".to_vec()),
            Value::Bytes(vec![0, 0xff]),
            Value::Bytes(vec![0x95, 0x5c]),
            Value::Bytes(mid.clone()),
            Value::Bytes(big.clone()),
        ];
        assert_eq!(got, via_values(&kinds, &values));
        assert!(got.starts_with("(-12.50,'it\\'s\\n',0x00FF,_sjis 0x955C,'xxx"));
        // An 8-byte length prefix.
        let mut eight = vec![0xfe];
        eight.extend_from_slice(&3u64.to_le_bytes());
        eight.extend_from_slice(b"abc");
        let p = row(&[false], &[&eight]);
        assert_eq!(
            tuple(&[CellKind::Quoted], &[Layout::Bytes], &p).unwrap(),
            "('abc')"
        );
    }

    #[test]
    fn the_null_bitmap_is_offset_by_two_bits() {
        // Ten columns: bits 2..11 span two bitmap bytes; NULLs at columns 0, 5, 6 and 9.
        let nulls = [
            true, false, false, false, false, true, true, false, false, true,
        ];
        let kinds = [CellKind::Exact; 10];
        let layouts = [int(1, false); 10];
        let values: Vec<&[u8]> = vec![&[1], &[2], &[3], &[4], &[7], &[8]];
        let p = row(&nulls, &values);
        assert_eq!(p.len(), 1 + 2 + 6);
        assert_eq!(p[1], 0b1000_0100);
        assert_eq!(p[2], 0b0000_1001);
        assert_eq!(
            tuple(&kinds, &layouts, &p).unwrap(),
            "(NULL,1,2,3,4,NULL,NULL,7,8,NULL)"
        );
        // Six columns fit one bitmap byte with the two offset bits; seven need two.
        assert_eq!(row(&[true; 6], &[]).len(), 2);
        assert_eq!(row(&[true; 7], &[]).len(), 3);
        assert_eq!(
            tuple(
                &[CellKind::Quoted; 7],
                &[Layout::Bytes; 7],
                &row(&[true; 7], &[])
            )
            .unwrap(),
            "(NULL,NULL,NULL,NULL,NULL,NULL,NULL)"
        );
        // A NULL-typed column reads nothing.
        let p = row(&[true, false], &[&[5]]);
        assert_eq!(
            tuple(
                &[CellKind::Quoted, CellKind::Exact],
                &[Layout::Null, int(1, false)],
                &p
            )
            .unwrap(),
            "(NULL,5)"
        );
    }

    #[test]
    fn truncated_and_overlong_rows_are_refused() {
        let layouts = [int(4, false)];
        let kinds = [CellKind::Exact];
        assert!(tuple(&kinds, &layouts, &row(&[false], &[&[1, 2]])).is_err());
        assert!(tuple(&kinds, &layouts, &row(&[false], &[&[1, 2, 3, 4, 5]])).is_err());
        assert!(tuple(&kinds, &layouts, &[0xfe, 0, 0]).is_err());
        assert!(tuple(&kinds, &layouts, &[]).is_err());
        let p = row(&[false], &[&[0xfd, 0xff, 0xff, 0xff]]);
        assert!(tuple(&[CellKind::Quoted], &[Layout::Bytes], &p).is_err());
        let p = row(&[false], &[&[0xfb]]);
        assert!(tuple(&[CellKind::Quoted], &[Layout::Bytes], &p).is_err());
    }

    #[test]
    fn layouts_follow_the_column_type() {
        use ColumnType::*;
        let none = ColumnFlags::empty();
        assert_eq!(
            Layout::of(MYSQL_TYPE_YEAR, ColumnFlags::UNSIGNED_FLAG).unwrap(),
            int(2, true)
        );
        assert_eq!(Layout::of(MYSQL_TYPE_INT24, none).unwrap(), int(4, false));
        assert_eq!(
            Layout::of(MYSQL_TYPE_NEWDECIMAL, none).unwrap(),
            Layout::Bytes
        );
        assert_eq!(
            Layout::of(MYSQL_TYPE_TIMESTAMP, none).unwrap(),
            Layout::Date
        );
        assert!(Layout::of(MYSQL_TYPE_DATETIME2, none).is_err());
    }
}
