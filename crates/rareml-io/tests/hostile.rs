//! Every file of the damaged-input corpus (`corpus/mod.rs`) through `inspect`, which opens each
//! with its format's reader and reads every event: a damaged file is an error naming the file,
//! the object and what was expected (or, for forbidden values that are counted, a summary listing
//! them as problems); the valid edge cases (fixed-length string attributes) read.
//!
//! `RAREML_CORPUS_DIR=DIR` keeps the corpus in DIR (for `scripts/hostile-inputs` and the fuzzers'
//! seeds) instead of a temporary directory.

mod corpus;

use corpus::Expect;

#[test]
fn every_damaged_file_is_refused_naming_the_file_and_the_object() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = match std::env::var_os("RAREML_CORPUS_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).unwrap();
            std::path::PathBuf::from(d)
        }
        None => tmp.path().to_path_buf(),
    };
    let cases = corpus::write(&dir);
    // The manifest scripts/hostile-inputs reads: name, expected outcome, file.
    let manifest: String = cases
        .iter()
        .map(|c| {
            let kind = match c.expect {
                Expect::Error(_) => "error",
                Expect::Problem(_) => "problem",
                Expect::Valid(_) => "valid",
            };
            format!("{}\t{kind}\t{}\n", c.name, c.path.display())
        })
        .collect();
    std::fs::write(dir.join("cases.tsv"), manifest).unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let file = case.path.display().to_string();
        let got = rareml_io::inspect::inspect(&case.path);
        let verdict = match (&case.expect, &got) {
            (Expect::Error(frags), Err(e)) => {
                let msg = e.to_string();
                let missing: Vec<_> = std::iter::once(file.as_str())
                    .chain(frags.iter().copied())
                    .filter(|f| !msg.contains(f))
                    .collect();
                missing
                    .is_empty()
                    .then_some(())
                    .ok_or(format!("error lacks {missing:?}: {msg}"))
            }
            (Expect::Problem(frags), Ok(s)) => {
                let all = s.problems.join("\n");
                let missing: Vec<_> = frags.iter().filter(|f| !all.contains(*f)).collect();
                (!s.problems.is_empty() && missing.is_empty())
                    .then_some(())
                    .ok_or(format!("problems {:?} lack {missing:?}", s.problems))
            }
            (Expect::Valid(frags), Ok(s)) => {
                let text = s.to_string();
                let missing: Vec<_> = frags.iter().filter(|f| !text.contains(*f)).collect();
                (s.problems.is_empty() && missing.is_empty())
                    .then_some(())
                    .ok_or(format!(
                        "summary lacks {missing:?} or has problems:\n{text}"
                    ))
            }
            (want, got) => Err(format!("expected {want:?}, got {got:?}")),
        };
        if let Err(why) = verdict {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(cases.len() >= 50, "{} cases", cases.len());
}
