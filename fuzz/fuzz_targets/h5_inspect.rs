//! `inspect` (every HDF5 reader, each event read once) over arbitrary bytes as an HDF5 file,
//! seeded with the fixtures and the damaged-file corpus. The bytes are written to a file in the
//! temporary directory (tmpfs on most machines) because the readers take paths.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = rareml_fuzz::input_file(data, "input.h5");
    let _ = rareml_io::inspect::inspect(&path);
});
