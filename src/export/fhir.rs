//! FHIR R4 DocumentReference for one report revision, text inline as base64.

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::{document_number, loinc, work_type_label, Report, Stamp};

/// System of the document's master identifier ("<dictation_id>-<revision>").
pub const DOCUMENT_SYSTEM: &str = "urn:medscribe:document";
/// System of the identifier carrying the hex SHA-256 of the signed canonical
/// content. Attachment.hash must be SHA-1, which we neither have nor want, so
/// the signature's own hash travels here instead.
pub const SHA256_SYSTEM: &str = "urn:medscribe:sha256";
/// US Core extension (R4) for when the document was authenticated; R4
/// DocumentReference.authenticator has no time of its own.
const AUTHENTICATION_TIME: &str =
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-authentication-time";

/// Percent-encodes everything but RFC 3986 unreserved characters, so an
/// office name ("Main St") makes a valid URN.
fn urn_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Identifier system for MRNs: MRNs are only unique within an office.
pub fn mrn_system(office: &str) -> String {
    if office.is_empty() {
        "urn:medscribe:mrn".to_string()
    } else {
        format!("urn:medscribe:mrn:{}", urn_part(office))
    }
}

/// "medscribe-<dictation_id>-<revision>": the logical id, also used by
/// `relatesTo` of the version that replaces this one.
pub fn resource_id(dictation_id: i64, revision: i64) -> String {
    format!("medscribe-{dictation_id}-{revision}")
}

/// preliminary until signed; a signed later version is `amended`.
pub fn doc_status(r: &Report) -> &'static str {
    match (&r.signed, r.is_amendment()) {
        (None, _) => "preliminary",
        (Some(_), false) => "final",
        (Some(_), true) => "amended",
    }
}

