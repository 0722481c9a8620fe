//! The decode floor of `symvers dump`: the single-thread time to decompress the image and every
//! module of a tree with the same decoders symvers uses, and nothing else. `scripts/bench` divides
//! it by the core count and compares `symvers dump` with it.
//!
//! Usage: cargo bench --bench decode_floor -- IMAGE MODULES_DIR
//! Prints one line: `floor_seconds=<s> modules=<n> image=<s>`.

use std::time::Instant;

use symvers::decompress::{self, Compression};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [image, modules] = args.as_slice() else {
        eprintln!("usage: decode_floor IMAGE MODULES_DIR");
        std::process::exit(2);
    };
    let files = match symvers::modtree::list_modules(std::path::Path::new(modules)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("decode_floor: {e}");
            std::process::exit(2);
        }
    };
    let start = Instant::now();
    let image_bytes = std::fs::read(image).unwrap_or_default();
    if let Err(e) = symvers::image::unwrap(&image_bytes, 1 << 30) {
        eprintln!("decode_floor: {image}: {e}");
    }
    let image_secs = start.elapsed().as_secs_f64();
    let mut buffer = Vec::new();
    for f in &files {
        let data = std::fs::read(&f.path).unwrap_or_default();
        if let Some(format) = Compression::sniff(&data) {
            buffer.clear();
            let _ = decompress::decompress_into(&data, format, 1 << 30, &mut buffer);
        }
    }
    let total = start.elapsed().as_secs_f64();
    println!(
        "floor_seconds={total:.3} modules={} image={image_secs:.3}",
        files.len()
    );
}
