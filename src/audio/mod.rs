//! (stage under construction)

/// Sample rate of everything the audio stage hands out: Whisper's rate.
pub const TARGET_RATE: u32 = 16_000;
