//! Bad input, one case at a time: each gives a clear error naming the file and the dataset (and,
//! where it applies, the row or line) — never a panic.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2, Array4};
use rareml_io::decay0::Decay0Reader;
use rareml_io::emulsion::EmulsionFile;
use rareml_io::tpc::TpcFile;
use rareml_io::tt::TtFile;
use rareml_io::Error;
use tempfile::TempDir;

// The damaged-file corpus's edit helpers (its cases run in `hostile.rs`).
mod corpus;
use corpus::replace;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

/// Copies a fixture into a temporary directory and lets `edit` change it with raw HDF5 calls.
fn edited(name: &str, edit: impl FnOnce(&hdf5::File)) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::copy(fixture(name), &path).unwrap();
    let f = hdf5::File::open_rw(&path).unwrap();
    edit(&f);
    // Closed explicitly (every handle inside invalidated), so no handle left open by the edit
    // keeps the file locked when the reader under test opens it.
    f.close().unwrap();
    (dir, path)
}

/// The error's message names the file and every given fragment.
fn assert_names(err: &Error, file: &Path, fragments: &[&str]) {
    let msg = err.to_string();
    assert!(
        msg.contains(&file.display().to_string()),
        "message does not name the file: {msg}"
    );
    for f in fragments {
        assert!(msg.contains(f), "message lacks {f:?}: {msg}");
    }
}

#[test]
fn missing_file() {
    let p = PathBuf::from("/nonexistent/dir/events.h5");
    for err in [
        TpcFile::open(&p).unwrap_err(),
        TtFile::open(&p).unwrap_err(),
        EmulsionFile::open(&p).unwrap_err(),
    ] {
        assert!(matches!(err, Error::Open { .. }), "{err:?}");
        assert_names(&err, &p, &["cannot open"]);
    }
}

#[test]
fn not_hdf5() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.h5");
    std::fs::write(&p, "this is a text file, not HDF5\n".repeat(100)).unwrap();
    let err = TpcFile::open(&p).unwrap_err();
    assert!(matches!(err, Error::NotHdf5 { .. }), "{err:?}");
    assert_names(&err, &p, &["not an HDF5 file"]);
    let empty = dir.path().join("empty.h5");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        EmulsionFile::open(&empty).unwrap_err(),
        Error::NotHdf5 { .. }
    ));
}

#[test]
fn truncated_hdf5() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["tpc_v1.h5", "tt_v1.h5", "newsdm_processed.h5"] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        for keep in [bytes.len() / 2, 4096, 600] {
            let p = dir.path().join(format!("cut-{keep}-{name}"));
            std::fs::write(&p, &bytes[..keep]).unwrap();
            let result = match name {
                "tpc_v1.h5" => TpcFile::open(&p).and_then(|f| f.read(0..f.len()).map(|_| ())),
                "tt_v1.h5" => TtFile::open(&p).and_then(|f| f.read(0..f.len()).map(|_| ())),
                _ => EmulsionFile::open(&p).and_then(|f| {
                    f.sets()?
                        .iter()
                        .try_for_each(|s| s.read::<f32>(0..s.len()).map(|_| ()))
                }),
            };
            let err = result.expect_err("a truncated file must not read");
            assert_names(&err, &p, &[]);
        }
    }
}

#[test]
fn missing_dataset() {
    let (_d, p) = edited("tpc_v1.h5", |f| f.unlink("signals/samples").unwrap());
    let err = TpcFile::open(&p).unwrap_err();
    assert!(matches!(err, Error::Missing { .. }), "{err:?}");
    assert_names(&err, &p, &["signals/samples", "missing dataset"]);

    let (_d, p) = edited("tt_v1.h5", |f| f.unlink("hits/station").unwrap());
    assert_names(
        &TtFile::open(&p).unwrap_err(),
        &p,
        &["hits/station", "missing dataset"],
    );

    let (_d, p) = edited("newsdm_train.h5", |f| {
        f.unlink("train/images").unwrap();
        f.unlink("val/images").unwrap();
    });
    let err = EmulsionFile::open(&p).unwrap().layout().unwrap_err();
    assert_names(&err, &p, &["images", "missing dataset"]);
    let err = EmulsionFile::open(&p).unwrap().set("train").unwrap_err();
    assert_names(&err, &p, &["train/images", "missing dataset"]);
}

