//! Per-request CPU cost of Warden's hot paths (criterion): parsing a ~4 KB Messages request, and
//! parsing + relaying an SSE stream through an empty stage pipeline.
//!
//! Run: `cargo bench --bench sse`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use warden::api::messages::{Endpoint, MessagesRequest};
use warden::api::{SseEvent, SseParser};
use warden::filter::StagePipeline;

fn stream_bytes() -> Vec<u8> {
    let mut s = String::new();
    s.push_str("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n");
    s.push_str("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
    for i in 0..500 {
        s.push_str(&format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"word{i} \"}}}}\n\n"));
    }
    s.push_str("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let body = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 512,
        "messages": [{"role": "user", "content": "Please review this function and suggest improvements. ".repeat(73)}]
    })
    .to_string();
    let mut g = c.benchmark_group("request");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("parse_4kb", |b| {
        b.iter(|| MessagesRequest::parse(body.as_bytes(), Endpoint::Messages).expect("valid"))
    });
    g.finish();

    let stream = stream_bytes();
    let mut g = c.benchmark_group("sse");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("parse_and_relay_500_deltas_in_1400b_chunks", |b| {
        b.iter(|| {
            let mut parser = SseParser::default();
            let mut pipeline = StagePipeline::default();
            let mut parsed = Vec::new();
            let mut out: Vec<SseEvent> = Vec::new();
            for chunk in stream.chunks(1400) {
                parser.push(chunk, &mut parsed).expect("ok");
                for e in parsed.drain(..) {
                    pipeline.push(e, &mut out).expect("ok");
                }
            }
            parser.finish(&mut parsed);
            out.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
