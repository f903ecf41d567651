//! The license import's CSV reader (`licentric_server::csv_rows::parse_import`) on
//! arbitrary bytes: it must never panic, and its report must hold together — rows and
//! problems in line order, no line both a row and a problem, keys distinct, and a clean
//! import exactly when there is no problem.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use licentric_server::csv_rows::parse_import;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_import(data);
    assert_eq!(parsed.is_clean(), parsed.problems.is_empty());
    assert!(parsed.rows.windows(2).all(|w| w[0].line < w[1].line));
    assert!(parsed.problems.windows(2).all(|w| w[0].line <= w[1].line));
    let problem_lines: BTreeSet<u64> = parsed.problems.iter().map(|p| p.line).collect();
    for row in &parsed.rows {
        assert!(row.line >= 2, "the header is line 1: {row:?}");
        assert!(!problem_lines.contains(&row.line), "line {} both", row.line);
    }
    for problem in &parsed.problems {
        assert!(!problem.reason.is_empty());
    }
    let keys: Vec<_> = parsed.keys().map(|(_, key)| key.as_str().to_owned()).collect();
    let distinct: BTreeSet<_> = keys.iter().collect();
    assert_eq!(distinct.len(), keys.len(), "a key given twice passed");
});
