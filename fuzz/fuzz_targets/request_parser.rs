//! The Messages request parser on any bytes: it must not panic, and a request it accepts must
//! re-encode to bytes it accepts again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::api::MessagesRequest;
use warden::api::messages::Endpoint;

fuzz_target!(|data: &[u8]| {
    for endpoint in [Endpoint::Messages, Endpoint::CountTokens] {
        if let Ok(request) = MessagesRequest::parse_within(data, endpoint, 64) {
            let bytes = request.to_bytes().expect("an accepted request re-encodes");
            MessagesRequest::parse_within(&bytes, endpoint, 64)
                .expect("a re-encoded request parses again");
        }
    }
});
