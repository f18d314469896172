//! Transcription workers: each takes the next job from the persistent queue
//! (STAT first), runs the library pipeline on a blocking thread, and records
//! the draft. Workers times threads never exceed the cores given to them:
//! whisper.cpp slows down sharply when oversubscribed.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::AppState;
use crate::pipeline::{Pipeline, RunOptions};
use crate::store::jobs::Job;
use crate::Error;

/// Starts `n` workers; they end when the server is stopping.
pub fn spawn(
    state: AppState,
    pipeline: Arc<Pipeline>,
    run: RunOptions,
    n: usize,
) -> Vec<JoinHandle<()>> {
    (0..n.max(1))
        .map(|_| {
            let (state, pipeline, run) = (state.clone(), pipeline.clone(), run.clone());
            tokio::spawn(async move { work(state, pipeline, run).await })
        })
        .collect()
}

async fn work(state: AppState, pipeline: Arc<Pipeline>, run: RunOptions) {
    while !state.stopping.load(Ordering::SeqCst) {
        let job = match state.store.claim_job().await {
            Ok(Some(job)) => job,
            Ok(None) => {
                // Sleep until an upload arrives; poll now and then regardless.
                let _ =
                    tokio::time::timeout(Duration::from_secs(5), state.jobs_ready.notified()).await;
                continue;
            }
            Err(e) => {
                eprintln!("medscribe serve: queue: {e}");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        if let Err(e) = transcribe(&state, &pipeline, &run, &job).await {
            eprintln!("medscribe serve: job {}: {e}", job.id);
        }
    }
}

async fn transcribe(
    state: &AppState,
    pipeline: &Arc<Pipeline>,
    run: &RunOptions,
    job: &Job,
) -> crate::Result<()> {
    let path = state.store.audio_dir().join(&job.audio_file);
    let (p, mut r) = (pipeline.clone(), run.clone());
    r.expected_terms = crate::vocab::split_terms(&job.expected_terms);
    let result = tokio::task::spawn_blocking(move || p.run(&path, &r, &mut |_| {}))
        .await
        .map_err(|_| Error::Stt("the transcription thread panicked".into()));
    match result.and_then(|r| r) {
        Ok(transcript) => {
            let json = serde_json::to_string(&transcript)
                .map_err(|e| Error::Store(format!("transcript json: {e}")))?;
            if !state.store.complete_job(job, &json).await? {
                eprintln!(
                    "medscribe serve: job {} was already finished; result dropped",
                    job.id
                );
            }
            Ok(())
        }
        // Shutting down: back to the queue for the next start.
        Err(Error::Interrupted) => state.store.release_job(job).await,
        Err(e) => {
            // Messages name the stored (random) file name, never the patient.
            let message = match &e {
                Error::Audio { message, .. } => message.clone(),
                other => other.to_string(),
            };
            eprintln!("medscribe serve: job {} failed: {message}", job.id);
            state.store.fail_job(job, &message).await
        }
    }
}
