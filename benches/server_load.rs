//! Load on the review server over loopback: 100 concurrent clients, each with
//! its own session and keep-alive connection, reading the worklist, reading a
//! transcript and saving edits (each client its own dictation of 1,500 words,
//! every save based on the revision it last saw). Prints per route: requests,
//! failures, throughput and p50/p90/p99/max latency.
//!
//! Two runs per route: paced, each client sending RATE requests a second
//! (2 by default: 200 requests/s offered, far above what 100 people editing
//! produce), which gives the latency users see; and saturated, each client
//! sending its next request as soon as the last is answered, which gives the
//! most the server does (and latency = clients / throughput).
//!
//! The clients are tasks on one thread with a minimal HTTP/1.1 client that
//! does not parse the answers it does not need, so on a small machine the
//! load generator takes at most one core and leaves the rest to the server.
//!
//! `cargo bench --bench server_load` (release build, real tiny.en model for the
//! drafts; CLIENTS, REQUESTS and RATE change the load).

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{read, Server};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

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
    println!(
        "server load: {clients} concurrent clients x {requests} requests each, loopback, \
         keep-alive; clients are async tasks on 1 thread"
    );
    let logins: Vec<(String, String)> = (0..clients)
        .map(|_| {
            let c = server.login("mt");
            (c.cookie.unwrap(), c.csrf.unwrap())
        })
        .collect();
    let addr = server.base.trim_start_matches("http://").to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conns = Vec::new();
        for ((cookie, csrf), id) in logins.into_iter().zip(ids.iter().copied()) {
            conns.push(Conn::open(&addr, cookie, csrf, id).await);
        }
        for pace in [Some(Duration::from_secs_f64(1.0 / rate as f64)), None] {
            match pace {
                Some(_) => println!(
                    "paced: {rate} requests/s per client ({} offered)",
                    rate * clients
                ),
                None => println!("saturated: next request as soon as the last is answered"),
            }
            for route in [Route::Worklist, Route::GetTranscript, Route::PutTranscript] {
                conns = phase(route, conns, requests, pace).await;
            }
        }
    });
}

#[derive(Clone, Copy, PartialEq)]
enum Route {
    Worklist,
    GetTranscript,
    PutTranscript,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::Worklist => "GET /api/dictations",
            Route::GetTranscript => "GET transcript",
            Route::PutTranscript => "PUT transcript",
        }
    }
}

/// Stands for the edited word in a client's save body.
const MARK: &str = "@@EDIT@@";

/// One client: a session, a keep-alive connection, its dictation and the
/// revision it saw last.
struct Conn {
    addr: String,
    cookie: String,
    csrf: String,
    id: i64,
    stream: BufReader<TcpStream>,
    revision: i64,
    /// `{"document": ...}` with the first word `MARK`.
    put_body: String,
}

impl Conn {
    async fn open(addr: &str, cookie: String, csrf: String, id: i64) -> Conn {
        let mut c = Conn {
            addr: addr.to_string(),
            cookie,
            csrf,
            id,
            stream: connect(addr).await,
            revision: 0,
            put_body: String::new(),
        };
        let (status, body) = c
            .send("GET", &format!("/api/dictations/{id}/transcript"), None)
            .await;
        assert_eq!(status, 200);
        let mut t: Value = serde_json::from_slice(&body).unwrap();
        c.revision = t["revision"].as_i64().unwrap();
        t["document"]["segments"][0]["words"][0]["text"] = json!(MARK);
        c.put_body = json!({ "document": t["document"] }).to_string();
        c
    }

