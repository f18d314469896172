//! Renderers: txt, srt, vtt, json (under construction).
