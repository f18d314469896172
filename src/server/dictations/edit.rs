//! Reading and saving the transcript. A save names the revision it was based
//! on (`If-Match`) and becomes a new immutable revision; only the words change
//! (source, model, parameters and the recogniser's raw text stay as drafted),
//! and every text field is re-derived from the words so the formats agree.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::super::auth::CurrentUser;
use super::super::error::{ApiError, ApiResult};
use super::super::AppState;
use super::{read, require_editor, require_text_access};
use crate::review::State as DocState;
use crate::store::{DictationRow, SessionUser};
use crate::transcript::{join_words, Segment, Transcript, Word};
use crate::Error;

#[derive(Deserialize)]
pub struct RevisionQuery {
    revision: Option<i64>,
}

/// The dictation's current revision, or 409 while there is no draft yet.
fn current(d: &DictationRow) -> ApiResult<i64> {
    d.current_revision.ok_or_else(|| {
        ApiError::conflict(format!("no transcript yet: the dictation is {}", d.state))
    })
}

async fn load(state: &AppState, id: i64, revision: i64) -> ApiResult<Transcript> {
    let json = state.store.revision_document(id, revision).await?;
    Transcript::from_json(&json)
        .map_err(|e| Error::Store(format!("revision {revision}: {e}")).into())
}

pub async fn get_transcript(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<RevisionQuery>,
) -> ApiResult<Response> {
    let d = state.store.visible_dictation(&user, id).await?;
    require_text_access(&user, &d)?;
    let revision = match q.revision {
        Some(r) => r,
        None => current(&d)?,
    };
    let document = state.store.revision_document(id, revision).await?;
    state
        .store
        .audit(read(
            &user,
            "read_transcript",
            id,
            format!("revision={revision}"),
        ))
        .await?;
    let body = format!("{{\"revision\":{revision},\"document\":{document}}}");
    let mut resp = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{revision}\"")) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Ok(resp)
}

/// The revision a save is based on, from `If-Match: 12` or `If-Match: "12"`.
fn if_match(headers: &HeaderMap) -> ApiResult<i64> {
    let raw = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::PRECONDITION_REQUIRED,
                "precondition_required",
                "send If-Match with the revision the change is based on",
            )
        })?;
    raw.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map_err(|_| ApiError::bad_request("If-Match must be a revision number"))
}

/// A conflict answer that tells the editor which revision to reload.
async fn with_current(state: &AppState, id: i64, e: Error) -> ApiError {
    let mut err = ApiError::from(e);
    if err.status == StatusCode::CONFLICT {
        if let Ok(Some(d)) = state.store.dictation(id).await {
            err.current_revision = d.current_revision;
        }
    }
    err
}

#[derive(Deserialize)]
pub struct PutBody {
    document: EditedDocument,
}

/// What a save may change: the words. Everything else is kept from the base.
#[derive(Deserialize)]
struct EditedDocument {
    segments: Vec<Segment>,
}

pub async fn put_transcript(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<PutBody>,
) -> ApiResult<Json<serde_json::Value>> {
    let d = state.store.visible_dictation(&user, id).await?;
    require_editor(&user, &d)?;
    let base = if_match(&headers)?;
    let mut doc = load(&state, id, base).await?;
    doc.segments = clean_segments(body.document.segments, doc.source.duration_s)?;
    derive_text(&mut doc);
    save(&state, &user, id, base, "edit", &doc).await
}

async fn save(
    state: &AppState,
    user: &SessionUser,
    id: i64,
    base: i64,
    kind: &'static str,
    doc: &Transcript,
) -> ApiResult<Json<serde_json::Value>> {
    let json = serde_json::to_string(doc).map_err(|e| Error::Store(e.to_string()))?;
    match state.store.save_revision(user, id, base, kind, json).await {
        Ok(rev) => Ok(Json(json!({ "revision": rev }))),
        Err(e) => Err(with_current(state, id, e).await),
    }
}

