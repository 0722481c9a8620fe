//! Tests of the raw-image scanner.
