//! Load on the review server over loopback: 100 concurrent clients, each with
//! its own session, reading the worklist, reading a transcript and saving
//! edits (each client its own dictation of 1,500 words, every save based on
//! the revision it last saw). Prints p50/p90/p99/max latency and throughput.
//!
//! Two runs per operation: paced, each client sending RATE requests a second
//! (2 by default: 200 requests/s offered, far above what 100 people editing
//! produce), which gives the latency users see; and saturated, each client
//! sending its next request as soon as the last is answered, which gives the
//! most the server does (and latency = clients / throughput).
//!
//! `cargo bench --bench server_load` (release build, real tiny.en model for the
//! drafts; CLIENTS, REQUESTS and RATE change the load).

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{read, Client, Server};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let clients = env_usize("CLIENTS", 100);
    let requests = env_usize("REQUESTS", 50);
    let server = Server::start(&["--quiet"]);

    // One dictation per client, drafted by the real pipeline (a tone: no speech,
    // so drafting is quick), then given 1,500 words so saves carry a real body.
    let mut front = server.login("front");
    let tone = read("tests/fixtures/audio/tone16k.wav");
    let ids: Vec<i64> = (0..clients)
        .map(|_| {
            let (status, body) = front.upload("t.wav", &tone, &[]);
            assert_eq!(status, 201, "{body}");
            body["id"].as_i64().unwrap()
        })
        .collect();
    for id in &ids {
        front.wait_state(*id, &["draft"], Duration::from_secs(600));
    }
    let mut mt = server.login("mt");
    for id in &ids {
        let (_, t) = mt.get(&format!("/api/dictations/{id}/transcript"));
        let rev = t["revision"].as_i64().unwrap();
        let body = json!({ "document": document_with_words(&t["document"], 1500) });
        let (status, reply) = mt.put(&format!("/api/dictations/{id}/transcript"), Some(rev), body);
        assert_eq!(status, 200, "{reply}");
    }

    let rate = env_usize("RATE", 2);
    println!("server load: {clients} concurrent clients x {requests} requests each, loopback");
    let sessions: Vec<Client> = (0..clients).map(|_| server.login("mt")).collect();
    for pace in [Some(Duration::from_secs_f64(1.0 / rate as f64)), None] {
        match pace {
            Some(_) => println!(
                "paced: {rate} requests/s per client ({} offered)",
                rate * clients
            ),
            None => println!("saturated: next request as soon as the last is answered"),
        }
        phase(
            "GET /api/dictations",
            &sessions,
            &ids,
            requests,
            pace,
            worklist,
        );
        phase(
            "GET transcript",
            &sessions,
            &ids,
            requests,
            pace,
            get_transcript,
        );
        phase(
            "PUT transcript",
            &sessions,
            &ids,
            requests,
            pace,
            put_transcript,
        );
    }
}

fn worklist(c: &mut Client, _: i64, _: &mut Value) -> bool {
    c.get("/api/dictations").0 == 200
}

fn get_transcript(c: &mut Client, id: i64, _: &mut Value) -> bool {
    c.get(&format!("/api/dictations/{id}/transcript")).0 == 200
}

/// Saves an edit on top of the revision this client saved last.
fn put_transcript(c: &mut Client, id: i64, state: &mut Value) -> bool {
    if state.is_null() {
        let (_, t) = c.get(&format!("/api/dictations/{id}/transcript"));
        *state = t;
    }
    let rev = state["revision"].as_i64().unwrap();
    let mut doc = state["document"].clone();
    doc["segments"][0]["words"][0]["text"] = json!(format!("edit{rev}"));
    let (s, reply) = c.put(
        &format!("/api/dictations/{id}/transcript"),
        Some(rev),
        json!({ "document": doc.clone() }),
    );
    if s == 200 {
        state["revision"] = reply["revision"].clone();
        state["document"] = doc;
    }
    s == 200
}

/// A copy of `doc` holding `n` words spread over its audio.
fn document_with_words(doc: &Value, n: usize) -> Value {
    let mut doc = doc.clone();
    let dur = doc["source"]["duration_s"].as_f64().unwrap_or(1.0);
    let words: Vec<Value> = (0..n)
        .map(|i| {
            let t = dur * i as f64 / n as f64;
            json!({"text": format!("word{i}"), "start": t, "end": t + dur / n as f64, "probability": 0.9})
        })
        .collect();
    doc["segments"] = json!([{ "start": 0.0, "end": dur, "text": "", "words": words }]);
    doc
}

/// Runs `op` `requests` times on every client at once; prints the latencies.
fn phase(
    name: &str,
    sessions: &[Client],
    ids: &[i64],
    requests: usize,
    pace: Option<Duration>,
    op: fn(&mut Client, i64, &mut Value) -> bool,
) {
    let barrier = Arc::new(Barrier::new(sessions.len()));
    let started = Instant::now();
    let handles: Vec<_> = sessions
        .iter()
        .cloned()
        .zip(ids.iter().copied())
        .map(|(mut c, id)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                // Spread the paced clients' first requests over one interval.
                let t0 = Instant::now()
                    + pace.map_or(Duration::ZERO, |p| p.mul_f64(id as f64 % 97.0 / 97.0));
                let mut state = Value::Null;
                let mut lat = Vec::with_capacity(requests);
                let mut failed = 0;
                for k in 0..requests {
                    if let Some(p) = pace {
                        let due = t0 + p * k as u32;
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    }
                    let t = Instant::now();
                    if !op(&mut c, id, &mut state) {
                        failed += 1;
                    }
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                (lat, failed)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut failed = 0;
    for h in handles {
        let (lat, f) = h.join().unwrap();
        all.extend(lat);
        failed += f;
    }
    let wall = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{name:<22} n={:<6} failed={failed:<3} {:>7.0} req/s  p50={:>6.1} ms  p90={:>6.1} ms  p99={:>6.1} ms  max={:>6.1} ms",
        all.len(),
        all.len() as f64 / wall,
        pct(0.50),
        pct(0.90),
        pct(0.99),
        all[all.len() - 1]
    );
}
