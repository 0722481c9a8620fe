//! kABI severity rules (`diff --rules`): which breaking changes a distribution tolerates.
//!
//! Two syntaxes are read, line by line, in one file:
//!
//! - SUSE's severities (SUSE/suse-kabi-tools `doc/suse-kabi-tools.5`, SUSE/kernel-source
//!   `kabi/severities`): `[MODULE|NAMESPACE|SYMBOL] PATTERN PASS|FAIL`. Without a type word, a
//!   pattern containing `/` or equal to `vmlinux` names a module, an all-upper-case pattern a
//!   namespace, anything else a symbol. Rules are matched against the OLD kernel's record (the
//!   reference), and against the new record for an added symbol.
//! - This tool's own `namespace:PATTERN PASS|FAIL`, which matches the old *or* the new namespace,
//!   so that a symbol moving into a namespace can be tolerated.
//!
//! Patterns are shell patterns as `fnmatch(3)` reads them: `*`, `?`, bracket classes `[…]`
//! (`[!…]` and `[^…]` negated, ranges, `]` first is literal), `\` quotes the next character;
//! `{` and `}` are plain characters (brace expansion is the shell's, not fnmatch's); a `[`
//! without its `]` is a plain `[`. `*` also matches `/`. The first matching line decides; no
//! match means FAIL; `#` starts a comment.
//!
//! Matching is compiled once, in three routes chosen by each pattern's shape (`Shape`):
//!
//! - literal, `LIT*` and `*LIT` patterns go into [`globset::GlobSet`]s, which match them by hash
//!   and Aho-Corasick: one pass over each string for thousands of them;
//! - other patterns holding a literal run (`*name*`, `*a*[0-9]`) are found by one Aho-Corasick
//!   automaton over their longest runs, and only the candidates it finds in a string are tried,
//!   each with its own small regex (a regex set of thousands of them makes the `regex` crate's
//!   lazy DFA thrash: 2000 `*name*` rules took 98 s and 3.4 GB against two tables);
//! - the few without any literal (`*`, `?*[0-9]`) go into small regex sets.
//!
//! Every regex has the `regex` crate's linear-time guarantee, so the cost is one automaton pass
//! over each string plus a linear check per candidate, never pattern × symbol.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;
use globset::{GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::symvers::{Entry, Table};

/// Largest rules file read.
pub const RULES_FILE_LIMIT: u64 = 16 << 20;

/// Longest pattern accepted, in bytes: 4 × PATH_MAX, a module path (the longest text a pattern
/// is matched against; KSYM_NAME_LEN is 512) written with a bracket class per character.
/// A longer pattern is an error: compiling a multi-megabyte class costs seconds and gigabytes.
pub const PATTERN_LIMIT: usize = 4 * 4096;

/// Verdict of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// Tolerate the change.
    Pass,
    /// Report it as breaking.
    Fail,
}

/// What a rule's pattern is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The symbol name.
    Symbol,
    /// The exporting module (`vmlinux` or a path, with or without `.ko`).
    Module,
    /// The symbol's namespace (symbols without one are never matched).
    Namespace,
}

impl Target {
    /// SUSE's type word for this target.
    pub fn word(self) -> &'static str {
        match self {
            Target::Symbol => "SYMBOL",
            Target::Module => "MODULE",
            Target::Namespace => "NAMESPACE",
        }
    }
}

/// How a rule's target was decided, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Classified {
    /// A `MODULE`, `NAMESPACE` or `SYMBOL` word before the pattern.
    Explicit,
    /// By the pattern's shape (`/` or `vmlinux`: module; all upper case: namespace; else symbol).
    ByShape,
    /// This tool's `namespace:` prefix (matches the old or the new namespace).
    NamespacePrefix,
}

/// One line of a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// What the pattern applies to.
    pub target: Target,
    /// The shell pattern as written.
    pub pattern: String,
    /// PASS or FAIL.
    pub verdict: Verdict,
    /// 1-based line in the rules file.
    pub line: usize,
    /// How the target was decided.
    pub classified: Classified,
    /// The pattern in globset's syntax (runs of `*` folded, braces quoted).
    glob: String,
    /// The fewest bytes a matching string has.
    min_len: usize,
}

/// An ordered list of rules; the first match decides, no match means FAIL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// The rules in file order.
    pub rules: Vec<Rule>,
    /// The file they came from (for messages).
    pub path: PathBuf,
}

/// A rule that matches nothing in the tables compared: it can never decide anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unused {
    /// 1-based line in the rules file.
    pub line: usize,
    /// The pattern as written.
    pub pattern: String,
    /// What it was matched against.
    pub target: Target,
    /// How the target was decided.
    pub classified: Classified,
}

