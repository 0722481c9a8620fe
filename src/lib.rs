//! Rebuild a Linux kernel's `Module.symvers` from an installed image and modules.
//!
//! The data flows through the modules in this order:
//!
//! 1. [`locate`]: which files belong to a release (image, modules folder);
//! 2. [`image`] and [`decompress`]: the image container and its compression → kernel bytes;
//! 3. [`exports`] (over [`elf`]): kernel bytes or a `.ko` → export records;
//! 4. [`symvers`]: records → Module.symvers text.
//!
//! [`kernel`], [`modtree`] and [`dump`] tie the stages together for a whole kernel.

pub mod check;
pub mod decompress;
pub mod diff;
pub mod dump;
pub mod elf;
pub mod error;
pub mod exports;
pub mod image;
pub mod kernel;
pub mod locate;
pub mod modinfo;
pub mod modtree;
pub mod output;
pub mod restrict;
pub mod symvers;
pub mod verify;

pub use error::{Error, Problem, Result};

#[cfg(test)]
#[path = "../tests/common/fixtures.rs"]
pub(crate) mod fixtures;
