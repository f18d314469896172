//! End-to-end: the real `medscribe serve` on loopback with the real tiny.en
//! model, driven over HTTP like the browser editor and scripts drive it.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{read, Client, Server};

const TRANSCRIBE_TIMEOUT: Duration = Duration::from_secs(600);

/// Uploads `path` as `front` and waits for the draft; returns the dictation id.
fn draft_of(server: &Server, path: &str, fields: &[(&str, &str)]) -> i64 {
    let mut front = server.login("front");
    let (status, body) = front.upload("visit.wav", &read(path), fields);
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    front.wait_state(id, &["draft"], TRANSCRIBE_TIMEOUT);
    id
}

fn transcript(c: &mut Client, id: i64) -> (i64, Value) {
    let (status, body) = c.get(&format!("/api/dictations/{id}/transcript"));
    assert_eq!(status, 200, "{body}");
    (body["revision"].as_i64().unwrap(), body["document"].clone())
}

/// Replaces the first word of the document with `word`.
fn edited(doc: &Value, word: &str) -> Value {
    let mut doc = doc.clone();
    doc["segments"][0]["words"][0]["text"] = json!(word);
    json!({ "document": doc })
}

#[test]
fn review_workflow_end_to_end() {
    let server = Server::start(&[]);
    let id = draft_of(
        &server,
        "samples/d10.wav",
        &[
            ("priority", "stat"),
            ("terms", " apixaban;metoprolol\n Apixaban, "),
        ],
    );

    // The transcriptionist edits the draft.
    let mut mt = server.login("mt");
    let (status, list) = mt.get("/api/dictations");
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["id"], id);
    let (rev1, doc) = transcript(&mut mt, id);
    assert!(doc["text"].as_str().unwrap().len() > 200, "draft too short");
    let prompt = doc["params"]["prompt"].as_str().unwrap();
    assert!(
        prompt.starts_with("apixaban, metoprolol, ") && prompt.len() > 100,
        "the expected terms lead the vocabulary's in the prompt: {prompt}"
    );
    let (status, saved) = mt.put(
        &format!("/api/dictations/{id}/transcript"),
        Some(rev1),
        edited(&doc, "Subjective:"),
    );
    assert_eq!(status, 200, "{saved}");
    let rev2 = saved["revision"].as_i64().unwrap();
    assert!(rev2 > rev1);
    let (_, d) = mt.get(&format!("/api/dictations/{id}"));
    assert_eq!(d["state"], "in_edit");
    let (_, after) = transcript(&mut mt, id);
    assert!(after["text"].as_str().unwrap().starts_with("Subjective:"));

    // A save based on the old revision is a conflict, never an overwrite.
    let (status, conflict) = mt.put(
        &format!("/api/dictations/{id}/transcript"),
        Some(rev1),
        edited(&doc, "Stale"),
    );
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(conflict["error"], "conflict");
    assert_eq!(conflict["current_revision"], rev2);
    let (status, _) = mt.put(
        &format!("/api/dictations/{id}/transcript"),
        None,
        edited(&doc, "x"),
    );
    assert_eq!(status, 428);

    // A flag blocks sending for signature; it goes through QA instead.
    let (status, flag) = mt.post(
        &format!("/api/dictations/{id}/flags"),
        json!({"kind": "inaudible", "time_s": 12.5, "note": "dose unclear"}),
    );
    assert_eq!(status, 201, "{flag}");
    let flag_id = flag["id"].as_i64().unwrap();
    let (status, refused) = mt.post(
        &format!("/api/dictations/{id}/transition"),
        json!({"to": "awaiting_signature"}),
    );
    assert_eq!(status, 409);
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("unresolved flag"));
    let (status, _) = mt.post(
        &format!("/api/dictations/{id}/transition"),
        json!({"to": "qa"}),
    );
    assert_eq!(status, 200);

    // QA resolves the flag and sends the report for signature.
    let mut qa = server.login("qa");
    let (status, _) = qa.post(
        &format!("/api/dictations/{id}/flags/{flag_id}/resolve"),
        json!({"note": "5 mg per audio"}),
    );
    assert_eq!(status, 204);
    let (status, moved) = qa.post(
        &format!("/api/dictations/{id}/transition"),
        json!({"to": "awaiting_signature"}),
    );
    assert_eq!(status, 200, "{moved}");

    // The physician signs the current revision; only that one.
    let mut doc_lee = server.login("drlee");
    let (status, _) = doc_lee.post(
        &format!("/api/dictations/{id}/sign"),
        json!({"revision": rev1}),
    );
    assert_eq!(status, 409, "signing a stale revision");
    let (status, signed) = doc_lee.post(
        &format!("/api/dictations/{id}/sign"),
        json!({"revision": rev2}),
    );
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["version"], 1);
    assert_eq!(signed["sha256"].as_str().unwrap().len(), 64);

    // Signed text never changes.
    let (status, refused) = mt.put(
        &format!("/api/dictations/{id}/transcript"),
        Some(rev2),
        edited(&doc, "Changed"),
    );
    assert_eq!(status, 409, "{refused}");
    let (status, refused) = doc_lee.put(
        &format!("/api/dictations/{id}/transcript"),
        Some(rev2),
        edited(&doc, "Changed"),
    );
    assert_eq!(status, 409, "{refused}");

    // Exports of the signed report.
    let (status, hl7) = doc_lee.text(&format!("/api/dictations/{id}/export?format=hl7"));
    assert_eq!(status, 200);
    let segments: Vec<&str> = hl7.split('\r').filter(|s| !s.is_empty()).collect();
    let kinds: Vec<&str> = segments.iter().map(|s| &s[..3]).collect();
    assert_eq!(&kinds[..5], &["MSH", "EVN", "PID", "PV1", "TXA"], "{hl7}");
    assert!(kinds[5..].iter().all(|k| *k == "OBX"));
    let msh: Vec<&str> = segments[0].split('|').collect();
    assert_eq!(msh[8], "MDM^T02^MDM_T02");
    let txa: Vec<&str> = segments[4].split('|').collect();
    assert_eq!(txa[17], "LA", "TXA-17 of a signed report");
    let pid: Vec<&str> = segments[2].split('|').collect();
    assert!(pid[3].starts_with("MRN-000123"));
    assert!(pid[5].starts_with("Doe^Jane"));

    let (status, fhir) = doc_lee.get(&format!("/api/dictations/{id}/export?format=fhir"));
    assert_eq!(status, 200);
    assert_eq!(fhir["resourceType"], "DocumentReference");
    assert_eq!(fhir["docStatus"], "final");
    assert!(fhir.get("relatesTo").is_none());
    assert!(fhir["authenticator"].to_string().contains("drlee"));

    for format in ["txt", "json", "srt", "vtt"] {
        let (status, body) = doc_lee.text(&format!("/api/dictations/{id}/export?format={format}"));
        assert_eq!(status, 200, "{format}");
        assert!(body.contains("Subjective:"), "{format}");
    }
    let (status, vtt) = doc_lee.text(&format!("/api/dictations/{id}/export?format=vtt"));
    assert_eq!(status, 200);
    assert!(vtt.starts_with("WEBVTT"));

    // An addendum is a new version, signed again; the first stays as signed.
    let (status, add) = doc_lee.post(
        &format!("/api/dictations/{id}/addenda"),
        json!({"text": "Potassium came back normal."}),
    );
    assert_eq!(status, 200, "{add}");
    let rev3 = add["revision"].as_i64().unwrap();
    let (status, signed2) = doc_lee.post(
        &format!("/api/dictations/{id}/sign"),
        json!({"revision": rev3}),
    );
    assert_eq!(status, 200, "{signed2}");
    assert_eq!(signed2["version"], 2);
    let (_, fhir2) = doc_lee.get(&format!("/api/dictations/{id}/export?format=fhir"));
    assert_eq!(fhir2["docStatus"], "amended");
    assert!(fhir2["relatesTo"].to_string().contains("replaces"));
    let (_, hl7_2) = doc_lee.text(&format!("/api/dictations/{id}/export?format=hl7"));
    assert!(hl7_2.contains("MDM^T10"));
    let (_, first) = doc_lee.text(&format!(
        "/api/dictations/{id}/export?format=txt&revision={rev2}"
    ));
    assert!(!first.contains("ADDENDUM"));
    let (_, second) = doc_lee.text(&format!("/api/dictations/{id}/export?format=txt"));
    assert!(second.contains("ADDENDUM: Potassium came back normal."));
    let (_, d) = doc_lee.get(&format!("/api/dictations/{id}"));
    assert_eq!(d["signatures"].as_array().unwrap().len(), 2);

    // The audio seeks with Range requests.
    let (status, resp) = mt.raw(
        "GET",
        &format!("/api/dictations/{id}/audio"),
        &[("Range", "bytes=100-199")],
        None,
    );
    assert_eq!(status, 206);
    assert_eq!(
        resp.header("Content-Range"),
        Some(format!("bytes 100-199/{}", read("samples/d10.wav").len()).as_str())
    );
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes).unwrap();
    assert_eq!(bytes, read("samples/d10.wav")[100..200]);

    // The audit chain holds, and a tampered row is found.
    let data = server.data.to_str().unwrap().to_string();
    let ok = support::medscribe(&["audit", "verify", "--data", &data], "");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact"));
    tamper_audit(&server.data);
    let broken = support::medscribe(&["audit", "verify", "--data", &data], "");
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&broken.stdout).contains("BROKEN at entry 5"),
        "{}",
        String::from_utf8_lossy(&broken.stdout)
    );

    // Nothing the server logged names the patient.
    let log = server.log_lines().join("\n");
    for secret in [
        "Doe",
        "Jane",
        "MRN-000123",
        "1961",
        "Subjective",
        "Potassium",
    ] {
        assert!(!log.contains(secret), "server log contains {secret:?}");
    }
}

