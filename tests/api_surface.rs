//! The generated public surface of each provider's client, pinned: a change
//! to a document shows up in `cargo insta review` as a readable diff of types
//! and operation signatures.

use seedance_mini::fixtures::{surface, PASS_NOTES};
use seedance_mini::Provider;

#[test]
fn generated_surfaces_are_pinned() {
    for &provider in Provider::ALL {
        insta::assert_snapshot!(format!("surface_{provider}"), surface(provider));
    }
}

#[test]
fn normalising_pass_notes_are_pinned() {
    let notes: Vec<String> = PASS_NOTES
        .iter()
        .map(|(p, pass, note)| format!("{p} {pass}: {note}"))
        .collect();
    insta::assert_snapshot!(notes.join("\n"));
}