impl Rules {
    /// Parse a rules file's text; `path` names it in errors (`path:line: …`).
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let mut rules = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |detail: String| Error::at_rules_line(path, i + 1, detail);
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (word, pattern, verdict) = match fields.as_slice() {
                [pattern, verdict] => (None, *pattern, *verdict),
                [word, pattern, verdict] => (Some(*word), *pattern, *verdict),
                _ => {
                    return Err(bad(format!(
                        "expected \"PATTERN PASS|FAIL\", found {} fields",
                        fields.len()
                    )))
                }
            };
            let verdict = match verdict {
                "PASS" => Verdict::Pass,
                "FAIL" => Verdict::Fail,
                other => return Err(bad(format!("verdict {other:?} is neither PASS nor FAIL"))),
            };
            let (target, classified, pattern) = match word {
                Some("MODULE") => (Target::Module, Classified::Explicit, pattern),
                Some("NAMESPACE") => (Target::Namespace, Classified::Explicit, pattern),
                Some("SYMBOL") => (Target::Symbol, Classified::Explicit, pattern),
                Some(other) => {
                    return Err(bad(format!(
                        "type {other:?} is none of MODULE, NAMESPACE, SYMBOL"
                    )))
                }
                None => classify(pattern),
            };
            if pattern.len() > PATTERN_LIMIT {
                return Err(bad(format!(
                    "pattern of {} bytes; the limit is {PATTERN_LIMIT} (4 × PATH_MAX: no symbol, module or namespace is longer than PATH_MAX)",
                    pattern.len()
                )));
            }
            let (glob, min_len) = to_globset(pattern);
            // Checked here so that a bad class is reported with its line before any kernel is
            // read; compiling waits for the tables (see `Rules::compile`).
            glob_builder(&glob)
                .build()
                .map_err(|e| bad(format!("pattern {pattern:?}: {}", e.kind())))?;
            rules.push(Rule {
                target,
                pattern: pattern.to_string(),
                verdict,
                line: i + 1,
                classified,
                glob,
                min_len,
            });
        }
        Ok(Rules {
            rules,
            path: path.to_path_buf(),
        })
    }

    /// Read and parse a rules file (at most [`RULES_FILE_LIMIT`] bytes).
    pub fn read(path: &Path) -> Result<Self> {
        // Through input::read_regular: a FIFO or device named as the rules file is refused, not
        // waited on.
        let bytes = crate::input::read_regular(path, RULES_FILE_LIMIT)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
            Error::at_rules_line(path, line, "not UTF-8 text".into())
        })?;
        Self::parse(&text, path)
    }

    /// Compile the rules for matching against the records of `tables`. A pattern needing more
    /// bytes than the longest string of its kind in `tables` can never match: it is not
    /// compiled (and is reported by [`Matcher::unused`]).
    pub fn compile(&self, tables: &[&Table]) -> Result<Matcher> {
        let mut longest = [0usize; 3];
        for e in tables.iter().flat_map(|t| &t.entries) {
            longest[0] = longest[0].max(e.symbol.len());
            longest[1] = longest[1].max(e.module.len() + ".ko".len());
            longest[2] = longest[2].max(e.namespace.len());
        }
        let mut sets = Vec::with_capacity(3);
        for (k, target) in [Target::Symbol, Target::Module, Target::Namespace]
            .into_iter()
            .enumerate()
        {
            let (mut plain, mut bare) = (Vec::new(), Vec::new());
            let mut prefilter = Prefiltered::default();
            for (index, rule) in self.rules.iter().enumerate() {
                if rule.target != target || rule.min_len > longest[k] {
                    continue;
                }
                match Shape::of(&rule.glob) {
                    Shape::Plain => plain.push(index),
                    Shape::Literal(run) => {
                        let matcher = glob_builder(&rule.glob)
                            .build()
                            .map_err(|e| self.error_at(rule, e))?
                            .compile_matcher();
                        prefilter.add(run, matcher, index);
                    }
                    Shape::Bare => bare.push(index),
                }
            }
            let mut chunks = Vec::new();
            for chunk in plain.chunks(SET_CHUNK).chain(bare.chunks(BARE_SET_CHUNK)) {
                chunks.push((self.glob_set(chunk)?, chunk.to_vec()));
            }
            let first_line = prefilter
                .matchers
                .first()
                .map_or(0, |&(_, rule)| self.rules[rule].line);
            let prefilter = prefilter.build().map_err(|e| {
                Error::at_rules_line(
                    &self.path,
                    first_line,
                    format!("the patterns' literal runs cannot be compiled: {e}"),
                )
            })?;
            sets.push(TargetSet { chunks, prefilter });
        }
        let namespace = sets.pop().unwrap_or_default();
        let module = sets.pop().unwrap_or_default();
        let symbol = sets.pop().unwrap_or_default();
        Ok(Matcher {
            rules: self.rules.clone(),
            symbol,
            module,
            namespace,
        })
    }

    /// One [`GlobSet`] of the rules `chunk` (indexes into `self.rules`).
    fn glob_set(&self, chunk: &[usize]) -> Result<GlobSet> {
        let mut builder = GlobSetBuilder::new();
        for &index in chunk {
            let rule = &self.rules[index];
            let glob = glob_builder(&rule.glob)
                .build()
                .map_err(|e| self.error_at(rule, e))?;
            builder.add(glob);
        }
        builder.build().map_err(|e| {
            let rule = e
                .glob()
                .and_then(|g| chunk.iter().map(|&i| &self.rules[i]).find(|r| r.glob == g))
                .unwrap_or(&self.rules[chunk[0]]);
            self.error_at(rule, e)
        })
    }

    fn error_at(&self, rule: &Rule, e: globset::Error) -> Error {
        Error::at_rules_line(
            &self.path,
            rule.line,
            format!(
                "pattern {:?} cannot be compiled: {}",
                rule.pattern,
                e.kind()
            ),
        )
    }
}