#[test]
fn missing_or_wrong_schema() {
    let (_d, p) = edited("tpc_v1.h5", |f| f.delete_attr("schema").unwrap());
    assert_names(
        &TpcFile::open(&p).unwrap_err(),
        &p,
        &["/@schema", "missing attribute"],
    );
    // A TT file is not a TPC file.
    let p = fixture("tt_v1.h5");
    assert_names(
        &TpcFile::open(&p).unwrap_err(),
        &p,
        &["rareml.tt.v1", "expected \"rareml.tpc.v1\""],
    );
    let (_d, p) = edited("tpc_v1.h5", |f| f.delete_attr("sampling_ns").unwrap());
    assert_names(
        &TpcFile::open(&p).unwrap_err(),
        &p,
        &["sampling_ns", "missing attribute"],
    );
}

#[test]
fn wrong_rank() {
    let (_d, p) = edited("tpc_v1.h5", |f| {
        replace(f, "signals/samples", Array1::<i16>::zeros(73))
    });
    let err = TpcFile::open(&p).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err:?}");
    assert_names(&err, &p, &["signals/samples", "expected (S, T)", "[73]"]);

    let (_d, p) = edited("newsdm_processed.h5", |f| {
        replace(f, "fog/images", Array2::<f32>::zeros((6, 40)))
    });
    assert_names(
        &EmulsionFile::open(&p).unwrap().set("fog").unwrap_err(),
        &p,
        &["fog/images", "(N, H, W, 8|9)"],
    );

    let (_d, p) = edited("newsdm_processed.h5", |f| {
        replace(f, "fog/pol_ids", Array2::<i32>::zeros((6, 12)))
    });
    assert_names(
        &EmulsionFile::open(&p).unwrap().set("fog").unwrap_err(),
        &p,
        &["fog/pol_ids", "(N, 13)", "[6, 12]"],
    );

    let (_d, p) = edited("newsdm_processed.h5", |f| {
        replace(f, "fog/images", Array4::<f32>::zeros((6, 40, 40, 3)))
    });
    assert_names(
        &EmulsionFile::open(&p).unwrap().set("fog").unwrap_err(),
        &p,
        &["fog/images", "[6, 40, 40, 3]"],
    );

    let (_d, p) = edited("tt_v1.h5", |f| {
        replace(f, "events/vertex_cm", Array1::<f32>::zeros(18))
    });
    assert_names(
        &TtFile::open(&p).unwrap_err(),
        &p,
        &["events/vertex_cm", "(6, 3)"],
    );
}

#[test]
fn wrong_dtype() {
    let (_d, p) = edited("tpc_v1.h5", |f| {
        replace(f, "signals/samples", Array2::<f32>::zeros((73, 512)))
    });
    let err = TpcFile::open(&p).unwrap_err();
    assert!(matches!(err, Error::Dtype { .. }), "{err:?}");
    assert_names(
        &err,
        &p,
        &["signals/samples", "expected int16", "found float32"],
    );

    let (_d, p) = edited("tpc_v1.h5", |f| {
        replace(
            f,
            "events/offsets",
            Array1::<i32>::from(vec![0, 20, 37, 47, 56, 73]),
        )
    });
    assert_names(
        &TpcFile::open(&p).unwrap_err(),
        &p,
        &["events/offsets", "expected int64", "found int32"],
    );

    let (_d, p) = edited("newsdm_raw.h5", |f| {
        replace(
            f,
            "fog/Scan01/part0/images",
            Array4::<i16>::zeros((15, 80, 80, 9)),
        )
    });
    assert_names(
        &EmulsionFile::open(&p)
            .unwrap()
            .set("fog/Scan01/part0")
            .unwrap_err(),
        &p,
        &[
            "fog/Scan01/part0/images",
            "expected uint8 or float32",
            "found int16",
        ],
    );

    // float32 images cannot be read as u8.
    let p = fixture("newsdm_processed.h5");
    let err = EmulsionFile::open(&p)
        .unwrap()
        .set("fog")
        .unwrap()
        .read::<u8>(0..2)
        .unwrap_err();
    assert_names(&err, &p, &["fog/images", "uint8"]);
}

