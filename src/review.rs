//! The review workflow's rules, independent of storage and HTTP: who may do
//! what to a dictation in which state. The store records; the server asks here.
//!
//! A dictation moves `uploaded -> transcribing -> draft -> in_edit -> qa ->
//! awaiting_signature -> signed`; QA is optional unless flags are unresolved.
//! Rejections go back to `in_edit` with a reason. A signed report only ever
//! gains addenda, as new revisions that are signed again.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "{:?} is not a {}; expected one of: {}",
                        s,
                        stringify!($name),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

string_enum!(
    /// What a user does in the office; decides every permission.
    Role {
        Admin = "admin",
        Office = "office",
        Transcriptionist = "transcriptionist",
        Qa = "qa",
        Physician = "physician",
    }
);

string_enum!(
    /// Where a dictation is in its life.
    State {
        Uploaded = "uploaded",
        Transcribing = "transcribing",
        Draft = "draft",
        InEdit = "in_edit",
        Qa = "qa",
        AwaitingSignature = "awaiting_signature",
        Signed = "signed",
        Failed = "failed",
    }
);

string_enum!(
    /// The kind of report dictated.
    WorkType {
        Hp = "hp",
        Progress = "progress",
        Discharge = "discharge",
        Operative = "operative",
        Letter = "letter",
        Radiology = "radiology",
    }
);

string_enum!(
    /// STAT reports are due in 4 hours and go first; routine ones in 24.
    Priority {
        Stat = "stat",
        Routine = "routine",
    }
);

string_enum!(
    /// A marked spot in the audio the transcriptionist could not resolve.
    FlagKind {
        Blank = "blank",
        Inaudible = "inaudible",
        Question = "question",
    }
);

impl Priority {
    /// Turnaround target in hours.
    pub fn turnaround_hours(self) -> i64 {
        match self {
            Priority::Stat => 4,
            Priority::Routine => 24,
        }
    }

    /// Queue order: lower goes first.
    pub fn rank(self) -> i64 {
        match self {
            Priority::Stat => 0,
            Priority::Routine => 1,
        }
    }
}

/// Whether a user may change the text (save, accept/reject corrections, flags)
/// of a dictation in `state`. `own` says the user is the dictation's physician.
pub fn can_edit(role: Role, state: State, own: bool) -> bool {
    match role {
        Role::Admin => matches!(
            state,
            State::Draft | State::InEdit | State::Qa | State::AwaitingSignature
        ),
        Role::Transcriptionist => matches!(state, State::Draft | State::InEdit),
        Role::Qa => state == State::Qa,
        Role::Physician => own && state == State::AwaitingSignature,
        Role::Office => false,
    }
}

/// Whether a user may listen to the audio and read the transcript.
pub fn can_read_text(role: Role, own: bool) -> bool {
    match role {
        Role::Office => false,
        Role::Physician => own,
        _ => true,
    }
}

/// Why a transition is refused; `None` when it is allowed. Unresolved flags
/// block sending for signature (they must go through QA) and signing.
pub fn check_transition(
    role: Role,
    own: bool,
    from: State,
    to: State,
    unresolved_flags: i64,
    reason: Option<&str>,
) -> Option<String> {
    use State::*;
    let who_may: &[Role] = match (from, to) {
        (Draft, InEdit) => &[Role::Transcriptionist],
        (InEdit, Qa) => &[Role::Transcriptionist],
        (InEdit, AwaitingSignature) => &[Role::Transcriptionist],
        (Qa, AwaitingSignature) => &[Role::Qa],
        (Qa, InEdit) => &[Role::Qa],
        (AwaitingSignature, InEdit) => &[Role::Physician],
        (Failed, Uploaded) => &[],
        _ => {
            return Some(format!(
                "a dictation cannot go from {from} to {to}{}",
                if to == Signed {
                    "; sign it with POST /sign"
                } else {
                    ""
                }
            ))
        }
    };
    let allowed =
        role == Role::Admin || (who_may.contains(&role) && (role != Role::Physician || own));
    if !allowed {
        return Some(format!(
            "a {role} may not move a dictation from {from} to {to}"
        ));
    }
    if to == AwaitingSignature && unresolved_flags > 0 {
        return Some(format!(
            "{unresolved_flags} unresolved flag(s): resolve them or send the dictation to QA"
        ));
    }
    let rejection = to == InEdit && matches!(from, Qa | AwaitingSignature);
    if rejection && reason.is_none_or(|r| r.trim().is_empty()) {
        return Some("a rejection needs a reason".into());
    }
    None
}