    async fn run(&mut self, route: Route) -> bool {
        let id = self.id;
        match route {
            Route::Worklist => self.send("GET", "/api/dictations", None).await.0 == 200,
            Route::GetTranscript => {
                let path = format!("/api/dictations/{id}/transcript");
                self.send("GET", &path, None).await.0 == 200
            }
            Route::PutTranscript => {
                let body = self
                    .put_body
                    .replacen(MARK, &format!("edit{}", self.revision), 1);
                let path = format!("/api/dictations/{id}/transcript");
                let (status, reply) = self.send("PUT", &path, Some(body)).await;
                if status == 200 {
                    let v: Value = serde_json::from_slice(&reply).unwrap();
                    self.revision = v["revision"].as_i64().unwrap();
                }
                status == 200
            }
        }
    }

    /// One request on the kept-alive connection; (status, body).
    async fn send(&mut self, method: &str, path: &str, body: Option<String>) -> (u16, Vec<u8>) {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nX-CSRF-Token: {}\r\n",
            self.addr, self.cookie, self.csrf
        );
        if let Some(b) = &body {
            req.push_str(&format!(
                "If-Match: \"{}\"\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                self.revision,
                b.len()
            ));
        }
        req.push_str("\r\n");
        if let Some(b) = body {
            req.push_str(&b);
        }
        self.stream
            .get_mut()
            .write_all(req.as_bytes())
            .await
            .unwrap();
        read_response(&mut self.stream).await
    }
}

async fn connect(addr: &str) -> BufReader<TcpStream> {
    let s = TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    BufReader::with_capacity(64 << 10, s)
}

/// Reads one HTTP/1.1 response: status line, headers, then a Content-Length
/// or chunked body.
async fn read_response(r: &mut BufReader<TcpStream>) -> (u16, Vec<u8>) {
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap();
    let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let (mut length, mut chunked) = (0usize, false);
    loop {
        line.clear();
        r.read_line(&mut line).await.unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        if k.eq_ignore_ascii_case("content-length") {
            length = v.trim().parse().unwrap();
        } else if k.eq_ignore_ascii_case("transfer-encoding") {
            chunked = v.trim().eq_ignore_ascii_case("chunked");
        }
    }
    let mut body = Vec::new();
    if !chunked {
        body.resize(length, 0);
        r.read_exact(&mut body).await.unwrap();
        return (status, body);
    }
    loop {
        line.clear();
        r.read_line(&mut line).await.unwrap();
        let size = usize::from_str_radix(line.trim(), 16).unwrap();
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..]).await.unwrap();
        line.clear();
        r.read_line(&mut line).await.unwrap();
        if size == 0 {
            return (status, body);
        }
    }
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

/// Runs `route` `requests` times on every client at once; prints the latencies.
async fn phase(
    route: Route,
    conns: Vec<Conn>,
    requests: usize,
    pace: Option<Duration>,
) -> Vec<Conn> {
    let barrier = Arc::new(tokio::sync::Barrier::new(conns.len()));
    let started = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut c| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                // Spread the paced clients' first requests over one interval.
                let t0 = tokio::time::Instant::now()
                    + pace.map_or(Duration::ZERO, |p| p.mul_f64(c.id as f64 % 97.0 / 97.0));
                let mut lat = Vec::with_capacity(requests);
                let mut failed = 0;
                for k in 0..requests {
                    if let Some(p) = pace {
                        tokio::time::sleep_until(t0 + p * k as u32).await;
                    }
                    let t = Instant::now();
                    if !c.run(route).await {
                        failed += 1;
                    }
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                (c, lat, failed)
            })
        })
        .collect();
    let mut conns = Vec::new();
    let mut all = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (c, lat, f) = t.await.unwrap();
        conns.push(c);
        all.extend(lat);
        failed += f;
    }
    let wall = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{:<22} n={:<6} failed={failed:<3} {:>7.0} req/s  p50={:>6.1} ms  p90={:>6.1} ms  p99={:>6.1} ms  max={:>6.1} ms",
        route.name(),
        all.len(),
        all.len() as f64 / wall,
        pct(0.50),
        pct(0.90),
        pct(0.99),
        all[all.len() - 1]
    );
    conns
}
