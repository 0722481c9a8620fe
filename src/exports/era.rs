//! The one place that knows how the export tables changed across kernel versions.
//!
//! A kernel's export tables are described by one [`TableLayout`] value: the layout of each
//! `struct kernel_symbol` entry ([`KsymtabLayout`]), how `__kcrctab*` stores the CRCs
//! ([`CrcStorage`]) and which tables the kernel has ([`TableKinds`]). The readers that find
//! tables (by ELF section name in a vmlinux, by structure in a raw image, by relocations in a
//! module) produce this value from the data; the decoders consume it and never guess again. No
//! behaviour is keyed on a version string: the data tells the era.
//!
//! Adding the next kernel change means adding a variant to one of these enums (with the commit
//! that introduced it), answering its questions in the `match`es below, and teaching the
//! producer that detects it; the tests in `exports/tests.rs` and `exports/raw/tests.rs` run every
//! layout through every reader.

use serde::{Deserialize, Serialize};

use super::ExportKind;

/// The layout of `struct kernel_symbol` (include/linux/export.h, later
/// include/linux/export-internal.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KsymtabLayout {
    /// `{int value_offset; int name_offset; int namespace_offset;}`: 5.4+ on architectures with
    /// HAVE_ARCH_PREL32_RELOCATIONS (8651ec01daed "module: add support for symbol namespaces").
    /// In 5.4 a zero namespace offset means none.
    Prel32Namespaced,
    /// `{int value_offset; int name_offset;}`: 4.19–5.3 on PREL32 architectures (7290d5809571
    /// "module: use relative references for __ksymtab entries").
    Prel32,
    /// `{unsigned long value; const char *name; const char *namespace;}`: 5.4+ elsewhere
    /// (8651ec01daed).
    AbsoluteNamespaced,
    /// `{unsigned long value; const char *name;}`: before 4.19, and before 5.4 elsewhere.
    Absolute,
}

impl KsymtabLayout {
    /// Candidates in the order they are tried when the data does not say.
    pub const ALL: [KsymtabLayout; 4] = [
        KsymtabLayout::Prel32Namespaced,
        KsymtabLayout::Prel32,
        KsymtabLayout::AbsoluteNamespaced,
        KsymtabLayout::Absolute,
    ];

    /// The layout with self-relative (`relative`) or absolute fields, with or without a
    /// namespace field.
    pub fn new(relative: bool, namespace: bool) -> Self {
        match (relative, namespace) {
            (true, true) => KsymtabLayout::Prel32Namespaced,
            (true, false) => KsymtabLayout::Prel32,
            (false, true) => KsymtabLayout::AbsoluteNamespaced,
            (false, false) => KsymtabLayout::Absolute,
        }
    }

    /// True for self-relative 32-bit offsets, false for absolute pointers.
    pub fn is_relative(self) -> bool {
        matches!(
            self,
            KsymtabLayout::Prel32Namespaced | KsymtabLayout::Prel32
        )
    }

    /// True when tables of entries of this layout may be in link order, with names outside
    /// `__ksymtab_strings` ([`EntryOrder::LinkOrder`]): only kernels before 3.0 have such
    /// tables, and their entries are two absolute pointers.
    pub fn admits_link_order(self) -> bool {
        self == KsymtabLayout::Absolute
    }

    /// True when the entry has a namespace field (5.4+). modpost of such a kernel writes a
    /// namespace column in Module.symvers; before, four columns.
    pub fn has_namespace(self) -> bool {
        matches!(
            self,
            KsymtabLayout::Prel32Namespaced | KsymtabLayout::AbsoluteNamespaced
        )
    }

    /// Fields per entry: value, name, and the namespace when there is one.
    pub fn fields(self) -> usize {
        if self.has_namespace() {
            3
        } else {
            2
        }
    }

