//! A whole REST ROOT file over arbitrary bytes (seeded with the real prototype file): open, list
//! the event branches and read every raw-signal event — an error at worst (oxyroot's panics are
//! caught at the boundary), never an abort or a hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = rareml_fuzz::input_file(data, "input.root");
    if let Ok(mut f) = rareml_io::rest::RestFile::open(&path) {
        if f.event_branches().is_ok() {
            let _ = f.for_each_raw_signal_batch(64, |_| Ok(()));
        }
    }
});
