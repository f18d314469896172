//! `GET /api/dictations/{id}/export?format=...`: the report in every format,
//! rendered from one canonical revision: by default the latest signed one, else
//! the current draft.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::auth::CurrentUser;
use super::dictations::read;
use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::export::{self, Report, Signature};
use crate::transcript::render::Format;
use crate::transcript::Transcript;
use crate::Error;

pub fn router() -> Router<AppState> {
    Router::new().route("/dictations/{id}/export", get(export_one))
}

#[derive(Deserialize)]
struct ExportQuery {
    format: String,
    revision: Option<i64>,
}

async fn export_one(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    let d = state.store.visible_dictation(&user, id).await?;
    let signatures = state.store.signatures(id).await?;
    let revision = match q.revision {
        Some(r) => r,
        None => signatures
            .last()
            .map(|s| s.revision)
            .or(d.current_revision)
            .ok_or_else(|| {
                ApiError::conflict(format!("no transcript yet: the dictation is {}", d.state))
            })?,
    };
    let json = state.store.revision_document(id, revision).await?;
    let doc = Transcript::from_json(&json).map_err(|e| Error::Store(e.to_string()))?;
    let signed = signatures.iter().position(|s| s.revision == revision);
    let (body, mime, ext) = match q.format.as_str() {
        "hl7" | "fhir" => {
            let sig = signed.map(|i| &signatures[i]);
            let is_current = d.current_revision == Some(revision);
            let report = Report {
                dictation_id: id,
                office: d.office.clone(),
                patient_name: d.patient_name.clone(),
                mrn: d.mrn.clone(),
                dob: d.dob.clone(),
                work_type: d.work_type.clone(),
                physician: d.physician.clone(),
                transcriptionist: None,
                state: match (sig, is_current) {
                    (Some(_), _) => "signed".into(),
                    (None, true) => d.state.clone(),
                    (None, false) => "in_edit".into(),
                },
                revision,
                version: sig.map_or(signatures.len() as i64 + 1, |s| s.version),
                created_at: d.created_at.clone(),
                edited_at: doc.created.clone(),
                signed: sig.map(|s| Signature {
                    signer: s.signer.clone(),
                    signed_at: s.signed_at.clone(),
                    sha256: s.sha256.clone(),
                }),
                replaces: match signed {
                    Some(i) if i > 0 => Some(signatures[i - 1].revision),
                    None => signatures.last().map(|s| s.revision),
                    _ => None,
                },
                text: doc.text.clone(),
            };
            if q.format == "hl7" {
                let msg_id = format!("{id}-{revision}-{}", crate::store::now_unix());
                (
                    export::hl7_mdm(&report, &msg_id, &crate::store::now()),
                    "application/hl7-v2",
                    "hl7",
                )
            } else {
                let v = export::fhir_document_reference(&report);
                (
                    serde_json::to_string_pretty(&v).unwrap_or_default(),
                    "application/fhir+json",
                    "fhir.json",
                )
            }
        }
        other => {
            let f: Format = other.parse().map_err(|_| {
                ApiError::bad_request("format is one of txt, json, srt, vtt, hl7, fhir")
            })?;
            let mime = match f {
                Format::Txt => "text/plain; charset=utf-8",
                Format::Json => "application/json",
                Format::Srt => "application/x-subrip; charset=utf-8",
                Format::Vtt => "text/vtt; charset=utf-8",
            };
            (f.render(&doc), mime, f.extension())
        }
    };
    state
        .store
        .audit(read(
            &user,
            "export",
            id,
            format!("format={} revision={revision}", q.format),
        ))
        .await?;
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"dictation-{id}-r{revision}.{ext}\""
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
