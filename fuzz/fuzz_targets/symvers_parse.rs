//! Module.symvers text: parsing never panics, and a parsed table written out in the 5.6 column
//! order parses back to the same table.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use symvers::symvers::{Columns, Table};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz.symvers");
    if let Ok(table) = Table::parse(&text, path) {
        let again = Table::parse(&table.to_text(Columns::Modern), path)
            .expect("a table written by to_text parses");
        assert_eq!(again, table);
    }
});
