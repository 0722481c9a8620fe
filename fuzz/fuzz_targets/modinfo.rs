//! What a module imports: `__versions`, `__version_ext_*`, `.modinfo`, undefined symbols.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = symvers::modinfo::read(data);
});