    /// Size of one field in bytes for a kernel with `word_size`-byte pointers.
    pub fn field_size(self, word_size: usize) -> usize {
        if self.is_relative() {
            4
        } else {
            word_size
        }
    }

    /// Size of one entry in bytes.
    pub fn entry_size(self, word_size: usize) -> usize {
        self.fields() * self.field_size(word_size)
    }

    /// Offset of the name field within an entry.
    pub fn name_offset(self, word_size: usize) -> usize {
        self.field_size(word_size)
    }

    /// Offset of the namespace field within an entry, if any.
    pub fn namespace_offset(self, word_size: usize) -> Option<usize> {
        self.has_namespace().then(|| 2 * self.field_size(word_size))
    }
}

/// How `__kcrctab*` entries store the CRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrcStorage {
    /// No CRC tables: the kernel was built without CONFIG_MODVERSIONS.
    None,
    /// One `u32` per symbol: 4.10+ (71810db27c1c "modversions: treat symbol CRCs as 32 bit
    /// quantities").
    U32,
    /// One `unsigned long` per symbol: before 4.10.
    Word,
    /// A self-relative `s32` offset to the CRC: CONFIG_MODULE_REL_CRCS, 4.10 (56067812d5b0
    /// "kbuild: modversions: add infrastructure for emitting relative CRCs") to 5.18
    /// (7b4537199a4a "kbuild: link symbol CRCs at final link, removing CONFIG_MODULE_REL_CRCS").
    Relative,
}

impl CrcStorage {
    /// Bytes per `__kcrctab*` entry (`None` without CRC tables).
    pub fn entry_size(self, word_size: usize) -> Option<usize> {
        match self {
            CrcStorage::None => None,
            CrcStorage::U32 | CrcStorage::Relative => Some(4),
            CrcStorage::Word => Some(word_size),
        }
    }

    /// The storage a `__kcrctab*` of `len` bytes for `count` symbols has by its size alone:
    /// 4 bytes per entry (4.10+) or a word (before). A 4-byte table may still turn out
    /// [`CrcStorage::Relative`], which only its contents tell. `None` when the size fits
    /// neither.
    pub fn from_table_size(len: u64, count: usize, word_size: usize) -> Option<Self> {
        if len == count as u64 * 4 {
            Some(CrcStorage::U32)
        } else if len == count as u64 * word_size as u64 {
            Some(CrcStorage::Word)
        } else {
            None
        }
    }
}

/// Which export tables a kernel has, in link order (include/asm-generic/vmlinux.lds.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableKinds {
    /// `__ksymtab`, `__ksymtab_gpl`, `__ksymtab_unused`, `__ksymtab_unused_gpl`,
    /// `__ksymtab_gpl_future`, each with its `__kcrctab*`: 2.6.17 to 5.12 (the last three went in
    /// 5.13: 367948220fce "module: remove EXPORT_UNUSED_SYMBOL*" and f1c3d73e973c "module:
    /// remove EXPORT_SYMBOL_GPL_FUTURE").
    WithUnused,
    /// `__ksymtab` and `__ksymtab_gpl`: 5.13 on.
    PlainAndGpl,
    /// One `__ksymtab` with a `__kflagstab` whose bit 0 marks GPL-only exports, after the CRC
    /// tables (55fcb92 "module: use kflagstab instead of *_gpl sections", 7.x).
    Flags,
}

impl TableKinds {
    /// The export kinds of `count` adjacent tables found in link order, or `None` when the
    /// count fits no era. With 3 or 4 tables some in between are empty and the kinds cannot be
    /// told apart. One table without flags is a `__ksymtab` whose `__ksymtab_gpl` is empty.
    pub fn kinds_of(count: usize, flags: bool) -> Option<(TableKinds, &'static [ExportKind])> {
        use ExportKind::*;
        match (count, flags) {
            (1, true) => Some((TableKinds::Flags, &[Plain])),
            (1, false) => Some((TableKinds::PlainAndGpl, &[Plain])),
            (2, false) => Some((TableKinds::PlainAndGpl, &[Plain, Gpl])),
            (5, false) => Some((
                TableKinds::WithUnused,
                &[Plain, Gpl, Unused, UnusedGpl, GplFuture],
            )),
            _ => None,
        }
    }

