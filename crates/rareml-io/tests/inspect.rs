//! `inspect` detects each format, counts events per class and reports the 9th-polarisation copy.

use std::path::PathBuf;

use rareml_io::inspect::{inspect, Details, Format};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

#[test]
fn detects_every_fixture_format() {
    let cases = [
        ("newsdm_raw.h5", Format::NewsdmRaw),
        ("newsdm_processed.h5", Format::NewsdmProcessed),
        ("newsdm_train.h5", Format::NewsdmTraining),
        ("tpc_v1.h5", Format::TpcV1),
        ("tt_v1.h5", Format::TtV1),
    ];
    for (name, format) in cases {
        let s = inspect(fixture(name)).unwrap();
        assert_eq!(s.format, format, "{name}");
        assert!(!s.datasets.is_empty());
    }
}

#[test]
fn newsdm_counts_per_class_and_ninth_copy() {
    let s = inspect(fixture("newsdm_train.h5")).unwrap();
    let Details::Emulsion { sets, class_counts } = &s.details else {
        panic!("{:?}", s.details)
    };
    assert_eq!(class_counts.get("C30keV"), 12);
    assert_eq!(class_counts.get("background"), 12);
    assert!(sets.iter().all(|s| s.scan.ninth_is_copy == Some(true)));
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["format"], "newsdm_training");
    assert_eq!(json["details"]["class_counts"]["C60keV"], 12);
    assert_eq!(json["details"]["sets"][0]["scan"]["ninth_is_copy"], true);
    // Class order is the label order in the JSON object.
    let keys: Vec<&String> = json["details"]["class_counts"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys.len(), 4);
}

#[test]
fn tpc_and_tt_counts() {
    let s = inspect(fixture("tpc_v1.h5")).unwrap();
    let Details::Tpc {
        events,
        signals,
        samples_per_signal,
        class_counts,
        ..
    } = &s.details
    else {
        panic!()
    };
    assert_eq!((*events, *signals, *samples_per_signal), (5, 73, 512));
    assert_eq!(
        (
            class_counts.get("signal"),
            class_counts.get("background"),
            class_counts.get("unknown")
        ),
        (2, 2, 1)
    );
    assert_eq!(s.attrs["schema"], "rareml.tpc.v1");
    let text = s.to_string();
    assert!(
        text.contains("signals/samples") && text.contains("int16") && text.contains("[73, 512]"),
        "{text}"
    );

    let s = inspect(fixture("tt_v1.h5")).unwrap();
    assert_eq!(
        s.details,
        Details::Tt {
            events: 6,
            hits: 1096,
            stations: 6
        }
    );
}

#[test]
fn a_bad_file_is_an_error() {
    assert!(inspect(fixture("expected.json")).is_err());
    assert!(inspect(fixture("nonexistent.h5")).is_err());
}
