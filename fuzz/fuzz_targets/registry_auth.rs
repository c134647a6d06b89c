//! `X-Registry-Auth` header values (base64url JSON).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| berth_api::fuzzing::registry_auth(data));
