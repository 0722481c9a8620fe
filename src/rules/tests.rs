use std::path::Path;
use std::time::{Duration, Instant};

use super::{glob, to_globset, Classified, Rules, Shape, Target, Verdict, PATTERN_LIMIT};
use crate::diff::{diff, Change};
use crate::exports::ExportKind::{Gpl, Plain};
use crate::symvers::{Entry, Table};

fn rules(text: &str) -> Rules {
    Rules::parse(text, Path::new("kabi.severities")).unwrap()
}

fn tolerated(old: &Table, new: &Table, text: &str) -> Vec<String> {
    let d = diff(old, new, &rules(text)).unwrap();
    d.changes
        .iter()
        .filter(|c| c.tolerated)
        .map(|c| c.symbol.clone())
        .collect()
}

/// SUSE's kabi/severities tolerates tracepoint statics with a character class; the old matcher
/// read `[KT]` literally and tolerated nothing.
#[test]
fn suse_character_class_matches() {
    let old = Table {
        entries: vec![
            Entry::new(1, "__SCK__tp_func_sched_switch", "vmlinux", Plain, ""),
            Entry::new(2, "__SCT__tp_func_sched_switch", "vmlinux", Plain, ""),
            Entry::new(3, "__SCX__tp_func_sched_switch", "vmlinux", Plain, ""),
        ],
    };
    let mut new = old.clone();
    for e in &mut new.entries {
        e.crc += 100;
    }
    assert_eq!(
        tolerated(&old, &new, "__SC[KT]__tp_func_*\tPASS\n"),
        ["__SCK__tp_func_sched_switch", "__SCT__tp_func_sched_switch"]
    );
    // Negated and ranged classes, as fnmatch has them.
    assert_eq!(
        tolerated(&old, &new, "SYMBOL __SC[!KT]__* PASS\n"),
        ["__SCX__tp_func_sched_switch"]
    );
    assert_eq!(
        tolerated(&old, &new, "SYMBOL __SC[^A-S]__* PASS\n"),
        ["__SCT__tp_func_sched_switch", "__SCX__tp_func_sched_switch"]
    );
}

