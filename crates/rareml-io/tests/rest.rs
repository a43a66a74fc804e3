//! The REST reader on the real PandaX-III prototype file (`tests/fixtures/rest_v2.2.30_hits.root`,
//! SJTU prototype, 8 events): events, ids and samples equal uproot's
//! (`rest_v2.2.30_reference.json`, written by `tests/fixtures/make_rest_reference.py`), the file's
//! objects, batches, and damaged or foreign files giving errors that name the file.

use rareml_io::rest::{RestFile, RAW_SIGNAL_BRANCH};
use rareml_io::Error;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

const ROOT_FILE: &str = "rest_v2.2.30_hits.root";

fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("rest_v2.2.30_reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn raw_signal_events_equal_uproots() {
    let mut f = RestFile::open(fixture(ROOT_FILE)).unwrap();
    let events = f.raw_signal_events().unwrap();
    let r = reference();
    let expected = r["events"].as_array().unwrap();
    assert_eq!(events.len(), 8);
    let counts: Vec<usize> = events.iter().map(|e| e.signal_ids.len()).collect();
    assert_eq!(counts, [9, 11, 7, 6, 25, 5, 30, 9]);
    for (e, x) in events.iter().zip(expected) {
        assert_eq!(e.entry, x["entry"].as_u64().unwrap());
        assert_eq!(e.event_id as i64, x["event_id"].as_i64().unwrap());
        assert_eq!(e.sub_event_id as i64, x["sub_event_id"].as_i64().unwrap());
        assert_eq!(e.run_origin as i64, x["run_origin"].as_i64().unwrap());
        assert_eq!(e.time_s as i64, x["time_sec"].as_i64().unwrap());
        assert_eq!(e.time_ns as i64, x["time_nanosec"].as_i64().unwrap());
        let signals = x["signals"].as_array().unwrap();
        assert_eq!(e.signal_ids.len(), signals.len());
        for (k, s) in signals.iter().enumerate() {
            assert_eq!(e.signal_ids[k] as i64, s["id"].as_i64().unwrap());
            let v = e.signal(k);
            assert_eq!(v.len() as u64, s["samples"].as_u64().unwrap());
            let sum: i64 = v.iter().map(|&a| a as i64).sum();
            assert_eq!(
                sum,
                s["sum"].as_i64().unwrap(),
                "event {} signal {k}",
                e.event_id
            );
            let first: Vec<i64> = v[..8].iter().map(|&a| a as i64).collect();
            let want: Vec<i64> = s["first"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_i64().unwrap())
                .collect();
            assert_eq!(first, want);
            assert_eq!(*v.iter().min().unwrap() as i64, s["min"].as_i64().unwrap());
            assert_eq!(*v.iter().max().unwrap() as i64, s["max"].as_i64().unwrap());
        }
        assert_eq!(e.samples_per_signal, 512);
    }
}

#[test]
fn objects_and_event_branches_are_listed() {
    let mut f = RestFile::open(fixture(ROOT_FILE)).unwrap();
    let has = |name: &str, class: &str| {
        f.objects()
            .iter()
            .any(|o| o.name == name && o.class == class)
    };
    assert!(has("EventTree", "TTree"));
    assert!(has("PandaReadout_MxM", "TRestReadout"));
    assert!(has("SJTU_Proto", "TRestRun"));
    assert!(has("AnalysisTree", "TRestAnalysisTree"));
    // Every object uproot lists is listed.
    let r = reference();
    for (key, class) in r["objects"].as_object().unwrap() {
        let name = key.split(';').next().unwrap();
        assert!(has(name, class.as_str().unwrap()), "{key} ({class})");
    }
    let (entries, branches) = f.event_branches().unwrap();
    assert_eq!(entries, 8);
    assert_eq!(
        branches,
        [
            RAW_SIGNAL_BRANCH,
            "TRestSignalEventBranch",
            "TRestHitsEventBranch"
        ]
    );
}

