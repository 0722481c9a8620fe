//! Image containers and decompression: any bytes unwrap to kernel bytes or a typed problem, and
//! never to more than the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Small enough that a bomb is caught quickly, large enough for every seed.
const LIMIT: u64 = 16 << 20;

fuzz_target!(|data: &[u8]| {
    if let Ok(kernel) = symvers::image::unwrap(data, LIMIT) {
        assert!(kernel.bytes.len() as u64 <= LIMIT.max(data.len() as u64));
    }
});
