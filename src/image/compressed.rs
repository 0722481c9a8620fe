//! A bare compressed stream (`Image.gz`, `vmlinux.xz`, SUSE's `vmlinux-REL.gz`): the file starts
//! with a compression magic ([`Compression::sniff`]).

use super::{Container, Detected, Hints, Payload};
use crate::decompress::Compression;
use crate::error::Problem;

/// The whole file as one compressed payload.
pub(super) fn detect(data: &[u8]) -> Result<Option<Detected>, Problem> {
    if Compression::sniff(data).is_none() {
        return Ok(None);
    }
    Ok(Some(Detected::Layer {
        container: Container::Compressed,
        payload: Payload::Compressed {
            range: 0..data.len(),
            named: None,
            size_end: data.len(),
        },
        hints: Hints::default(),
    }))
}
