//! Property test: the experiment-config parser never panics and answers
//! every malformed input with a user error (exit code 2 at the edge).
//! 10,000 random texts and 10,000 mutations of a valid configuration.

use ismc::experiment::registry::RunConfig;
use proptest::prelude::*;

const VALID: &str = include_str!("../experiments/lattice-crossing-quick.toml");

fn check(text: &str) {
    match RunConfig::parse(text) {
        Ok(cfg) => {
            // Whatever parsed is valid and stable: its stored text parses to
            // the same configuration.
            let again = RunConfig::parse(&cfg.text).expect("stored text parses");
            assert_eq!(again.hash, cfg.hash);
        }
        Err(e) => assert!(e.is_user_error(), "{e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,300}") {
        check(&text);
    }

    #[test]
    fn mutated_valid_configs_never_panic(
        cut in 0usize..VALID.len(),
        len in 0usize..40,
        insert in "[\\[\\]=\"#a-z0-9_., \n-]{0,12}",
        dup in any::<bool>(),
    ) {
        let mut text = VALID.to_string();
        let start = (0..=cut).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let end = (start + len..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len()).min(text.len());
        text.replace_range(start..end, &insert);
        if dup {
            let line = text.lines().nth(cut % text.lines().count().max(1)).unwrap_or("").to_string();
            text.push('\n');
            text.push_str(&line);
        }
        check(&text);
    }
}

#[test]
fn the_valid_config_itself_parses() {
    RunConfig::parse(VALID).unwrap();
}