/// Checks edited segments: finite, non-negative times inside the audio, no
/// empty words, start <= end; sorts segments by start.
fn clean_segments(mut segments: Vec<Segment>, duration_s: f64) -> ApiResult<Vec<Segment>> {
    let limit = duration_s + 1.0;
    let mut words = 0usize;
    for s in &mut segments {
        s.words
            .retain(|w| !w.text.trim().is_empty() || w.text.contains('\n'));
        for w in &mut s.words {
            if !(w.start.is_finite() && w.end.is_finite() && w.probability.is_finite()) {
                return Err(ApiError::bad_request(
                    "word times and probabilities must be numbers",
                ));
            }
            if w.start < 0.0 || w.start > limit {
                return Err(ApiError::bad_request("word times must be inside the audio"));
            }
            w.end = w.end.clamp(w.start, limit);
            w.probability = w.probability.clamp(0.0, 1.0);
            if !w.text.contains('\n') {
                w.text = w.text.trim().to_string();
            }
            if w.text.len() > 200 {
                return Err(ApiError::bad_request(
                    "a word is longer than 200 characters",
                ));
            }
        }
        words += s.words.len();
        if let (Some(f), Some(l)) = (s.words.first(), s.words.last()) {
            s.start = f.start;
            s.end = l.end.max(f.start);
        }
    }
    if words > 200_000 {
        return Err(ApiError::bad_request(
            "a transcript holds at most 200,000 words",
        ));
    }
    segments.retain(|s| !s.words.is_empty());
    segments.sort_by(|a, b| a.start.total_cmp(&b.start));
    Ok(segments)
}

/// Re-derives every text field from the words.
fn derive_text(doc: &mut Transcript) {
    for s in &mut doc.segments {
        s.text = join_words(s.words.iter().map(|w| w.text.as_str()));
    }
    doc.text = join_words(doc.words().map(|w| w.text.as_str()));
}

#[derive(Deserialize)]
pub struct DecisionBody {
    decision: String,
}

