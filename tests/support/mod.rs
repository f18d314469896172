//! A real `medscribe serve` on loopback for end-to-end tests and the load
//! benchmark: its own data folder, users made with `medscribe users add`, and
//! a small HTTP client that keeps a session like the browser does.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const PASSWORD: &str = "correct horse battery";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> PathBuf {
    std::env::var_os("MEDSCRIBE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_medscribe")))
}

/// Runs the medscribe binary with `args`, `stdin` piped in.
pub fn medscribe(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(bin())
        .args(args)
        .env("MEDSCRIBE_MODELS", repo().join("models"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run medscribe");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A running server and its data folder.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub data: PathBuf,
    _dir: Option<tempfile::TempDir>,
    pub log: mpsc::Receiver<String>,
}

impl Server {
    /// A new data folder with the standard cast: office `front`, transcriptionist
    /// `mt`, QA `qa`, physicians `drlee` and `drkim`, admin `admin`, all in office
    /// "Main St", plus `other` (office role) in "Elm St".
    pub fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let d = data.to_str().unwrap();
        for (name, role, office) in [
            ("front", "office", Some("Main St")),
            ("mt", "transcriptionist", Some("Main St")),
            ("qa", "qa", Some("Main St")),
            ("drlee", "physician", Some("Main St")),
            ("drkim", "physician", Some("Main St")),
            ("admin", "admin", None),
            ("other", "office", Some("Elm St")),
            ("drelm", "physician", Some("Elm St")),
        ] {
            let mut args = vec!["users", "add", name, "--role", role, "--data", d];
            if let Some(o) = office {
                args.extend(["--office", o]);
            }
            let out = medscribe(&args, &format!("{PASSWORD}\n"));
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut s = Server::run(&data, extra);
        s._dir = Some(dir);
        s
    }

    /// Starts a server on an existing data folder.
    pub fn run(data: &Path, extra: &[&str]) -> Server {
        let mut args = vec![
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--data",
            data.to_str().unwrap(),
            "--model",
            "tiny.en",
            "--threads",
            "1",
        ];
        args.extend_from_slice(extra);
        let mut child = Command::new(bin())
            .args(&args)
            .env("MEDSCRIBE_MODELS", repo().join("models"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start medscribe serve");
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on ").nth(1) {
                        break rest.split_whitespace().next().unwrap().to_string();
                    }
                }
                Err(_) => panic!("server did not start"),
            }
        };
        Server {
            child,
            base,
            data: data.to_path_buf(),
            _dir: None,
            log: rx,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// A client logged in as `user`.
    pub fn login(&self, user: &str) -> Client {
        let mut c = self.client();
        let (status, body) = c.post(
            "/api/login",
            json!({"username": user, "password": PASSWORD}),
        );
        assert_eq!(status, 200, "login {user}: {body}");
        c
    }

    /// Kills the server process at once (SIGKILL: no clean shutdown).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Everything the server logged so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An HTTP client with a session cookie and CSRF token, like the browser.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    agent: ureq::Agent,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

pub type Reply = (u16, Value);

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: format!("http://{}", base.trim_start_matches("http://")),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(120))
                .build(),
            cookie: None,
            csrf: None,
        }
    }

    fn req(&self, method: &str, path: &str) -> ureq::Request {
        let mut r = self.agent.request(method, &format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            r = r.set("Cookie", c);
        }
        if let Some(t) = &self.csrf {
            r = r.set("X-CSRF-Token", t);
        }
        r
    }

    /// Sends a request; returns status and the raw response.
    pub fn raw(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> (u16, ureq::Response) {
        let mut r = self.req(method, path);
        for (k, v) in headers {
            r = r.set(k, v);
        }
        let res = match body {
            Some((ctype, bytes)) => r.set("Content-Type", ctype).send_bytes(&bytes),
            None => r.call(),
        };
        let resp = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        if let Some(set) = resp.header("Set-Cookie") {
            let pair = set.split(';').next().unwrap_or("").to_string();
            self.cookie = Some(pair);
        }
        (resp.status(), resp)
    }

    fn json_reply(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let body = body.map(|b| ("application/json", serde_json::to_vec(&b).unwrap()));
        let (status, resp) = self.raw(method, path, headers, body);
        let text = resp.into_string().unwrap_or_default();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if let Some(t) = v.get("csrf").and_then(Value::as_str) {
            self.csrf = Some(t.to_string());
        }
        (status, v)
    }

    pub fn get(&mut self, path: &str) -> Reply {
        self.json_reply("GET", path, &[], None)
    }

    pub fn post(&mut self, path: &str, body: Value) -> Reply {
        self.json_reply("POST", path, &[], Some(body))
    }

    pub fn put(&mut self, path: &str, if_match: Option<i64>, body: Value) -> Reply {
        let tag = if_match.map(|r| format!("\"{r}\""));
        let headers: Vec<(&str, &str)> = tag.iter().map(|t| ("If-Match", t.as_str())).collect();
        self.json_reply("PUT", path, &headers, Some(body))
    }

    pub fn post_if_match(&mut self, path: &str, if_match: i64, body: Value) -> Reply {
        let tag = if_match.to_string();
        self.json_reply("POST", path, &[("If-Match", &tag)], Some(body))
    }

    /// GET returning the body as text.
    pub fn text(&mut self, path: &str) -> (u16, String) {
        let (status, resp) = self.raw("GET", path, &[], None);
        (status, resp.into_string().unwrap_or_default())
    }

    /// Uploads `audio` as a dictation with standard metadata; `fields` override.
    pub fn upload(&mut self, file_name: &str, audio: &[u8], fields: &[(&str, &str)]) -> Reply {
        let mut meta = vec![
            ("patient_name", "Doe, Jane"),
            ("mrn", "MRN-000123"),
            ("dob", "1961-02-28"),
            ("work_type", "progress"),
            ("priority", "routine"),
            ("physician", "drlee"),
        ];
        for (k, v) in fields {
            meta.retain(|(m, _)| m != k);
            meta.push((k, v));
        }
        let boundary = "----medscribe-test-boundary";
        let mut body = Vec::new();
        for (k, v) in &meta {
            write!(
                body,
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
            )
            .unwrap();
        }
        write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .unwrap();
        body.extend_from_slice(audio);
        write!(body, "\r\n--{boundary}--\r\n").unwrap();
        let ctype = format!("multipart/form-data; boundary={boundary}");
        let (status, resp) = self.raw("POST", "/api/dictations", &[], Some((&ctype, body)));
        let text = resp.into_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Polls the dictation until its state is one of `states`.
    pub fn wait_state(&mut self, id: i64, states: &[&str], timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, d) = self.get(&format!("/api/dictations/{id}"));
            assert_eq!(status, 200, "{d}");
            if states.contains(&d["state"].as_str().unwrap_or("")) {
                return d;
            }
            assert!(
                Instant::now() < deadline,
                "dictation {id} stuck in {}",
                d["state"]
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

pub fn read(path: &str) -> Vec<u8> {
    std::fs::read(repo().join(path)).unwrap()
}
