//! Applying a raw image's own RELATIVE relocations before scanning it: a relocatable kernel
//! whose pointer words are zero on disk (s390x 6.1, arm64 4.6–4.18) carries the relocations
//! its startup code applies, and the tables read once they are applied too.

use object::elf::Rela64;
use object::read::elf::Rela as _;
use object::Endianness;

use super::base::{pointer_runs, solve_base};
use super::strings::StringRuns;
use crate::bytes::{self, Endian};

/// `R_*_RELATIVE` types of 64-bit kernels linked `-pie` (RELOCATABLE), by `e_machine`:
/// x86_64 8, ppc64 22, aarch64 1027, riscv 3, s390 12 (each arch's include/uapi or elf.h).
pub(super) const RELATIVE_TYPES: [u64; 5] = [8, 22, 1027, 3, 12];
/// Fewest consecutive RELA records taken for a `.rela.dyn`.
const MIN_RELOCATIONS: usize = 64;

/// Find the image's own `.rela.dyn` (s390 6.1 arch/s390/kernel/vmlinux.lds.S keeps it in the
/// image for the decompressor's `handle_relocs()`; arm64 4.6–4.18 for `__relocate_kernel`):
/// the longest run of 24-byte `Elf64_Rela` records of one RELATIVE type. Solve the load address
/// from the addends that name exported strings, and return a copy of the image with every
/// addend written where its record points, and the number written.
pub(super) fn apply_relocations(data: &[u8], strings: &StringRuns) -> Option<(Vec<u8>, usize)> {
    let (endian, relocs) = find_relocations(data)?;
    // The addends in link order, a gap where the relocated words are not consecutive, read
    // like the words of the image when solving the base from pointer runs.
    let mut sorted = relocs.clone();
    sorted.sort_unstable();
    let mut words = Vec::with_capacity(sorted.len());
    let mut prev: Option<u64> = None;
    for &(at, addend) in &sorted {
        if prev.is_some_and(|p| p.checked_add(8) != Some(at)) {
            words.push(0);
        }
        words.push(addend);
        prev = Some(at);
    }
    let longest = strings.runs.iter().map(|&(s, e)| e - s).max().unwrap_or(0) as u64;
    let base = [3, 2].into_iter().find_map(|fields| {
        pointer_runs(words.as_slice(), fields, longest)
            .into_iter()
            .find_map(|run| solve_base(data, strings, words.as_slice(), fields, 8, run))
    })?;
    let mut image = data.to_vec();
    let mut applied = 0;
    for &(at, addend) in &relocs {
        let Some(slot) = at
            .checked_sub(base)
            .and_then(|o| usize::try_from(o).ok())
            .and_then(|o| image.get_mut(o..o.checked_add(8)?))
        else {
            continue;
        };
        slot.copy_from_slice(&match endian {
            Endian::Little => addend.to_le_bytes(),
            Endian::Big => addend.to_be_bytes(),
        });
        applied += 1;
    }
    Some((image, applied))
}

/// The longest run of RELATIVE `Elf64_Rela` records (`r_offset`, `r_info` = type with symbol
/// 0, `r_addend`) as `(r_offset, r_addend)` pairs, with its byte order. The run is found word
/// by word, then read as `object`'s `Rela64` records.
fn find_relocations(data: &[u8]) -> Option<(Endian, Vec<(u64, u64)>)> {
    let mut best: Option<(Endian, usize, usize)> = None;
    for endian in [Endian::Little, Endian::Big] {
        let info = |k: usize| bytes::read_uint(data, k * 8, 8, endian);
        let n = data.len() / 8;
        let mut k = 1;
        while k < n {
            let Some(kind) = info(k).filter(|t| RELATIVE_TYPES.contains(t)) else {
                k += 1;
                continue;
            };
            let first = k - 1;
            let mut count = 0;
            while info(first + count * 3 + 1) == Some(kind) {
                count += 1;
            }
            if count >= MIN_RELOCATIONS && best.is_none_or(|(_, _, c)| count > c) {
                best = Some((endian, first * 8, count));
            }
            k = first + count * 3 + 2;
        }
    }
    let (endian, start, count) = best?;
    let order = match endian {
        Endian::Little => Endianness::Little,
        Endian::Big => Endianness::Big,
    };
    let (records, _) =
        object::pod::slice_from_bytes::<Rela64<Endianness>>(data.get(start..)?, count).ok()?;
    let relocs = records
        .iter()
        .map(|r| (r.r_offset(order), r.r_addend(order) as u64))
        .collect();
    Some((endian, relocs))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `count` RELATIVE records of type `kind` at offset 16 of a buffer, in byte order `endian`.
    fn records(count: u64, kind: u64, endian: Endian) -> Vec<u8> {
        let word = |v: u64| match endian {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        };
        let mut data = vec![0xeeu8; 16];
        for i in 0..count {
            data.extend(word(0x1000 + 8 * i));
            data.extend(word(kind));
            data.extend(word(0xffff_0000_0000 + i));
        }
        data.extend([0xee; 16]);
        data
    }

    #[test]
    fn the_longest_run_of_relative_records_is_read_in_either_byte_order() {
        for endian in [Endian::Little, Endian::Big] {
            let data = records(70, 1027, endian);
            let (found, relocs) = find_relocations(&data).unwrap();
            assert_eq!(found, endian);
            assert_eq!(relocs.len(), 70);
            assert_eq!(relocs[3], (0x1018, 0xffff_0000_0003));
        }
    }

    #[test]
    fn short_runs_and_other_types_are_not_relocations() {
        assert!(
            find_relocations(&records(MIN_RELOCATIONS as u64 - 1, 8, Endian::Little)).is_none()
        );
        assert!(find_relocations(&records(100, 7, Endian::Little)).is_none());
    }
}
