//! Reading Module.symvers text: one line at a time, as strict as modpost is about what it
//! writes, from a string or streamed from a file.
//!
//! Every modpost since 2.6.18 writes each line with `"0x%08x\t%s\t%s\t%s…\n"`
//! (scripts/mod/modpost.c `write_dump`): a CRC of exactly eight lower-case hex digits, a
//! symbol name, a module column (`vmlinux` or the module's path without `.o`), the export
//! macro (or `(unknown)`, [`ExportType::Unknown`]) and, since 5.4, the namespace; modpost
//! before 2.6.18 wrote the first three columns only. Its `read_dump` is laxer (`strtoul` takes `+1`, ` 1`
//! or `0X1` as CRCs), but a line that modpost could not have written is a damaged or
//! hand-made table, and a plausible table read from it would be wrong without a word: such a
//! line is an error naming the file and the line. Line framing is not judged: a `\r` before
//! the `\n` and blank lines are skipped.

use std::io::{BufRead, Read};
use std::path::Path;

use crate::error::{Error, Problem, Result};

use super::name::Interner;
use super::{Entry, ExportType, Table};

/// The longest line read. modpost's longest would be a 512-byte symbol (KSYM_NAME_LEN since
/// 6.1), a module path of at most PATH_MAX (4096) bytes and a namespace: a longer line is not a
/// table line, and the cap bounds the memory a line without a newline can take.
pub const MAX_LINE: usize = 64 << 10;

/// Builds a [`Table`] line by line, sharing module and namespace names.
pub(super) struct LineParser<'p> {
    path: &'p Path,
    names: Interner,
    entries: Vec<Entry>,
    lines: Vec<usize>,
}

