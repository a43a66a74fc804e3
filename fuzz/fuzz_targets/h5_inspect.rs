//! `inspect` (every HDF5 reader, each event read once) over arbitrary bytes as an HDF5 file,
//! seeded with the fixtures and the damaged-file corpus. The bytes are written to a file in the
//! temporary directory (tmpfs on most machines) because the readers take paths.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("rareml-fuzz-h5-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("input.h5");
    std::fs::write(&path, data).unwrap();
    let _ = rareml_io::inspect::inspect(&path);
});