/// SUSE's classification of a pattern without a type word (suse-kabi-tools `src/rules`), and
/// this tool's `namespace:` prefix.
fn classify(pattern: &str) -> (Target, Classified, &str) {
    if let Some(ns) = pattern.strip_prefix("namespace:") {
        (Target::Namespace, Classified::NamespacePrefix, ns)
    } else if pattern.contains('/') || pattern == "vmlinux" {
        (Target::Module, Classified::ByShape, pattern)
    } else if pattern == pattern.to_uppercase() {
        (Target::Namespace, Classified::ByShape, pattern)
    } else {
        (Target::Symbol, Classified::ByShape, pattern)
    }
}

fn glob_builder(glob: &str) -> GlobBuilder<'_> {
    let mut b = GlobBuilder::new(glob);
    // fnmatch without FNM_PATHNAME: `*` and `?` match `/` too (module patterns like
    // `drivers/*` cover whole subtrees).
    b.literal_separator(false).backslash_escape(true);
    b
}

/// An fnmatch pattern in globset's syntax, and the fewest bytes a string matching it has.
///
/// Runs of `*` fold into one (same meaning; a pattern of a million stars would otherwise compile
/// into a million-state automaton); `{`, `}` and a stray `]` are quoted, as fnmatch reads them
/// literally; a `[` without a closing `]` is a literal `[`, as in fnmatch.
fn to_globset(pattern: &str) -> (String, usize) {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len());
    let mut min_len = 0;
    let mut i = 0;
    let mut last_star = false;
    let literal = |out: &mut String, c: char| {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    };
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if !last_star {
                    out.push('*');
                }
                last_star = true;
                i += 1;
                continue;
            }
            '?' => {
                out.push('?');
                min_len += 1;
                i += 1;
            }
            '\\' => {
                match chars.get(i + 1) {
                    Some(&c) => {
                        literal(&mut out, c);
                        min_len += c.len_utf8();
                    }
                    None => {
                        literal(&mut out, '\\');
                        min_len += 1;
                    }
                }
                i += 2;
            }
            '[' => match class_end(&chars, i) {
                Some(end) => {
                    out.extend(&chars[i..=end]);
                    min_len += 1;
                    i = end + 1;
                }
                None => {
                    literal(&mut out, '[');
                    min_len += 1;
                    i += 1;
                }
            },
            c => {
                literal(&mut out, c);
                min_len += c.len_utf8();
                i += 1;
            }
        }
        last_star = false;
    }
    (out, min_len)
}

/// Index of the `]` closing the bracket class that opens at `chars[start]`: after an optional
/// `!` or `^`, a first `]` is a member, and `[:name:]` classes are skipped whole (POSIX).
fn class_end(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if matches!(chars.get(i), Some('!' | '^')) {
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        i += 1;
    }
    while i < chars.len() {
        match chars[i] {
            ']' => return Some(i),
            '[' if chars.get(i + 1) == Some(&':') => {
                let close = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == ':' && chars[j + 1] == ']')?;
                i = close + 2;
            }
            _ => i += 1,
        }
    }
    None
}

