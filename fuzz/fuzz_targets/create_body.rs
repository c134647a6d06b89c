//! The JSON body of `POST /containers/create`, into the engine's CreateRequest and its
//! bind/mount parsers: any input is an error or a request, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| berth_api::fuzzing::create_body(data));