#[test]
fn offsets_not_monotonic_or_out_of_range() {
    let (_d, p) = edited("tpc_v1.h5", |f| {
        replace(
            f,
            "events/offsets",
            Array1::<i64>::from(vec![0, 20, 17, 47, 56, 73]),
        )
    });
    let err = TpcFile::open(&p).unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    assert_names(
        &err,
        &p,
        &["events/offsets", "not monotonic", "offsets[2] = 17"],
    );

    let (_d, p) = edited("tpc_v1.h5", |f| {
        replace(
            f,
            "events/offsets",
            Array1::<i64>::from(vec![0, 20, 37, 47, 56, 80]),
        )
    });
    assert_names(
        &TpcFile::open(&p).unwrap_err(),
        &p,
        &["events/offsets", "offsets[5] = 80", "expected 73"],
    );

    let (_d, p) = edited("tpc_v1.h5", |f| {
        replace(
            f,
            "events/offsets",
            Array1::<i64>::from(vec![3, 20, 37, 47, 56, 73]),
        )
    });
    assert_names(
        &TpcFile::open(&p).unwrap_err(),
        &p,
        &["events/offsets", "offsets[0] = 3"],
    );

    let (_d, p) = edited("tt_v1.h5", |f| {
        replace(
            f,
            "events/offsets",
            Array1::<i64>::from(vec![0, 20, 91, 362, 300, 696, 1096]),
        )
    });
    assert_names(
        &TtFile::open(&p).unwrap_err(),
        &p,
        &["events/offsets", "not monotonic"],
    );

    let (_d, p) = edited("tt_v1.h5", |f| {
        replace(
            f,
            "events/offsets",
            Array1::<i64>::from(vec![0, 20, 91, 362, 386, 696, 2000]),
        )
    });
    assert_names(
        &TtFile::open(&p).unwrap_err(),
        &p,
        &["events/offsets", "expected 1096"],
    );
}

#[test]
fn strip_id_absent_from_readout() {
    let (_d, p) = edited("tpc_v1.h5", |f| {
        let mut ids = f
            .dataset("signals/strip_id")
            .unwrap()
            .read_1d::<i32>()
            .unwrap();
        ids[40] = 999;
        replace(f, "signals/strip_id", ids);
    });
    let f = TpcFile::open(&p).unwrap();
    f.event(0).unwrap(); // events not touching row 40 still read
    let err = f.event(2).unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    assert_names(
        &err,
        &p,
        &[
            "signals/strip_id",
            "row 40",
            "strip id 999",
            "absent from /readout/strip_id",
        ],
    );
    assert!(f.batches(5).any(|b| b.is_err()));
    // inspect reads every event, so it reports the bad row too.
    assert_names(
        &rareml_io::inspect::inspect(&p).unwrap_err(),
        &p,
        &["strip id 999"],
    );
}

#[test]
fn bad_labels_and_stations() {
    let (_d, p) = edited("tpc_v1.h5", |f| {
        replace(f, "events/label", Array1::<i8>::from(vec![1, 0, 5, -1, 0]))
    });
    assert_names(
        &TpcFile::open(&p).unwrap_err(),
        &p,
        &["events/label", "event 2: label 5"],
    );

    let (_d, p) = edited("newsdm_train.h5", |f| {
        let mut l = f.dataset("val/labels").unwrap().read_1d::<i64>().unwrap();
        l[3] = 7;
        replace(f, "val/labels", l);
    });
    let err = EmulsionFile::open(&p)
        .unwrap()
        .set("val")
        .unwrap()
        .read::<f32>(0..16)
        .unwrap_err();
    assert_names(&err, &p, &["val/labels", "cluster 3 is 7"]);

    let (_d, p) = edited("tt_v1.h5", |f| {
        let mut s = f.dataset("hits/station").unwrap().read_1d::<u8>().unwrap();
        s[25] = 6;
        replace(f, "hits/station", s);
    });
    let f = TtFile::open(&p).unwrap();
    assert_names(
        &f.event(1).unwrap_err(),
        &p,
        &["hits/station", "row 25", "station 6", "expected 0..5"],
    );
}