/// Plain globs (literal, `LIT*`, `*LIT`) per [`GlobSet`]: globset matches them without a regex,
/// but every set costs a pass per string (5000 real-symbol patterns against bookworm → trixie:
/// 0.3 s CPU in sets of 2048, twice that in sets of 1024).
const SET_CHUNK: usize = 2048;

/// Globs without any literal run per [`GlobSet`]: these go through one regex set each, whose
/// lazy DFA thrashes past a few hundred patterns.
const BARE_SET_CHUNK: usize = 128;

/// How a pattern (in globset's syntax) is best matched.
#[derive(Debug, PartialEq, Eq)]
enum Shape {
    /// A literal, `LIT*` or `*LIT`: globset needs no regex for it.
    Plain,
    /// Anything else holding a literal run: every match contains this one, its longest.
    Literal(String),
    /// No literal at all (`*`, `?*`, `[0-9]*`).
    Bare,
}

impl Shape {
    fn of(glob: &str) -> Shape {
        let chars: Vec<char> = glob.chars().collect();
        let (mut run, mut longest) = (String::new(), String::new());
        // Wildcard tokens (`*`, `?`, classes), and where the only `*`s are.
        let (mut wild, mut stars, mut leading, mut trailing) = (0, 0, false, false);
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let literal = match c {
                '\\' => {
                    i += 1;
                    chars.get(i).copied()
                }
                '*' | '?' => None,
                '[' => {
                    // to_globset copied a whole class, or quoted a `[` that opens none.
                    i = class_end(&chars, i).unwrap_or(i);
                    None
                }
                c => Some(c),
            };
            match literal {
                Some(c) => run.push(c),
                None => {
                    wild += 1;
                    if c == '*' {
                        stars += 1;
                        leading |= i == 0;
                        trailing |= i + 1 == chars.len();
                    }
                    if run.len() > longest.len() {
                        longest = std::mem::take(&mut run);
                    }
                    run.clear();
                }
            }
            i += 1;
        }
        if run.len() > longest.len() {
            longest = run;
        }
        let plain = wild == 0 || (wild == 1 && stars == 1 && (leading || trailing));
        if plain {
            Shape::Plain
        } else if longest.is_empty() {
            Shape::Bare
        } else {
            Shape::Literal(longest)
        }
    }
}

/// Patterns found through a literal run each contains ([`Shape::Literal`]).
#[derive(Debug, Clone, Default)]
struct Prefiltered {
    /// Distinct literal runs, for the automaton.
    runs: Vec<String>,
    /// Each run's place in `runs`.
    slots: HashMap<String, usize>,
    /// For each run, the entries of `matchers` that contain it.
    owners: Vec<Vec<usize>>,
    /// Each pattern's own matcher and its rule index.
    matchers: Vec<(GlobMatcher, usize)>,
    /// The automaton over `runs` (`None` when there are none).
    automaton: Option<AhoCorasick>,
}

impl Prefiltered {
    fn add(&mut self, run: String, matcher: GlobMatcher, rule: usize) {
        let slot = match self.slots.get(&run) {
            Some(&slot) => slot,
            None => {
                self.slots.insert(run.clone(), self.runs.len());
                self.runs.push(run);
                self.owners.push(Vec::new());
                self.runs.len() - 1
            }
        };
        self.owners[slot].push(self.matchers.len());
        self.matchers.push((matcher, rule));
    }

    fn build(mut self) -> std::result::Result<Self, aho_corasick::BuildError> {
        if !self.runs.is_empty() {
            // Standard semantics: overlapping search reports every run found.
            self.automaton = Some(AhoCorasick::new(&self.runs)?);
            self.slots = HashMap::new();
        }
        Ok(self)
    }

