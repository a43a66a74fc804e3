//! The read ceiling (`rareml_io::read_limit_bytes`): a read that would allocate more is refused
//! before anything is allocated, naming the file, the dataset and both sizes. Its own test binary:
//! the ceiling is process-wide.

use std::path::PathBuf;

use rareml_io::tpc::TpcFile;
use rareml_io::Error;

#[test]
fn reads_above_the_ceiling_are_refused_before_allocating() {
    let default = rareml_io::read_limit_bytes();
    assert!(default >= 1 << 20, "default ceiling {default} bytes");
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tpc_v1.h5");
    let f = TpcFile::open(&p).unwrap();
    // All 5 events: 73 waveforms of 512 int16 samples = 74,752 bytes in one read.
    rareml_io::set_read_limit_bytes(50_000);
    let err = f.read(0..5).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                bytes: 74_752,
                limit: 50_000,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    for frag in [
        "tpc_v1.h5",
        "signals/samples",
        "74752 bytes",
        "50000 bytes",
        "RAREML_MAX_READ_MIB",
    ] {
        assert!(msg.contains(frag), "{frag:?} missing: {msg}");
    }
    // Batches under the ceiling still read everything.
    let events: usize = f.batches(1).map(|b| b.unwrap().len()).sum();
    assert_eq!(events, 5);
    rareml_io::set_read_limit_bytes(0);
    assert_eq!(rareml_io::read_limit_bytes(), default);
    assert_eq!(f.read(0..5).unwrap().len(), 5);
}
