//! Export tables of an ELF vmlinux, found by section name.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(elf) = symvers::elf::Elf::parse(data) {
        if let Ok(found) = symvers::exports::vmlinux::read_elf(&elf) {
            // One object never exports a name twice (refused by the reader).
            let mut names: Vec<&str> = found.exports.iter().map(|e| e.name.as_str()).collect();
            names.sort_unstable();
            assert!(names.windows(2).all(|w| w[0] != w[1]));
        }
    }
});