#[test]
fn nan_and_infinite_pixels_in_float_images() {
    let (_d, p) = edited("newsdm_processed.h5", |f| {
        let mut a = f
            .dataset("fog/images")
            .unwrap()
            .read::<f32, ndarray::Ix4>()
            .unwrap();
        a[[4, 10, 11, 2]] = f32::NAN;
        a[[4, 12, 11, 2]] = f32::NAN;
        a[[5, 1, 1, 0]] = f32::INFINITY;
        a[[5, 1, 2, 0]] = f32::NEG_INFINITY;
        a[[5, 1, 3, 0]] = f32::INFINITY;
        replace(f, "fog/images", a);
    });
    let set = EmulsionFile::open(&p).unwrap().set("fog").unwrap();
    set.read::<f32>(0..4).unwrap(); // clusters before the bad one still read
    let err = set.read::<f32>(2..6).unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    assert_names(
        &err,
        &p,
        &["fog/images", "cluster 4", "2 NaN or infinite pixel(s)"],
    );
    let err = set.read::<f32>(5..6).unwrap_err();
    assert_names(
        &err,
        &p,
        &["fog/images", "cluster 5", "3 NaN or infinite pixel(s)"],
    );
    let scan = set.scan(4).unwrap();
    assert_eq!((scan.nan_pixels, scan.infinite_pixels), (2, 3));
    assert!(set
        .read_unchecked::<f32>(0..6)
        .unwrap()
        .images
        .iter()
        .any(|v| v.is_nan()));
    // inspect counts them, names the dataset and lists them as problems (the example exits 1).
    let summary = rareml_io::inspect::inspect(&p).unwrap();
    assert!(
        summary
            .to_string()
            .contains("NaN pixels 2, infinite pixels 3"),
        "{summary}"
    );
    assert_eq!(summary.problems.len(), 1, "{:?}", summary.problems);
    assert!(
        summary.problems[0].contains("fog/images: 2 NaN and 3 infinite pixel(s)"),
        "{:?}",
        summary.problems
    );
}

#[test]
fn index_out_of_range() {
    let p = fixture("tpc_v1.h5");
    let err = TpcFile::open(&p).unwrap().event(5).unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutOfRange {
                index: 5,
                len: 5,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &p, &["index 5 out of range"]);
    let p = fixture("tt_v1.h5");
    assert!(matches!(
        TtFile::open(&p).unwrap().read(4..9).unwrap_err(),
        Error::OutOfRange { .. }
    ));
    let p = fixture("newsdm_raw.h5");
    let set = EmulsionFile::open(&p)
        .unwrap()
        .set("fog/Scan01/part0")
        .unwrap();
    assert!(matches!(
        set.get::<u8>(15).unwrap_err(),
        Error::OutOfRange {
            index: 15,
            len: 15,
            ..
        }
    ));
    assert!(matches!(
        set.read::<u8>(10..20).unwrap_err(),
        Error::OutOfRange { .. }
    ));
}