    /// The era of a set of tables found by section name: `kinds` are the `__ksymtab*` sections
    /// present, `flags` whether `__kflagstab` is.
    pub fn of_sections(kinds: &[ExportKind], flags: bool) -> Self {
        if flags {
            TableKinds::Flags
        } else if kinds.iter().any(|k| {
            matches!(
                k,
                ExportKind::Unused | ExportKind::UnusedGpl | ExportKind::GplFuture
            )
        }) {
            TableKinds::WithUnused
        } else {
            TableKinds::PlainAndGpl
        }
    }

    /// True when a `__kflagstab` gives the GPL flags.
    pub fn has_flags(self) -> bool {
        self == TableKinds::Flags
    }
}

/// The kernel's own list of its export tables: the `struct symsearch` array that
/// `each_symbol()` (later `each_symbol_section()`) of kernel/module.c walks, in the shape it
/// had from the late 2.6 kernels to 5.12: `{const struct kernel_symbol *start, *stop; const
/// unsigned long *crcs; enum licence; bool unused;}` for `__ksymtab`, `_gpl`, `_gpl_future`
/// and, with CONFIG_UNUSED_SYMBOLS, `_unused` and `_unused_gpl` (5.13 dropped `unused` with
/// those tables). Where the entries do not show where one table ends (before 3.0 they are not
/// sorted) or which tables three or four adjacent ones are, it does.
pub mod symsearch {
    use crate::exports::ExportKind;

    /// Fewest and most entries of the array: without and with CONFIG_UNUSED_SYMBOLS.
    pub const ENTRIES: [usize; 2] = [3, 5];

    /// Bytes per array entry for `word_size`-byte pointers: three pointers, an `int` and a
    /// `bool`, padded to pointer alignment.
    pub fn stride(word_size: usize) -> usize {
        (3 * word_size + 4 + 1).div_ceil(word_size) * word_size
    }

    /// The export kind of an entry from its `licence` (`NOT_GPL_ONLY` 0, `GPL_ONLY` 1,
    /// `WILL_BE_GPL_ONLY` 2) and `unused` fields; `None` for values no kernel wrote.
    pub fn kind(licence: u32, unused: u8) -> Option<ExportKind> {
        Some(match (licence, unused) {
            (0, 0) => ExportKind::Plain,
            (1, 0) => ExportKind::Gpl,
            (2, 0) => ExportKind::GplFuture,
            (0, 1) => ExportKind::Unused,
            (1, 1) => ExportKind::UnusedGpl,
            _ => return None,
        })
    }
}

/// How the entries of each table are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryOrder {
    /// Sorted by name, so that the loader can binary-search them: 3.0 on (f02e8a6596b7 "module:
    /// Sort exported symbols" puts each entry in its own `___ksymtab+NAME` section, `SORT()`ed
    /// by include/asm-generic/vmlinux.lds.h and, for modules, by scripts/module-common.lds,
    /// later scripts/module.lds.S). Equal neighbours are allowed: arm64 5.10 exports memcpy,
    /// memset, … twice.
    ByName,
    /// Link order: before 3.0 the entries of every object follow each other as linked, and
    /// every object emitted its `__kstrtab_NAME` strings into `__ksymtab_strings` in the order of
    /// its entries, so the addresses of the names strictly ascend through each table (the
    /// tables of a vmlinux, or of a module linked with `ld -r`). 32-bit arm's
    /// `EXPORT_SYMBOL_ALIAS` (arch/arm/kernel/armksyms.c, 2.6.x: kern_fp_enter, fp_printk,
    /// fp_send_sig) names its entries with string literals in `.rodata`, outside
    /// `__ksymtab_strings`: such names occur in this era only, and take no part in the order.
    LinkOrder,
}

