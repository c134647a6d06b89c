//! Query strings: booleans, integers, `filters` in both shapes, prune filters.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = std::str::from_utf8(data) {
        berth_api::fuzzing::query(raw);
    }
});
