//! The decode floor of `symvers dump`: the single-thread time to decompress the image and every
//! module of a tree with the same decoders symvers uses, and nothing else. `scripts/bench` divides
//! it by the core count and compares `symvers dump` with it.
//!
//! The image counts as far as `symvers dump` decodes it: an ELF kernel in a streamed payload (an
//! xz bzImage) only up to its export tables, as many bytes as the dump itself reads.
//!
//! Usage: cargo bench --bench decode_floor -- IMAGE MODULES_DIR
//! Prints one line: `floor_seconds=<s> modules=<n> image=<s> image_bytes=<n> image_whole=<s>`.

use std::time::Instant;

use symvers::decompress::{self, Compression};
use symvers::image::Unwrapping;

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
    let limit = symvers::image::DEFAULT_IMAGE_LIMIT;
    let image_bytes = std::fs::read(image).unwrap_or_default();
    // How far the dump decodes (untimed), then the decode alone, stopped there.
    let decoded = match symvers::kernel::read_image_bytes(&image_bytes, limit) {
        Ok(k) if k.image.partial => Some(k.image.kernel_size as usize),
        Ok(_) => None,
        Err(e) => {
            eprintln!("decode_floor: {image}: {e}");
            None
        }
    };
    let whole_start = Instant::now();
    let _ = symvers::image::unwrap(&image_bytes, limit);
    let image_whole = whole_start.elapsed().as_secs_f64();

    let start = Instant::now();
    let _ = std::fs::read(image);
    match symvers::image::open(&image_bytes, limit) {
        Ok(Unwrapping::Streaming(mut stream)) => match decoded {
            Some(n) => {
                let _ = stream.fill_to(n);
            }
            None => {
                let _ = stream.finish();
            }
        },
        Ok(Unwrapping::Kernel(_)) | Err(_) => {}
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
        "floor_seconds={total:.3} modules={} image={image_secs:.3} image_bytes={} \
         image_whole={image_whole:.3}",
        files.len(),
        decoded.map_or("all".to_string(), |n| n.to_string()),
    );
}