/// Most entries of one table named outside `__ksymtab_strings` ([`EntryOrder::LinkOrder`]):
/// arm's armksyms.c has three.
pub const MAX_OUTSIDE_NAMES: usize = 8;

impl EntryOrder {
    /// True when one table's entries are in this order. `entries` are each entry's name and,
    /// when the name is a string of `__ksymtab_strings`, its offset there (`None` for a name
    /// elsewhere, which only [`EntryOrder::LinkOrder`] admits).
    pub fn fits(self, entries: &[(&[u8], Option<u64>)]) -> bool {
        match self {
            EntryOrder::ByName => {
                entries.iter().all(|(_, at)| at.is_some())
                    && entries.windows(2).all(|w| w[0].0 <= w[1].0)
            }
            EntryOrder::LinkOrder => {
                let outside = entries.iter().filter(|(_, at)| at.is_none()).count();
                if outside > MAX_OUTSIDE_NAMES {
                    return false;
                }
                let mut inside = entries.iter().filter_map(|&(_, at)| at);
                let mut prev = inside.next();
                inside.all(|at| {
                    let ascends = prev.is_none_or(|p| p < at);
                    prev = Some(at);
                    ascends
                })
            }
        }
    }

    /// The order every one of `tables` (see [`EntryOrder::fits`]) is in, [`EntryOrder::ByName`]
    /// first: a table that fits both (a short one) is of the later era's kernels, which are
    /// the common ones. `None` when the entries are in neither order: a kernel or module
    /// never has such tables, so they were misread or damaged.
    pub fn of_tables<'a, T>(tables: &'a [T]) -> Option<Self>
    where
        T: AsRef<[(&'a [u8], Option<u64>)]>,
    {
        [EntryOrder::ByName, EntryOrder::LinkOrder]
            .into_iter()
            .find(|order| tables.iter().all(|t| order.fits(t.as_ref())))
    }

    /// True when entries may be named by strings outside `__ksymtab_strings`.
    pub fn allows_outside_names(self) -> bool {
        self == EntryOrder::LinkOrder
    }
}

/// The layout of a whole set of export tables: one kernel (or one module) of one era.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableLayout {
    /// The `struct kernel_symbol` entry layout.
    #[serde(rename = "layout")]
    pub ksymtab: KsymtabLayout,
    /// How the CRCs are stored.
    #[serde(rename = "crc_storage")]
    pub crcs: CrcStorage,
    /// Which tables there are.
    #[serde(rename = "table_kinds")]
    pub tables: TableKinds,
    /// How each table's entries are ordered.
    #[serde(rename = "entry_order")]
    pub order: EntryOrder,
}

impl TableLayout {
    /// True when the kernel has CRC tables (CONFIG_MODVERSIONS).
    pub fn modversions(&self) -> bool {
        self.crcs != CrcStorage::None
    }

    /// Why these parts cannot belong to one kernel of `word_size`-byte pointers, or `None`
    /// when they can. Each part dates the tables (see the variants); parts of eras that never
    /// met mean tables misread or damaged, e.g. CRC words read with the wrong size.
    pub fn contradiction(&self, word_size: usize) -> Option<&'static str> {
        let modern = self.ksymtab.is_relative() || self.ksymtab.has_namespace();
        // On 32-bit kernels a CRC word and a u32 are the same four bytes.
        let word_crcs = self.crcs == CrcStorage::Word && word_size != 4;
        let u32_crcs = matches!(self.crcs, CrcStorage::U32 | CrcStorage::Relative);
        if modern && word_crcs {
            return Some(
                "CRC words of unsigned long (before 4.10) next to PREL32 or namespaced entries (4.19+, 5.4+)",
            );
        }
        if modern && self.order == EntryOrder::LinkOrder {
            return Some(
                "entries in link order (before 3.0) with PREL32 or namespaced entries (4.19+, 5.4+)",
            );
        }
        if self.order == EntryOrder::LinkOrder
            && (self.crcs == CrcStorage::Relative || (u32_crcs && word_size != 4))
        {
            return Some("entries in link order (before 3.0) with 32-bit CRCs (4.10+)");
        }
        if self.tables.has_flags()
            && (self.crcs == CrcStorage::Word || self.crcs == CrcStorage::Relative)
        {
            return Some("__kflagstab (7.x) with CRC words or relative CRCs (before 5.19)");
        }
        None
    }
}