/// FHIR R4 DocumentReference for one report revision. Unparseable timestamps
/// are left out rather than sent as invalid instants.
pub fn fhir_document_reference(r: &Report) -> Value {
    let (code, display) = loinc(&r.work_type);
    let label = work_type_label(&r.work_type);
    let title = if r.version > 1 {
        format!("{label}, version {}", r.version)
    } else {
        label.to_string()
    };

    let mut doc = Map::new();
    doc.insert("resourceType".into(), json!("DocumentReference"));
    doc.insert("id".into(), json!(resource_id(r.dictation_id, r.revision)));
    if let Some(sig) = &r.signed {
        if let Some(at) = Stamp::parse(&sig.signed_at) {
            doc.insert(
                "extension".into(),
                json!([{ "url": AUTHENTICATION_TIME, "valueDateTime": at.fhir() }]),
            );
        }
    }
    doc.insert(
        "masterIdentifier".into(),
        json!({ "system": DOCUMENT_SYSTEM, "value": r.document_number() }),
    );
    if let Some(sig) = r.signed.as_ref().filter(|s| !s.sha256.is_empty()) {
        doc.insert(
            "identifier".into(),
            json!([{ "system": SHA256_SYSTEM, "value": sig.sha256 }]),
        );
    }
    doc.insert("status".into(), json!("current"));
    doc.insert("docStatus".into(), json!(doc_status(r)));
    doc.insert(
        "type".into(),
        json!({
            "coding": [{ "system": "http://loinc.org", "code": code, "display": display }],
            "text": label,
        }),
    );
    doc.insert(
        "category".into(),
        json!([{
            "coding": [{
                "system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                "code": "clinical-note",
                "display": "Clinical Note",
            }]
        }]),
    );
    doc.insert(
        "subject".into(),
        json!({
            "identifier": {
                "type": { "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                    "code": "MR",
                }]},
                "system": mrn_system(&r.office),
                "value": r.mrn,
            },
            "display": r.patient_name,
        }),
    );
    if let Some(at) = Stamp::parse(&r.edited_at) {
        doc.insert("date".into(), json!(at.fhir()));
    }
    doc.insert("author".into(), json!([{ "display": r.physician }]));
    if let Some(sig) = &r.signed {
        doc.insert("authenticator".into(), json!({ "display": sig.signer }));
    }
    if !r.office.is_empty() {
        doc.insert("custodian".into(), json!({ "display": r.office }));
    }
    if let Some(parent) = r.replaces {
        doc.insert(
            "relatesTo".into(),
            json!([{
                "code": "replaces",
                "target": {
                    "reference": format!("DocumentReference/{}", resource_id(r.dictation_id, parent)),
                    "identifier": { "system": DOCUMENT_SYSTEM, "value": document_number(r.dictation_id, parent) },
                },
            }]),
        );
    }

    let mut attachment = Map::new();
    attachment.insert("contentType".into(), json!("text/plain; charset=utf-8"));
    attachment.insert("language".into(), json!("en"));
    attachment.insert(
        "data".into(),
        json!(base64::engine::general_purpose::STANDARD.encode(r.text.as_bytes())),
    );
    attachment.insert("size".into(), json!(r.text.len()));
    attachment.insert("title".into(), json!(title));
    if let Some(at) = Stamp::parse(&r.created_at) {
        attachment.insert("creation".into(), json!(at.fhir()));
    }
    doc.insert("content".into(), json!([{ "attachment": attachment }]));

    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{amended, draft, sample};
    use super::*;

    #[test]
    fn doc_status_draft_signed_amended() {
        assert_eq!(
            fhir_document_reference(&draft())["docStatus"],
            "preliminary"
        );
        assert_eq!(fhir_document_reference(&sample())["docStatus"], "final");
        assert_eq!(fhir_document_reference(&amended())["docStatus"], "amended");
        // An amendment still being edited is preliminary.
        let unsigned_amendment = Report {
            signed: None,
            state: "in_edit".into(),
            ..amended()
        };
        assert_eq!(
            fhir_document_reference(&unsigned_amendment)["docStatus"],
            "preliminary"
        );
        for r in [draft(), sample(), amended()] {
            assert_eq!(fhir_document_reference(&r)["status"], "current");
        }
    }

    #[test]
    fn relates_to_only_for_amendments() {
        assert!(fhir_document_reference(&sample())
            .get("relatesTo")
            .is_none());
        assert!(fhir_document_reference(&draft()).get("relatesTo").is_none());
        let doc = fhir_document_reference(&amended());
        let rel = doc["relatesTo"].as_array().unwrap();
        assert_eq!(rel.len(), 1);
        assert_eq!(rel[0]["code"], "replaces");
        assert_eq!(
            rel[0]["target"]["reference"],
            "DocumentReference/medscribe-42-7"
        );
        assert_eq!(doc["id"], "medscribe-42-9");
        assert_eq!(doc["masterIdentifier"]["value"], "42-9");
    }

    #[test]
    fn attachment_data_round_trips() {
        let text = "IMPRESSION\nNo acute disease.\n\nGrüße | ^ & ~ \\ \u{1F600}\r\n";
        let r = Report {
            text: text.into(),
            ..sample()
        };
        let doc = fhir_document_reference(&r);
        let att = &doc["content"][0]["attachment"];
        let data = att["data"].as_str().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), text);
        assert_eq!(att["size"], text.len());
        assert_eq!(att["contentType"], "text/plain; charset=utf-8");
        assert_eq!(att["language"], "en");
        assert_eq!(att["title"], "History and physical");
        assert_eq!(att["creation"], "2025-01-02T08:00:00Z");
        assert!(att.get("hash").is_none());
    }

    #[test]
    fn signed_fields_and_identity() {
        let doc = fhir_document_reference(&sample());
        assert_eq!(doc["resourceType"], "DocumentReference");
        assert_eq!(doc["id"], "medscribe-42-7");
        assert_eq!(doc["masterIdentifier"]["system"], DOCUMENT_SYSTEM);
        assert_eq!(doc["masterIdentifier"]["value"], "42-7");
        assert_eq!(doc["identifier"][0]["system"], SHA256_SYSTEM);
        assert_eq!(doc["identifier"][0]["value"], "ab".repeat(32));
        assert_eq!(doc["authenticator"]["display"], "drsmith");
        assert_eq!(doc["extension"][0]["url"], AUTHENTICATION_TIME);
        assert_eq!(doc["extension"][0]["valueDateTime"], "2025-01-02T10:00:00Z");
        assert_eq!(doc["type"]["coding"][0]["system"], "http://loinc.org");
        assert_eq!(doc["type"]["coding"][0]["code"], "34117-2");
        assert_eq!(doc["category"][0]["coding"][0]["code"], "clinical-note");
        assert_eq!(
            doc["subject"]["identifier"]["system"],
            "urn:medscribe:mrn:Main%20St"
        );
        assert_eq!(doc["subject"]["identifier"]["value"], "MRN001");
        assert_eq!(doc["subject"]["display"], "Jane Q Doe");
        assert_eq!(doc["date"], "2025-01-02T09:30:15Z");
        assert_eq!(doc["author"][0]["display"], "drsmith");
        assert_eq!(doc["custodian"]["display"], "Main St");

        let doc = fhir_document_reference(&draft());
        for absent in ["authenticator", "identifier", "extension", "relatesTo"] {
            assert!(doc.get(absent).is_none(), "{absent}");
        }

        let amended_doc = fhir_document_reference(&amended());
        assert_eq!(
            amended_doc["content"][0]["attachment"]["title"],
            "History and physical, version 2"
        );
    }

    #[test]
    fn bad_times_are_omitted() {
        let r = Report {
            edited_at: "soon".into(),
            created_at: String::new(),
            ..draft()
        };
        let doc = fhir_document_reference(&r);
        assert!(doc.get("date").is_none());
        assert!(doc["content"][0]["attachment"].get("creation").is_none());
    }

    #[test]
    fn urn_encoding() {
        assert_eq!(mrn_system(""), "urn:medscribe:mrn");
        assert_eq!(
            mrn_system("St. Mary's/ER"),
            "urn:medscribe:mrn:St.%20Mary%27s%2FER"
        );
        assert_eq!(mrn_system("Zürich"), "urn:medscribe:mrn:Z%C3%BCrich");
    }
}
