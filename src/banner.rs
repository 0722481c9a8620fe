//! The kernel's banner: the `linux_banner` string every kernel carries (init/version.c), which
//! names its release and the compiler and linker it was built with.
//!
//! ```text
//! Linux version 6.1.0-50-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-07-02)
//! Linux version 2.6.39.4-g9b8008b (koshu@koshu-desktop) (gcc version 4.4.3 (GCC) ) #5 SMP PREEMPT Fri Aug 31 18:49:03 CEST 2012
//! ```
//!
//! The layout is `"Linux version " UTS_RELEASE " (" LINUX_COMPILE_BY "@" LINUX_COMPILE_HOST ")
//! (" LINUX_COMPILER ") " UTS_VERSION "\n"`. scripts/mkcompile_h writes `LINUX_COMPILER`: since
//! Linux 5.8 it is `$(CC --version | head -1), $(LD -v | head -1)` (the compiler's text is also the
//! configuration's `CONFIG_CC_VERSION_TEXT`); before, the line of `$CC -v` that says
//! `gcc version …`, and no linker.

use serde::Serialize;

/// What the banner says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Banner {
    /// The kernel release (`uname -r`, UTS_RELEASE).
    pub release: String,
    /// Who built it (`LINUX_COMPILE_BY@LINUX_COMPILE_HOST`).
    pub builder: String,
    /// The compiler: `gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0`, `Debian clang version 14.0.6`,
    /// or (before 5.8) `gcc version 4.4.3 (GCC)`.
    pub compiler: String,
    /// The linker (5.8+): `GNU ld (GNU Binutils for Debian) 2.40`, `LLD 14.0.6`.
    pub linker: Option<String>,
    /// The build's UTS_VERSION: `#1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-07-02)`.
    pub version: String,
}

const PREFIX: &[u8] = b"Linux version ";
/// Longer than any banner seen (about 200 bytes); bounds the search for its end.
const MAX_BANNER: usize = 1024;

/// The banner of `kernel` (decompressed kernel bytes, ELF or raw), or `None`.
///
/// A 6.1+ kernel holds the string twice: init/version.c's copy has a bare `#` where the build
/// number goes, init/version-timestamp.c's the final `#1`. They agree on release, compiler and
/// linker; the one with the build number is preferred.
pub fn find(kernel: &[u8]) -> Option<Banner> {
    let mut found = memchr::memmem::find_iter(kernel, PREFIX).filter_map(|at| {
        let rest = kernel.get(at..)?;
        let end = rest
            .iter()
            .take(MAX_BANNER)
            .position(|&b| b == b'\n' || b == 0)?;
        parse(std::str::from_utf8(&rest[..end]).ok()?)
    });
    let first = found.next()?;
    let numbered = |b: &Banner| {
        b.version
            .strip_prefix('#')
            .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
    };
    if numbered(&first) {
        return Some(first);
    }
    // Bounded: a crafted kernel could repeat the prefix millions of times.
    Some(found.take(16).find(numbered).unwrap_or(first))
}

/// Parse one banner line (without its newline); `None` when it is not one.
pub fn parse(line: &str) -> Option<Banner> {
    let rest = line.strip_prefix("Linux version ")?;
    let (release, rest) = rest.split_once(' ')?;
    if !release.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (builder, rest) = group(rest)?;
    let (toolchain, rest) = group(rest.strip_prefix(' ')?)?;
    let version = rest.strip_prefix(' ').unwrap_or(rest).trim_end();
    let (compiler, linker) = match split_top_level(toolchain) {
        Some((c, l)) => (c, Some(l.trim().to_string())),
        None => (toolchain, None),
    };
    Some(Banner {
        release: release.to_string(),
        builder: builder.to_string(),
        compiler: compiler.trim().to_string(),
        linker,
        version: version.to_string(),
    })
}

/// `(text)rest` with balanced parentheses → (`text`, `rest`).
fn group(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix('(')?;
    let mut depth = 1usize;
    for (i, c) in inner.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&inner[..i], &inner[i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

/// Split `compiler, linker` at the first ", " outside parentheses (a clang text holds ", "
/// inside its parenthesised repository part).
fn split_top_level(s: &str) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 && bytes.get(i + 1) == Some(&b' ') => {
                return Some((&s[..i], &s[i + 2..]));
            }
            _ => {}
        }
    }
    None
}

/// A compiler family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CompilerFamily {
    /// GCC.
    Gcc,
    /// Clang (kbuild's `LLVM=1`).
    Clang,
}

/// A compiler's family and version number, read from its `--version` text (a banner's compiler,
/// or `CONFIG_CC_VERSION_TEXT`): `gcc-12 (Debian 12.2.0-14) 12.2.0` → (gcc, `12.2.0`);
/// `Debian clang version 14.0.6` → (clang, `14.0.6`); `gcc version 4.4.3 (GCC)` → (gcc, `4.4.3`).
/// `None` for a text of another shape.
pub fn compiler_version(text: &str) -> Option<(CompilerFamily, String)> {
    let is_version = |w: &&str| w.starts_with(|c: char| c.is_ascii_digit()) && w.contains('.');
    if let Some((_, after)) = text.split_once("clang version ") {
        let v = after.split_whitespace().next().filter(is_version)?;
        return Some((CompilerFamily::Clang, v.to_string()));
    }
    if let Some(after) = text.strip_prefix("gcc version ") {
        let v = after.split_whitespace().next().filter(is_version)?;
        return Some((CompilerFamily::Gcc, v.to_string()));
    }
    // GCC's `--version`: `PROGRAM (PKGVERSION) VERSION`, the program named gcc, gcc-12,
    // aarch64-linux-gnu-gcc, x86_64-pc-linux-gnu-gcc-13.2.0, …
    let program = text.split_whitespace().next()?;
    if !program.contains("gcc") {
        return None;
    }
    let v = text.split_whitespace().last().filter(is_version)?;
    Some((CompilerFamily::Gcc, v.to_string()))
}

/// The program name a GCC `--version` text starts with (`gcc-12`, `aarch64-linux-gnu-gcc`), the
/// command the kernel's build ran as `CC`; `None` for other shapes (clang's text names a vendor,
/// not a program).
pub fn gcc_program(text: &str) -> Option<&str> {
    let program = text.split_whitespace().next()?;
    let looks_like_program = program.contains("gcc")
        && program
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c));
    (looks_like_program && text[program.len()..].starts_with(" (")).then_some(program)
}

#[cfg(test)]
mod tests;