impl TableLayout {
    /// Why a module's tables (`self`) cannot be those of a module built for a kernel whose
    /// tables are `kernel` (`word_size`-byte pointers), or `None` when they can. One build
    /// makes the kernel and its modules with the same `struct kernel_symbol`, the same CRC
    /// storage (CRCs in both or in neither, entries of the same size: a module's CRCs read
    /// with another size are wrong), the same GPL marking (`_gpl` tables or `__kflagstab`),
    /// and sorts the module's tables when it sorts the kernel's (3.0+). On 32-bit kernels
    /// PREL32 and absolute entries have one size and a module's relocations do not tell them
    /// apart, so sizes are compared, not layouts.
    pub fn disagreement(&self, kernel: &TableLayout, word_size: usize) -> Option<String> {
        if kernel.modversions() && !self.modversions() {
            return Some(
                "it exports symbols without CRCs, but the kernel has CONFIG_MODVERSIONS".into(),
            );
        }
        if !kernel.modversions() && self.modversions() {
            return Some(
                "it exports symbols with CRCs, but the kernel has no CONFIG_MODVERSIONS".into(),
            );
        }
        let (mine, theirs) = (
            self.crcs.entry_size(word_size),
            kernel.crcs.entry_size(word_size),
        );
        if mine != theirs {
            return Some(format!(
                "its CRC entries are {} bytes, the kernel's {} bytes",
                mine.unwrap_or(0),
                theirs.unwrap_or(0)
            ));
        }
        let (mine, theirs) = (
            self.ksymtab.entry_size(word_size),
            kernel.ksymtab.entry_size(word_size),
        );
        if mine != theirs || self.ksymtab.has_namespace() != kernel.ksymtab.has_namespace() {
            return Some(format!(
                "its kernel_symbol entries are {mine} bytes{}, the kernel's {theirs} bytes{}",
                if self.ksymtab.has_namespace() {
                    " with a namespace"
                } else {
                    ""
                },
                if kernel.ksymtab.has_namespace() {
                    " with a namespace"
                } else {
                    ""
                }
            ));
        }
        if self.tables.has_flags() != kernel.tables.has_flags() {
            return Some(
                "one of it and the kernel marks GPL-only exports with __kflagstab, the other with \
                 __ksymtab_gpl"
                    .into(),
            );
        }
        if kernel.order == EntryOrder::ByName && self.order != EntryOrder::ByName {
            return Some(
                "its export tables are not sorted by name, as the kernel's (3.0+) and its \
                 modules' are"
                    .into(),
            );
        }
        None
    }
}

