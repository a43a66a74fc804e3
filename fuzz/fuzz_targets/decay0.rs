//! The DECAY0 parser over arbitrary bytes: every input ends in events or an error, never a panic,
//! an allocation by a damaged count, or a hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = rareml_io::decay0::Decay0Reader::new(std::io::Cursor::new(data), "fuzz.dat")
    else {
        return;
    };
    for event in reader {
        if event.is_err() {
            break;
        }
    }
});