pub async fn decide_correction(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((id, index)): Path<(i64, usize)>,
    headers: HeaderMap,
    Json(body): Json<DecisionBody>,
) -> ApiResult<Json<serde_json::Value>> {
    let d = state.store.visible_dictation(&user, id).await?;
    require_editor(&user, &d)?;
    let base = if_match(&headers)?;
    let mut doc = load(&state, id, base).await?;
    let accept = match body.decision.as_str() {
        "accept" => true,
        "reject" => false,
        _ => return Err(ApiError::bad_request("decision is accept or reject")),
    };
    let c = doc
        .corrections
        .get(index)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no correction {index}")))?;
    if c.decision.is_some() {
        return Err(ApiError::conflict("this correction was decided already"));
    }
    // Rejecting an applied change or accepting a suggestion changes the words.
    if accept != c.applied {
        let (now, wanted) = if c.applied {
            (&c.to, &c.from)
        } else {
            (&c.from, &c.to)
        };
        if !replace_span(&mut doc, c.start, c.end, now, wanted) {
            return Err(ApiError::conflict(
                "the words of this correction were edited since; change them in the text",
            ));
        }
        derive_text(&mut doc);
    }
    doc.corrections[index].decision = Some(body.decision.clone());
    save(&state, &user, id, base, "correction", &doc).await
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Replaces the words in [start, end] that read `now` with `wanted`, spread over
/// the same time; keeps trailing punctuation. False if they are not there.
fn replace_span(doc: &mut Transcript, start: f64, end: f64, now: &str, wanted: &str) -> bool {
    let target = norm(now);
    if target.is_empty() || norm(wanted).is_empty() {
        return false;
    }
    for s in &mut doc.segments {
        let n = s.words.len();
        for i in 0..n {
            if s.words[i].end < start - 0.05 || s.words[i].start > end + 0.05 {
                continue;
            }
            let mut joined = String::new();
            for j in i..n {
                joined.push_str(&norm(&s.words[j].text));
                if joined == target {
                    let last = &s.words[j].text;
                    let tail: String = last
                        .chars()
                        .rev()
                        .take_while(|c| !c.is_alphanumeric())
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    let (t0, t1) = (s.words[i].start, s.words[j].end);
                    let parts: Vec<&str> = wanted.split_whitespace().collect();
                    let step = (t1 - t0) / parts.len() as f64;
                    let new: Vec<Word> = parts
                        .iter()
                        .enumerate()
                        .map(|(k, p)| Word {
                            text: if k + 1 == parts.len() {
                                format!("{p}{tail}")
                            } else {
                                p.to_string()
                            },
                            start: t0 + step * k as f64,
                            end: t0 + step * (k + 1) as f64,
                            probability: 1.0,
                        })
                        .collect();
                    s.words.splice(i..=j, new);
                    return true;
                }
                if joined.len() >= target.len() || !target.starts_with(&joined) {
                    break;
                }
            }
        }
    }
    false
}

#[derive(Deserialize)]
pub struct AddendumBody {
    text: String,
}

pub async fn add_addendum(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<AddendumBody>,
) -> ApiResult<Json<serde_json::Value>> {
    let d = state.store.visible_dictation(&user, id).await?;
    if user.role != crate::review::Role::Physician || !d.is_own(&user) {
        return Err(ApiError::forbidden(
            "only the dictating physician may add an addendum",
        ));
    }
    if d.state() != DocState::Signed {
        return Err(ApiError::conflict(format!(
            "addenda are for signed reports; this one is {}",
            d.state
        )));
    }
    let text = body.text.trim();
    if text.is_empty() || text.chars().count() > 20_000 {
        return Err(ApiError::bad_request(
            "an addendum is 1 to 20,000 characters",
        ));
    }
    let base = current(&d)?;
    let mut doc = load(&state, id, base).await?;
    let at = doc.source.duration_s;
    let word = |t: &str| Word {
        text: t.to_string(),
        start: at,
        end: at,
        probability: 1.0,
    };
    let mut words = vec![word("\n\n"), word("ADDENDUM:")];
    words.extend(text.split_whitespace().map(word));
    doc.segments.push(Segment {
        start: at,
        end: at,
        text: String::new(),
        words,
    });
    derive_text(&mut doc);
    let json = serde_json::to_string(&doc).map_err(|e| Error::Store(e.to_string()))?;
    let rev = state.store.add_addendum(&user, id, json).await?;
    Ok(Json(json!({ "revision": rev })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(t: &str, s: f64) -> Word {
        Word {
            text: t.into(),
            start: s,
            end: s + 0.5,
            probability: 0.9,
        }
    }

    fn doc(words: Vec<Word>) -> Transcript {
        let json = serde_json::json!({
            "schema": crate::transcript::SCHEMA, "medscribe_version": "0", "created": "",
            "source": {"file_name": "a.wav", "sha256": "", "duration_s": 10.0, "container": "wav",
                       "codec": "pcm", "sample_rate": 16000, "channels": 1},
            "model": {"name": "tiny.en", "sha256": ""},
            "params": {"language": "en", "prompt": null, "vad": true, "vocab": true, "decoding": "greedy"},
            "text": "", "raw_text": "", "segments": [], "corrections": []
        });
        let mut t: Transcript = serde_json::from_value(json).unwrap();
        t.segments.push(Segment {
            start: 0.0,
            end: 10.0,
            text: String::new(),
            words,
        });
        t
    }

    #[test]
    fn reject_puts_the_draft_words_back() {
        let mut t = doc(vec![w("Start", 0.0), w("lisinopril.", 1.0), w("Next", 3.0)]);
        assert!(replace_span(&mut t, 1.0, 2.5, "lisinopril", "listen up or"));
        derive_text(&mut t);
        assert_eq!(t.text, "Start listen up or. Next");
        let ws: Vec<_> = t.words().collect();
        assert!(ws[1].start >= 1.0 && ws[3].end <= 1.5 + 1e-9);
    }

    #[test]
    fn accept_joins_split_words() {
        let mut t = doc(vec![
            w("a", 1.0),
            w("picks", 1.3),
            w("a", 1.6),
            w("ban,", 1.9),
            w("daily", 3.0),
        ]);
        assert!(replace_span(&mut t, 1.0, 2.4, "a picks a ban", "apixaban"));
        derive_text(&mut t);
        assert_eq!(t.text, "apixaban, daily");
        assert!(!replace_span(&mut t, 5.0, 6.0, "daily", "nightly"));
    }

    #[test]
    fn edited_segments_are_checked() {
        let ok = clean_segments(
            vec![Segment {
                start: 0.0,
                end: 0.0,
                text: "x".into(),
                words: vec![w(" hi ", 2.0)],
            }],
            10.0,
        )
        .unwrap();
        assert_eq!(ok[0].words[0].text, "hi");
        assert_eq!(ok[0].start, 2.0);
        let bad = clean_segments(
            vec![Segment {
                start: 0.0,
                end: 0.0,
                text: "x".into(),
                words: vec![w("hi", 50.0)],
            }],
            10.0,
        );
        assert!(bad.is_err());
    }
}