/// What lies between the last `__ksymtab*` and `__ksymtab_strings` of a linked kernel, as its
/// size tells: the linker script places the `__kcrctab*` (one entry per symbol) and, in 7.x,
/// `__kflagstab` (one byte per symbol) there. `gap` bytes for `total` records in `tables`
/// tables of a kernel with `word_size`-byte pointers; `None` when the size fits no era.
pub fn between_tables_and_strings(
    gap: usize,
    total: usize,
    tables: usize,
    word_size: usize,
) -> Option<(CrcStorage, bool)> {
    let mut options = vec![
        // 4.10+: u32 CRCs.
        (4 * total, CrcStorage::U32, false),
        // No CONFIG_MODVERSIONS.
        (0, CrcStorage::None, false),
    ];
    if tables == 1 {
        // 7.x: one table, its flags after the CRCs.
        options.push((5 * total, CrcStorage::U32, true));
        options.push((total, CrcStorage::None, true));
    }
    if word_size != 4 {
        // Before 4.10: one `unsigned long` per CRC.
        options.push((word_size * total, CrcStorage::Word, false));
    }
    options
        .into_iter()
        .find(|&(size, _, _)| size == gap)
        .map(|(_, crcs, flags)| (crcs, flags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gap_before_the_strings_tells_crcs_and_flags() {
        // 100 records in two tables of a 64-bit kernel.
        assert_eq!(
            between_tables_and_strings(400, 100, 2, 8),
            Some((CrcStorage::U32, false))
        );
        assert_eq!(
            between_tables_and_strings(0, 100, 2, 8),
            Some((CrcStorage::None, false))
        );
        assert_eq!(
            between_tables_and_strings(800, 100, 2, 8),
            Some((CrcStorage::Word, false))
        );
        // Flags exist only with a single table (7.x).
        assert_eq!(between_tables_and_strings(500, 100, 2, 8), None);
        assert_eq!(
            between_tables_and_strings(500, 100, 1, 8),
            Some((CrcStorage::U32, true))
        );
        assert_eq!(
            between_tables_and_strings(100, 100, 1, 8),
            Some((CrcStorage::None, true))
        );
        // 32-bit words: u32 and word CRCs are the same size and read the same.
        assert_eq!(
            between_tables_and_strings(400, 100, 5, 4),
            Some((CrcStorage::U32, false))
        );
        assert_eq!(between_tables_and_strings(123, 100, 2, 8), None);
    }

    #[test]
    fn table_counts_name_the_kinds_of_each_era() {
        use ExportKind::*;
        assert_eq!(
            TableKinds::kinds_of(5, false),
            Some((
                TableKinds::WithUnused,
                &[Plain, Gpl, Unused, UnusedGpl, GplFuture][..]
            ))
        );
        assert_eq!(
            TableKinds::kinds_of(2, false),
            Some((TableKinds::PlainAndGpl, &[Plain, Gpl][..]))
        );
        assert_eq!(
            TableKinds::kinds_of(1, true),
            Some((TableKinds::Flags, &[Plain][..]))
        );
        for ambiguous in [(3, false), (4, false), (2, true), (6, false)] {
            assert_eq!(TableKinds::kinds_of(ambiguous.0, ambiguous.1), None);
        }
        assert_eq!(
            TableKinds::of_sections(&[Plain, Gpl, GplFuture], false),
            TableKinds::WithUnused
        );
        assert_eq!(TableKinds::of_sections(&[Plain], true), TableKinds::Flags);
    }

    #[test]
    fn entry_geometry_of_every_layout() {
        for (layout, word, size, ns) in [
            (KsymtabLayout::Prel32Namespaced, 8, 12, Some(8)),
            (KsymtabLayout::Prel32, 8, 8, None),
            (KsymtabLayout::AbsoluteNamespaced, 8, 24, Some(16)),
            (KsymtabLayout::AbsoluteNamespaced, 4, 12, Some(8)),
            (KsymtabLayout::Absolute, 4, 8, None),
        ] {
            assert_eq!(layout.entry_size(word), size, "{layout:?}");
            assert_eq!(layout.namespace_offset(word), ns, "{layout:?}");
            assert_eq!(
                KsymtabLayout::new(layout.is_relative(), layout.has_namespace()),
                layout
            );
        }
        assert_eq!(
            CrcStorage::from_table_size(400, 100, 8),
            Some(CrcStorage::U32)
        );
        assert_eq!(
            CrcStorage::from_table_size(800, 100, 8),
            Some(CrcStorage::Word)
        );
        assert_eq!(CrcStorage::from_table_size(300, 100, 8), None);
    }
}
