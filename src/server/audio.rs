//! `GET /api/dictations/{id}/audio`: the uploaded recording, streamed, with
//! HTTP Range support so the browser's player can seek.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::auth::CurrentUser;
use super::dictations::{read, require_text_access};
use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::Error;

pub fn router() -> Router<AppState> {
    Router::new().route("/dictations/{id}/audio", get(audio))
}

/// A byte range [start, end] (inclusive) of a file of `len` bytes, from a
/// `Range: bytes=...` header. `Ok(None)`: no or unsupported header, send all.
/// `Err(())`: unsatisfiable (416).
fn parse_range(header: Option<&str>, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    // Several ranges would need multipart answers; send the first one.
    let first = spec.split(',').next().unwrap_or("").trim();
    let (a, b) = first.split_once('-').ok_or(())?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 || len == 0 {
            return Err(());
        }
        (len.saturating_sub(n), len - 1)
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end = if b.is_empty() {
            len.saturating_sub(1)
        } else {
            b.parse::<u64>().map_err(|_| ())?.min(len.saturating_sub(1))
        };
        if start >= len || end < start {
            return Err(());
        }
        (start, end)
    };
    Ok(Some(range))
}

async fn audio(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let d = state.store.visible_dictation(&user, id).await?;
    require_text_access(&user, &d)?;
    let path = state.store.audio_dir().join(&d.audio_file);
    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| ApiError::from(Error::io(&path, e)))?;
    let len = file
        .metadata()
        .await
        .map_err(|e| ApiError::from(Error::io(&path, e)))?
        .len();
    let range = parse_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        len,
    );
    let (status, start, end) = match range {
        Ok(None) => (StatusCode::OK, 0, len.saturating_sub(1)),
        Ok(Some((s, e))) => (StatusCode::PARTIAL_CONTENT, s, e),
        Err(()) => {
            let mut resp = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("the audio is {len} bytes"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(resp);
        }
    };
    // Players fetch many ranges while seeking; one audit entry per playback start.
    if start == 0 {
        state
            .store
            .audit(read(&user, "play_audio", id, String::new()))
            .await?;
    }
    let count = if len == 0 { 0 } else { end - start + 1 };
    file.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(|e| ApiError::from(Error::io(&path, e)))?;
    let stream = futures_util::stream::unfold(
        (file.take(count), vec![0u8; 64 << 10]),
        |(mut f, mut buf)| async move {
            match f.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    let chunk = axum::body::Bytes::copy_from_slice(&buf[..n]);
                    Some((Ok::<_, std::io::Error>(chunk), (f, buf)))
                }
                Err(e) => Some((Err(e), (f, buf))),
            }
        },
    );
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&d.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 100), Ok(None));
        assert_eq!(parse_range(Some("bytes=0-"), 100), Ok(Some((0, 99))));
        assert_eq!(parse_range(Some("bytes=10-19"), 100), Ok(Some((10, 19))));
        assert_eq!(parse_range(Some("bytes=90-200"), 100), Ok(Some((90, 99))));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Ok(Some((90, 99))));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Err(()));
        assert_eq!(parse_range(Some("bytes=20-10"), 100), Err(()));
        assert_eq!(parse_range(Some("bytes=abc"), 100), Err(()));
        assert_eq!(parse_range(Some("items=0-1"), 100), Ok(None));
    }
}