#[test]
fn truncated_decay0_file() {
    let text = std::fs::read_to_string(fixture("decay0/Xe136bb0n.dat")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Cut inside an event (after its first particle line) ...
    let lines: Vec<&str> = text.lines().collect();
    let event_line = |n: &str| {
        lines
            .iter()
            .position(|l| {
                l.split_whitespace().next() == Some(n) && l.split_whitespace().count() == 3
            })
            .unwrap()
    };
    let header_end = lines
        .iter()
        .position(|l| l.contains("First event and full number"))
        .unwrap();
    let cut_at = event_line("101") + 2; // event 101's line and its first particle
    let p = dir.path().join("cut.dat");
    std::fs::write(&p, lines[..cut_at].join("\n")).unwrap();
    let results: Vec<_> = Decay0Reader::open(&p).unwrap().collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 100);
    let err = results.last().unwrap().as_ref().unwrap_err();
    assert!(matches!(err, Error::Decay0 { .. }), "{err:?}");
    assert_names(
        err,
        &p,
        &[
            &format!(":{cut_at}:"),
            "truncated",
            "after 1 of its 2 particles",
        ],
    );

    // ... and between events: fewer events than the header announces.
    let p = dir.path().join("short.dat");
    std::fs::write(&p, lines[..event_line("11")].join("\n")).unwrap();
    let err = Decay0Reader::open(&p)
        .unwrap()
        .find_map(|r| r.err())
        .unwrap();
    assert_names(&err, &p, &["truncated", "after 10 of the 20000 events"]);

    // ... and inside the header.
    let p = dir.path().join("header.dat");
    std::fs::write(&p, lines[..header_end].join("\n")).unwrap();
    assert_names(&Decay0Reader::open(&p).err().unwrap(), &p, &["header"]);
}

#[test]
fn writers_reject_inconsistent_events() {
    use rareml_io::tpc::{EventLabel, Readout, Signals, TpcEvent, TpcMeta, TpcWriter};
    let dir = tempfile::tempdir().unwrap();
    let mut w = TpcWriter::create(
        dir.path().join("w.h5"),
        &Readout::pandax3_module(),
        &TpcMeta::default(),
        512,
    )
    .unwrap();
    let ev = TpcEvent {
        id: 1,
        label: EventLabel::Signal,
        energy_kev: None,
        vertex_mm: None,
        signals: Signals {
            strip_id: vec![500],
            samples: Array2::zeros((1, 512)),
        },
    };
    let msg = w.append(std::slice::from_ref(&ev)).unwrap_err().to_string();
    assert!(msg.contains("strip id 500 is not in the readout"), "{msg}");
    let short = TpcEvent {
        signals: Signals {
            strip_id: vec![1, 2],
            samples: Array2::zeros((2, 100)),
        },
        ..ev
    };
    let msg = w.append(&[short]).unwrap_err().to_string();
    assert!(msg.contains("expected (2, 512)"), "{msg}");
    assert_eq!(w.len(), 0, "nothing written");
}

#[test]
fn group_link_cycles_are_errors_not_endless_listings() {
    use rareml_io::inspect::inspect;
    // A hard link from a group back to its parent, and a soft link to the root.
    for (label, edit) in [
        (
            "hard",
            Box::new(|f: &hdf5::File| {
                f.group("Carbon")
                    .unwrap()
                    .link_hard("/Carbon", "loop")
                    .unwrap();
            }) as Box<dyn Fn(&hdf5::File)>,
        ),
        (
            "soft",
            Box::new(|f: &hdf5::File| {
                f.group("Carbon").unwrap().link_soft("/", "up").unwrap();
            }),
        ),
    ] {
        let (_d, path) = edited("newsdm_raw.h5", |f| edit(f));
        let e = inspect(&path).unwrap_err().to_string();
        assert!(
            e.contains("newsdm_raw.h5") && e.contains("link cycle"),
            "{label}: {e}"
        );
        let e = EmulsionFile::open(&path)
            .and_then(|f| f.groups())
            .unwrap_err()
            .to_string();
        assert!(e.contains("link cycle"), "{label}: {e}");
    }
    // The same group reached twice without a cycle is listed once.
    let (_d, path) = edited("newsdm_raw.h5", |f| {
        let first = f.member_names().unwrap()[0].clone();
        f.link_hard(&format!("/{first}"), "alias").unwrap();
    });
    let groups = EmulsionFile::open(&path).unwrap().groups().unwrap();
    let mut unique = groups.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), groups.len(), "{groups:?}");
}

#[test]
fn a_dangling_soft_link_is_named_not_skipped() {
    let (_d, path) = edited("newsdm_raw.h5", |f| {
        f.link_soft("/nowhere", "dangling").unwrap();
    });
    let e = rareml_io::inspect::inspect(&path).unwrap_err().to_string();
    assert!(e.contains("dangling") && e.contains("object header"), "{e}");
}
