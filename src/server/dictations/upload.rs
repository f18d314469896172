//! `POST /api/dictations`: a multipart upload streamed to a private temporary
//! file with a size limit, checked by decoding it whole with the audio stage
//! (so a damaged or truncated file is refused now, with the reason, not
//! discovered by the transcriber later), then moved into the store.

use std::path::{Path, PathBuf};

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::super::auth::CurrentUser;
use super::super::error::{ApiError, ApiResult};
use super::super::AppState;
use crate::audio::{self, DecodeOptions};
use crate::review::{Priority, Role, WorkType};
use crate::store::{random_hex, NewDictation, SessionUser};
use crate::{fsutil, Error};

/// Text fields before the file; each at most this long.
const MAX_FIELD: usize = 256;
/// The expected-terms field (a medication and problem list) may be longer.
const MAX_TERMS_FIELD: usize = 4096;

#[derive(Default)]
struct Fields {
    patient_name: Option<String>,
    mrn: Option<String>,
    dob: Option<String>,
    work_type: Option<String>,
    priority: Option<String>,
    physician: Option<String>,
    terms: Option<String>,
}

/// A temporary upload that is removed unless kept.
struct TempUpload {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempUpload {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Answers only after the body has been read (or a bound reached): a client
/// still sending gets the error instead of a reset connection.
pub async fn upload(
    State(state): State<AppState>,
    user: Result<CurrentUser, ApiError>,
    mut form: Multipart,
) -> ApiResult<impl IntoResponse> {
    let limit = state.config.max_upload_bytes;
    let result = match user {
        Ok(CurrentUser(user)) if matches!(user.role, Role::Office | Role::Admin) => {
            receive(&state, &user, &mut form).await
        }
        Ok(CurrentUser(user)) => Err(ApiError::forbidden(format!(
            "a {} may not upload dictations",
            user.role
        ))),
        Err(e) => Err(e),
    };
    if result.is_err() {
        drain(&mut form, limit).await;
    }
    result
}

async fn receive(
    state: &AppState,
    user: &SessionUser,
    form: &mut Multipart,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let limit = state.config.max_upload_bytes;
    let mut fields = Fields::default();
    let mut file: Option<(TempUpload, u64, String, String)> = None;
    while let Some(mut field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let ext = extension_of(field.file_name().unwrap_or(""));
            let tmp = TempUpload {
                path: state
                    .store
                    .audio_dir()
                    .join(format!(".upload-{}.tmp", random_hex(8)?)),
                keep: false,
            };
            let std_file = fsutil::private_options()
                .open(&tmp.path)
                .map_err(|e| Error::io(&tmp.path, e))?;
            let mut out = tokio::fs::File::from_std(std_file);
            let mut hasher = Sha256::new();
            let mut size: u64 = 0;
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                size += chunk.len() as u64;
                if size > limit {
                    return Err(ApiError::too_large(format!(
                        "the upload is over the {} MB limit; split the recording or ask the administrator to raise --max-upload-mb",
                        limit >> 20
                    )));
                }
                hasher.update(&chunk);
                out.write_all(&chunk)
                    .await
                    .map_err(|e| Error::io(&tmp.path, e))?;
            }
            out.sync_all().await.map_err(|e| Error::io(&tmp.path, e))?;
            let sha = crate::models::store::hex(&hasher.finalize());
            file = Some((tmp, size, sha, ext));
            continue;
        }
        let text = field.text().await.map_err(multipart_error)?;
        let max = if name == "terms" {
            MAX_TERMS_FIELD
        } else {
            MAX_FIELD
        };
        if text.len() > max {
            return Err(ApiError::bad_request(format!(
                "field {name} is longer than {max} characters"
            )));
        }
        let text = Some(text.trim().to_string());
        match name.as_str() {
            "patient_name" => fields.patient_name = text,
            "mrn" => fields.mrn = text,
            "dob" => fields.dob = text,
            "work_type" => fields.work_type = text,
            "priority" => fields.priority = text,
            "physician" => fields.physician = text,
            "terms" => fields.terms = text,
            _ => {}
        }
    }
    let Some((mut tmp, size, sha256, ext)) = file else {
        return Err(ApiError::bad_request(
            "no audio: send the recording in a field named file",
        ));
    };
    if size == 0 {
        return Err(ApiError::bad_request("the audio file is empty (0 bytes)"));
    }
    let (office_id, physician_id) = check_fields(state, user, &fields).await?;

    let path = tmp.path.clone();
    let info = tokio::task::spawn_blocking(move || check_audio(&path))
        .await
        .map_err(|_| ApiError::unsupported_media("the audio could not be checked"))??;

    let stored = format!(
        "{}.{}",
        random_hex(12)?,
        if ext.is_empty() {
            info.container.as_str()
        } else {
            ext.as_str()
        }
    );
    let dest = state.store.audio_dir().join(&stored);
    std::fs::rename(&tmp.path, &dest).map_err(|e| Error::io(&dest, e))?;
    tmp.keep = true;

