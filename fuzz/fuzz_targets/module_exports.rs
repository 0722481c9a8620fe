//! Export tables of a module (`.ko`), resolved through its relocations.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = symvers::exports::module::read(data);
});
