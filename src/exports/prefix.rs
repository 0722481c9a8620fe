//! Exports of an ELF vmlinux read from its first bytes, while it is still being decompressed.
//!
//! An x86 bzImage holds the whole vmlinux, section headers last, yet everything the export
//! table needs lies in the first third: include/asm-generic/vmlinux.lds.h places `__ksymtab*`,
//! `__kcrctab*`, `__kflagstab` and `__ksymtab_strings` inside `RO_DATA`, which ends with the
//! ELF notes (5.5+, so `PT_NOTE` ends just after the strings on x86_64), all in the first
//! loadable segment. The file header and program headers come first, so the decoder can stop
//! at the end of the note segment, or else of the first `PT_LOAD`, and the tables are found by
//! structure in the bytes just before ([`raw::read_confident`]). When that scan is not certain
//! the whole kernel is decoded and read by its sections.

use super::raw::{self, RawExports};
use crate::elf::consts::{PT_LOAD, PT_NOTE};
use crate::elf::Header;

/// `e_type` of a kernel: `ET_EXEC`, or `ET_DYN` for one linked `-pie`.
const KERNEL_FILE_TYPES: [u16; 2] = [2, 3];

/// Bytes before the end of the note segment scanned first, then four times as many, and so
/// on: the notes follow the strings within a few kilobytes (`__param`, `__modver`).
const FIRST_WINDOW: usize = 1 << 20;
/// Largest window scanned before the note segment's end; the whole prefix is scanned at the
/// end of the first `PT_LOAD`.
const NOTE_WINDOW: usize = 16 << 20;

/// How far a [`PrefixReader`] wants the kernel decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Decode at least this many bytes of the kernel and ask again.
    Bytes(usize),
    /// Enough has been read: stop decoding.
    Stop,
    /// Decode the whole kernel.
    All,
}

/// A place to stop decoding and look for the tables.
#[derive(Debug, Clone, Copy)]
struct Stop {
    /// Bytes decoded by then.
    at: usize,
    /// Most bytes before `at` scanned (`None`: everything).
    window: Option<usize>,
}

/// Decides how far to decode an ELF kernel ([`crate::image::Streaming`]), and keeps the exports
/// once they are found.
#[derive(Debug, Default)]
pub struct PrefixReader {
    header: Option<Header>,
    stops: Vec<Stop>,
    found: Option<RawExports>,
}

impl PrefixReader {
    /// A reader that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// What to decode next, given the kernel's bytes decoded so far.
    pub fn want(&mut self, prefix: &[u8]) -> Want {
        if self.header.is_none() {
            let Some(header) = Header::parse(prefix)
                .ok()
                .filter(|h| KERNEL_FILE_TYPES.contains(&h.file_type))
            else {
                return Want::All;
            };
            self.stops = stops(&header);
            self.header = Some(header);
        } else if let Some(stop) = self.stops.first().copied() {
            self.stops.remove(0);
            if let Some(found) = self.scan(prefix, stop) {
                self.found = Some(found);
                return Want::Stop;
            }
        }
        match self.stops.first() {
            Some(stop) if stop.at > prefix.len() => Want::Bytes(stop.at),
            _ => Want::All,
        }
    }

    /// The ELF header and the exports, when the reader said [`Want::Stop`].
    pub fn into_found(self) -> Option<(Header, RawExports)> {
        Some((self.header?, self.found?))
    }

    /// Look for the tables in windows growing back from `stop.at`.
    fn scan(&self, prefix: &[u8], stop: Stop) -> Option<RawExports> {
        let endian = self.header.as_ref()?.endian;
        let data = prefix.get(..stop.at)?;
        let largest = stop.window.unwrap_or(data.len()).min(data.len());
        let mut window = FIRST_WINDOW.min(largest);
        loop {
            if let Some(found) = raw::read_confident(&data[data.len() - window..], endian) {
                return Some(found);
            }
            if window == largest {
                return None;
            }
            window = window.saturating_mul(4).min(largest);
        }
    }
}

/// Where to stop: the end of each note segment, scanned a window back, then the end of the
/// first loadable segment, scanned whole; ascending, past the file header.
fn stops(header: &Header) -> Vec<Stop> {
    let end = |kind: u32| {
        header
            .program_headers
            .iter()
            .filter(move |p| p.kind == kind && p.filesz > 0)
            .filter_map(|p| usize::try_from(p.offset.checked_add(p.filesz)?).ok())
    };
    let mut stops: Vec<Stop> = end(PT_NOTE)
        .map(|at| Stop {
            at,
            window: Some(NOTE_WINDOW),
        })
        .collect();
    stops.extend(end(PT_LOAD).take(1).map(|at| Stop { at, window: None }));
    stops.sort_by_key(|s| s.at);
    stops.dedup_by_key(|s| s.at);
    stops.retain(|s| s.at > crate::image::EARLY_PROBE);
    stops
}

#[cfg(test)]
mod tests;
