//! The REST raw-signal basket-entry decoder over arbitrary bytes: decoded or an error, and when
//! decoded the sample counts add up to the samples returned.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((lengths, samples)) = rareml_io::rest::decode_signal_entry(data) {
        assert_eq!(lengths.iter().sum::<usize>(), samples.len());
        assert!(2 * samples.len() + 4 * lengths.len() + 6 <= data.len());
    }
});
