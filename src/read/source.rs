//! Where a backup's bytes come from: a file, or an object of a bucket (`s3://bucket/key`),
//! behind one `Read`, so that every later stage (decrypt, decompress, split, verify) is the
//! same for both. A path is an object's exactly when it starts with `s3://`.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::s3::{self, ObjectReader};

/// The bytes of one backup file.
pub enum Source {
    File(File),
    Object(Box<ObjectReader>),
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::File(f) => f.read(buf),
            Source::Object(o) => o.read(buf),
        }
    }
}

/// Whether `path` names an object (`s3://…`) rather than a file.
pub fn is_object(path: &Path) -> bool {
    s3::is_s3(path)
}

/// Opens `path` to read it from the start.
pub fn open(path: &Path) -> io::Result<Source> {
    open_at(path, 0)
}

/// Opens `path` to read it from byte `offset`.
pub fn open_at(path: &Path, offset: u64) -> io::Result<Source> {
    if is_object(path) {
        return Ok(Source::Object(Box::new(ObjectReader::open(path, offset)?)));
    }
    let mut f = File::open(path)?;
    if offset > 0 {
        use std::io::{Seek, SeekFrom};
        f.seek(SeekFrom::Start(offset))?;
    }
    Ok(Source::File(f))
}

/// The size of the file or object.
pub fn size(path: &Path) -> io::Result<u64> {
    if is_object(path) {
        return Ok(s3::bucket_of(path)?.stat(path)?.size);
    }
    Ok(std::fs::metadata(path)?.len())
}

/// The size and modification time (an object's upload time) of the file or object.
pub fn stat(path: &Path) -> io::Result<(u64, Option<std::time::SystemTime>)> {
    if is_object(path) {
        let listed = s3::bucket_of(path)?.stat(path)?;
        return Ok((listed.size, Some(listed.modified)));
    }
    let m = std::fs::metadata(path)?;
    Ok((m.len(), m.modified().ok()))
}

/// Whether `path` is a regular file or an object that exists (false when it cannot be told).
pub fn is_file(path: &Path) -> bool {
    if is_object(path) {
        return s3::bucket_of(path).is_ok_and(|b| b.stat(path).is_ok());
    }
    path.is_file()
}

/// The first `n` bytes (fewer when the file is shorter).
pub fn head(path: &Path, n: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    if is_object(path) {
        // One small range, not the first MiB a reader of the whole object starts with.
        ObjectReader::open_for_a_look(path, n as u64)?
            .take(n as u64)
            .read_to_end(&mut out)?;
        return Ok(out);
    }
    open(path)?.take(n as u64).read_to_end(&mut out)?;
    Ok(out)
}

/// The whole of a small file or object (metadata, a verify record), refused beyond `limit`
/// bytes as [`crate::limits::read_file`] refuses it.
pub fn read_bounded(path: &Path, limit: u64, what: &str) -> io::Result<Vec<u8>> {
    if !is_object(path) {
        return crate::limits::read_file(path, limit, what);
    }
    let reader = ObjectReader::open(path, 0)?;
    let hint = reader.size();
    crate::limits::read_limited(reader, hint, limit, what)
}
