//! The SSE parser on any bytes, cut into chunks anywhere: it must not panic, and what it passes
//! on must not depend on where the chunks were cut.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::api::{SseEvent, SseParser};

fn parse(chunks: &[&[u8]]) -> Option<Vec<Vec<u8>>> {
    let mut parser = SseParser::new(64 * 1024);
    let mut out: Vec<SseEvent> = Vec::new();
    for chunk in chunks {
        if parser.push(chunk, &mut out).is_err() {
            return None;
        }
    }
    parser.finish(&mut out);
    Some(out.into_iter().map(|e| e.into_raw().to_vec()).collect())
}

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the chunk size; the rest is the stream.
    let Some((&size, stream)) = data.split_first() else {
        return;
    };
    let size = usize::from(size).max(1);
    let chunks: Vec<&[u8]> = stream.chunks(size).collect();
    let whole = parse(&[stream]);
    let split = parse(&chunks);
    if let (Some(whole), Some(split)) = (whole, split) {
        assert_eq!(whole, split, "events depend on where the stream was cut");
    }
});