impl<'p> LineParser<'p> {
    pub(super) fn new(path: &'p Path) -> Self {
        LineParser {
            path,
            names: Interner::default(),
            entries: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// The table and the 1-based line number of each entry.
    pub(super) fn finish(mut self) -> (Table, Vec<usize>) {
        self.entries.shrink_to_fit();
        self.lines.shrink_to_fit();
        (
            Table {
                entries: self.entries,
            },
            self.lines,
        )
    }

    fn bad(&self, number: usize, detail: String) -> Error {
        Error::at_line(self.path, number, detail)
    }

    /// Parse line `number` (1-based), given without its `\n`.
    pub(super) fn bytes(&mut self, number: usize, line: &[u8]) -> Result<()> {
        match std::str::from_utf8(line) {
            Ok(text) => self.line(number, text),
            Err(e) => Err(self.bad(
                number,
                format!("not UTF-8 text (byte {} of the line)", e.valid_up_to() + 1),
            )),
        }
    }

    /// Parse line `number` (1-based), given without its `\n`.
    pub(super) fn line(&mut self, number: usize, line: &str) -> Result<()> {
        // Lines end in "\n" or "\r\n"; unlike `str::lines`, a last line without its newline
        // loses a trailing "\r" too, so that parsing what `to_text` wrote gives the same table.
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            return Ok(());
        }
        if line.len() > MAX_LINE {
            return Err(self.bad(number, too_long()));
        }
        let bad = |detail: String| Error::at_line(self.path, number, detail);
        let mut fields = [""; 5];
        let mut count = 0;
        for field in line.split('\t') {
            if let Some(slot) = fields.get_mut(count) {
                *slot = field;
            }
            count += 1;
        }
        let (crc, symbol, module, kind, namespace) = match (count, fields) {
            (5, [crc, sym, module, kind, ns]) if ExportType::parse(kind).is_some() => {
                (crc, sym, module, kind, ns)
            }
            (5, [crc, sym, ns, module, kind]) if ExportType::parse(kind).is_some() => {
                (crc, sym, module, kind, ns)
            }
            // Neither order names a known type: say so, in 5.6+ terms.
            (5, [crc, sym, module, kind, ns]) => (crc, sym, module, kind, ns),
            (4, [crc, sym, module, kind, _]) => (crc, sym, module, kind, ""),
            // modpost before 2.6.18: no export type.
            (3, [crc, sym, module, _, _]) => (crc, sym, module, "(unknown)", ""),
            _ => {
                return Err(bad(format!(
                    "expected 3 to 5 tab-separated fields, found {count}"
                )))
            }
        };
        let hex = crc
            .strip_prefix("0x")
            .ok_or_else(|| bad(format!("CRC {crc:?} does not start with 0x")))?;
        let value = u32::from_str_radix(hex, 16)
            .map_err(|_| bad(format!("CRC {crc:?} is not a 32-bit hex number")))?;
        let kind =
            ExportType::parse(kind).ok_or_else(|| bad(format!("unknown export type {kind:?}")))?;
        if symbol.is_empty() {
            return Err(bad("empty symbol name".into()));
        }
        // What modpost never writes (u32::from_str_radix takes "+1a", "0001", "A1"; modpost's
        // own reader takes empty namespaces but refuses an empty module column).
        if hex.len() != 8 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad(format!(
                "CRC {crc:?} is not written as modpost writes one: 0x and 8 lower-case hex digits"
            )));
        }
        if module.is_empty() {
            return Err(bad(format!(
                "{symbol}: empty module column (modpost writes vmlinux or the module's path)"
            )));
        }
        for (what, text) in [("symbol name", symbol), ("module column", module)] {
            if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(bad(format!(
                    "{what} {text:?} holds a space or control character, which modpost never writes"
                )));
            }
        }
        // In 5.6+ order the namespace ends the line, where a CR of a CRLF file is not part of
        // it; strip it in every order so that a table reads the same whichever order it was
        // written in (found by fuzzing).
        let namespace = namespace.trim_end_matches('\r');
        if namespace.chars().any(char::is_control) {
            return Err(bad(format!(
                "namespace {namespace:?} holds a control character, which modpost never writes"
            )));
        }
        let module = self.names.get(module);
        let namespace = self.names.get(namespace);
        self.lines.push(number);
        self.entries.push(Entry {
            crc: value,
            symbol: symbol.to_string(),
            module,
            kind,
            namespace,
        });
        Ok(())
    }

    /// Parse all of `text`.
    pub(super) fn text(mut self, text: &[u8]) -> Result<(Table, Vec<usize>)> {
        for (index, line) in text.split(|&b| b == b'\n').enumerate() {
            self.bytes(index + 1, line)?;
        }
        Ok(self.finish())
    }

    /// Parse what `reader` gives, at most `limit` bytes, one line in memory at a time.
    pub(super) fn stream(
        mut self,
        reader: impl BufRead,
        limit: u64,
    ) -> Result<(Table, Vec<usize>)> {
        let mut reader = reader.take(limit.saturating_add(1));
        let mut line = Vec::new();
        let mut number = 0usize;
        loop {
            line.clear();
            let read = (&mut reader)
                .take(MAX_LINE as u64 + 2)
                .read_until(b'\n', &mut line)
                .map_err(|e| Error::io(self.path, e))?;
            if read == 0 {
                break;
            }
            number += 1;
            if reader.limit() == 0 {
                return Err(Error::format(
                    self.path,
                    Problem::FileTooLarge {
                        size: limit.saturating_add(1),
                        limit,
                    },
                ));
            }
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            if text.len() > MAX_LINE + 1 {
                return Err(self.bad(number, too_long()));
            }
            self.bytes(number, text)?;
        }
        Ok(self.finish())
    }
}

fn too_long() -> String {
    format!(
        "line longer than {MAX_LINE} bytes (modpost writes a CRC, a symbol name, a module path, an export type and a namespace)"
    )
}

/// Read the Module.symvers file at `path`, at most `limit` bytes of text: a plain file is
/// parsed as it is read; a compressed one (sniffed from its magic bytes) is decompressed first.
pub(super) fn read_file(path: &Path, limit: u64) -> Result<(Table, Vec<usize>)> {
    let (mut file, size) = crate::input::open_regular(path)?;
    if size > limit {
        return Err(Error::format(path, Problem::FileTooLarge { size, limit }));
    }
    // Enough for every magic number `Compression::sniff` knows.
    let mut head = Vec::with_capacity(16);
    (&mut file)
        .take(16)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    let parser = LineParser::new(path);
    match crate::decompress::Compression::sniff(&head) {
        Some(format) => {
            let data = crate::input::read_rest(path, &mut file, head, limit)?;
            let text = crate::decompress::decompress(&data, format, limit)
                .map_err(|p| Error::format(path, p))?;
            drop(data);
            parser.text(&text)
        }
        None => {
            let reader =
                std::io::BufReader::with_capacity(1 << 16, std::io::Cursor::new(head).chain(file));
            parser.stream(reader, limit)
        }
    }
}
