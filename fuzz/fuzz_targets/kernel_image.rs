//! A whole kernel image file as `symvers dump --image` reads it: containers, decompression, then
//! the export tables of an ELF vmlinux or of a raw image found by scanning.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = symvers::kernel::read_image_bytes(data, 16 << 20);
});