/// Why signing is refused; `None` when allowed.
pub fn check_sign(role: Role, own: bool, state: State, unresolved_flags: i64) -> Option<String> {
    if role != Role::Physician || !own {
        return Some("only the dictating physician may sign".into());
    }
    if state != State::AwaitingSignature {
        return Some(format!("a dictation in state {state} cannot be signed"));
    }
    if unresolved_flags > 0 {
        return Some(format!(
            "{unresolved_flags} unresolved flag(s) block signing"
        ));
    }
    None
}

/// The transitions a user could ask for now, for the editor's buttons.
pub fn possible_transitions(role: Role, own: bool, from: State) -> Vec<State> {
    State::ALL
        .iter()
        .copied()
        .filter(|&to| check_transition(role, own, from, to, 0, Some("x")).is_none())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in State::ALL {
            assert_eq!(s.as_str().parse::<State>().unwrap(), *s);
        }
        assert!("done".parse::<State>().unwrap_err().contains("in_edit"));
        assert_eq!(
            serde_json::to_string(&State::AwaitingSignature).unwrap(),
            "\"awaiting_signature\""
        );
    }

    #[test]
    fn flags_force_qa_and_block_signing() {
        let t = Role::Transcriptionist;
        assert!(
            check_transition(t, false, State::InEdit, State::AwaitingSignature, 1, None)
                .unwrap()
                .contains("QA")
        );
        assert!(check_transition(t, false, State::InEdit, State::Qa, 1, None).is_none());
        assert!(
            check_transition(t, false, State::InEdit, State::AwaitingSignature, 0, None).is_none()
        );
        assert!(check_sign(Role::Physician, true, State::AwaitingSignature, 2).is_some());
        assert!(check_sign(Role::Physician, true, State::AwaitingSignature, 0).is_none());
    }

    #[test]
    fn only_the_own_physician_signs_or_rejects() {
        let p = Role::Physician;
        assert!(check_sign(p, false, State::AwaitingSignature, 0).is_some());
        assert!(check_sign(Role::Admin, true, State::AwaitingSignature, 0).is_some());
        assert!(check_transition(
            p,
            false,
            State::AwaitingSignature,
            State::InEdit,
            0,
            Some("dose?")
        )
        .is_some());
        assert!(check_transition(
            p,
            true,
            State::AwaitingSignature,
            State::InEdit,
            0,
            Some("dose?")
        )
        .is_none());
        assert!(
            check_transition(p, true, State::AwaitingSignature, State::InEdit, 0, None)
                .unwrap()
                .contains("reason")
        );
    }

    #[test]
    fn signed_is_final_and_roles_stay_in_lane() {
        for to in State::ALL {
            assert!(
                check_transition(Role::Admin, true, State::Signed, *to, 0, Some("r")).is_some()
            );
        }
        assert!(check_transition(Role::Qa, false, State::InEdit, State::Qa, 0, None).is_some());
        assert!(
            check_transition(Role::Office, false, State::Draft, State::InEdit, 0, None).is_some()
        );
        assert_eq!(
            possible_transitions(Role::Qa, false, State::Qa),
            vec![State::InEdit, State::AwaitingSignature]
        );
    }

    #[test]
    fn edit_rights_follow_state() {
        assert!(can_edit(Role::Transcriptionist, State::Draft, false));
        assert!(!can_edit(Role::Transcriptionist, State::Qa, false));
        assert!(can_edit(Role::Qa, State::Qa, false));
        assert!(!can_edit(Role::Physician, State::AwaitingSignature, false));
        assert!(can_edit(Role::Physician, State::AwaitingSignature, true));
        for r in Role::ALL {
            assert!(!can_edit(*r, State::Signed, true));
        }
    }
}
