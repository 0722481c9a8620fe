//! The string index of a raw image: where it holds runs of bytes that may be
//! `__ksymtab_strings` (NUL-separated identifiers), as a bit mask for O(1) lookups, with the
//! offsets of the string starts for solving a load address.

/// Shortest run of string bytes that may be `__ksymtab_strings`.
pub(super) const MIN_STRING_RUN: usize = 16;

/// Bytes that occur in export names and namespaces (`module:kvm,kvm-amd` since 6.18) and NUL.
pub(super) fn is_string_byte(b: u8) -> bool {
    b == 0 || b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'$' | b':' | b',' | b'-')
}

/// First byte of a C identifier.
pub(super) fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

/// Where the image holds runs of string bytes long enough to be `__ksymtab_strings`.
pub(super) struct StringRuns {
    /// One bit per byte of the image: inside such a run.
    pub(super) mask: Vec<u64>,
    /// The runs as `(start, end)` offsets, ascending.
    pub(super) runs: Vec<(usize, usize)>,
    /// Offsets of the string starts in the runs (an identifier byte after a NUL), ascending.
    pub(super) starts: Vec<usize>,
}

impl StringRuns {
    pub(super) fn build(data: &[u8]) -> Self {
        let mut class = [false; 256];
        for (b, slot) in class.iter_mut().enumerate() {
            *slot = is_string_byte(b as u8);
        }
        let mut mask = vec![0u64; data.len().div_ceil(64)];
        let mut runs = Vec::new();
        let mut starts = Vec::new();
        let mut i = 0;
        while i < data.len() {
            if !class[usize::from(data[i])] {
                i += 1;
                continue;
            }
            let start = i;
            let (mut nul, mut alpha) = (false, false);
            while i < data.len() && class[usize::from(data[i])] {
                nul |= data[i] == 0;
                alpha |= data[i].is_ascii_alphabetic();
                i += 1;
            }
            if i - start >= MIN_STRING_RUN && nul && alpha {
                set_bits(&mut mask, start, i);
                runs.push((start, i));
                starts
                    .extend((start + 1..i).filter(|&t| data[t - 1] == 0 && is_name_start(data[t])));
            }
        }
        StringRuns { mask, runs, starts }
    }

    pub(super) fn contains(&self, at: usize) -> bool {
        self.mask
            .get(at / 64)
            .is_some_and(|w| (w >> (at % 64)) & 1 != 0)
    }
}

pub(super) fn set_bits(mask: &mut [u64], start: usize, end: usize) {
    let mut at = start;
    while at < end {
        let bit = at % 64;
        let take = (64 - bit).min(end - at);
        let ones = if take == 64 {
            u64::MAX
        } else {
            ((1u64 << take) - 1) << bit
        };
        if let Some(w) = mask.get_mut(at / 64) {
            *w |= ones;
        }
        at += take;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_need_length_a_nul_and_a_letter_and_starts_follow_a_nul() {
        let mut data = vec![0xffu8; 8];
        let run_at = data.len();
        data.extend_from_slice(b"foo\0bar_baz\0_qux\0module:kvm-amd\0");
        let run_end = data.len();
        data.extend_from_slice(&[0xff; 4]);
        data.extend_from_slice(b"short\0"); // too short for a run
        data.push(0xff);
        data.extend_from_slice(b"0123456789012345678\0"); // no letter
        data.push(0xff);
        let strings = StringRuns::build(&data);
        assert_eq!(strings.runs, [(run_at, run_end)]);
        let starts: Vec<&[u8]> = strings.starts.iter().map(|&s| &data[s..s + 3]).collect();
        // The first string follows a non-NUL byte: it is not a start, by design (a CRC's last
        // byte may precede the first string), and "module:" names start where letters do.
        assert_eq!(starts, [b"bar", b"_qu", b"mod"]);
        assert!(strings.contains(run_at) && strings.contains(run_end - 1));
        assert!(!strings.contains(run_at - 1) && !strings.contains(run_end));
    }
}
