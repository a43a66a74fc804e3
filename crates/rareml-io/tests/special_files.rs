//! Special files refused before anything is read. In its own test binary: creating the FIFO
//! forks `mkfifo`, and a fork while other test threads hold HDF5 files open would hand their
//! (non-close-on-exec) file locks to the child, making those tests' next open fail with EAGAIN.

use rareml_io::decay0::Decay0Reader;
use rareml_io::tpc::TpcFile;

#[test]
fn fifos_and_directories_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.h5");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo");
    // Each of these would block forever reading the FIFO.
    let msgs = [
        rareml_io::inspect::inspect(&fifo).unwrap_err().to_string(),
        TpcFile::open(&fifo).err().unwrap().to_string(),
        Decay0Reader::open(&fifo).err().unwrap().to_string(),
        rareml_io::rest::RestFile::open(&fifo)
            .err()
            .unwrap()
            .to_string(),
    ];
    for m in msgs {
        assert!(
            m.contains("pipe.h5") && m.contains("not a regular file (a FIFO)"),
            "{m}"
        );
    }
    let e = rareml_io::inspect::inspect(dir.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("a directory"), "{e}");
}