    /// Rule indexes of every pattern matching `text`, appended to `out`.
    fn all(&self, text: &str, candidates: &mut Vec<usize>, out: &mut Vec<usize>) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        candidates.clear();
        candidates.extend(
            automaton
                .find_overlapping_iter(text)
                .map(|m| m.pattern().as_usize()),
        );
        candidates.sort_unstable();
        candidates.dedup();
        for &slot in candidates.iter() {
            for &m in &self.owners[slot] {
                let (matcher, rule) = &self.matchers[m];
                if matcher.is_match(text) {
                    out.push(*rule);
                }
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
struct TargetSet {
    /// Each set with the rule index of each of its globs.
    chunks: Vec<(GlobSet, Vec<usize>)>,
    /// The patterns found through their literal runs.
    prefilter: Prefiltered,
}

impl TargetSet {
    /// Rule indexes of every pattern matching `text`, appended to `out`.
    fn all(&self, text: &str, scratch: &mut Vec<usize>, out: &mut Vec<usize>) {
        for (set, rule_of) in &self.chunks {
            set.matches_into(text, scratch);
            out.extend(scratch.iter().map(|&k| rule_of[k]));
        }
        self.prefilter.all(text, scratch, out);
    }
}

/// Compiled rules (see [`Rules::compile`]).
#[derive(Debug, Clone)]
pub struct Matcher {
    rules: Vec<Rule>,
    symbol: TargetSet,
    module: TargetSet,
    namespace: TargetSet,
}

impl Matcher {
    /// Indexes of every rule matching `entry`'s symbol, module (with or without `.ko`) or
    /// non-empty namespace.
    fn matching(&self, entry: &Entry, out: &mut Vec<usize>) {
        let mut scratch = Vec::new();
        self.symbol.all(&entry.symbol, &mut scratch, out);
        self.module.all(&entry.module, &mut scratch, out);
        self.module
            .all(&format!("{}.ko", entry.module), &mut scratch, out);
        if !entry.namespace.is_empty() {
            self.namespace.all(&entry.namespace, &mut scratch, out);
        }
    }

    /// The rule that decides a breaking change of a symbol whose OLD record is `old` (`None`
    /// for an added symbol) and NEW record `new` (`None` for a removed one): the first rule
    /// matching the old record (the new one for an addition), or a `namespace:` rule matching
    /// the other record's namespace, whichever comes first in the file.
    pub fn deciding(&self, old: Option<&Entry>, new: Option<&Entry>) -> Option<&Rule> {
        let mut hits = Vec::new();
        let (primary, other) = match (old, new) {
            (Some(o), n) => (o, n),
            (None, Some(n)) => (n, None),
            (None, None) => return None,
        };
        self.matching(primary, &mut hits);
        if let Some(other) = other.filter(|o| !o.namespace.is_empty()) {
            let mut either = Vec::new();
            self.namespace
                .all(&other.namespace, &mut Vec::new(), &mut either);
            hits.extend(
                either
                    .into_iter()
                    .filter(|&k| self.rules[k].classified == Classified::NamespacePrefix),
            );
        }
        hits.into_iter().min().map(|k| &self.rules[k])
    }

    /// True when the deciding rule (see [`Matcher::deciding`]) says PASS.
    pub fn tolerates(&self, old: Option<&Entry>, new: Option<&Entry>) -> bool {
        self.deciding(old, new)
            .is_some_and(|r| r.verdict == Verdict::Pass)
    }

    /// The rules that match no record of `tables` (by their own target): they can never decide
    /// anything, most often because of a typo or a pattern meant for another kind of name. One
    /// pass over the distinct symbols, modules and namespaces.
    pub fn unused(&self, tables: &[&Table]) -> Vec<Unused> {
        let mut used = vec![false; self.rules.len()];
        let mut seen: [HashSet<&str>; 3] = Default::default();
        let mut scratch = Vec::new();
        let mut hits = Vec::new();
        for e in tables.iter().flat_map(|t| &t.entries) {
            if seen[0].insert(&e.symbol) {
                self.symbol.all(&e.symbol, &mut scratch, &mut hits);
            }
            if seen[1].insert(&e.module) {
                self.module.all(&e.module, &mut scratch, &mut hits);
                self.module
                    .all(&format!("{}.ko", e.module), &mut scratch, &mut hits);
            }
            if !e.namespace.is_empty() && seen[2].insert(&e.namespace) {
                self.namespace.all(&e.namespace, &mut scratch, &mut hits);
            }
            for k in hits.drain(..) {
                used[k] = true;
            }
        }
        self.rules
            .iter()
            .zip(used)
            .filter(|(_, used)| !used)
            .map(|(r, _)| Unused {
                line: r.line,
                pattern: r.pattern.clone(),
                target: r.target,
                classified: r.classified,
            })
            .collect()
    }
}

/// Shell-style match of `text` against `pattern` (the syntax of a rules file's patterns).
/// Compiles the pattern each call: for many texts, use [`Rules::compile`].
pub fn glob(pattern: &str, text: &str) -> bool {
    let (glob, min_len) = to_globset(pattern);
    min_len <= text.len()
        && glob_builder(&glob)
            .build()
            .ok()
            .and_then(|g| {
                let mut b = GlobSetBuilder::new();
                b.add(g);
                b.build().ok()
            })
            .is_some_and(|set| set.is_match(text))
}

#[cfg(test)]
mod tests;