#[test]
fn batches_partition_the_events_in_order() {
    let mut f = RestFile::open(fixture(ROOT_FILE)).unwrap();
    let all = f.raw_signal_events().unwrap();
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    f.for_each_raw_signal_batch(3, |b| {
        sizes.push(b.len());
        seen.extend_from_slice(b);
        Ok(())
    })
    .unwrap();
    assert_eq!(sizes, [3, 3, 2]);
    assert_eq!(seen, all);
    let e = f.for_each_raw_signal_batch(0, |_| Ok(())).unwrap_err();
    assert!(e.to_string().contains("batch 0"), "{e}");
    // An error of the caller's stops the reading and comes back unchanged.
    let mut calls = 0;
    let e = f
        .for_each_raw_signal_batch(2, |_| {
            calls += 1;
            Err(Error::Invalid {
                file: "x".into(),
                path: "y".into(),
                reason: "stop".into(),
            })
        })
        .unwrap_err();
    assert_eq!(calls, 1);
    assert!(e.to_string().contains("stop"));
}

fn open_err(path: &std::path::Path) -> String {
    match RestFile::open(path) {
        Ok(mut f) => f.raw_signal_events().map(|_| ()).unwrap_err().to_string(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn foreign_truncated_and_damaged_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // Not ROOT: an HDF5 fixture, an empty file, a missing file.
    let msg = open_err(&fixture("tpc_v1.h5"));
    assert!(
        msg.contains("tpc_v1.h5") && msg.contains("not a ROOT file"),
        "{msg}"
    );
    let empty = dir.path().join("empty.root");
    std::fs::write(&empty, b"").unwrap();
    assert!(open_err(&empty).contains("not a ROOT file"));
    let missing = dir.path().join("missing.root");
    assert!(open_err(&missing).contains("missing.root"));
    let bytes = std::fs::read(fixture(ROOT_FILE)).unwrap();
    // Truncated at several places: never a panic, always an error naming the file.
    for cut in [
        100,
        1000,
        bytes.len() / 4,
        bytes.len() / 2,
        bytes.len() - 500,
    ] {
        let p = dir.path().join(format!("cut{cut}.root"));
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let msg = open_err(&p);
        assert!(msg.contains(&format!("cut{cut}.root")), "cut {cut}: {msg}");
    }
    // Bytes overwritten at 24 places (baskets, keys, streamers, other objects): an error naming
    // the file or the same events, never a panic or different events passing silently.
    let good = RestFile::open(fixture(ROOT_FILE))
        .unwrap()
        .raw_signal_events()
        .unwrap();
    let mut errors = 0;
    for k in 0..24 {
        let at = 400 + k * (bytes.len() - 800) / 24;
        let mut damaged = bytes.clone();
        for b in &mut damaged[at..at + 64] {
            *b ^= 0x5a;
        }
        let p = dir.path().join(format!("damaged{k}.root"));
        std::fs::write(&p, &damaged).unwrap();
        match RestFile::open(&p).and_then(|mut f| f.raw_signal_events()) {
            // Damage outside what the reader uses (free space, other objects): the same events.
            Ok(events) => assert_eq!(events, good, "damage at {at} changed the events silently"),
            Err(e) => {
                errors += 1;
                assert!(e.to_string().contains(&format!("damaged{k}.root")), "{e}");
            }
        }
    }
    assert!(errors > 0, "no damage was detected at all");
}

/// A readout map covering `ids`: even ids X strips, odd ids Y strips, 3 mm apart.
fn map_for(ids: &[i32], dir: &std::path::Path, toml: bool) -> PathBuf {
    if toml {
        let mut text = String::new();
        for &id in ids {
            let axis = if id % 2 == 0 { "x" } else { "y" };
            text += &format!(
                "[[strips]]\nid = {id}\naxis = \"{axis}\"\nposition_mm = {}\n",
                id as f32 * 1.5
            );
        }
        let p = dir.join("readout.toml");
        std::fs::write(&p, text).unwrap();
        p
    } else {
        let strips: Vec<serde_json::Value> = ids
            .iter()
            .map(|&id| {
                serde_json::json!({"id": id, "axis": if id % 2 == 0 { "x" } else { "y" }, "position_mm": id as f32 * 1.5})
            })
            .collect();
        let p = dir.join("readout.json");
        std::fs::write(&p, serde_json::json!({ "strips": strips }).to_string()).unwrap();
        p
    }
}

#[test]
fn convert_round_trips_through_tpc_v1() {
    use rareml_io::rest::{convert_to_tpc, read_readout_map};
    use rareml_io::tpc::{EventLabel, StripAxis, TpcFile, TpcMeta};
    let dir = tempfile::tempdir().unwrap();
    let mut f = RestFile::open(fixture(ROOT_FILE)).unwrap();
    let events = f.raw_signal_events().unwrap();
    let mut ids: Vec<i32> = events.iter().flat_map(|e| e.signal_ids.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    for toml in [false, true] {
        let readout = read_readout_map(&map_for(&ids, dir.path(), toml)).unwrap();
        assert_eq!(
            readout.strip(ids[0]).unwrap().0,
            if ids[0] % 2 == 0 {
                StripAxis::X
            } else {
                StripAxis::Y
            }
        );
        let out = dir.path().join("converted.h5");
        let mut progress = Vec::new();
        let stats = convert_to_tpc(&mut f, &readout, &TpcMeta::default(), &out, 3, |n| {
            progress.push(n)
        })
        .unwrap();
        assert_eq!(progress, [3, 6, 8]);
        assert_eq!(
            (stats.events, stats.signals, stats.samples_per_signal),
            (8, 102, 512)
        );
        let t = TpcFile::open(&out).unwrap();
        let back = t.read(0..t.len()).unwrap();
        assert_eq!(back.len(), events.len());
        for (b, e) in back.iter().zip(&events) {
            assert_eq!(b.id, e.event_id as i64);
            assert_eq!(b.label, EventLabel::Unknown);
            assert_eq!(b.signals.strip_id, e.signal_ids);
            let samples: Vec<i16> = b.signals.samples.iter().copied().collect();
            assert_eq!(samples, e.samples, "event {}", e.event_id);
        }
        assert_eq!(t.readout(), &readout);
    }
}

#[test]
fn bad_readout_maps_and_unmapped_signals_are_errors() {
    use rareml_io::rest::{convert_to_tpc, read_readout_map};
    use rareml_io::tpc::TpcMeta;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let e = read_readout_map(&write(
        "a.json",
        r#"{"strips": [{"id": 1, "axis": "z", "position_mm": 0}]}"#,
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("a.json") && e.contains("axis \"z\""), "{e}");
    let e = read_readout_map(&write(
        "b.json",
        r#"{"strips": [{"id": 1, "axis": "x", "position_mm": 0}, {"id": 1, "axis": "y", "position_mm": 3}]}"#,
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("appears twice"), "{e}");
    let e = read_readout_map(&write("c.toml", "strips = 3\n"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("c.toml") && e.contains("not a readout map"),
        "{e}"
    );
    let e = read_readout_map(&write("d.json", r#"{"strips": []}"#))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no strips"), "{e}");
    // A map missing one of the file's ids: the conversion names the entry and the id.
    let mut f = RestFile::open(fixture(ROOT_FILE)).unwrap();
    let events = f.raw_signal_events().unwrap();
    let mut ids: Vec<i32> = events.iter().flat_map(|e| e.signal_ids.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    let missing = events[4].signal_ids[3];
    ids.retain(|&i| i != missing);
    let readout = read_readout_map(&map_for(&ids, dir.path(), false)).unwrap();
    let out = dir.path().join("x.h5");
    let e = convert_to_tpc(&mut f, &readout, &TpcMeta::default(), &out, 4, |_| {})
        .unwrap_err()
        .to_string();
    let first = events
        .iter()
        .position(|e| e.signal_ids.contains(&missing))
        .unwrap();
    assert!(
        e.contains(&format!("entry {first}"))
            && e.contains(&format!("signal id {missing} is not in the readout")),
        "{e}"
    );
}

#[test]
fn inspect_describes_a_rest_file() {
    use rareml_io::inspect::{inspect, Details, Format};
    let s = inspect(fixture(ROOT_FILE)).unwrap();
    assert_eq!(s.format, Format::RestRoot);
    match &s.details {
        Details::Rest {
            entries,
            raw_signal_events,
            signals,
            signals_per_event,
            samples_per_signal,
            readouts,
            readout,
            unmapped_signal_ids,
            ..
        } => {
            assert_eq!((*entries, *raw_signal_events, *signals), (8, 8, 102));
            let r = readout.as_ref().expect("decoded");
            assert_eq!(
                (r.modules, r.channels, r.x_strips, r.y_strips),
                (7, 896, 448, 448)
            );
            assert_eq!(r.pitch_mm, (Some(3.0), Some(3.0)));
            assert_eq!(*unmapped_signal_ids, 0);
            assert_eq!(*signals_per_event, (5, 30));
            assert_eq!(*samples_per_signal, 512);
            assert_eq!(
                readouts,
                &[("PandaReadout_MxM".to_string(), "TRestReadout".to_string())]
            );
        }
        other => panic!("{other:?}"),
    }
    let text = s.to_string();
    assert!(
        text.contains("PandaReadout_MxM (TRestReadout)")
            && text.contains("raw-signal events: 8")
            && text.contains("448 X strips (pitch 3.000 mm)"),
        "{text}"
    );
}

/// `(id, origin, rotation °, first DAQ channel)` of each module as the readout's own RML
/// configuration (stored in the file beside it, `configBuffer`) places it.
fn rml_modules(f: &RestFile) -> Vec<(i64, (f64, f64), f64, i64)> {
    let key = f.root().key("PandaReadout_MxM").unwrap().clone();
    let v = f.root().object(&key).unwrap();
    let xml = v
        .as_object()
        .unwrap()
        .get("configBuffer")
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    let attr = |tag: &str, name: &str| -> String {
        let i = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        tag[i..i + tag[i..].find('"').unwrap()].to_string()
    };
    xml.split("<addReadoutModule ")
        .skip(1)
        .map(|t| {
            let t = &format!(" {}", &t[..t.find("/>").unwrap()]);
            let o = attr(t, "origin");
            let (x, y) = o
                .trim_matches(|c| c == '(' || c == ')')
                .split_once(',')
                .unwrap();
            (
                attr(t, "id").parse().unwrap(),
                (x.parse().unwrap(), y.parse().unwrap()),
                attr(t, "rotation").parse().unwrap(),
                attr(t, "firstDaqChannel").parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_readout_is_decoded_from_the_file() {
    use rareml_io::tpc::StripAxis;
    let mut f = RestFile::open(fixture(ROOT_FILE)).unwrap();
    let r = f
        .readout()
        .unwrap()
        .expect("the prototype file holds its readout");
    assert_eq!(
        (r.name.as_str(), r.class.as_str()),
        ("PandaReadout_MxM", "TRestReadout")
    );
    assert_eq!((r.planes, r.modules, r.channels.len()), (1, 7, 7 * 128));
    assert_eq!((r.strips(StripAxis::X), r.strips(StripAxis::Y)), (448, 448));
    // The RML says pitch="3" (mm).
    assert_eq!(r.pitch_mm(StripAxis::X), Some(3.0));
    assert_eq!(r.pitch_mm(StripAxis::Y), Some(3.0));
    // Cross-check with the RML placement (an independent record of the same readout): each
    // module's channels carry DAQ ids from its firstDaqChannel on, and every strip's first pixel
    // centre lies inside the module's 193.5 × 192.75 mm area rotated about its origin.
    let modules = rml_modules(&f);
    assert_eq!(modules.len(), 7);
    for (id, (ox, oy), rot, first) in modules {
        let chans: Vec<_> = r.channels.iter().filter(|c| c.module == id).collect();
        assert_eq!(chans.len(), 128, "module {id}");
        let (s, c) = rot.to_radians().sin_cos();
        for ch in chans {
            assert!(
                (first..first + 136).contains(&(ch.signal_id as i64)),
                "module {id}: {ch:?}"
            );
            // back into the module's frame
            let (dx, dy) = (ch.centre_mm.0 - ox, ch.centre_mm.1 - oy);
            let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
            assert!(
                (-0.01..193.51).contains(&u) && (-0.01..192.76).contains(&v),
                "module {id} rot {rot}: {ch:?} at ({u}, {v})"
            );
        }
    }
    // Every signal of the 8 events is a strip of the readout.
    let strips = f.strip_readout(None).unwrap();
    assert_eq!(strips.len(), 896);
    for e in f.raw_signal_events().unwrap() {
        for id in &e.signal_ids {
            assert!(
                strips.strip(*id).is_some(),
                "event {}: signal id {id}",
                e.event_id
            );
        }
    }
}

#[test]
fn convert_uses_the_files_own_readout() {
    use rareml_io::rest::convert_to_tpc;
    use rareml_io::tpc::{TpcFile, TpcMeta};
    let dir = tempfile::tempdir().unwrap();
    let mut f = RestFile::open(fixture(ROOT_FILE)).unwrap();
    let readout = f.strip_readout(None).unwrap();
    let out = dir.path().join("own.h5");
    let stats = convert_to_tpc(&mut f, &readout, &TpcMeta::default(), &out, 3, |_| {}).unwrap();
    assert_eq!((stats.events, stats.signals), (8, 102));
    let t = TpcFile::open(&out).unwrap();
    assert_eq!(t.readout(), &readout);
}

#[test]
fn missing_and_damaged_readouts_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture(ROOT_FILE)).unwrap();
    // The readout's class renamed in its key headers: the file holds no readout.
    let mut renamed = bytes.clone();
    let pat = b"\x0cTRestReadout";
    let mut n = 0;
    for i in 0..renamed.len() - pat.len() {
        if &renamed[i..i + pat.len()] == pat {
            renamed[i + 5] = b'X';
            n += 1;
        }
    }
    assert!(n >= 2, "key headers found: {n}");
    let p = dir.path().join("no-readout.root");
    std::fs::write(&p, &renamed).unwrap();
    let f = RestFile::open(&p).unwrap();
    assert!(f.readout().unwrap().is_none());
    let e = f.strip_readout(None).unwrap_err().to_string();
    assert!(
        e.contains("no-readout.root") && e.contains("holds no readout") && e.contains("--readout"),
        "{e}"
    );
    // The readout's compressed record damaged in its middle: an error naming file and object;
    // the events still read.
    let key = RestFile::open(fixture(ROOT_FILE))
        .unwrap()
        .root()
        .key("PandaReadout_MxM")
        .unwrap()
        .clone();
    let mut damaged = bytes.clone();
    let mid = (key.seek + key.keylen as u64) as usize + key.nbytes as usize / 2;
    for b in &mut damaged[mid..mid + 16] {
        *b ^= 0x5a;
    }
    let p = dir.path().join("bad-readout.root");
    std::fs::write(&p, &damaged).unwrap();
    let mut f = RestFile::open(&p).unwrap();
    let e = f.readout().unwrap_err().to_string();
    assert!(
        e.contains("bad-readout.root") && e.contains("PandaReadout_MxM"),
        "{e}"
    );
    assert_eq!(f.raw_signal_events().unwrap().len(), 8);
}

/// The prototype file with its `EventTree` object edited by `edit` (same length), recompressed
/// and appended as a new record that the directory's key now points to.
fn with_tree_edited(edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    use std::io::Write;
    let mut bytes = std::fs::read(fixture(ROOT_FILE)).unwrap();
    let f = RestFile::open(fixture(ROOT_FILE)).unwrap();
    let key = f.root().key("EventTree").unwrap().clone();
    let mut payload = f.root().payload(&key).unwrap();
    let n = payload.len();
    edit(&mut payload);
    assert_eq!(payload.len(), n);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&payload).unwrap();
    let data = z.finish().unwrap();
    let mut block = vec![b'Z', b'L', 8];
    block.extend_from_slice(&(data.len() as u32).to_le_bytes()[..3]);
    block.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
    block.extend_from_slice(&data);
    let (seek, keylen) = (key.seek as usize, key.keylen as usize);
    let old_head = bytes[seek..seek + 18].to_vec();
    let new_seek = bytes.len() as u32;
    let new_nbytes = (keylen + block.len()) as u32;
    // a small file: 4-byte seeks right after the 18-byte start of the key header
    assert_eq!(
        u32::from_be_bytes(bytes[seek + 18..seek + 22].try_into().unwrap()),
        seek as u32
    );
    let mut record = bytes[seek..seek + keylen].to_vec();
    record[..4].copy_from_slice(&new_nbytes.to_be_bytes());
    record[18..22].copy_from_slice(&new_seek.to_be_bytes());
    record.extend_from_slice(&block);
    // the directory's copy of the key: the same 18 bytes and seek, elsewhere in the file
    let mut pattern = old_head.clone();
    pattern.extend_from_slice(&(seek as u32).to_be_bytes());
    let copies: Vec<usize> = (0..bytes.len() - pattern.len())
        .filter(|&i| i != seek && bytes[i..i + pattern.len()] == pattern[..])
        .collect();
    assert_eq!(copies.len(), 1, "the directory's key for EventTree");
    let at = copies[0];
    bytes[at..at + 4].copy_from_slice(&new_nbytes.to_be_bytes());
    bytes[at + 18..at + 22].copy_from_slice(&new_seek.to_be_bytes());
    bytes.extend_from_slice(&record);
    bytes
}

fn replace_same_length(payload: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    let mut n = 0;
    for i in 0..payload.len() - from.len() {
        if &payload[i..i + from.len()] == from {
            payload[i..i + to.len()].copy_from_slice(to);
            n += 1;
        }
    }
    n
}

#[test]
fn a_tree_without_the_event_branch_or_with_inconsistent_baskets_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // Unchanged, the rewritten file reads as the original: the rewriting itself is sound.
    let same = dir.path().join("same.root");
    std::fs::write(&same, with_tree_edited(|_| {})).unwrap();
    assert_eq!(
        RestFile::open(&same).unwrap().raw_signal_events().unwrap(),
        RestFile::open(fixture(ROOT_FILE))
            .unwrap()
            .raw_signal_events()
            .unwrap()
    );
    // The raw-signal branch renamed: the file holds no raw-signal events, and says so.
    let p = dir.path().join("no-branch.root");
    std::fs::write(
        &p,
        with_tree_edited(|t| {
            assert!(
                replace_same_length(t, b"TRestRawSignalEventBranch", b"TRestRawSignalEventBranX")
                    >= 1
            )
        }),
    )
    .unwrap();
    let e = RestFile::open(&p)
        .unwrap()
        .raw_signal_events()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no-branch.root")
            && e.contains(RAW_SIGNAL_BRANCH)
            && e.contains("no raw-signal events"),
        "{e}"
    );
    // The tree announcing more entries than its baskets hold (fEntries 8 → 9 in the TTree and
    // every branch): an error naming the branch, not a short read passing silently.
    let p = dir.path().join("entries.root");
    std::fs::write(
        &p,
        with_tree_edited(|t| {
            let n = replace_same_length(t, &8i64.to_be_bytes(), &9i64.to_be_bytes());
            assert!(n > 10, "{n}");
        }),
    )
    .unwrap();
    let e = RestFile::open(&p)
        .and_then(|mut f| f.raw_signal_events())
        .unwrap_err()
        .to_string();
    assert!(e.contains("entries.root") && e.contains("EventTree"), "{e}");
}
