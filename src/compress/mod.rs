//! Compression stage: codec writers with an explicit `finish`, and readers that detect the codec from the bytes.
