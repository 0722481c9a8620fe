//! Rebuild a Linux kernel's `Module.symvers` from an installed image and modules.
//!
//! The data flows through the modules in this order:
//!
//! 1. [`locate`]: which files belong to a release (image, modules folders), as each distribution
//!    lays them out; [`depmod`]: which copy of a module installed twice counts;
//! 2. [`image`] and [`decompress`]: the image container and its compression → kernel bytes;
//! 3. [`exports`] (over [`elf`]): kernel bytes or a `.ko` → export records;
//! 4. [`symvers`]: records → Module.symvers text.
//!
//! [`kernel`], [`modtree`] and [`dump`] tie the stages together for a whole kernel;
//! [`restrict`] cuts a table down to what one module needs. [`banner`] and [`config`] read what
//! an external module's build needs besides the table (compiler, `.config`), and [`prepare`]
//! turns a kernel source tree into a build tree for an installed kernel.
//!
//! # Example
//!
//! The table of an installed kernel, as `symvers dump --root /srv/rootfs` writes it:
//!
//! ```no_run
//! use symvers::dump::{dump, Options};
//! use symvers::locate::Source;
//! use symvers::symvers::Columns;
//!
//! let options = Options {
//!     source: Source { root: Some("/srv/rootfs".into()), ..Source::default() },
//!     ..Options::default()
//! };
//! let mut result = dump(&options)?;
//! result.check_complete()?; // an error listing every unreadable module
//! print!("{}", result.table.to_text(Columns::Modern));
//! # Ok::<(), symvers::Error>(())
//! ```
//!
//! The stages one by one, for an image and a module outside any tree:
//!
//! ```no_run
//! use std::path::Path;
//! use symvers::symvers::{Columns, Table};
//!
//! let kernel = symvers::kernel::read_image(Path::new("vmlinuz"), symvers::image::DEFAULT_IMAGE_LIMIT)?;
//! let mut buffer = Vec::new();
//! let module = symvers::modtree::read_module(
//!     Path::new("crc-itu-t.ko.xz"),
//!     symvers::modtree::DEFAULT_MODULE_LIMIT,
//!     &mut buffer,
//! )?;
//! let mut table = Table::default();
//! table.extend_from_exports("vmlinux", &kernel.vmlinux.exports);
//! table.extend_from_exports("lib/crc-itu-t", &module.exports);
//! std::fs::write("Module.symvers", table.to_text(Columns::Modern)).unwrap();
//! # Ok::<(), symvers::Error>(())
//! ```

// The library never prints (its callers choose where messages go); tests may.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod banner;
pub mod bytes;
pub mod check;
pub mod config;
pub mod decompress;
pub mod depmod;
pub mod diff;
pub mod dump;
pub mod elf;
pub mod error;
pub mod exports;
pub mod image;
pub mod input;
pub mod kernel;
pub mod locate;
pub mod modinfo;
pub mod modtree;
pub mod output;
pub mod prepare;
pub mod restrict;
pub mod rules;
pub mod symlist;
pub mod symvers;
pub mod update;
pub mod verify;

pub use error::{Error, Problem, Result};

#[cfg(test)]
#[path = "../tests/common/fixtures.rs"]
pub(crate) mod fixtures;