/// Changes audit entry 5 behind the append-only trigger's back.
fn tamper_audit(data: &std::path::Path) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = medscribe::store::Store::open(data).await.unwrap();
        sqlx::query("DROP TRIGGER audit_no_update")
            .execute(store.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE audit SET username = 'someone else' WHERE id = 5")
            .execute(store.pool())
            .await
            .unwrap();
        store.close().await;
    });
}

#[test]
fn bad_uploads_get_clear_4xx_and_the_server_keeps_serving() {
    let server = Server::start(&["--max-upload-mb", "1"]);
    let mut front = server.login("front");
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("empty.wav", Vec::new(), 400, "empty"),
        (
            "notes.wav",
            b"Patient seen today for follow-up.\n".repeat(20),
            415,
            "not an audio file",
        ),
        (
            "cut.mp3",
            read("samples/d11.mp3")[..20_000].to_vec(),
            415,
            "truncated",
        ),
        ("huge.wav", vec![0u8; 3 << 20], 413, "limit"),
    ];
    for (name, bytes, want, says) in cases {
        let (status, body) = front.upload(name, &bytes, &[]);
        assert_eq!(status, want, "{name}: {body}");
        let msg = body["message"].as_str().unwrap_or("");
        assert!(msg.contains(says), "{name}: {msg}");
        assert!(
            !msg.contains("Doe") && !msg.contains('/'),
            "{name}: message leaks: {msg}"
        );
    }
    // Bad metadata.
    let tone = read("tests/fixtures/audio/tone16k.wav");
    let (status, body) = front.upload("a.wav", &tone, &[("dob", "02/28/1961")]);
    assert_eq!(status, 400, "{body}");
    let (status, body) = front.upload("a.wav", &tone, &[("physician", "mt")]);
    assert_eq!(status, 400, "{body}");
    // Still serving, and a good upload goes through.
    let (status, health) = front.get("/api/health");
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (status, body) = front.upload("tone.wav", &tone, &[]);
    assert_eq!(status, 201, "{body}");
    // Nothing half-uploaded is left behind.
    let leftovers = std::fs::read_dir(server.data.join("audio"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn killed_mid_transcription_the_job_completes_once_after_restart() {
    let mut server = Server::start(&[]);
    let mut front = server.login("front");
    let (status, body) = front.upload("visit.mp3", &read("samples/d11.mp3"), &[]);
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    front.wait_state(id, &["transcribing"], Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(500));
    server.kill();

    let data = server.data.clone();
    let restarted = Server::run(&data, &[]);
    let mut front = restarted.login("front");
    let d = front.wait_state(id, &["draft"], TRANSCRIBE_TIMEOUT);
    assert_eq!(d["job"]["state"], "done");
    assert_eq!(d["job"]["attempts"], 2);
    let drafts = d["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "draft")
        .count();
    assert_eq!(drafts, 1, "exactly one draft revision");
    // Let a worker poll the queue again: nothing more happens.
    std::thread::sleep(Duration::from_secs(6));
    let (_, d) = front.get(&format!("/api/dictations/{id}"));
    assert_eq!(d["revisions"].as_array().unwrap().len(), 1);
    drop(server);
}

/// Every route as every role and as nobody: 401 without a session, 403 for a
/// role that may not, 404 for another office's dictation.
#[test]
fn every_route_checks_login_role_and_office() {
    let server = Server::start(&[]);
    // A short tone: VAD finds no speech, so the draft is ready at once.
    let id = draft_of(&server, "tests/fixtures/audio/tone16k.wav", &[]);
    let roles = ["front", "mt", "qa", "drlee", "drkim", "admin", "other"];
    let mut clients: Vec<(&str, Client)> = roles.iter().map(|r| (*r, server.login(r))).collect();
    let mut anon = server.client();

    let d = format!("/api/dictations/{id}");
    // (method, path, body, expected status per role in `roles` order)
    let rev = {
        let (_, b) = clients[1].1.get(&format!("{d}/transcript"));
        b["revision"].as_i64().unwrap()
    };
    let doc = clients[1].1.get(&format!("{d}/transcript")).1["document"].clone();
    let put_body = json!({ "document": doc });
    let cases: Vec<(&str, String, Option<Value>, [u16; 7])> = vec![
        (
            "GET",
            "/api/dictations".into(),
            None,
            [200, 200, 200, 200, 200, 200, 200],
        ),
        ("GET", d.clone(), None, [200, 200, 200, 200, 404, 200, 404]),
        (
            "GET",
            format!("{d}/transcript"),
            None,
            [403, 200, 200, 200, 404, 200, 404],
        ),
        (
            "GET",
            format!("{d}/audio"),
            None,
            [403, 200, 200, 200, 404, 200, 404],
        ),
        (
            "GET",
            format!("{d}/export?format=txt"),
            None,
            [200, 200, 200, 200, 404, 200, 404],
        ),
        (
            "POST",
            format!("{d}/flags"),
            Some(json!({"kind": "blank", "time_s": 0.1})),
            [403, 201, 409, 409, 404, 201, 404],
        ),
        (
            "POST",
            format!("{d}/sign"),
            Some(json!({"revision": rev})),
            [403, 403, 403, 409, 404, 403, 404],
        ),
        (
            "POST",
            format!("{d}/addenda"),
            Some(json!({"text": "x"})),
            [403, 403, 403, 409, 404, 403, 404],
        ),
        (
            "POST",
            format!("{d}/transition"),
            Some(json!({"to": "qa"})),
            [403, 409, 409, 409, 404, 409, 404],
        ),
        (
            "PUT",
            format!("{d}/transcript"),
            Some(put_body.clone()),
            [403, 200, 409, 409, 404, 200, 404],
        ),
        (
            "POST",
            "/api/logout".into(),
            None,
            [204, 204, 204, 204, 204, 204, 204],
        ),
    ];
    for (method, path, body, want) in &cases {
        // Anonymous: always 401.
        let (status, _) = match *method {
            "GET" => anon.get(path),
            "PUT" => anon.put(path, Some(rev), body.clone().unwrap()),
            _ => anon.post(path, body.clone().unwrap_or(json!({}))),
        };
        assert_eq!(status, 401, "anonymous {method} {path}");
        for (i, (role, c)) in clients.iter_mut().enumerate() {
            let (status, reply) = match *method {
                "GET" => c.get(path),
                "PUT" => {
                    let current = c.get(&format!("{d}/transcript")).1["revision"]
                        .as_i64()
                        .unwrap_or(rev);
                    c.put(path, Some(current), body.clone().unwrap())
                }
                _ => c.post(path, body.clone().unwrap_or(json!({}))),
            };
            assert_eq!(status, want[i], "{role} {method} {path}: {reply}");
        }
    }
    // Upload: office roles only.
    let tone = read("tests/fixtures/audio/tone16k.wav");
    for role in roles {
        let mut c = server.login(role);
        let (status, body) = c.upload(
            "t.wav",
            &tone,
            &[("physician", if role == "other" { "drelm" } else { "drlee" })],
        );
        let want = if matches!(role, "front" | "other" | "admin") {
            201
        } else {
            403
        };
        assert_eq!(status, want, "{role} upload: {body}");
    }
    let (status, _) = anon.upload("t.wav", &tone, &[]);
    assert_eq!(status, 401);

    // CSRF: a state change without the token is refused even with the cookie.
    let mut no_csrf = server.login("mt");
    no_csrf.csrf = None;
    let (status, _) = no_csrf.post(
        &format!("{d}/flags"),
        json!({"kind": "blank", "time_s": 0.1}),
    );
    assert_eq!(status, 403);
}

#[test]
fn logins_are_throttled() {
    let server = Server::start(&[]);
    let mut c = server.client();
    for _ in 0..5 {
        let (status, _) = c.post(
            "/api/login",
            json!({"username": "mt", "password": "wrong password"}),
        );
        assert_eq!(status, 401);
    }
    let (status, body) = c.post(
        "/api/login",
        json!({"username": "mt", "password": support::PASSWORD}),
    );
    assert_eq!(status, 429, "{body}");
}
