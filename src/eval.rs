//! Word error rate and medical-term recall (under construction).