#[test]
fn type_words_and_shapes_decide_the_target() {
    let r = rules(
        "MODULE foo* PASS\n\
         NAMESPACE cxl* FAIL\n\
         SYMBOL USB_THING PASS\n\
         drivers/usb/* PASS\n\
         vmlinux FAIL\n\
         CXL PASS\n\
         namespace:DMA_BUF PASS\n\
         kmalloc PASS\n",
    );
    let got: Vec<(Target, Classified, &str, Verdict)> = r
        .rules
        .iter()
        .map(|r| (r.target, r.classified, r.pattern.as_str(), r.verdict))
        .collect();
    use Classified::*;
    assert_eq!(
        got,
        [
            (Target::Module, Explicit, "foo*", Verdict::Pass),
            (Target::Namespace, Explicit, "cxl*", Verdict::Fail),
            (Target::Symbol, Explicit, "USB_THING", Verdict::Pass),
            (Target::Module, ByShape, "drivers/usb/*", Verdict::Pass),
            (Target::Module, ByShape, "vmlinux", Verdict::Fail),
            (Target::Namespace, ByShape, "CXL", Verdict::Pass),
            (Target::Namespace, NamespacePrefix, "DMA_BUF", Verdict::Pass),
            (Target::Symbol, ByShape, "kmalloc", Verdict::Pass),
        ]
    );
    let lines: Vec<usize> = r.rules.iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn bad_lines_name_file_and_line() {
    let err = Rules::parse("ok PASS\nWHATEVER x PASS\n", Path::new("r")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "r:2: type \"WHATEVER\" is none of MODULE, NAMESPACE, SYMBOL"
    );
    let err = Rules::parse("a b c PASS\n", Path::new("r")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "r:1: expected \"PATTERN PASS|FAIL\", found 4 fields"
    );
    let err = Rules::parse("x[z-a] PASS\n", Path::new("r")).unwrap_err();
    assert!(
        err.to_string().starts_with("r:1: pattern \"x[z-a]\": "),
        "{err}"
    );
}

/// SUSE matches the OLD record: a symbol that moved out of a tolerated module is still
/// tolerated, one that moved into it is not; `namespace:` (this tool's syntax) sees both.
#[test]
fn rules_match_the_old_record_and_additions_the_new() {
    let old = Table {
        entries: vec![
            Entry::new(1, "left", "drivers/staging/a", Plain, ""),
            Entry::new(2, "arrived", "drivers/net/b", Plain, ""),
            Entry::new(3, "into_ns", "drivers/net/b", Plain, ""),
        ],
    };
    let new = Table {
        entries: vec![
            Entry::new(10, "left", "drivers/net/b", Plain, ""),
            Entry::new(20, "arrived", "drivers/staging/a", Plain, ""),
            Entry::new(3, "into_ns", "drivers/net/b", Plain, "NEW_NS"),
        ],
    };
    assert_eq!(tolerated(&old, &new, "drivers/staging/* PASS\n"), ["left"]);
    assert_eq!(tolerated(&old, &new, "NEW_NS PASS\n"), Vec::<String>::new());
    assert_eq!(
        tolerated(&old, &new, "namespace:NEW_NS PASS\n"),
        ["into_ns"]
    );
}

#[test]
fn first_matching_line_decides_across_targets() {
    let old = Table {
        entries: vec![Entry::new(1, "ksym", "drivers/x", Gpl, "NS")],
    };
    let new = Table {
        entries: vec![Entry::new(2, "ksym", "drivers/x", Gpl, "NS")],
    };
    assert!(tolerated(&old, &new, "NS FAIL\nksym PASS\n").is_empty());
    assert_eq!(tolerated(&old, &new, "ksym PASS\nNS FAIL\n"), ["ksym"]);
    assert_eq!(tolerated(&old, &new, "drivers/x.ko PASS\n"), ["ksym"]);
    // No match: FAIL.
    let d = diff(&old, &new, &rules("other PASS\n")).unwrap();
    assert_eq!(d.changes[0].change, Change::CrcChanged { old: 1, new: 2 });
    assert!(d.has_breaking());
}

/// A rule that matches nothing in either table is reported, with its line.
#[test]
fn rules_that_match_nothing_are_reported() {
    let table = Table {
        entries: vec![
            Entry::new(1, "__SCK__tp_func_x", "vmlinux", Plain, ""),
            Entry::new(2, "usb_thing", "drivers/usb/core", Gpl, "USB"),
        ],
    };
    let r = rules(
        "__SC[KT]__tp_func_* PASS\n\
         __SC[XY]__tp_func_* PASS\n\
         drivers/usb/* PASS\n\
         sound/* PASS\n\
         USB PASS\n\
         USB_THING PASS\n\
         namespace:NOPE PASS\n\
         averyveryveryverylongsymbolnamethatisnotinthetable* PASS\n",
    );
    let d = diff(&table, &table, &r).unwrap();
    let unused: Vec<(usize, &str, Target)> = d
        .unused_rules
        .iter()
        .map(|u| (u.line, u.pattern.as_str(), u.target))
        .collect();
    assert_eq!(
        unused,
        [
            (2, "__SC[XY]__tp_func_*", Target::Symbol),
            (4, "sound/*", Target::Module),
            (6, "USB_THING", Target::Namespace),
            (7, "NOPE", Target::Namespace),
            (
                8,
                "averyveryveryverylongsymbolnamethatisnotinthetable*",
                Target::Symbol
            ),
        ]
    );
}

#[test]
fn patterns_read_as_fnmatch_does() {
    assert!(glob("a{b,c}", "a{b,c}"));
    assert!(!glob("a{b,c}", "ab"));
    assert!(glob("x[", "x["));
    assert!(glob("[]]x", "]x"));
    assert!(glob("[!]]x", "ax"));
    assert!(!glob("[!]]x", "]x"));
    assert!(glob("a\\*", "a*"));
    assert!(!glob("a\\*", "ab"));
    assert!(glob("a***b", "a/x/b"));
    assert!(glob("[[:digit:]]x", "7x"));
    assert!(glob("a]", "a]"));
}

/// A multi-megabyte pattern is refused at once with its line (the old matcher spent minutes on
/// it; compiling it would take gigabytes); one that needs more bytes than any name has is
/// never compiled and is reported as matching nothing.
#[test]
fn huge_patterns_are_bounded() {
    let table = Table {
        entries: vec![Entry::new(1, "ksym", "vmlinux", Plain, "")],
    };
    let started = Instant::now();
    let huge = format!("{} PASS\n", "a*".repeat(2 << 20));
    let err = Rules::parse(&huge, Path::new("r")).unwrap_err();
    assert!(
        err.to_string().starts_with("r:1: pattern of 4194304 bytes"),
        "{err}"
    );
    let long = format!("ok PASS\n{} PASS\n", "a*".repeat(PATTERN_LIMIT / 2));
    let d = diff(&table, &table, &rules(&long)).unwrap();
    assert_eq!(d.unused_rules.len(), 2);
    let stars = format!("{}ksym PASS\n", "*".repeat(PATTERN_LIMIT - 4));
    let r = rules(&stars);
    let mut new = table.clone();
    new.entries[0].crc = 2;
    assert!(diff(&table, &new, &r).unwrap().changes[0].tolerated);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// Thousands of patterns against 30 000 symbols: compiled once, one pass per string.
#[test]
fn thousands_of_patterns_stay_fast() {
    let old = Table {
        entries: (0..30_000)
            .map(|i| Entry::new(i, &format!("sym_{i}_x"), "vmlinux", Plain, ""))
            .collect(),
    };
    let mut new = old.clone();
    for e in &mut new.entries {
        e.crc += 1;
    }
    let mut text = String::new();
    for i in 0..5_000 {
        text.push_str(&match i % 4 {
            0 => format!("sym_{i}_* PASS\n"),
            1 => format!("*_{i}_y PASS\n"),
            2 => format!("s[xy]m_{i}? FAIL\n"),
            _ => format!("*[0-9]_{i}*z PASS\n"),
        });
    }
    let r = rules(&text);
    let started = Instant::now();
    let d = diff(&old, &new, &r).unwrap();
    let took = started.elapsed();
    assert_eq!(d.summary.tolerated, 1250, "sym_{{0,4,8,…}}_x");
    // Well under a second in a release build; the bound leaves room for a debug build on a
    // loaded machine, and the quadratic matcher took minutes.
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn shapes_choose_the_route() {
    let shape = |p: &str| Shape::of(&to_globset(p).0);
    assert_eq!(shape("kmalloc"), Shape::Plain);
    assert_eq!(shape("__SCK__tp_func_*"), Shape::Plain);
    assert_eq!(shape("*_probe"), Shape::Plain);
    assert_eq!(shape("*usb*"), Shape::Literal("usb".into()));
    assert_eq!(shape("*ab*cde*[0-9]"), Shape::Literal("cde".into()));
    assert_eq!(
        shape("__SC[KT]__tp_func_*"),
        Shape::Literal("__tp_func_".into())
    );
    assert_eq!(shape("a\\*b*"), Shape::Plain);
    assert_eq!(shape("*a\\*b*"), Shape::Literal("a*b".into()));
    assert_eq!(shape("*"), Shape::Plain);
    assert_eq!(shape("?*[0-9]"), Shape::Bare);
    assert_eq!(shape("[[:digit:]]*"), Shape::Bare);
}

/// Every route finds exactly what matching each pattern alone finds.
#[test]
fn the_routes_match_as_each_pattern_alone() {
    let patterns = [
        "kmalloc",
        "k*",
        "*alloc",
        "*mal*",
        "*a*l*",
        "k?alloc",
        "*[0-9]*",
        "*",
        "?*",
        "x[ab]*",
        "*_\\*",
        "*{x}*",
        "[!k]*",
        "*oc",
        "usb_*_probe",
        "*e*e*",
    ];
    let names = [
        "kmalloc",
        "kzalloc",
        "malloc_x",
        "usb_hub_probe",
        "a_*",
        "x{x}y",
        "xb9",
        "",
        "ee",
        "e",
    ];
    let text: String = patterns
        .iter()
        .map(|p| format!("SYMBOL {p} PASS\n"))
        .collect();
    let r = rules(&text);
    let table = Table {
        entries: names
            .iter()
            .filter(|n| !n.is_empty())
            .map(|n| Entry::new(1, n, "vmlinux", Plain, ""))
            .collect(),
    };
    let matcher = r.compile(&[&table]).unwrap();
    for e in &table.entries {
        let mut hits = Vec::new();
        let mut scratch = Vec::new();
        matcher.symbol.all(&e.symbol, &mut scratch, &mut hits);
        hits.sort_unstable();
        let expected: Vec<usize> = (0..patterns.len())
            .filter(|&i| glob(patterns[i], &e.symbol))
            .collect();
        assert_eq!(hits, expected, "{}", e.symbol);
    }
}

/// 2000 `*name*` rules (and 2000 `*name*[0-9]`) against 30 000 symbols: the literal runs find
/// the candidates; one regex set of them took 98 s and 3.4 GB on two real tables.
#[test]
fn thousands_of_infix_patterns_stay_fast() {
    let old = Table {
        entries: (0..30_000)
            .map(|i| Entry::new(i, &format!("sym_{i}_x"), "vmlinux", Plain, ""))
            .collect(),
    };
    let mut new = old.clone();
    for e in &mut new.entries {
        e.crc += 1;
    }
    let mut text = String::new();
    for i in 0..2_000 {
        text.push_str(&format!("*m_{}_* PASS\n", i * 7));
        text.push_str(&format!("*_{}*[0-9] FAIL\n", i * 11));
    }
    let r = rules(&text);
    let started = Instant::now();
    let d = diff(&old, &new, &r).unwrap();
    let took = started.elapsed();
    assert_eq!(d.summary.tolerated, 2000, "sym_{{0,7,14,…}}_x");
    assert!(took < Duration::from_secs(10), "{took:?}");
}
