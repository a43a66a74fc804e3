//! A whole REST ROOT file over arbitrary bytes (seeded with the real prototype file): open, decode
//! every object of the top directory by the file's own class descriptions, the readout, the
//! event branches and every raw-signal event — an error at worst, never a panic, an abort, an
//! allocation sized by a damaged count, or a hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = rareml_fuzz::input_file(data, "input.root");
    if let Ok(mut f) = rareml_io::rest::RestFile::open(&path) {
        for k in f.root().keys().to_vec() {
            let _ = f.root().object(&k);
        }
        let _ = f.readout();
        if f.event_branches().is_ok() {
            let _ = f.for_each_raw_signal_batch(64, |_| Ok(()));
        }
    }
});