    let new = NewDictation {
        office_id,
        physician_id,
        patient_name: fields.patient_name.unwrap_or_default(),
        mrn: fields.mrn.unwrap_or_default(),
        dob: fields.dob.unwrap_or_default(),
        work_type: fields
            .work_type
            .as_deref()
            .unwrap_or("")
            .parse()
            .map_err(ApiError::bad_request)?,
        priority: fields
            .priority
            .as_deref()
            .unwrap_or("routine")
            .parse()
            .map_err(ApiError::bad_request)?,
        audio_file: stored,
        audio_sha256: sha256,
        audio_bytes: size as i64,
        content_type: content_type(&info.container).into(),
        duration_s: info.duration_s,
        expected_terms: crate::vocab::split_terms(fields.terms.as_deref().unwrap_or("")).join(", "),
    };
    let id = match state.store.create_dictation(user, &new).await {
        Ok(id) => id,
        Err(e) => {
            let _ = std::fs::remove_file(&dest);
            return Err(e.into());
        }
    };
    state.jobs_ready.notify_one();
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "duration_s": info.duration_s })),
    ))
}

/// Validates the metadata; returns (office, physician) ids.
async fn check_fields(state: &AppState, user: &SessionUser, f: &Fields) -> ApiResult<(i64, i64)> {
    let need = |v: &Option<String>, name: &str| -> ApiResult<String> {
        v.clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::bad_request(format!("field {name} is required")))
    };
    need(&f.patient_name, "patient_name")?;
    let mrn = need(&f.mrn, "mrn")?;
    if !mrn.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ApiError::bad_request(
            "mrn may hold only letters, digits and -",
        ));
    }
    let dob = need(&f.dob, "dob")?;
    let born = parse_date(&dob)
        .ok_or_else(|| ApiError::bad_request("dob must be a date written YYYY-MM-DD"))?;
    if born > time::OffsetDateTime::now_utc().date() || born.year() < 1880 {
        return Err(ApiError::bad_request("dob must be a past date"));
    }
    need(&f.work_type, "work_type")?
        .parse::<WorkType>()
        .map_err(ApiError::bad_request)?;
    if let Some(p) = f.priority.as_deref().filter(|p| !p.is_empty()) {
        p.parse::<Priority>().map_err(ApiError::bad_request)?;
    }
    let physician = need(&f.physician, "physician")?;
    let doc = state
        .store
        .user_by_name(&physician)
        .await?
        .filter(|u| u.role == Role::Physician.as_str())
        .filter(|u| user.role == Role::Admin || u.office_id == user.office_id)
        .ok_or_else(|| {
            ApiError::bad_request("physician: no physician of that user name in this office")
        })?;
    let office = doc
        .office_id
        .ok_or_else(|| ApiError::bad_request("physician: the physician has no office"))?;
    Ok((office, doc.id))
}

/// Parses YYYY-MM-DD.
fn parse_date(s: &str) -> Option<time::Date> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// Decodes the whole file without keeping the samples: refuses anything the
/// transcriber could not use, with the audio stage's reason.
fn check_audio(path: &Path) -> ApiResult<audio::AudioInfo> {
    let (info, _skipped) = audio::decode_stream(path, &DecodeOptions::default(), &mut |_| Ok(()))
        .map_err(|e| match e {
        Error::Audio { message, .. } => ApiError::unsupported_media(message),
        other => ApiError::from(other),
    })?;
    if info.duration_s < 0.1 {
        return Err(ApiError::unsupported_media(
            "the recording holds no audio (shorter than 0.1 s)",
        ));
    }
    Ok(info)
}

/// Reads and discards what is left of a refused upload, up to twice the limit
/// and 30 seconds, so the client gets the answer instead of a reset connection.
async fn drain(form: &mut Multipart, limit: u64) {
    let mut left = limit.saturating_mul(2).max(64 << 20);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while let Ok(Ok(Some(mut field))) = tokio::time::timeout_at(deadline, form.next_field()).await {
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, field.chunk()).await {
            left = left.saturating_sub(chunk.len() as u64);
            if left == 0 {
                return;
            }
        }
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::too_large("the upload is over the size limit");
    }
    ApiError::new(
        e.status(),
        "bad_request",
        format!("malformed upload: {}", e.body_text()),
    )
}

/// A short lowercase extension from the client's file name (the name itself is
/// not kept: it may name the patient).
fn extension_of(name: &str) -> String {
    Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .filter(|e| (1..=5).contains(&e.len()) && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_default()
}

/// The Content-Type the audio is served with, from the decoded container.
pub fn content_type(container: &str) -> &'static str {
    match container {
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "mp4" | "m4a" | "aac" => "audio/mp4",
        "flac" => "audio/flac",
        "ogg" => "audio/ogg",
        "webm" | "mkv" => "audio/webm",
        "aiff" => "audio/aiff",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_a_safe_extension() {
        assert_eq!(extension_of("Smith John 2024.MP3"), "mp3");
        assert_eq!(extension_of("../../etc/passwd"), "");
        assert_eq!(extension_of("x.w/av"), "");
        assert_eq!(extension_of("noext"), "");
    }

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("1961-02-28").is_some());
        assert!(parse_date("1961-02-30").is_none());
        assert!(parse_date("02/28/1961").is_none());
        assert!(parse_date("1961-2-28").is_none());
    }
}
